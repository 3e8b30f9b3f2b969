import django_filters
from django.db import connection
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from assets import review
from assets.models import Asset, Review
from assets.selectors import asset_lineage
from assets.services import asset_update
from config.errors import ApplicationError
from config.filters import UtcIsoDateTimeFilter
from config.openapi import IDEMPOTENCY_CONFLICT, error_responses
from config.pagination import CursorPage
from config.serializers import unknown_fields_check
from generation.api.jobs import JOB_IDEMPOTENCY_KEY, JobSerializer, idempotency_key, submission_response
from generation.services import UPSCALERS, job_finalize
from tenants.api.base import TenantScopedViewSet
from tenants.permissions import CanCreate, CanReview, CanView

from .serializers import AssetSerializer, ReviewSerializer, with_serialized_relations


class AssetFilter(django_filters.FilterSet):
    project = django_filters.UUIDFilter(field_name="project_id")
    job = django_filters.UUIDFilter(field_name="job_id")
    kind = django_filters.ChoiceFilter(choices=Asset.Kind.choices)
    status = django_filters.MultipleChoiceFilter(choices=Asset.Status.choices)
    tag = django_filters.CharFilter(method="filter_tag")
    model = django_filters.CharFilter(field_name="job__model__model_id")
    creator = django_filters.NumberFilter(field_name="created_by_id")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the title or the prompt.")

    class Meta:
        model = Asset
        fields = ["project", "job", "kind", "status", "tag", "model", "creator", "created_after", "created_before"]

    def filter_tag(self, queryset, name, value):
        if connection.features.supports_json_field_contains:
            return queryset.filter(tags__contains=[value])
        return queryset.filter(tags__icontains=f'"{value}"')  # SQLite: the JSON text holds the quoted tag

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(job__params__prompt__icontains=value))


COMMENT = serializers.CharField(required=False, allow_blank=True, max_length=5000, help_text="Kept on the review.")
REVIEW_MOVE = {
    "request": inline_serializer("ReviewMoveRequest", {"comment": COMMENT}),
    "responses": {
        200: AssetSerializer,
        **error_responses(
            409, descriptions={409: "`invalid_transition`: not in a state this move starts from; `status` says which."}
        ),
    },
}
LINEAGE_JOB = inline_serializer(
    "LineageJob",
    {
        "id": serializers.UUIDField(),
        "task_type": serializers.CharField(),
        "model": serializers.CharField(),
        "quality": serializers.CharField(),
        "finalizes": serializers.UUIDField(allow_null=True, help_text="The draft this job re-rendered, if any."),
    },
    allow_null=True,
)
_LINEAGE_FIELDS = {
    "id": serializers.UUIDField(),
    "kind": serializers.CharField(),
    "status": serializers.CharField(),
    "title": serializers.CharField(),
    "width": serializers.IntegerField(),
    "height": serializers.IntegerField(),
    "created_at": serializers.DateTimeField(),
    "job": LINEAGE_JOB,
}


def _lineage_asset(name: str, *links: str) -> serializers.Serializer:
    return inline_serializer(
        name, {**_LINEAGE_FIELDS, **{link: serializers.ListField(child=serializers.UUIDField()) for link in links}}
    )


LINEAGE = inline_serializer(
    "Lineage",
    {
        "asset": _lineage_asset("LineageAsset", "parents", "children"),
        "ancestors": serializers.ListField(
            child=_lineage_asset("LineageAncestor", "parents"), help_text="Nearest first."
        ),
        "descendants": serializers.ListField(
            child=_lineage_asset("LineageDescendant", "children"), help_text="Nearest first."
        ),
    },
)

ASSET_UPDATE = extend_schema(
    request=inline_serializer(
        "AssetUpdateRequest",
        {
            "title": serializers.CharField(required=False, allow_blank=True),
            "tags": serializers.ListField(child=serializers.CharField(), required=False),
        },
    ),
    responses=AssetSerializer,
)


