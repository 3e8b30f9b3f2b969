from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from generation.catalog import model_get_for_tenant, model_list_for_tenant
from tenants.api.base import TenantContextMixin
from tenants.permissions import CanView

from .serializers import BedrockModelSerializer


class BedrockModelViewSet(TenantContextMixin, viewsets.ViewSet):
    """The image models this tenant may use, with what each can do. The catalog is platform-wide,
    so this scopes by the tenant's allow-list instead of a tenant column."""

    permission_classes = [IsAuthenticated, CanView]
    lookup_value_regex = r"[^/]+"  # model ids hold dots and colons

    @extend_schema(responses=BedrockModelSerializer(many=True))
    def list(self, request, tenant_slug):
        return Response(BedrockModelSerializer(model_list_for_tenant(tenant=self.tenant), many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="e.g. amazon.nova-canvas-v1:0")],
        responses=BedrockModelSerializer,
    )
    def retrieve(self, request, tenant_slug, pk):
        return Response(BedrockModelSerializer(model_get_for_tenant(tenant=self.tenant, model_id=pk)).data)
