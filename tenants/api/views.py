from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from tenants import selectors, services
from tenants.models import ApiKey, Membership
from tenants.permissions import CanAdminister, CanView

from .base import TenantContextMixin, TenantScopedViewSet
from .serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MembershipCreateSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    TenantSerializer,
    TenantUpdateSerializer,
)


class TenantListView(TenantContextMixin, viewsets.ViewSet):
    """The tenants the caller belongs to (a key: its own tenant)."""

    def list(self, request):
        tenants = selectors.tenant_list_for_actor(user=request.user, api_key=self.api_key)
        roles = selectors.roles_by_tenant(user=request.user, api_key=self.api_key)
        return Response(TenantSerializer(tenants, many=True, context={"roles": roles}).data)


class TenantDetailView(TenantContextMixin, viewsets.ViewSet):
    def get_permissions(self):
        return [IsAuthenticated(), CanView() if self.request.method == "GET" else CanAdminister()]

    def retrieve(self, request, tenant_slug):
        return Response(self._render())

    def partial_update(self, request, tenant_slug):
        serializer = TenantUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tenant_update(tenant=self.tenant, actor=self.actor, **serializer.validated_data)
        return Response(self._render())

    def _render(self) -> dict:
        return TenantSerializer(self.tenant, context={"roles": {self.tenant.pk: self.tenant_role}}).data


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """People of the tenant and their roles. Admins only."""

    model = Membership
    serializer_class = MembershipSerializer
    action_permissions = {"list": CanAdminister, "retrieve": CanAdminister}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("user").order_by("user__email")

    def create(self, request, tenant_slug):
        serializer = MembershipCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add(tenant=self.tenant, actor=self.actor, **serializer.validated_data)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, tenant_slug, pk):
        serializer = MembershipUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=self.get_object(), role=serializer.validated_data["role"], actor=self.actor
        )
        return Response(MembershipSerializer(membership).data)

    def destroy(self, request, tenant_slug, pk):
        services.membership_remove(membership=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """API keys of the tenant. The secret is in the create response only; DELETE revokes."""

    model = ApiKey
    serializer_class = ApiKeySerializer
    action_permissions = {"list": CanAdminister, "retrieve": CanAdminister}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-created_at", "-id")

    def create(self, request, tenant_slug):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, secret = services.api_key_create(tenant=self.tenant, actor=self.actor, **serializer.validated_data)
        return Response({**ApiKeySerializer(api_key).data, "secret": secret}, status=status.HTTP_201_CREATED)

    def destroy(self, request, tenant_slug, pk):
        services.api_key_revoke(api_key=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
