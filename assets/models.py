import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from tenants.models import Role, TenantOwned

HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
PALETTE_MAX = 10  # Nova's colour-guided generation takes at most ten


def validate_palette(value) -> None:
    if (
        not isinstance(value, list)
        or len(value) > PALETTE_MAX
        or not all(isinstance(colour, str) and HEX_COLOUR.match(colour) for colour in value)
    ):
        raise ValidationError(f"A list of at most {PALETTE_MAX} colours written #RRGGBB.")


def validate_tags(value) -> None:
    if (
        not isinstance(value, list)
        or len(value) > 20
        or not all(isinstance(tag, str) and 1 <= len(tag) <= 50 for tag in value)
    ):
        raise ValidationError("Up to 20 tags of 1–50 characters.")


class Project(TenantOwned):
    """Where a tenant's work is grouped, with its brand rules: palette, default model, negative
    prompt, quality and size. Each tenant has one default project for requests that name none."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    brand_palette = models.JSONField(default=list, blank=True, validators=[validate_palette])
    default_model = models.ForeignKey(
        "generation.BedrockModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_negative_prompt = models.TextField(blank=True)
    default_quality = models.CharField(max_length=16, blank=True)
    default_width = models.PositiveIntegerField(null=True, blank=True)
    default_height = models.PositiveIntegerField(null=True, blank=True)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="project_unique_slug_per_tenant"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_default=True), name="project_one_default_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant}/{self.slug}"


class ApprovalStage(models.Model):
    """One step of a project's review, in order (e.g. brand, then legal): approvable by a role and
    above, or, when members are named, by those members only. A project without stages has one:
    approvers."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="approval_stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.APPROVER)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="approval_stage_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.project} stage {self.position}: {self.name}"


class Prompt(TenantOwned):
    """A reusable prompt of a project. Its text lives in versions: an edit adds one, and jobs point
    at the version they used."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="prompt_unique_name_per_project")]

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"


class PromptVersion(models.Model):
    """One immutable wording of a prompt. `{variable}` placeholders are filled at submit time."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    negative_text = models.TextField(blank=True)
    style = models.CharField(max_length=64, blank=True)
    variables = models.JSONField(default=list, blank=True, help_text="The {names} the text uses, in order.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prompt", "-number"]
        constraints = [models.UniqueConstraint(fields=["prompt", "number"], name="prompt_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.prompt} v{self.number}"


class Seed(TenantOwned):
    """A saved seed that reproduces a look."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="seeds")
    value = models.BigIntegerField()
    label = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.label} ({self.value})"


class Asset(TenantOwned):
    """One stored image: generated by a job, or uploaded as the input of an edit. Generated images
    go through review before anyone publishes them."""

    class Kind(models.TextChoices):
        GENERATED = "generated"
        UPLOAD = "upload"
        MASK = "mask"  # returned by Bedrock beside a job's images (virtual try-on): not an image it bills

    class Status(models.TextChoices):
        DRAFT = "draft"
        IN_REVIEW = "in_review"
        APPROVED = "approved"
        REJECTED = "rejected"
        CHANGES_REQUESTED = "changes_requested"
        ARCHIVED = "archived"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="assets")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERATED)
    job = models.ForeignKey(
        "generation.GenerationJob", null=True, blank=True, on_delete=models.PROTECT, related_name="assets"
    )
    index = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Position among its job's images.")
    file_key = models.CharField(max_length=300)
    thumbnail_key = models.CharField(max_length=300, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)  # png, jpeg, webp
    bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    seed = models.BigIntegerField(null=True, blank=True)
    parents = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="children")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT, db_index=True)
    review_stage = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="While in review: the position of the stage that must approve next."
    )
    title = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Provenance, fixed at ingest: the perceptual hash (near-duplicates), the id Atelier's own
    # watermark carries, and what the C2PA manifest recorded.
    phash = models.CharField(max_length=16, blank=True, db_index=True)
    watermark_id = models.CharField(max_length=16, null=True, blank=True, unique=True)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "index"]
        constraints = [
            # A job's image slot is stored once, however often its task runs.
            models.UniqueConstraint(
                fields=["job", "index"], condition=models.Q(job__isnull=False), name="asset_once_per_job_slot"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="asset_tenant_created"),
            models.Index(fields=["tenant", "status", "created_at"], name="asset_tenant_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.width}x{self.height} {self.format})"

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"

    @property
    def takes_edits(self) -> bool:
        """Whether tools, try-on and finals are offered on it: a try-on's mask is evidence of what Bedrock changed,
        not an image to work on."""
        return self.kind != self.Kind.MASK


class ReviewQuerySet(models.QuerySet):
    def for_tenant(self, tenant) -> "ReviewQuerySet":
        return self.filter(asset__tenant=tenant)


class Review(models.Model):
    """One decision on an asset: who, at which stage, what they said. Append-only."""

    class Decision(models.TextChoices):
        SUBMITTED = "submitted"
        APPROVED = "approved"
        REJECTED = "rejected"
        CHANGES_REQUESTED = "changes_requested"
        ARCHIVED = "archived"
        COMMENTED = "commented"  # a remark only: the asset's status does not move

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer_key = models.ForeignKey(
        "tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=24, choices=Decision.choices)
    comment = models.TextField(blank=True)
    stage = models.PositiveSmallIntegerField(null=True, blank=True)
    stage_name = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["asset", "at", "id"]

    def __str__(self) -> str:
        return f"{self.decision} {self.asset_id} at {self.at:%Y-%m-%d %H:%M}"


class ProvenanceCheck(TenantOwned):
    """The answer to "where did this image come from, and can you prove it?": every detector run
    on one image, with a verdict."""

    class Verdict(models.TextChoices):
        ATELIER_ASSET = "atelier_asset"
        AI_GENERATED = "ai_generated"
        NO_EVIDENCE = "no_evidence"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    input_sha256 = models.CharField(max_length=64)
    input_asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="provenance_checks",
        help_text="The Atelier asset the image was traced to.",
    )  # fmt: skip
    detectors = models.JSONField(default=list, help_text='[{"name", "result", "confidence", "details"}]')
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_by_key = models.ForeignKey(
        "tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"check {self.id}: {self.verdict}"
