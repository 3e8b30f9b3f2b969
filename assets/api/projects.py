"""REST for a project's reusable material: projects with their brand rules and approval stages,
prompts with their versions, and saved seeds. Everyone in the tenant reads; creators write prompts
and seeds; admins write projects and approval stages. Views only translate HTTP to assets.library."""

import django_filters
from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from assets import library
from assets.models import ApprovalStage, Project, Prompt, PromptVersion, Seed
from assets.services import project_get_default
from config.serializers import InputSerializer
from generation.models import BedrockModel
from tenants.api.base import TenantScopedViewSet
from tenants.api.idempotency import idempotent
from tenants.models import Role
from tenants.permissions import CanCreate

# Output


class ProjectSerializer(serializers.ModelSerializer):
    default_model = serializers.CharField(
        source="default_model.model_id", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Project
        fields = [
            "id", "name", "slug", "description", "is_default", "archived", "brand_palette", "default_model",
            "default_negative_prompt", "default_quality", "default_width", "default_height", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ApprovalStageSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField(help_text="E-mails of the only people who decide here, if any.")

    class Meta:
        model = ApprovalStage
        fields = ["position", "name", "role", "members"]
        read_only_fields = fields

    def get_members(self, stage) -> list[str]:
        return sorted(member.email for member in stage.members.all())


class PromptVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", default=None, allow_null=True, read_only=True)

    class Meta:
        model = PromptVersion
        fields = ["id", "number", "text", "negative_text", "style", "variables", "created_by", "created_at"]
        read_only_fields = fields


class PromptSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id", read_only=True)
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = Prompt
        fields = ["id", "project", "name", "latest_version", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(PromptVersionSerializer)
    def get_latest_version(self, prompt) -> dict:
        return PromptVersionSerializer(_versions(prompt)[0]).data


class PromptDetailSerializer(PromptSerializer):
    versions = serializers.SerializerMethodField(help_text="Every version, newest first.")

    class Meta(PromptSerializer.Meta):
        fields = [*PromptSerializer.Meta.fields, "versions"]
        read_only_fields = fields

    @extend_schema_field(PromptVersionSerializer(many=True))
    def get_versions(self, prompt) -> list[dict]:
        return PromptVersionSerializer(_versions(prompt), many=True).data


def _versions(prompt) -> list[PromptVersion]:
    """Newest first (the model's order), from the list view's prefetch when there is one."""
    return list(prompt.versions.all())


class SeedSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Seed
        fields = ["id", "project", "value", "label", "notes", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


# Input


class TenantProjectField(serializers.UUIDField):
    """A project id of the caller's tenant. Another tenant's id reads as no such project."""

    def to_internal_value(self, data):
        project = library.project_get(tenant=self.context["tenant"], project_id=data)
        if project is None:
            raise serializers.ValidationError("No such project.")
        return project


class CatalogModelField(serializers.CharField):
    """A catalog model id; whether this tenant may use it is the service's rule."""

    def to_internal_value(self, data):
        model_id = super().to_internal_value(data)
        self.run_validators(model_id)  # a NUL character, which PostgreSQL refuses, is a 400 before the query
        model = BedrockModel.objects.filter(model_id=model_id).first()
        if model is None:
            raise serializers.ValidationError(f"Unknown model {model_id!r}.")
        return model


class ProjectInput(InputSerializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=60, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    brand_palette = serializers.JSONField(required=False, help_text='Up to 10 colours, e.g. ["#1A2B3C"].')
    default_model = CatalogModelField(required=False, allow_null=True)
    default_negative_prompt = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    default_quality = serializers.CharField(max_length=16, required=False, allow_blank=True)
    default_width = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    default_height = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class ApprovalStagesInput(InputSerializer):
    stages = serializers.JSONField(help_text="[{name, role?, members?: [e-mail]}], in order; [] for the default.")


# How the approval stages read and are set, for the OpenAPI schema (ApprovalStagesInput and the library check).
APPROVAL_STAGES_REQUEST = inline_serializer(
    "ApprovalStagesRequest",
    {
        "stages": serializers.ListField(
            child=inline_serializer(
                "ApprovalStageInput",
                {
                    "name": serializers.CharField(),
                    "role": serializers.ChoiceField(choices=Role.choices, required=False),
                    "members": serializers.ListField(
                        child=serializers.EmailField(), required=False, help_text="Only these members decide."
                    ),
                },
            ),
            help_text="In order; [] brings back the default (one stage for approvers).",
        )
    },
)
APPROVAL_STAGES = inline_serializer(
    "ApprovalStages",
    {
        "default": serializers.BooleanField(help_text="True: the project defines none, so one stage for approvers."),
        "stages": ApprovalStageSerializer(many=True),
    },
)


class PromptCreateInput(InputSerializer):
    project = TenantProjectField(required=False, help_text="Default: the tenant's default project.")
    name = serializers.CharField(max_length=200)
    text = serializers.CharField(trim_whitespace=False)
    negative_text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")
    style = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")


class PromptReviseInput(InputSerializer):
    text = serializers.CharField(required=False, trim_whitespace=False)
    negative_text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    style = serializers.CharField(required=False, allow_blank=True, max_length=64)


class SeedCreateInput(InputSerializer):
    project = TenantProjectField(required=False, help_text="Default: the tenant's default project.")
    value = serializers.IntegerField()
    label = serializers.CharField(max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class SeedUpdateInput(InputSerializer):
    value = serializers.IntegerField(required=False)
    label = serializers.CharField(max_length=200, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


def _valid(serializer_class, view, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, context={"tenant": view.tenant}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ProjectFilter(django_filters.FilterSet):
    archived = django_filters.BooleanFilter()

    class Meta:
        model = Project
        fields = ["archived"]


class ByProjectFilter(django_filters.FilterSet):
    project = django_filters.UUIDFilter(field_name="project_id")


class PromptFilter(ByProjectFilter):
    class Meta:
        model = Prompt
        fields = ["project"]


class SeedFilter(ByProjectFilter):
    class Meta:
        model = Seed
        fields = ["project"]


# Views


class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Projects and their brand rules. Reads for viewers; every write for admins (the base's default)."""

    model = Project
    serializer_class = ProjectSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProjectFilter

    def safely_get_queryset(self, queryset):
        return queryset.select_related("default_model").order_by("name", "slug")

    @extend_schema(request=ProjectInput, responses={201: ProjectSerializer})
    @idempotent
    def create(self, request, tenant_slug):
        data = _valid(ProjectInput, self, request.data)
        project = library.project_create(tenant=self.tenant, actor=self.actor, **data)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectInput, responses=ProjectSerializer)
    def partial_update(self, request, tenant_slug, pk):
        data = _valid(ProjectInput, self, request.data, partial=True)
        project = library.project_update(project=self.get_object(), actor=self.actor, **data)
        return Response(ProjectSerializer(project).data)

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, tenant_slug, pk):
        project = library.project_archive(project=self.get_object(), actor=self.actor)
        return Response(ProjectSerializer(project).data)

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request, tenant_slug, pk):
        project = library.project_unarchive(project=self.get_object(), actor=self.actor)
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses=APPROVAL_STAGES)
    @action(detail=True, methods=["get"], url_path="approval-stages")
    def approval_stages(self, request, tenant_slug, pk):
        return Response(_stages_body(library.approval_stage_list(project=self.get_object())))

    @extend_schema(request=APPROVAL_STAGES_REQUEST, responses=APPROVAL_STAGES)
    @approval_stages.mapping.put
    def approval_stages_set(self, request, tenant_slug, pk):
        data = _valid(ApprovalStagesInput, self, request.data)
        stages = library.approval_stages_set(project=self.get_object(), actor=self.actor, stages=data["stages"])
        return Response(_stages_body(stages))


def _stages_body(stages: list[ApprovalStage]) -> dict:
    """The stages in order; a project that defines none has the default one, for approvers."""
    if not stages:
        return {"default": True, "stages": [library.DEFAULT_STAGE]}
    return {"default": False, "stages": ApprovalStageSerializer(stages, many=True).data}


class PromptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Saved prompts. An edit is a new version (POST versions/); versions are never changed."""

    model = Prompt
    filter_backends = [DjangoFilterBackend]
    filterset_class = PromptFilter
    action_permissions = {"create": CanCreate, "revise": CanCreate}

    def get_serializer_class(self):
        return PromptDetailSerializer if self.action == "retrieve" else PromptSerializer

    def safely_get_queryset(self, queryset):
        versions = Prefetch("versions", queryset=PromptVersion.objects.select_related("created_by"))
        return queryset.select_related("project").prefetch_related(versions).order_by("name", "pk")

    @extend_schema(request=PromptCreateInput, responses={201: PromptDetailSerializer})
    @idempotent
    def create(self, request, tenant_slug):
        data = _valid(PromptCreateInput, self, request.data)
        project = data.pop("project", None) or project_get_default(tenant=self.tenant)
        prompt = library.prompt_create(tenant=self.tenant, actor=self.actor, project=project, **data)
        return Response(PromptDetailSerializer(prompt).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PromptVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, tenant_slug, pk):
        return Response(PromptVersionSerializer(library.prompt_versions(prompt=self.get_object()), many=True).data)

    @extend_schema(request=PromptReviseInput, responses={201: PromptVersionSerializer})
    @versions.mapping.post
    @idempotent
    def revise(self, request, tenant_slug, pk):
        data = _valid(PromptReviseInput, self, request.data)
        version = library.prompt_revise(prompt=self.get_object(), actor=self.actor, **data)
        return Response(PromptVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class SeedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Saved seeds: a value that reproduces a look. Its label and notes change; its value does not."""

    model = Seed
    serializer_class = SeedSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SeedFilter
    action_permissions = {"create": CanCreate, "partial_update": CanCreate, "destroy": CanCreate}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("project", "created_by").order_by("label", "pk")

    @extend_schema(request=SeedCreateInput, responses={201: SeedSerializer})
    @idempotent
    def create(self, request, tenant_slug):
        data = _valid(SeedCreateInput, self, request.data)
        project = data.pop("project", None) or project_get_default(tenant=self.tenant)
        seed = library.seed_create(tenant=self.tenant, actor=self.actor, project=project, **data)
        return Response(SeedSerializer(seed).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SeedUpdateInput, responses=SeedSerializer)
    def partial_update(self, request, tenant_slug, pk):
        data = _valid(SeedUpdateInput, self, request.data, partial=True)
        seed = library.seed_update(seed=self.get_object(), actor=self.actor, **data)
        return Response(SeedSerializer(seed).data)

    def destroy(self, request, tenant_slug, pk):
        library.seed_delete(seed=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
