"""Writes for tenants, people and keys. Every change that matters writes its AuditEvent in the
same transaction."""

import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from config.errors import ApplicationError

from .models import ApiKey, AuditEvent, Membership, Role, Tenant

User = get_user_model()

# Who acts: a signed-in person, an API key, or None for the platform itself (ops commands).
Actor = AbstractBaseUser | ApiKey | None


def actor_person(actor: Actor) -> AbstractBaseUser | None:
    """The person answerable for what an actor does: the person, or an API key's owner (the member
    who made it); None for the platform and for keys without an owner."""
    if isinstance(actor, ApiKey):
        return actor.created_by
    return actor if isinstance(actor, AbstractBaseUser) else None


def audit_event_record(*, tenant: Tenant, actor: Actor, verb: str, target, data: dict | None = None) -> AuditEvent:
    event = AuditEvent(
        tenant=tenant,
        actor_user=actor if isinstance(actor, AbstractBaseUser) else None,
        actor_api_key=actor if isinstance(actor, ApiKey) else None,
        verb=verb,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        data=data or {},
    )
    event.full_clean()
    event.save()
    return event


def tenant_create(*, slug: str, name: str, timezone_name: str = "UTC", four_eyes_approval: bool = False) -> Tenant:
    tenant = Tenant(slug=slug, name=name, timezone=timezone_name, four_eyes_approval=four_eyes_approval)
    tenant.full_clean()
    tenant.save()
    return tenant


@transaction.atomic
def tenant_update(*, tenant: Tenant, actor: Actor, **changes) -> Tenant:
    """Changes name, four_eyes_approval or timezone; records the old and new values."""
    if not changes:
        return tenant
    before = {field: getattr(tenant, field) for field in changes}
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    tenant.save(update_fields=list(changes))
    changed = {
        field: {"from": before[field], "to": value} for field, value in changes.items() if before[field] != value
    }
    if changed:
        audit_event_record(tenant=tenant, actor=actor, verb="tenant.updated", target=tenant, data=changed)
    return tenant


