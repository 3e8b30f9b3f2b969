from django.db import models

from tenants.models import TenantOwned

from .money import usd_field


class Budget(TenantOwned):
    """How much a tenant may spend per period. Enforcement arrives with the billing issue."""

    class Period(models.TextChoices):
        MONTHLY = "monthly", "Monthly (tenant's time zone)"

    period = models.CharField(max_length=16, choices=Period.choices, default=Period.MONTHLY)
    amount_usd = usd_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "period"], name="budget_one_per_tenant_period")]

    def __str__(self) -> str:
        return f"{self.tenant} {self.period} ${self.amount_usd}"
