"""The one base every studio page stands on. It resolves the tenant from the URL with the same
access function as the API (tenants.selectors.tenant_access): a tenant that does not exist and
one the person is not in give the same 404. It checks the page's minimum role (403 below it) and
gives every template the tenant, the person's role and the tenant switcher. Forms that spend or
create carry a token (`{% form_token %}`): sent again, the same drawn form makes nothing more."""

import re
import secrets
from collections.abc import Callable
from contextlib import contextmanager
from functools import cached_property

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.views.generic import TemplateView

from config.errors import ApplicationError
from tenants.idempotency import Once, idempotent_once, payload_sha256
from tenants.models import Membership, Role, Tenant
from tenants.selectors import tenant_access

FORM_TOKEN = "form_token"  # noqa: S105 — the field's name, not a secret
_FORM_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
FORM_SENT_BEFORE = (
    "This form was already sent with other values (after going Back?), so nothing was made this time. "
    "Check it and send it again."
)

FORM_ALREADY_SENT = "This form was already sent: this is what it made, and nothing more was made or charged."


def new_form_token() -> str:
    return secrets.token_urlsafe(18)


@contextmanager
def form_reuse_said_plainly():
    """A form token sent again with other values is the API's 409, said as the studio says it."""
    try:
        yield
    except ApplicationError as error:
        if error.code != "idempotency_key_reused":
            raise
        raise ApplicationError(error.code, FORM_SENT_BEFORE, status_code=409) from None


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

    def form_token(self) -> str | None:
        """The posted form's token: the idempotency key of what it spends or creates. None for a post
        without one (not from a studio page), which is taken as it is, like an API call without a key."""
        token = self.request.POST.get(FORM_TOKEN, "")
        return token if _FORM_TOKEN_SHAPE.fullmatch(token) else None

    def once(self, create: Callable, remember: Callable[..., dict]) -> Once:
        """`create()` once per form token. The first post runs it (Once.result); the same form sent again
        runs nothing and gets Once.earlier, whose response_body is what `remember(result)` kept to show
        the first result again (never a secret). Other values with the token: FORM_SENT_BEFORE, 409."""
        token = self.form_token()
        if token is None:
            return Once(result=create())
        fields = self.request.POST.copy()
        for name in ("csrfmiddlewaretoken", FORM_TOKEN):
            fields.pop(name, None)
        with form_reuse_said_plainly():
            return idempotent_once(
                tenant=self.tenant, actor=self.actor, key=token, method="POST", path=self.request.path,
                request_sha256=payload_sha256({"fields": fields, "files": self.request.FILES}),
                run=create, outcome=lambda result: (201, remember(result)),
            )  # fmt: skip

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
