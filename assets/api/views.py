import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins
from rest_framework.decorators import action

from assets.models import Asset
from config.errors import ApplicationError
from generation.api.jobs import idempotency_key, submission_response
from generation.services import job_finalize
from tenants.api.base import TenantScopedViewSet
from tenants.permissions import CanCreate

from .serializers import AssetSerializer


class AssetFilter(django_filters.FilterSet):
    project = django_filters.UUIDFilter(field_name="project_id")
    job = django_filters.UUIDFilter(field_name="job_id")
    kind = django_filters.ChoiceFilter(choices=Asset.Kind.choices)

    class Meta:
        model = Asset
        fields = ["project", "job", "kind"]


class AssetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Stored images, each with an expiring download URL."""

    model = Asset
    serializer_class = AssetSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AssetFilter
    action_permissions = {"finalize": CanCreate}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("tenant").prefetch_related("parents").order_by("-created_at", "index")

    @action(detail=True, methods=["post"])
    def finalize(self, request, tenant_slug, pk):
        """Re-render this draft at premium quality, optionally larger (`width`, `height`): a new job."""
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise ApplicationError("invalid", "Send a JSON object.")
        submission = job_finalize(
            tenant=self.tenant, actor=self.actor, asset=self.get_object(), width=body.get("width"),
            height=body.get("height"), idempotency_key=idempotency_key(request),
        )  # fmt: skip
        return submission_response(submission, self.get_serializer_context())
