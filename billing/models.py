from django.core.exceptions import ValidationError
from django.db import models

from tenants.models import Tenant, TenantOwned, public_uuid_field

from .money import usd_field

ALERT_THRESHOLD_RANGE = (1, 1000)  # percent of the amount: above 100 warns of an overrun by adjustments
ALERT_THRESHOLDS_MAX = 10


def default_alert_thresholds() -> list[int]:
    return [50, 80, 100]


def validate_alert_thresholds(value) -> None:
    low, high = ALERT_THRESHOLD_RANGE
    if (
        not isinstance(value, list)
        or len(value) > ALERT_THRESHOLDS_MAX
        or not all(isinstance(t, int) and not isinstance(t, bool) and low <= t <= high for t in value)
    ):
        raise ValidationError(f"A list of at most {ALERT_THRESHOLDS_MAX} whole percentages from {low} to {high}.")


class Budget(TenantOwned):
    """A monthly spending limit, in the tenant's time zone: the tenant's own, a project's, or one
    API key's cap (so one integration cannot drain the tenant). A job needs room in every budget
    it falls under."""

    class Period(models.TextChoices):
        MONTHLY = "monthly", "Monthly (tenant's time zone)"

    uuid = public_uuid_field()
    period = models.CharField(max_length=16, choices=Period.choices, default=Period.MONTHLY)
    amount_usd = usd_field()
    project = models.ForeignKey(
        "assets.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="budgets"
    )
    api_key = models.ForeignKey(
        "tenants.ApiKey", null=True, blank=True, on_delete=models.CASCADE, related_name="budgets"
    )
    alert_thresholds = models.JSONField(
        default=default_alert_thresholds, validators=[validate_alert_thresholds], help_text="Percent of the amount."
    )
    # This month's running figures, kept beside the ledger in the same transactions so a
    # reservation reads one locked row instead of summing the month's entries. The ledger stays
    # the truth: reconcile_ledger compares the two.
    period_start = models.DateField(null=True, blank=True, editable=False, help_text="The month the figures are for.")
    committed_usd = usd_field(default=0, editable=False, help_text="Reserved − released + adjusted this month.")
    alerted_percent = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="The highest alert threshold already sent this month."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period"],
                condition=models.Q(project__isnull=True, api_key__isnull=True),
                name="budget_one_tenant_budget_per_period",
            ),
            models.UniqueConstraint(
                fields=["tenant", "project", "period"],
                condition=models.Q(project__isnull=False),
                name="budget_one_per_project_and_period",
            ),
            models.UniqueConstraint(
                fields=["tenant", "api_key", "period"],
                condition=models.Q(api_key__isnull=False),
                name="budget_one_per_api_key_and_period",
            ),
            models.CheckConstraint(
                condition=models.Q(project__isnull=True) | models.Q(api_key__isnull=True),
                name="budget_is_for_a_project_or_a_key_not_both",
            ),
            models.CheckConstraint(condition=models.Q(amount_usd__gte=0), name="budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.scope} {self.period} ${self.amount_usd}"

    @property
    def scope(self) -> str:
        if self.project_id:
            return "project"
        return "api_key" if self.api_key_id else "tenant"

    def covers(self, *, project_id=None, api_key_id=None) -> bool:
        """Whether money moved for this project and API key counts against this budget."""
        if self.project_id:
            return self.project_id == project_id
        if self.api_key_id:
            return self.api_key_id == api_key_id
        return True

    def entries_filter(self) -> models.Q:
        """The ledger entries this budget counts."""
        if self.project_id:
            return models.Q(project_id=self.project_id)
        if self.api_key_id:
            return models.Q(api_key_id=self.api_key_id)
        return models.Q()


class Price(models.Model):
    """What one image costs: a model, a size tier, a quality, from a date on. Rows are never edited
    once used: a new price is a new row with a later `effective_from`. A tenant's row is its
    negotiated rate and wins over the list price."""

    class TierRule(models.TextChoices):
        MAX_PIXELS = "max_pixels", "width × height ≤ bound"
        MAX_SIDE = "max_side", "both sides ≤ bound"
        ANY = "any", "any size"

    model = models.ForeignKey("generation.BedrockModel", on_delete=models.PROTECT, related_name="prices")
    tier_rule = models.CharField(max_length=16, choices=TierRule.choices)
    tier_bound = models.PositiveIntegerField(null=True, blank=True, help_text="Pixels or side length; empty for any.")
    quality = models.CharField(max_length=16, default="standard")
    unit_price_usd = usd_field()
    effective_from = models.DateTimeField()
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="prices",
        help_text="A negotiated rate for this tenant only.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "quality", "tier_rule", "tier_bound", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tier_rule="any", tier_bound__isnull=True)
                | (~models.Q(tier_rule="any") & models.Q(tier_bound__isnull=False)),
                name="price_tier_bound_matches_rule",
            ),
            models.CheckConstraint(condition=models.Q(unit_price_usd__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        tier = "any size" if self.tier_rule == self.TierRule.ANY else f"{self.tier_rule} ≤ {self.tier_bound}"
        return f"{self.model_id} {self.quality} {tier}: ${self.unit_price_usd}"

    def fits(self, width: int, height: int) -> bool:
        if self.tier_rule == self.TierRule.MAX_PIXELS:
            return width * height <= self.tier_bound
        if self.tier_rule == self.TierRule.MAX_SIDE:
            return max(width, height) <= self.tier_bound
        return True

    @property
    def tier_key(self) -> tuple:
        return (self.tenant_id, self.tier_rule, self.tier_bound)


class LedgerEntry(TenantOwned):
    """Append-only money movements. A job's reservation holds its estimate; when the job ends the
    images Bedrock returned are charged and the rest released, and images that land after that (a
    call in flight when the job was cancelled) are a late charge: an adjustment on the job. What a
    budget period has committed is Σ reserve − Σ release + Σ adjust over its entries; never a counter
    edited in place."""

    class Kind(models.TextChoices):
        RESERVE = "reserve"
        CHARGE = "charge"
        RELEASE = "release"
        ADJUST = "adjust"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount_usd = usd_field()
    period_start = models.DateField(help_text="The budget period this entry counts in: its job's reservation month.")
    project = models.ForeignKey("assets.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey(
        "generation.GenerationJob", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "period_start", "kind"], name="ledger_tenant_period_kind")]
        constraints = [
            # A job is reserved once and settled once, however often its task runs.
            models.UniqueConstraint(
                fields=["job", "kind"],
                condition=models.Q(job__isnull=False) & ~models.Q(kind="adjust"),
                name="ledger_one_entry_per_job_and_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ${self.amount_usd} ({self.tenant})"


# What a job has been charged: its charge, and the late charges (adjustments) written on it after it settled.
JOB_CHARGE_KINDS = (LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST)
