import hashlib
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    """Ordered: each role can do everything the ones before it can."""

    VIEWER = "viewer", "Viewer"
    CREATOR = "creator", "Creator"
    APPROVER = "approver", "Approver"
    ADMIN = "admin", "Admin"

    @classmethod
    def rank(cls, role: str) -> int:
        return list(cls.values).index(role)

    @classmethod
    def at_least(cls, role: str | None, minimum: str) -> bool:
        return role is not None and cls.rank(role) >= cls.rank(minimum)

    @classmethod
    def at_or_above(cls, minimum: str) -> list[str]:
        return [role for role in cls.values if cls.at_least(role, minimum)]


def _validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}; use an IANA name such as Europe/Berlin.")


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1–50 lowercase letters, digits and inner hyphens.",
)


class Tenant(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Names the tenant's storage.")
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    four_eyes_approval = models.BooleanField(default=False, help_text="The creator of an asset may not approve it.")
    timezone = models.CharField(max_length=64, default="UTC", validators=[_validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


def public_uuid_field() -> models.UUIDField:
    """The id a row with an internal integer pk shows outside Atelier (REST, the studio, webhook
    payloads): it neither counts the platform's rows nor lets anyone guess the next one."""
    return models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="The id the API shows.")


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> "TenantQuerySet":
        return self.filter(tenant=tenant)


class TenantOwned(models.Model):
    """Base of every tenant-owned row: reach them through `.objects.for_tenant(tenant)`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(models.Model):
    uuid = public_uuid_field()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")]
        ordering = ["tenant", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class ApiKey(models.Model):
    """A secret `atl_<prefix>_<secret>`. Only its sha256 is stored; the prefix finds the row."""

    PREFIX_LENGTH = 8

    uuid = public_uuid_field()
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CREATOR)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    default_project = models.ForeignKey(
        "assets.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where the key's OpenAI-compatible calls work when they name no project (else the tenant's default).",
    )  # fmt: skip

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (atl_{self.prefix}_…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


class AuditEvent(models.Model):
    """Who did what to which object, written by the service in the same transaction. Append-only."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "verb", "at"], name="audit_tenant_verb_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.verb} {self.target_type}:{self.target_id}"


class WebhookEndpoint(TenantOwned):
    """Where a tenant wants to hear about events: a URL, the events it subscribes to, and the secret
    every delivery is signed with (kept in clear: signing needs it; shown to people once)."""

    class Event(models.TextChoices):
        JOB_SUCCEEDED = "job.succeeded"
        JOB_FAILED = "job.failed"
        ASSET_SUBMITTED = "asset.submitted"
        ASSET_APPROVED = "asset.approved"
        ASSET_REJECTED = "asset.rejected"
        ASSET_CHANGES_REQUESTED = "asset.changes_requested"
        ASSET_ARCHIVED = "asset.archived"
        BUDGET_THRESHOLD_CROSSED = "budget.threshold_crossed"

    uuid = public_uuid_field()
    url = models.URLField(max_length=2000, validators=[URLValidator(schemes=["http", "https"])])
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types this endpoint receives.")
    secret = models.CharField(max_length=200, help_text="Signs every delivery (HMAC-SHA256).")
    active = models.BooleanField(default=True, help_text="Off: no new deliveries, and pending ones stop.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.tenant} → {self.url}"

    def clean(self) -> None:
        events = self.events if isinstance(self.events, list) else []
        if not events or any(event not in self.Event.values for event in events):
            raise ValidationError({"events": f"Name one or more of: {', '.join(self.Event.values)}."})


class WebhookDelivery(TenantOwned):
    """One event sent to one endpoint, with every attempt's outcome. A replay is a new delivery of the
    same payload (the same event id), so each delivery's history stays as it happened."""

    PING = "ping"

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    event_id = models.UUIDField(help_text="The event's id: the same for every endpoint, retry and replay.")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The start of the last answer.")
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "created_at"], name="webhook_delivery_endpoint_at")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class IdempotentRequest(models.Model):
    """A creating POST sent with an Idempotency-Key, and what it answered. The same key with the same
    request (body, URL, caller) answers that again; with anything else, 409. A unique constraint per
    tenant, not a cache: two racing requests with one key cannot both create."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_sha256 = models.CharField(max_length=64, help_text="sha256 of the parsed body, keys sorted.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="idempotent_request_unique_key")]
        indexes = [models.Index(fields=["tenant", "created_at"], name="idempotent_request_tenant_at")]

    def __str__(self) -> str:
        return f"{self.tenant} {self.method} {self.path} [{self.key}]"
