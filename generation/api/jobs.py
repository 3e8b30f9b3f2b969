"""REST for jobs: submit (POST), list with filters, read, cancel. Views only translate HTTP to
generation.services and back."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from assets.api.serializers import AssetSerializer, with_serialized_relations
from assets.models import Asset
from assets.selectors import job_assets, job_mask_asset, jobs_assets
from billing.selectors import job_cost, job_costs
from config.errors import ApplicationError
from config.filters import UtcIsoDateTimeFilter
from config.openapi import IDEMPOTENCY_CONFLICT, IDEMPOTENT_REPLAYED_HEADER, error_responses
from config.pagination import CursorPage
from generation import services
from generation.bedrock.specs import (
    CONTROL_MODES,
    OUTPAINTING_MODES,
    TRY_ON_EXCLUSION_VALUES,
    TRY_ON_GARMENT_CLASSES,
    TRY_ON_GARMENT_STYLING,
    TRY_ON_MASK_SHAPES,
    TRY_ON_MASK_TYPES,
    TRY_ON_MERGE_STYLES,
    Task,
)
from generation.models import GenerationJob
from tenants.api.base import TenantScopedViewSet
from tenants.api.idempotency import REPLAYED_HEADER, idempotency_key
from tenants.permissions import CanCreate

# Fields of a job request that are the job's envelope, not the image request itself. A saved prompt
# (`saved_prompt`: a prompt id, its latest version; or `prompt_version`: a version id) with its
# `variables` fills the request's prompt, negative prompt and style; `saved_seed` fills its seed.
ENVELOPE_FIELDS = {
    "model",
    "project",
    "source_asset",
    "tags",
    "saved_prompt",
    "prompt_version",
    "variables",
    "saved_seed",
}


def job_body(data, *, model_required: bool = True) -> dict:
    """A job's JSON body, checked for what every job needs before the services see it. A job may
    leave `model` out when its project has a default model (job_submit decides)."""
    if not isinstance(data, dict):
        raise ApplicationError("invalid", "Send a JSON object.")
    if model_required and not data.get("model"):
        message = "This field is required."
        raise ApplicationError("invalid", f"model: {message}", fields={"model": [message]})
    return dict(data.items())


def submission_response(submission, context) -> Response:
    """201 with the new job; 200 with the first one (as it is now) when an Idempotency-Key is replayed."""
    data = JobSerializer(submission.job, context=context).data
    if submission.created:
        return Response(data, status=status.HTTP_201_CREATED)
    return Response(data, status=status.HTTP_200_OK, headers={REPLAYED_HEADER: "true"})


def job_request_arguments(body: dict) -> dict:
    """What a job body asks for, as job_submit and job_quote take it."""
    return {
        "model_id": body.get("model"), "raw": image_request_fields(body), "project_id": body.get("project"),
        "source_asset_id": body.get("source_asset"), "saved_prompt_id": body.get("saved_prompt"),
        "prompt_version_id": body.get("prompt_version"), "variables": body.get("variables"),
        "saved_seed_id": body.get("saved_seed"),
    }  # fmt: skip


def image_request_fields(body: dict) -> dict:
    return {key: value for key, value in body.items() if key not in ENVELOPE_FIELDS}


class JobRequestSerializer(serializers.Serializer):
    """What a job (or an estimate) reads from its JSON body. Only the task's own fields may be sent
    (`task_type` decides which); everything is checked against the model's limits, and a bad field is a
    400 naming it. Describes the body for the OpenAPI schema; job_body and the catalog do the checking."""

    model = serializers.CharField(required=False, help_text="A catalog model id; default: the project's model.")
    task_type = serializers.ChoiceField(
        choices=[task.value for task in Task], required=False,
        help_text="Default: TEXT_IMAGE; for a Stability image service, its one task.",
    )  # fmt: skip
    prompt = serializers.CharField(required=False, trim_whitespace=False)
    negative_prompt = serializers.CharField(required=False, trim_whitespace=False)
    size = serializers.CharField(required=False, help_text="`WIDTHxHEIGHT`, instead of `width` and `height`.")
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    aspect_ratio = serializers.CharField(required=False, help_text="Stability: e.g. `16:9`, instead of a size.")
    quality = serializers.CharField(required=False, help_text="`standard` or `premium`, as the model offers.")
    n = serializers.IntegerField(required=False, help_text="Images; above 5 (up to 200) the job is a batch.")
    seed = serializers.IntegerField(required=False, help_text="Default: a random seed, stored.")
    cfg_scale = serializers.FloatField(required=False)
    style = serializers.CharField(required=False, help_text="Nova's style, or a Stability tool's style_preset.")
    output_format = serializers.CharField(
        required=False,
        help_text="Stability: `png`, `jpeg`, or `webp` where the model offers it (see the model's `output_formats`).",
    )
    image = serializers.CharField(required=False, help_text="The input image: base64, or a `data:` URL.")
    images = serializers.ListField(child=serializers.CharField(), required=False, help_text="IMAGE_VARIATION.")
    mask_image = serializers.CharField(required=False, help_text="Black where to change, white to keep.")
    mask_prompt = serializers.CharField(required=False, help_text="Instead of `mask_image`.")
    outpainting_mode = serializers.ChoiceField(choices=OUTPAINTING_MODES, required=False)
    condition_image = serializers.CharField(required=False)
    control_mode = serializers.ChoiceField(choices=CONTROL_MODES, required=False)
    control_strength = serializers.FloatField(required=False)
    colors = serializers.ListField(child=serializers.CharField(), required=False, help_text='e.g. ["#1A2B3C"].')
    reference_image = serializers.CharField(required=False)
    similarity_strength = serializers.FloatField(required=False)
    strength = serializers.FloatField(required=False, help_text="IMAGE_TO_IMAGE.")
    # The Stability image services' own fields (each tool's ranges: GET /api/v1/models/ `params`).
    style_image = serializers.CharField(required=False, help_text="STYLE_TRANSFER: the image whose style to apply.")
    creativity = serializers.FloatField(required=False, help_text="UPSCALE (creative, conservative), OUTPAINTING.")
    grow_mask = serializers.IntegerField(required=False, help_text="Stability inpaint, erase, search: px, 0–20.")
    left = serializers.IntegerField(required=False, help_text="Stability OUTPAINTING: px to add, 0–2000.")
    right = serializers.IntegerField(required=False, help_text="Stability OUTPAINTING: px to add, 0–2000.")
    up = serializers.IntegerField(required=False, help_text="Stability OUTPAINTING: px to add, 0–2000.")
    down = serializers.IntegerField(required=False, help_text="Stability OUTPAINTING: px to add, 0–2000.")
    search_prompt = serializers.CharField(required=False, help_text="SEARCH_REPLACE: what to find.")
    select_prompt = serializers.CharField(required=False, help_text="SEARCH_RECOLOR: what to find.")
    fidelity = serializers.FloatField(required=False, help_text="STYLE_GUIDE: 0–1.")
    style_strength = serializers.FloatField(required=False, help_text="STYLE_TRANSFER: 0–1.")
    composition_fidelity = serializers.FloatField(required=False, help_text="STYLE_TRANSFER: 0–1.")
    change_strength = serializers.FloatField(required=False, help_text="STYLE_TRANSFER: 0.1–1.")
    # VIRTUAL_TRY_ON (Nova Canvas): `image` is the source, `reference_image` the garment.
    mask_type = serializers.ChoiceField(choices=TRY_ON_MASK_TYPES, required=False, help_text="VIRTUAL_TRY_ON.")
    garment_class = serializers.ChoiceField(
        choices=TRY_ON_GARMENT_CLASSES, required=False, help_text="mask_type GARMENT."
    )
    mask_shape = serializers.ChoiceField(choices=TRY_ON_MASK_SHAPES, required=False, help_text="GARMENT or PROMPT.")
    long_sleeve_style = serializers.ChoiceField(choices=TRY_ON_GARMENT_STYLING["long_sleeve_style"], required=False)
    tucking_style = serializers.ChoiceField(choices=TRY_ON_GARMENT_STYLING["tucking_style"], required=False)
    outer_layer_style = serializers.ChoiceField(choices=TRY_ON_GARMENT_STYLING["outer_layer_style"], required=False)
    preserve_body_pose = serializers.ChoiceField(choices=TRY_ON_EXCLUSION_VALUES, required=False)
    preserve_hands = serializers.ChoiceField(choices=TRY_ON_EXCLUSION_VALUES, required=False)
    preserve_face = serializers.ChoiceField(choices=TRY_ON_EXCLUSION_VALUES, required=False)
    merge_style = serializers.ChoiceField(choices=TRY_ON_MERGE_STYLES, required=False)
    return_mask = serializers.BooleanField(required=False, help_text="Store the mask Bedrock returns as an asset.")
    project = serializers.UUIDField(required=False, help_text="Default: the tenant's default project.")
    source_asset = serializers.UUIDField(required=False, help_text="An asset whose image fills the task's input.")
    tags = serializers.ListField(child=serializers.CharField(), required=False, help_text="Up to 20 campaign tags.")
    saved_prompt = serializers.UUIDField(required=False, help_text="A saved prompt: its latest version.")
    prompt_version = serializers.IntegerField(required=False, help_text="A saved prompt's version, by id.")
    variables = serializers.DictField(child=serializers.CharField(), required=False, help_text="Fill `{name}`s.")
    saved_seed = serializers.UUIDField(required=False, help_text="A saved seed's id: its value is the seed.")


class JobListSerializer(serializers.ListSerializer):
    """A page of jobs in a fixed number of queries: their images, their parts and their costs are read for the
    whole page at once, by the same rules the single job's fields use."""

    def to_representation(self, data):
        jobs = list(data.all() if hasattr(data, "all") else data)
        images = jobs_assets(jobs, with_serialized_relations(Asset.objects.all()))
        costs = job_costs(jobs)
        parts: dict = {}
        for part in GenerationJob.objects.filter(parent__in=[job.pk for job in jobs]).order_by("created_at"):
            parts.setdefault(part.parent_id, []).append(part)
        for job in jobs:
            job.listed = {"assets": images[job.pk], "cost": costs[job.pk], "children": parts.get(job.pk, [])}
        return super().to_representation(jobs)


class JobSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.model_id")
    substituted_from = serializers.CharField(
        source="substituted_from.model_id", default=None, allow_null=True,
        help_text="The end-of-life model the request named, when the tenant's automatic successor ran instead.",
    )  # fmt: skip
    project = serializers.UUIDField(source="project_id")
    prompt = serializers.SerializerMethodField()
    unit_price = serializers.DecimalField(
        source="unit_price_usd", max_digits=18, decimal_places=6, read_only=True, allow_null=True
    )
    cost = serializers.SerializerMethodField(help_text="What the job was charged, once settled.")
    error = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()
    assets = serializers.SerializerMethodField()
    mask_asset = serializers.SerializerMethodField(
        help_text="Virtual try-on with return_mask: the id of the mask asset Bedrock returned (not charged)."
    )

    class Meta:
        model = GenerationJob
        fields = [
            "id", "status", "model", "substituted_from", "task_type", "prompt", "n", "seed", "quality", "width",
            "height", "project", "unit_price", "cost", "tags",
            "params", "attempts", "error", "images_requested", "images_returned", "images_filtered",
            "bedrock_request_ids", "warnings", "deduplicated_from", "parent", "finalizes", "prompt_version",
            "saved_seed", "progress", "children",
            "assets", "mask_asset",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields
        list_serializer_class = JobListSerializer

    def get_prompt(self, job) -> str:
        return job.params.get("prompt", "")

    def get_cost(self, job) -> str | None:
        cost = job.listed["cost"] if hasattr(job, "listed") else job_cost(job)
        return None if cost is None else f"{cost:.6f}"

    def get_error(self, job) -> dict | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None

    def get_progress(self, job) -> dict:
        done = len(job.listed["assets"]) if hasattr(job, "listed") else self._assets(job).count()
        return {"done": done, "total": job.images_requested}

    def get_children(self, job) -> list[dict]:
        parts = job.listed["children"] if hasattr(job, "listed") else job.children.order_by("created_at")
        return [{"id": str(child.pk), "status": child.status, "n": child.n, "seed": child.seed} for child in parts]

    @extend_schema_field(AssetSerializer(many=True))
    def get_assets(self, job) -> list[dict]:
        return AssetSerializer(self._assets(job), many=True, context=self.context).data

    def get_mask_asset(self, job) -> str | None:
        if job.mask_asset_id:
            return str(job.mask_asset_id)  # the job's own: no need to read the asset
        mask = job_mask_asset(job)
        return None if mask is None else str(mask.pk)

    def _assets(self, job):
        if hasattr(job, "listed"):
            return job.listed["assets"]
        return with_serialized_relations(job_assets(job))


class JobFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=GenerationJob.Status.choices)
    model = django_filters.CharFilter(field_name="model__model_id")
    project = django_filters.UUIDFilter(field_name="project_id")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = GenerationJob
        fields = ["status", "model", "project", "created_after", "created_before"]


