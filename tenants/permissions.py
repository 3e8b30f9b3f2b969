"""Role permissions inside the tenant named by the URL: viewer reads, creator generates,
approver reviews, admin manages members, keys and budgets."""

from rest_framework.permissions import BasePermission

from .models import Role


class TenantRolePermission(BasePermission):
    minimum_role: str = Role.ADMIN

    @property
    def message(self) -> str:
        return f"This needs the {self.minimum_role} role or higher in this tenant."

    def has_permission(self, request, view) -> bool:
        # view.tenant_role resolves the tenant first: a foreign or missing tenant is a 404, not a 403.
        return Role.at_least(view.tenant_role, self.minimum_role)


class CanView(TenantRolePermission):
    minimum_role = Role.VIEWER


class CanCreate(TenantRolePermission):
    minimum_role = Role.CREATOR


class CanReview(TenantRolePermission):
    minimum_role = Role.APPROVER


class CanAdminister(TenantRolePermission):
    minimum_role = Role.ADMIN
