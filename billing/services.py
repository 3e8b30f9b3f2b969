import datetime
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from config.errors import ApplicationError
from tenants.models import Tenant
from tenants.services import Actor, audit_event_record

from .models import Budget, LedgerEntry
from .money import USD_QUANTUM


def budget_create_monthly(
    *, tenant: Tenant, amount_usd: Decimal, actor: Actor, project=None, api_key=None, alert_thresholds=None
) -> Budget:
    """A new monthly budget for the tenant, a project or an API key; one of each at most."""
    if Budget.objects.for_tenant(tenant).filter(project=project, api_key=api_key).exists():
        field = "project" if project else "api_key" if api_key else "non_field_errors"
        message = "This budget exists already: change it with PATCH."
        raise ApplicationError("invalid", message, fields={field: [message]})
    budget = budget_set_monthly(tenant=tenant, amount_usd=amount_usd, actor=actor, project=project, api_key=api_key)
    if alert_thresholds is not None:
        budget = budget_update(budget=budget, actor=actor, alert_thresholds=alert_thresholds)
    return budget


def budget_set_tenant_monthly(*, tenant: Tenant, amount_usd: Decimal, actor: Actor) -> Budget:
    return budget_set_monthly(tenant=tenant, amount_usd=amount_usd, actor=actor)


@transaction.atomic
def budget_set_monthly(*, tenant: Tenant, amount_usd: Decimal, actor: Actor, project=None, api_key=None) -> Budget:
    """Set the monthly budget of the tenant, or of one of its projects or API keys (a cap)."""
    budget = (
        Budget.objects.select_for_update()
        .filter(tenant=tenant, period=Budget.Period.MONTHLY, project=project, api_key=api_key)
        .first()
    )
    previous = budget.amount_usd if budget else None
    if budget is None:
        budget = Budget(tenant=tenant, period=Budget.Period.MONTHLY, project=project, api_key=api_key)
    budget.amount_usd = amount_usd
    budget.full_clean(validate_constraints=False)
    budget.save()
    audit_event_record(
        tenant=tenant,
        actor=actor,
        verb="budget.set",
        target=budget,
        data={
            "scope": budget.scope,
            "period": budget.period,
            "from": str(previous) if previous is not None else None,
            "to": str(amount_usd),
        },
    )
    return budget


def period_start_for(tenant: Tenant, at=None) -> datetime.date:
    """The first day of the tenant's budget month that `at` falls in, in the tenant's time zone."""
    local = timezone.localtime(at or timezone.now(), zoneinfo.ZoneInfo(tenant.timezone))
    return local.date().replace(day=1)


def committed_usd(*, tenant: Tenant, period_start: datetime.date, budget: Budget | None = None) -> Decimal:
    """What a period has committed: reserved less released plus adjustments; for one budget's
    scope (a project, an API key) when given."""
    entries = LedgerEntry.objects.for_tenant(tenant).filter(period_start=period_start)
    if budget is not None:
        entries = entries.filter(budget.entries_filter())
    sums = dict(entries.values("kind").annotate(total=Sum("amount_usd")).values_list("kind", "total").order_by())
    kinds = LedgerEntry.Kind
    return (
        sums.get(kinds.RESERVE, Decimal(0)) - sums.get(kinds.RELEASE, Decimal(0)) + sums.get(kinds.ADJUST, Decimal(0))
    ).quantize(USD_QUANTUM)


def budgets_for_job(job) -> list[Budget]:
    """Every budget a job falls under — its tenant's, its project's, its API key's — locked, in pk order
    (one fixed order for every submission, so concurrent ones cannot deadlock)."""
    scopes = Q(project=None, api_key=None) | Q(project=job.project_id)
    if job.requested_by_key_id:
        scopes |= Q(api_key=job.requested_by_key_id)
    return list(
        Budget.objects.select_for_update()
        .filter(tenant=job.tenant, period=Budget.Period.MONTHLY)
        .filter(scopes)
        .order_by("pk")
    )


