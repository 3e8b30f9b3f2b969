from decimal import Decimal

from django.db import transaction

from tenants.models import Tenant
from tenants.services import Actor, audit_event_record

from .models import Budget


@transaction.atomic
def budget_set_tenant_monthly(*, tenant: Tenant, amount_usd: Decimal, actor: Actor) -> Budget:
    budget = Budget.objects.select_for_update().filter(tenant=tenant, period=Budget.Period.MONTHLY).first()
    previous = budget.amount_usd if budget else None
    if budget is None:
        budget = Budget(tenant=tenant, period=Budget.Period.MONTHLY, amount_usd=amount_usd)
    budget.amount_usd = amount_usd
    budget.full_clean()
    budget.save()
    audit_event_record(
        tenant=tenant,
        actor=actor,
        verb="budget.set",
        target=budget,
        data={"period": budget.period, "from": str(previous) if previous is not None else None, "to": str(amount_usd)},
    )
    return budget