JOB_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 200 characters. The same request sent again with this key, by the same caller, is answered with the "
        "job it made (200) instead of a new one; another request, or another caller, with the key is a 409."
    ),
)


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """POST a request for images; GET its state and, once done, its assets with download URLs."""

    model = GenerationJob
    serializer_class = JobSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = JobFilter
    pagination_class = CursorPage
    cursor_ordering = ("-created_at", "-pk")
    action_permissions = {"create": CanCreate, "cancel": CanCreate}

    def safely_get_queryset(self, queryset):
        queryset = queryset.select_related("model", "substituted_from", "project", "tenant")
        if self.action == "list":
            return queryset.filter(parent=None).order_by("-created_at")  # a batch's parts are in its `children`
        return queryset

    @extend_schema(
        request=JobRequestSerializer,
        parameters=[JOB_IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED_HEADER],
        responses={
            201: JobSerializer,
            200: OpenApiResponse(JobSerializer, description="The first job with this Idempotency-Key, as it is now."),
            **error_responses(
                402,
                409,
                503,
                descriptions={409: IDEMPOTENCY_CONFLICT, 503: "Storing the request's input images failed: try again."},
            ),  # fmt: skip
        },
    )
    def create(self, request, tenant_slug):
        body = job_body(request.data, model_required=False)
        submission = services.job_submit(
            tenant=self.tenant, actor=self.actor, **job_request_arguments(body),
            idempotency_key=idempotency_key(request), tags=body.get("tags"),
        )  # fmt: skip
        return submission_response(submission, self.get_serializer_context())

    @extend_schema(
        request=None,
        responses={200: JobSerializer, **error_responses(409, descriptions={409: "`job_finished`: it has ended."})},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, tenant_slug, pk):
        job = services.job_cancel(tenant=self.tenant, job=self.get_object(), actor=self.actor)
        return Response(JobSerializer(job, context=self.get_serializer_context()).data)
