from django.db import models
from django.utils import timezone

from tenants.models import TenantOwned

from .bedrock.specs import Family, ModelSpec, Task


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
    end_of_life_on = models.DateField(null=True, blank=True)
    successor = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family", "model_id"]
        verbose_name = "Bedrock model"

    def __str__(self) -> str:
        return self.model_id

    @property
    def invoked_id(self) -> str:
        return self.invoke_id or self.model_id

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