def user_get_or_create_by_email(*, email: str) -> tuple[AbstractBaseUser, bool]:
    """People are identified by e-mail. A new person gets no usable password until one is set."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    if user:
        return user, False
    user = User(username=email, email=email)
    user.set_unusable_password()
    user.full_clean()
    user.save()
    return user, True


@transaction.atomic
def membership_add(*, tenant: Tenant, email: str, role: str, actor: Actor) -> Membership:
    user, _ = user_get_or_create_by_email(email=email)
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ApplicationError(
            "already_member",
            f"{user.email} is already a member of {tenant.slug}.",
            fields={"email": ["Already a member."]},
        )
    membership = Membership(tenant=tenant, user=user, role=role)
    membership.full_clean()
    membership.save()
    audit_event_record(
        tenant=tenant, actor=actor, verb="member.added", target=membership, data={"email": user.email, "role": role}
    )
    return membership


def _ensure_another_admin_remains(membership: Membership) -> None:
    # The tenant row is locked so two concurrent demotions cannot both pass this check.
    Tenant.objects.select_for_update().get(pk=membership.tenant_id)
    if membership.role != Role.ADMIN:
        return
    other_admins = Membership.objects.filter(tenant_id=membership.tenant_id, role=Role.ADMIN).exclude(pk=membership.pk)
    if not other_admins.exists():
        raise ApplicationError(
            "last_admin",
            "A tenant must keep at least one admin; make someone else admin first.",
            fields={"role": ["The last admin cannot be demoted or removed."]},
        )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Actor) -> Membership:
    if role == membership.role:
        return membership
    if role != Role.ADMIN:
        _ensure_another_admin_remains(membership)
    previous = membership.role
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role", "updated_at"])
    audit_event_record(
        tenant=membership.tenant,
        actor=actor,
        verb="member.role_changed",
        target=membership,
        data={"email": membership.user.email, "from": previous, "to": role},
    )
    # A key never outranks the person who made it (stage rights follow the role itself: assets.review).
    for api_key in _keys_made_by(membership).filter(role__in=Role.at_or_above(role)).exclude(role=role):
        _api_key_cap_role(api_key=api_key, role=role, actor=actor)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor) -> None:
    """Remove a member, and with them every usable key they made in this tenant."""
    _ensure_another_admin_remains(membership)
    audit_event_record(
        tenant=membership.tenant,
        actor=actor,
        verb="member.removed",
        target=membership,
        data={"email": membership.user.email, "role": membership.role},
    )
    for api_key in _keys_made_by(membership):
        api_key_revoke(api_key=api_key, actor=actor, reason="owner_removed")
    membership.delete()


def _keys_made_by(membership: Membership):
    """The member's usable keys in the membership's tenant (expired ones are left as they are), locked."""
    keys = ApiKey.objects.for_tenant(membership.tenant).filter(created_by_id=membership.user_id, revoked_at=None)
    return keys.select_for_update().order_by("pk")


def _api_key_cap_role(*, api_key: ApiKey, role: str, actor: Actor) -> None:
    previous = api_key.role
    api_key.role = role
    api_key.save(update_fields=["role"])
    audit_event_record(
        tenant=api_key.tenant, actor=actor, verb="api_key.role_capped", target=api_key,
        data={"name": api_key.name, "from": previous, "to": role, "reason": "owner_demoted"},
    )  # fmt: skip


@transaction.atomic
def user_keys_revoke_before_delete(*, user: AbstractBaseUser) -> None:
    """A person about to be deleted: their keys would lose their owner (created_by is set to NULL) and
    outlive them with no one answerable, so they are revoked first, in every tenant."""
    keys = ApiKey.objects.filter(created_by=user, revoked_at=None).select_for_update().order_by("pk")
    for api_key in keys:
        api_key_revoke(api_key=api_key, actor=None, reason="owner_deleted", owner=user.email)


def _new_key_material() -> tuple[str, str]:
    while True:
        prefix = secrets.token_hex(ApiKey.PREFIX_LENGTH // 2)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            return prefix, f"atl_{prefix}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def api_key_create(
    *, tenant: Tenant, name: str, role: str, actor: Actor, expires_at: datetime | None = None, default_project=None
) -> tuple[ApiKey, str]:
    """Returns the key and its secret. The secret exists only in this return value."""
    if default_project is not None and default_project.tenant_id != tenant.pk:
        message = "No such project."
        raise ApplicationError("invalid", f"default_project: {message}", fields={"default_project": [message]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(
            "invalid", "expires_at: must be in the future.", fields={"expires_at": ["Must be in the future."]}
        )
    prefix, secret = _new_key_material()
    api_key = ApiKey(
        tenant=tenant,
        name=name,
        role=role,
        prefix=prefix,
        secret_sha256=ApiKey.hash_secret(secret),
        created_by=actor_person(actor),
        expires_at=expires_at,
        default_project=default_project,
    )
    api_key.full_clean()
    api_key.save()
    audit_event_record(
        tenant=tenant, actor=actor, verb="api_key.created", target=api_key, data={"name": name, "role": role}
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor, reason: str = "", **details) -> ApiKey:
    """Revoke a key; `reason` (and details) say why when it is not the actor's own decision."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        data = {"name": api_key.name} | ({"reason": reason} if reason else {}) | details
        audit_event_record(tenant=api_key.tenant, actor=actor, verb="api_key.revoked", target=api_key, data=data)
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    # At most one write a minute per key: authentication must not turn every read into a write.
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def sign_in_pause_record(*, user: AbstractBaseUser, scope: str, address: str | None) -> None:
    """Sign-in was paused for this person's account (scope "account") or for the address they tried
    from ("address"): each tenant they belong to hears of it in its audit log (the platform acts)."""
    data = {
        "email": user.email,
        "scope": scope,
        "address": address,
        "failures": getattr(settings, f"ATELIER_SIGN_IN_FAILURES_PER_{scope.upper()}"),
        "paused_seconds": settings.ATELIER_SIGN_IN_PAUSE_SECONDS,
    }
    with transaction.atomic():
        for membership in Membership.objects.filter(user=user).select_related("tenant").order_by("tenant_id"):
            audit_event_record(tenant=membership.tenant, actor=None, verb="auth.sign_in_paused", target=user, data=data)
