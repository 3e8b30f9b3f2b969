import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.money import usd_field
from tenants.models import TenantOwned

from .bedrock.specs import Family, ModelSpec, Task

# A region's first part → the prefix of its geography's cross-region inference profiles.
GEOGRAPHY_PREFIXES = {"us": "us", "ca": "us", "eu": "eu", "ap": "apac"}


class BedrockModel(models.Model):
    """One Bedrock image model Atelier can call. Seeded from generation/bedrock/specs.py; the
    operator sets lifecycle, the invoked id and availability, and may narrow the limits."""

    class Lifecycle(models.TextChoices):
        ACTIVE = "active"
        LEGACY = "legacy"
        END_OF_LIFE = "end_of_life"

    model_id = models.CharField(max_length=200, unique=True, help_text="The catalog id, e.g. amazon.nova-canvas-v1:0.")
    name = models.CharField(max_length=100)
    family = models.CharField(max_length=16, choices=[(f.value, f.name.title()) for f in Family])
    task_types = models.JSONField(default=list)
    size_rule = models.JSONField(default=dict)
    max_images_per_call = models.PositiveSmallIntegerField()
    qualities = models.JSONField(default=list)
    prompt_max_chars = models.PositiveIntegerField()
    negative_max_chars = models.PositiveIntegerField()
    seed_max = models.BigIntegerField()
    styles = models.JSONField(default=list, blank=True)
    supports_conditioning = models.BooleanField(default=False)
    supports_cfg_scale = models.BooleanField(default=True)
    output_formats = models.JSONField(default=list)
    edit_max_side = models.PositiveIntegerField()
    variation_max_side = models.PositiveIntegerField()
    default_size = models.JSONField(default=list)

    invoke_id = models.CharField(
        max_length=300,
        blank=True,
        help_text="What InvokeModel is called with, if not the catalog id: a cross-region inference profile "
        "(us.amazon.nova-canvas-v1:0) or an ARN.",
    )
    enabled = models.BooleanField(default=True, help_text="Off: nobody on this platform may use it.")
    legacy_since = models.DateField(null=True, blank=True)
    extended_access_from = models.DateField(
        null=True, blank=True, help_text="Bedrock's public extended access starts: higher, provider-set prices."
    )
    end_of_life_on = models.DateField(null=True, blank=True)
    successor = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What Bedrock's ListFoundationModels last said (generation/lifecycle.py's catalog_sync writes these).
    bedrock_status = models.CharField(max_length=16, blank=True, help_text="ACTIVE or LEGACY, as Bedrock says.")
    inference_types = models.JSONField(default=list, blank=True, help_text="ON_DEMAND, INFERENCE_PROFILE, …")
    inference_profiles = models.JSONField(
        default=dict, blank=True, help_text="Region → the system inference profile ids (us., eu., global.) for it."
    )
    bedrock_seen_at = models.DateTimeField(null=True, blank=True, help_text="When a sync last found it in Bedrock.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family", "model_id"]
        verbose_name = "Bedrock model"

    def __str__(self) -> str:
        return self.model_id

    @property
    def invoked_id(self) -> str:
        """What InvokeModel is called with: the operator's choice; else, where Bedrock serves the model only
        through inference profiles, the system profile for this region's geography (us., eu., apac.), else the
        global. one; else the model id."""
        if self.invoke_id:
            return self.invoke_id
        if self.inference_types and "ON_DEMAND" not in self.inference_types:
            region = settings.ATELIER_BEDROCK_REGION
            profiles = self.inference_profiles.get(region) or []
            geography = GEOGRAPHY_PREFIXES.get(region.split("-", 1)[0], "")
            for prefix in (geography, "global"):
                if f"{prefix}.{self.model_id}" in profiles:
                    return f"{prefix}.{self.model_id}"
        return self.model_id

    def lifecycle(self, today=None) -> str:
        today = today or timezone.localdate()
        if self.end_of_life_on and self.end_of_life_on <= today:
            return self.Lifecycle.END_OF_LIFE
        if self.legacy_since and self.legacy_since <= today:
            return self.Lifecycle.LEGACY
        return self.Lifecycle.ACTIVE

    def spec(self) -> ModelSpec:
        return ModelSpec.from_row({field.name: getattr(self, field.name) for field in self._meta.concrete_fields})

    @property
    def tasks(self) -> list[Task]:
        return [Task(task) for task in self.task_types]


class TenantModelAccess(TenantOwned):
    """Platform staff's allow-list: a tenant with any of these rows may use only those models."""

    model = models.ForeignKey(BedrockModel, on_delete=models.CASCADE, related_name="tenant_access")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "model"], name="tenant_model_access_unique")]
        verbose_name = "tenant model access"
        verbose_name_plural = "tenant model access"

    def __str__(self) -> str:
        return f"{self.tenant} may use {self.model}"


