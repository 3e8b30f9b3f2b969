"""The one base every studio page stands on. It resolves the tenant from the URL with the same
access function as the API (tenants.selectors.tenant_access): a tenant that does not exist and
one the person is not in give the same 404. It checks the page's minimum role (403 below it) and
gives every template the tenant, the person's role and the tenant switcher."""

from functools import cached_property

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.views.generic import TemplateView

from config.errors import ApplicationError
from tenants.models import Membership, Role, Tenant
from tenants.selectors import tenant_access


class TenantPage(LoginRequiredMixin, TemplateView):
    """Subclasses set `template_name`, `minimum_role` (viewer unless said) and `nav` (the menu entry
    to highlight), and add their data in `get_context_data`. Writes go through services; an
    ApplicationError a POST handler lets out becomes a message on the page it came from."""

    minimum_role: str = Role.VIEWER
    nav: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()  # sign-in first: an outsider learns nothing about the tenant
        if not Role.at_least(self.role, self.minimum_role):
            raise PermissionDenied(f"This page needs the {self.minimum_role} role or higher in {self.tenant.name}.")
        try:
            return super().dispatch(request, *args, **kwargs)
        except ApplicationError as error:
            if request.method == "GET":
                raise
            messages.error(request, error.message)
            return redirect(request.get_full_path())

    @cached_property
    def _tenant_and_role(self) -> tuple[Tenant, str]:
        return tenant_access(slug=self.kwargs["tenant_slug"], user=self.request.user, api_key=None)

    @property
    def tenant(self) -> Tenant:
        return self._tenant_and_role[0]

    @property
    def role(self) -> str:
        return self._tenant_and_role[1]

    @property
    def actor(self):
        return self.request.user

    def can(self, minimum_role: str) -> bool:
        return Role.at_least(self.role, minimum_role)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            tenant=self.tenant,
            role=self.role,
            nav=self.nav,
            can_create=self.can(Role.CREATOR),
            can_review=self.can(Role.APPROVER),
            can_administer=self.can(Role.ADMIN),
            my_tenants=(
                Membership.objects.filter(user=self.request.user).select_related("tenant").order_by("tenant__name")
            ),
        )
        return context


def field_errors(error: ApplicationError) -> dict[str, list[str]]:
    """A service's error as form errors: each field's messages, and the rest under `__all__`."""
    if error.fields:
        return {name: list(messages_) for name, messages_ in error.fields.items()}
    return {"__all__": [error.message]}
