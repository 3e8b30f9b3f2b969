from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.openapi import error_responses
from config.pagination import CursorPage
from tenants import selectors, services
from tenants.models import ApiKey, Membership
from tenants.permissions import CanAdminister, CanView

from .base import PublicUuidLookup, TenantContextMixin, TenantScopedViewSet
from .idempotency import idempotent
from .serializers import (
    ApiKeyCreatedSerializer,
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

    @extend_schema(responses=TenantSerializer(many=True))
    def list(self, request):
        tenants = selectors.tenant_list_for_actor(user=request.user, api_key=self.api_key)
        roles = selectors.roles_by_tenant(user=request.user, api_key=self.api_key)
        return Response(TenantSerializer(tenants, many=True, context={"roles": roles}).data)


class TenantDetailView(TenantContextMixin, viewsets.ViewSet):
    def get_permissions(self):
        return [IsAuthenticated(), CanView() if self.request.method == "GET" else CanAdminister()]

    @extend_schema(responses=TenantSerializer)
    def retrieve(self, request, tenant_slug):
        return Response(self._render())

    @extend_schema(request=TenantUpdateSerializer, responses=TenantSerializer)
    def partial_update(self, request, tenant_slug):
        serializer = TenantUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tenant_update(tenant=self.tenant, actor=self.actor, **serializer.validated_data)
        return Response(self._render())

    def _render(self) -> dict:
        return TenantSerializer(self.tenant, context={"roles": {self.tenant.pk: self.tenant_role}}).data


class MembershipViewSet(PublicUuidLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """People of the tenant and their roles. Admins only."""

    model = Membership
    serializer_class = MembershipSerializer
    action_permissions = {"list": CanAdminister, "retrieve": CanAdminister}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("user").order_by("user__email")

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    @idempotent
    def create(self, request, tenant_slug):
        serializer = MembershipCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add(tenant=self.tenant, actor=self.actor, **serializer.validated_data)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipUpdateSerializer, responses=MembershipSerializer)
    def partial_update(self, request, tenant_slug, pk):
        serializer = MembershipUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=self.get_object(), role=serializer.validated_data["role"], actor=self.actor
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        responses={204: None, **error_responses(400, descriptions={400: "`last_admin`: a tenant keeps one admin."})}
    )
    def destroy(self, request, tenant_slug, pk):
        services.membership_remove(membership=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyViewSet(PublicUuidLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """API keys of the tenant. The secret is in the create response only; DELETE revokes."""

    model = ApiKey
    serializer_class = ApiKeySerializer
    pagination_class = CursorPage  # revoked keys stay listed: the list grows
    cursor_ordering = ("-created_at", "-id")
    action_permissions = {"list": CanAdminister, "retrieve": CanAdminister}

    def safely_get_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-created_at", "-id")

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    @idempotent(redact=("secret",))  # the secret is never stored: a replay answers it as null
    def create(self, request, tenant_slug):
        serializer = ApiKeyCreateSerializer(data=request.data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        api_key, secret = services.api_key_create(tenant=self.tenant, actor=self.actor, **serializer.validated_data)
        return Response({**ApiKeySerializer(api_key).data, "secret": secret}, status=status.HTTP_201_CREATED)

    def destroy(self, request, tenant_slug, pk):
        services.api_key_revoke(api_key=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