class TenantAutoSuccessor(TenantOwned):
    """A tenant's opt-in: a job naming a model past end of life runs on a successor instead of
    answering 400. `model` empty: every model; `successor` empty: the model's own successor."""

    model = models.ForeignKey(
        BedrockModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="The retired model this applies to; empty for every model.",
    )  # fmt: skip
    successor = models.ForeignKey(
        BedrockModel, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="The model to use instead; empty for the retired model's own successor.",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "model"], name="tenant_auto_successor_unique"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(model__isnull=True), name="tenant_auto_successor_one_default"
            ),
        ]
        verbose_name = "tenant automatic successor"

    def __str__(self) -> str:
        return f"{self.tenant}: {self.model or 'any retired model'} → {self.successor or 'its successor'}"


class UnsupportedBedrockModel(models.Model):
    """An image model Bedrock lists that Atelier has no spec for: shown to operators, never offered."""

    model_id = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=100, blank=True)
    bedrock_status = models.CharField(max_length=16, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["model_id"]
        verbose_name = "Bedrock model known, not supported"
        verbose_name_plural = "Bedrock models known, not supported"

    def __str__(self) -> str:
        return self.model_id


class GenerationJob(TenantOwned):
    """One request for images, from queued to an end. A batch is a parent job whose children each
    make at most one Bedrock call's worth of images."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIALLY_FILTERED = "partially_filtered"
        FAILED = "failed"
        CANCELLED = "cancelled"

    TERMINAL = frozenset({Status.SUCCEEDED, Status.PARTIALLY_FILTERED, Status.FAILED, Status.CANCELLED})

    class Queue(models.TextChoices):
        INTERACTIVE = "interactive"
        BATCH = "batch"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("assets.Project", on_delete=models.PROTECT, related_name="jobs")
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_key = models.ForeignKey(
        "tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.ForeignKey(BedrockModel, on_delete=models.PROTECT, related_name="jobs")
    task_type = models.CharField(max_length=32, choices=[(t.value, t.value) for t in Task])
    params = models.JSONField(help_text="The validated request, images by sha256.")
    input_assets = models.JSONField(
        default=dict, blank=True, help_text="Request field → stored input asset id(s), to rebuild the call."
    )
    source_assets = models.ManyToManyField("assets.Asset", blank=True, related_name="derived_jobs")
    mask_asset = models.ForeignKey(
        "assets.Asset", null=True, blank=True, on_delete=models.PROTECT, related_name="mask_of",
        help_text="Virtual try-on with return_mask: the mask Bedrock returned (black = changed), stored free.",
    )  # fmt: skip
    seed = models.BigIntegerField(null=True, blank=True, help_text="None for tasks that take no seed.")
    n = models.PositiveSmallIntegerField()
    quality = models.CharField(max_length=16, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.QUEUED, db_index=True)
    queue = models.CharField(max_length=16, choices=Queue.choices, default=Queue.INTERACTIVE)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Bedrock calls tried, retries included.")
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    images_requested = models.PositiveSmallIntegerField()
    images_returned = models.PositiveSmallIntegerField(default=0)
    images_filtered = models.PositiveSmallIntegerField(default=0)
    # The slots whose image Bedrock returned, and AWS bills, but that could not be stored (its stamp failed): they
    # count among images_returned, so they are charged, though no asset holds them.
    unstored_slots = models.JSONField(default=list, blank=True)
    bedrock_request_ids = models.JSONField(default=list, blank=True)
    unit_price_usd = usd_field(null=True, blank=True, help_text="The price per image this job was quoted.")
    price = models.ForeignKey("billing.Price", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    warnings = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="Free campaign tags; spend groups by them.")
    fingerprint = models.CharField(max_length=64, db_index=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    idempotency_request_sha256 = models.CharField(
        max_length=64, blank=True, default="",
        help_text="sha256 of the request first sent with idempotency_key: the key answers only that request again.",
    )  # fmt: skip
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    deduplicated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="A repeat of this job's seeded request: its images are returned at no cost.",
    )  # fmt: skip
    prompt_version = models.ForeignKey(
        "assets.PromptVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    saved_seed = models.ForeignKey("assets.Seed", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    substituted_from = models.ForeignKey(
        BedrockModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The end-of-life model the request named; the tenant's automatic successor ran instead.",
    )  # fmt: skip
    finalizes = models.ForeignKey(
        "assets.Asset", null=True, blank=True, on_delete=models.PROTECT, related_name="finals",
        help_text="The draft this job re-renders at premium quality; its image becomes the draft's child.",
    )  # fmt: skip
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="job_idempotency_key_unique_per_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"], name="job_tenant_status_created"),
            models.Index(fields=["tenant", "fingerprint"], name="job_tenant_fingerprint"),
        ]

    def __str__(self) -> str:
        return f"job {self.id} {self.task_type} {self.status}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def is_batch(self) -> bool:
        return self.queue == self.Queue.BATCH and self.parent_id is None
