"""The one viewset base that scopes every tenant API: it resolves the tenant from the URL, checks
the caller's membership or key and role, filters every queryset, and sets the tenant on create."""

from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import permissions, viewsets

from config.parsers import BodyCheckedFirst, JSONBodyParser
from tenants.models import ApiKey, Tenant
from tenants.permissions import CanAdminister, CanView, TenantRolePermission
from tenants.selectors import tenant_access
from tenants.services import Actor

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class PublicUuidLookup:
    """For rows whose integer pk stays internal: the URL's `{pk}` (`{id}` in the schema) is the row's
    `uuid`, the `id` its serializer shows, and anything else there (an integer) matches no route: 404."""

    lookup_field = "uuid"
    lookup_url_kwarg = "pk"
    lookup_value_regex = UUID_PATTERN


class TenantContextMixin(BodyCheckedFirst):
    """What every tenant-scoped view knows about its caller."""

    tenant_url_kwarg = "tenant_slug"
    # The tenant API speaks JSON (a view that takes uploads adds MultiPartParser); a form body is a 415.
    parser_classes = [JSONBodyParser]

    @property
    def api_key(self) -> ApiKey | None:
        return self.request.auth if isinstance(self.request.auth, ApiKey) else None

    @property
    def actor(self) -> Actor:
        if self.api_key is not None:
            return self.api_key
        return self.request.user if isinstance(self.request.user, AbstractBaseUser) else None

    @cached_property
    def _tenant_and_role(self) -> tuple[Tenant, str]:
        return tenant_access(slug=self.kwargs[self.tenant_url_kwarg], user=self.request.user, api_key=self.api_key)

    @property
    def tenant(self) -> Tenant:
        return self._tenant_and_role[0]

    @property
    def tenant_role(self) -> str:
        return self._tenant_and_role[1]


class TenantScopedViewSet(TenantContextMixin, viewsets.GenericViewSet):
    """Subclasses name `model`, map actions to role permissions in `action_permissions`, and may
    narrow the tenant's rows in `safely_get_queryset`. They may not override `get_queryset`."""

    model = None
    # Reads default to viewers, writes to admins: a forgotten entry fails closed.
    action_permissions: dict[str, type[TenantRolePermission]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); implement safely_get_queryset(queryset) "
                "so the tenant filter cannot be lost."
            )

    def get_permissions(self):
        role_permission = self.action_permissions.get(self.action)
        if role_permission is None:
            role_permission = CanView if self.request.method in permissions.SAFE_METHODS else CanAdminister
        return [permissions.IsAuthenticated(), role_permission()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator asks without a URL: no tenant
            return self.model.objects.none()
        return self.safely_get_queryset(self.model.objects.for_tenant(self.tenant))

    def safely_get_queryset(self, queryset):
        return queryset

    def perform_create(self, serializer):
        serializer.save(tenant=self.tenant)