@extend_schema_view(update=ASSET_UPDATE, partial_update=ASSET_UPDATE)
class AssetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantScopedViewSet):
    """Stored images, each with an expiring download URL, their review and their lineage."""

    model = Asset
    serializer_class = AssetSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AssetFilter
    pagination_class = CursorPage
    cursor_ordering = ("-created_at", "index", "pk")
    # The review services check each stage's role or named members themselves.
    action_permissions = {
        "update": CanCreate, "partial_update": CanCreate, "finalize": CanCreate, "submit": CanCreate,
        "approve": CanView, "reject": CanView, "request_changes": CanView, "archive": CanReview, "bulk": CanView,
        "lineage": CanView,
    }  # fmt: skip

    def safely_get_queryset(self, queryset):
        return with_serialized_relations(queryset).order_by("-created_at", "index")

    def update(self, request, tenant_slug, pk, partial=False):
        """PATCH `{title?, tags?}`: name and tag an image."""
        body = _json_object(request, known={"title", "tags"})
        asset = asset_update(tenant=self.tenant, asset=self.get_object(), actor=self.actor, title=body.get("title"),
                             tags=body.get("tags"))  # fmt: skip
        return Response(self.get_serializer(self.get_queryset().get(pk=asset.pk)).data)

    @extend_schema(
        request=inline_serializer(
            "FinalizeRequest",
            {
                "upscale": serializers.ChoiceField(
                    choices=list(UPSCALERS),
                    required=False,
                    help_text="Upscale with this Stability upscaler instead of a premium re-render: fast (4x each "
                    "side), conservative or creative (about 4 MP). Any image, uploaded ones too.",
                ),
                "prompt": serializers.CharField(
                    required=False, help_text="Conservative and creative upscales: the draft's prompt unless given."
                ),
                "creativity": serializers.FloatField(
                    required=False, help_text="Conservative and creative upscales: 0.1–0.5 (defaults 0.35 and 0.3)."
                ),
                "width": serializers.IntegerField(required=False, help_text="Re-render: no smaller than the draft."),
                "height": serializers.IntegerField(required=False),
            },
        ),
        parameters=[JOB_IDEMPOTENCY_KEY],
        responses={
            201: JobSerializer,
            200: OpenApiResponse(JobSerializer, description="The first job with this Idempotency-Key, as it is now."),
            **error_responses(
                402,
                409,
                503,
                descriptions={
                    409: f"`already_final`: the image is already premium at that size (a re-render). "
                    f"{IDEMPOTENCY_CONFLICT}"
                },
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def finalize(self, request, tenant_slug, pk):
        """The final of this image, as a new job: a premium re-render of a draft, optionally larger (`width`,
        `height`), or an upscale of any image (`upscale`, with `prompt` / `creativity` where it takes them)."""
        body = _json_object(request, known={"width", "height", "upscale", "prompt", "creativity"})
        submission = job_finalize(
            tenant=self.tenant, actor=self.actor, asset=self.get_object(), width=body.get("width"),
            height=body.get("height"), upscale=body.get("upscale"), prompt=body.get("prompt"),
            creativity=body.get("creativity"), idempotency_key=idempotency_key(request),
        )  # fmt: skip
        return submission_response(submission, self.get_serializer_context())

    def _move(self, request, move: str):
        asset = review.TRANSITIONS[move](
            tenant=self.tenant,
            asset_id=self.get_object().pk,
            actor=self.actor,
            comment=_comment(_json_object(request, known={"comment"})),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=asset.pk)).data)

    @extend_schema(**REVIEW_MOVE)
    @action(detail=True, methods=["post"])
    def submit(self, request, tenant_slug, pk):
        return self._move(request, "submit")

    @extend_schema(**REVIEW_MOVE)
    @action(detail=True, methods=["post"])
    def approve(self, request, tenant_slug, pk):
        return self._move(request, "approve")

    @extend_schema(**REVIEW_MOVE)
    @action(detail=True, methods=["post"])
    def reject(self, request, tenant_slug, pk):
        return self._move(request, "reject")

    @extend_schema(**REVIEW_MOVE)
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, tenant_slug, pk):
        return self._move(request, "request-changes")

    @extend_schema(**REVIEW_MOVE)
    @action(detail=True, methods=["post"])
    def archive(self, request, tenant_slug, pk):
        return self._move(request, "archive")

    @extend_schema(
        request=inline_serializer(
            "BulkReviewRequest",
            {
                "ids": serializers.ListField(child=serializers.UUIDField(), help_text="The assets to move."),
                "action": serializers.ChoiceField(choices=list(review.TRANSITIONS)),
                "comment": COMMENT,
            },
        ),
        responses={
            200: inline_serializer("BulkReviewResult", {"results": AssetSerializer(many=True)}),
            **error_responses(
                409, descriptions={409: "`bulk_failed`: some could not move (all for their state); nothing moved."}
            ),
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request, tenant_slug):
        """`{"ids": [...], "action": "approve", "comment"?}`: every asset moves, or none does."""
        body = _json_object(request, known={"ids", "action", "comment"})
        moved = review.asset_bulk_transition(
            tenant=self.tenant, asset_ids=body.get("ids"), action=body.get("action"), actor=self.actor,
            comment=_comment(body),
        )  # fmt: skip
        assets = {a.pk: a for a in self.get_queryset().filter(pk__in=[a.pk for a in moved])}
        return Response({"results": self.get_serializer([assets[a.pk] for a in moved], many=True).data})

    @extend_schema(responses=LINEAGE)
    @action(detail=True, methods=["get"])
    def lineage(self, request, tenant_slug, pk):
        """Where the image came from (its ancestors) and what was made from it (its descendants)."""
        return Response(asset_lineage(asset=self.get_object()))


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Every review decision, newest first; filter by `asset`, `decision` or `reviewer`."""

    model = Review
    serializer_class = ReviewSerializer
    pagination_class = CursorPage
    cursor_ordering = ("-at", "-id")
    filter_backends = [DjangoFilterBackend]
    filterset_fields = {"asset": ["exact"], "decision": ["exact"], "reviewer": ["exact"]}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("reviewer", "reviewer_key").order_by("-at", "-id")


def _json_object(request, *, known: set[str]) -> dict:
    """The JSON object sent (an empty body is one), holding only the `known` fields."""
    if not isinstance(request.data, dict):
        raise ApplicationError("invalid", "Send a JSON object.")
    unknown_fields_check(request.data, known)
    return request.data


def _comment(body: dict) -> str:
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > 5000:
        message = "A text of at most 5000 characters."
        raise ApplicationError("invalid", f"comment: {message}", fields={"comment": [message]})
    return comment
