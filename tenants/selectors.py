"""Reads for tenants, people and keys, and the one access function for a tenant."""

import hmac
import re

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from .models import ApiKey, Membership, Role, Tenant

API_KEY_PATTERN = re.compile(r"^atl_(?P<prefix>[0-9a-f]{8})_[A-Za-z0-9_-]{20,}$")


def api_key_find_usable(*, secret: str) -> ApiKey | None:
    """The usable key this secret belongs to, or None (unknown, malformed, revoked or expired, or its
    owner is no longer an active member of its tenant). A key made by a member acts with at most the
    role its owner holds now: the services cap and revoke keys when members change, and this holds
    even for rows changed behind their back."""
    match = API_KEY_PATTERN.match(secret)
    if not match:
        return None
    owner_role = Membership.objects.filter(tenant=OuterRef("tenant_id"), user=OuterRef("created_by_id"))
    api_key = (
        ApiKey.objects.select_related("tenant", "created_by")
        .annotate(owner_role=Subquery(owner_role.values("role")[:1]))
        .filter(prefix=match["prefix"])
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.secret_sha256, ApiKey.hash_secret(secret)):
        return None
    if not api_key.is_usable():
        return None
    if api_key.created_by_id is not None:
        if api_key.owner_role is None or not api_key.created_by.is_active:
            return None
        if not Role.at_least(api_key.owner_role, api_key.role):
            api_key.role = api_key.owner_role  # for this request only; membership_change_role writes the cap
    return api_key


def tenant_list_for_actor(*, user, api_key: ApiKey | None) -> QuerySet[Tenant]:
    if api_key is not None:
        return Tenant.objects.filter(pk=api_key.tenant_id)
    if isinstance(user, AbstractBaseUser) and user.is_authenticated:
        return Tenant.objects.filter(memberships__user=user)
    return Tenant.objects.none()


def roles_by_tenant(*, user, api_key: ApiKey | None) -> dict[int, str]:
    if api_key is not None:
        return {api_key.tenant_id: api_key.role}
    if isinstance(user, AbstractBaseUser) and user.is_authenticated:
        return dict(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
    return {}


def actor_role(*, tenant: Tenant, actor) -> str | None:
    """The role a user or API key holds in the tenant; None for outsiders."""
    if isinstance(actor, ApiKey):
        return actor.role if actor.tenant_id == tenant.pk else None
    if isinstance(actor, AbstractBaseUser):
        return Membership.objects.filter(tenant=tenant, user=actor).values_list("role", flat=True).first()
    return None


def tenant_access(*, slug: str, user, api_key: ApiKey | None) -> tuple[Tenant, str]:
    """The tenant and the caller's role in it. Missing tenant, foreign tenant, or a key of another
    tenant: the same 404, so nobody learns which tenants exist."""
    if api_key is not None:
        if api_key.tenant.slug != slug:
            raise Http404
        return api_key.tenant, api_key.role
    membership = (
        Membership.objects.select_related("tenant").filter(tenant__slug=slug, user=user).first()
        if isinstance(user, AbstractBaseUser) and user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404
    return membership.tenant, membership.role


def member_still_active(*, tenant: Tenant, user) -> bool:
    """Whether this person, signed in earlier, is still an active member of the tenant now: for answers that last
    minutes (a job page's event stream), asked again as they go on."""
    return Membership.objects.filter(tenant=tenant, user_id=user.pk, user__is_active=True).exists()


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.for_tenant(tenant).select_related("user").order_by("user__email")


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at", "-id")


def admin_tenant_ids(*, user, minimum_role: str = Role.ADMIN) -> list[int]:
    """Tenants where this person holds the role (admin unless said): the rows they may see in the
    Django admin."""
    roles = [role for role in Role.values if Role.at_least(role, minimum_role)]
    return list(Membership.objects.filter(user=user, role__in=roles).values_list("tenant_id", flat=True))
