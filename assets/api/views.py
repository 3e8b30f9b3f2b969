import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins

from assets.models import Asset
from tenants.api.base import TenantScopedViewSet

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

    def safely_get_queryset(self, queryset):
        return queryset.select_related("tenant").prefetch_related("parents").order_by("-created_at", "index")