def budget_reserve(*, job, amount_usd: Decimal) -> LedgerEntry:
    """Hold a job's estimate against every budget it falls under, or refuse with 402. Call inside
    the submitting transaction: the budget rows are locked, so concurrent submissions queue here
    and the sums they check include every reservation committed before them."""
    tenant = job.tenant
    budgets = budgets_for_job(job)
    if not any(budget.scope == "tenant" for budget in budgets):
        raise BudgetExceeded(
            f"No budget is set for {tenant.slug}: an admin must set a monthly budget before images can be made.",
            estimate=amount_usd,
            remaining={"tenant": Decimal(0)},
        )
    period = period_start_for(tenant)
    remaining = {
        budget.scope: max(
            (budget.amount_usd - committed_usd(tenant=tenant, period_start=period, budget=budget)), Decimal(0)
        ).quantize(USD_QUANTUM)
        for budget in budgets
    }
    short = [scope for scope, left in remaining.items() if amount_usd > left]
    if short:
        which = ", ".join(f"the {scope} budget has ${remaining[scope]:.6f} left" for scope in short)
        raise BudgetExceeded(
            f"This request would cost ${amount_usd:.6f}; {which}.", estimate=amount_usd, remaining=remaining
        )
    return LedgerEntry.objects.create(
        tenant=tenant, kind=LedgerEntry.Kind.RESERVE, amount_usd=amount_usd, period_start=period,
        project=job.project, job=job, api_key=job.requested_by_key,
    )  # fmt: skip


@transaction.atomic
def job_settle(*, job) -> None:
    """Charge the images Bedrock returned and release the rest of the reservation; a failed or
    cancelled job releases everything. Settling twice changes nothing."""
    reserve = LedgerEntry.objects.filter(job=job, kind=LedgerEntry.Kind.RESERVE).first()
    if reserve is None or LedgerEntry.objects.filter(job=job, kind=LedgerEntry.Kind.RELEASE).exists():
        return
    charged_images = 0
    if job.status in ("succeeded", "partially_filtered"):
        charged_images = job.images_returned + (job.images_filtered if settings.ATELIER_CHARGE_FILTERED_IMAGES else 0)
    charge = min(reserve.amount_usd, (job.unit_price_usd or Decimal(0)) * charged_images).quantize(USD_QUANTUM)
    common = {"tenant": job.tenant, "period_start": reserve.period_start, "project": job.project, "job": job,
              "api_key": reserve.api_key}  # fmt: skip
    if charge:
        LedgerEntry.objects.create(kind=LedgerEntry.Kind.CHARGE, amount_usd=charge, **common)
    LedgerEntry.objects.create(kind=LedgerEntry.Kind.RELEASE, amount_usd=reserve.amount_usd - charge, **common)


class BudgetExceeded(ApplicationError):
    def __init__(self, message: str, *, estimate: Decimal, remaining: dict[str, Decimal]):
        super().__init__("budget_exceeded", message, status_code=402)
        self.extra = {"estimate": f"{estimate:.6f}", "remaining": {k: f"{v:.6f}" for k, v in remaining.items()}}


@transaction.atomic
def budget_update(*, budget: Budget, actor: Actor, amount_usd: Decimal | None = None, alert_thresholds=None) -> Budget:
    before = {"amount": str(budget.amount_usd), "alert_thresholds": budget.alert_thresholds}
    if amount_usd is not None:
        budget.amount_usd = amount_usd
    if alert_thresholds is not None:
        budget.alert_thresholds = alert_thresholds
    budget.save()
    audit_event_record(
        tenant=budget.tenant, actor=actor, verb="budget.changed", target=budget,
        data={"scope": budget.scope, "from": before,
              "to": {"amount": str(budget.amount_usd), "alert_thresholds": budget.alert_thresholds}},
    )  # fmt: skip
    return budget


@transaction.atomic
def budget_delete(*, budget: Budget, actor: Actor) -> None:
    audit_event_record(
        tenant=budget.tenant, actor=actor, verb="budget.deleted", target=budget,
        data={"scope": budget.scope, "amount": str(budget.amount_usd)},
    )  # fmt: skip
    budget.delete()


@transaction.atomic
def ledger_adjust(*, tenant: Tenant, amount_usd: Decimal, reason: str, actor: Actor, project=None) -> LedgerEntry:
    """A credit (negative) or a correction (positive) on this month's spend, with its reason."""
    if not reason.strip():
        raise ApplicationError("invalid", "reason: say why.", fields={"reason": ["Say why."]})
    if not amount_usd:
        raise ApplicationError("invalid", "amount: must not be zero.", fields={"amount": ["Must not be zero."]})
    entry = LedgerEntry.objects.create(
        tenant=tenant, kind=LedgerEntry.Kind.ADJUST, amount_usd=amount_usd.quantize(USD_QUANTUM),
        period_start=period_start_for(tenant), project=project, reason=reason.strip(),
    )  # fmt: skip
    audit_event_record(
        tenant=tenant, actor=actor, verb="ledger.adjusted", target=entry,
        data={"amount": f"{entry.amount_usd:.6f}", "reason": entry.reason},
    )  # fmt: skip
    return entry
