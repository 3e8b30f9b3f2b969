import datetime
import zoneinfo
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from config.errors import ApplicationError
from tenants.models import Tenant
from tenants.services import Actor, audit_event_record
from tenants.webhooks import webhook_event_emit

from .models import JOB_CHARGE_KINDS, Budget, LedgerEntry
from .money import USD_QUANTUM
from .pricing import images_charge


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
    _check_own(tenant, project=project, api_key=api_key)
    budget = (
        Budget.objects.select_for_update()
        .filter(tenant=tenant, period=Budget.Period.MONTHLY, project=project, api_key=api_key)
        .first()
    )
    previous = budget.amount_usd if budget else None
    if budget is None:
        budget = Budget(tenant=tenant, period=Budget.Period.MONTHLY, project=project, api_key=api_key)
    budget.amount_usd = amount_usd
    budget.alerted_percent = _percent_crossed(budget)  # only thresholds crossed from now on alert
    budget.full_clean(validate_constraints=False)
    budget.save()  # the row is locked (or new): its running figures are current
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


def _check_own(tenant: Tenant, **rows) -> None:
    """Money is never booked against another tenant's project or key, whichever surface asks."""
    for field, row in rows.items():
        if row is not None and row.tenant_id != tenant.pk:
            message = "No such " + field.replace("_", " ") + "."
            raise ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})


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


def _budgets_locked(tenant: Tenant, *, project_id=None, api_key_id=None) -> list[Budget]:
    """The budgets a movement falls under, locked. All the tenant's budgets are locked, in pk order:
    one fixed order for every writer, so none deadlock; and as every movement locks the tenant's own
    budget anyway, locking its few others costs no concurrency. Plain SQL because this runs in
    every submission and the ORM's query building was a fifth of the reservation's cost
    (bench/budget.py)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite locks the whole file
    sql = f"SELECT * FROM {Budget._meta.db_table} WHERE tenant_id = %s ORDER BY id{lock}"  # noqa: S608 — constants
    budgets = Budget.objects.raw(sql, [tenant.pk])
    return [budget for budget in budgets if budget.covers(project_id=project_id, api_key_id=api_key_id)]


def _move(budget: Budget, entry: LedgerEntry) -> bool:
    """Carry a just-written ledger entry into a locked budget's running figures (in memory; the
    caller saves). False when the entry counts in a month the budget has already left."""
    if budget.period_start and entry.period_start < budget.period_start:
        return False
    if budget.period_start != entry.period_start:  # the month's first movement: start from the ledger
        budget.period_start = entry.period_start
        budget.committed_usd = committed_usd(tenant=entry.tenant, period_start=entry.period_start, budget=budget)
        budget.alerted_percent = 0
    else:
        budget.committed_usd += _committing(entry)
    return True


def _committing(entry: LedgerEntry) -> Decimal:
    return {LedgerEntry.Kind.RESERVE: entry.amount_usd, LedgerEntry.Kind.RELEASE: -entry.amount_usd,
            LedgerEntry.Kind.ADJUST: entry.amount_usd}.get(entry.kind, Decimal(0))  # fmt: skip


def _percent_crossed(budget: Budget) -> int:
    """The highest alert threshold the budget's committed figure has reached (0 for none)."""
    if budget.committed_usd <= 0:
        return 0
    return max((t for t in budget.alert_thresholds if budget.committed_usd * 100 >= t * budget.amount_usd), default=0)


def _save_figures(budget: Budget) -> None:
    """Write a budget's running figures and, for each threshold newly crossed, an audit event now and
    an email to the tenant's admins once the transaction commits (so a refused job alerts nobody)."""
    crossed = sorted(t for t in budget.alert_thresholds if budget.alerted_percent < t <= _percent_crossed(budget))
    if crossed:
        budget.alerted_percent = crossed[-1]
    Budget.objects.filter(pk=budget.pk).update(
        period_start=budget.period_start, committed_usd=budget.committed_usd, alerted_percent=budget.alerted_percent
    )
    for threshold in crossed:
        _budget_alert(budget, threshold)


def _budget_alert(budget: Budget, threshold: int) -> None:
    from .tasks import budget_alert_send

    data = {"scope": budget.scope, "threshold_percent": threshold, "period_start": budget.period_start.isoformat(),
            "amount": f"{budget.amount_usd:.6f}", "committed": f"{budget.committed_usd:.6f}"}  # fmt: skip
    event = audit_event_record(
        tenant=budget.tenant, actor=None, verb="budget.threshold_crossed", target=budget, data=data
    )
    transaction.on_commit(lambda: budget_alert_send.delay(event.pk))
    api_key = budget.api_key.uuid if budget.api_key_id else None
    which = {"id": budget.uuid, "project": budget.project_id, "api_key": api_key, "currency": "USD"}
    webhook_event_emit(tenant=budget.tenant, event="budget.threshold_crossed", data={"budget": which | data})


def _record(entry: LedgerEntry, budgets: list[Budget]) -> None:
    """Count a written ledger entry in the running figures of every locked budget it falls under."""
    for budget in budgets:
        if _move(budget, entry):
            _save_figures(budget)


def budget_reserve(*, job, amount_usd: Decimal) -> LedgerEntry:
    """Hold a job's estimate against every budget it falls under, or refuse with 402. Call last in
    the submitting transaction: the entry is written first, then the budget rows are locked, so
    concurrent submissions queue only for a row read, one write each and the commit, and each sees
    every reservation committed before it."""
    tenant = job.tenant
    entry = LedgerEntry.objects.create(
        tenant=tenant, kind=LedgerEntry.Kind.RESERVE, amount_usd=amount_usd, period_start=period_start_for(tenant),
        project=job.project, job=job, api_key=job.requested_by_key,
    )  # fmt: skip
    budgets = _budgets_locked(tenant, project_id=job.project_id, api_key_id=job.requested_by_key_id)
    if not any(budget.scope == "tenant" for budget in budgets):
        raise BudgetExceeded(
            f"No budget is set for {tenant.slug}: an admin must set a monthly budget before images can be made.",
            estimate=amount_usd,
            remaining={"tenant": Decimal(0)},
        )
    for budget in budgets:
        _move(budget, entry)
    remaining = {
        b.scope: max(b.amount_usd - b.committed_usd + amount_usd, Decimal(0)).quantize(USD_QUANTUM) for b in budgets
    }
    short = [b.scope for b in budgets if b.committed_usd > b.amount_usd]
    if short:  # raising undoes the entry with the rest of the submission
        which = ", ".join(f"the {scope} budget has ${remaining[scope]:.6f} left" for scope in short)
        raise BudgetExceeded(
            f"This request would cost ${amount_usd:.6f}; {which}.", estimate=amount_usd, remaining=remaining
        )
    for budget in budgets:
        _save_figures(budget)
    return entry


LATE_CHARGE_REASON = "Images Bedrock returned after the job was settled (a call in flight when it was cancelled)."


@transaction.atomic
def job_settle(*, job) -> None:
    """Charge what Bedrock made for a job — its quoted unit price × `images_returned` (and the images the
    content filter withheld, where those are charged), whatever the job's end: succeeded, failed or
    cancelled — and release the rest of its reservation. The caller has set the job's counts from what is
    stored.

    A job is settled when it ends, with the images stored by then. A cancelled job can still have a
    Bedrock call in flight; AWS bills what that call returns, so the task stores those images and settles
    again. The release is written by then, so they are a late charge: an `adjust` entry on the job, which
    counts in the budgets' committed figure, in spend and in the job's cost like any adjustment. Settling
    when nothing new was stored changes nothing. (Holding the settlement back until the call ends would
    instead hold the reservation forever when the worker dies mid-call.)"""
    reserve = LedgerEntry.objects.select_for_update().filter(job=job, kind=LedgerEntry.Kind.RESERVE).first()
    if reserve is None:
        return
    owed = images_charge(unit_price=job.unit_price_usd, made=job.images_returned, withheld=job.images_filtered)
    due = min(owed, reserve.amount_usd)  # a job never costs more than it was quoted
    entries = LedgerEntry.objects.filter(job=job)
    # By id: the rows themselves would each be read for nothing (the job is often loaded without them).
    common = {"tenant_id": job.tenant_id, "period_start": reserve.period_start, "project_id": job.project_id,
              "job": job, "api_key_id": reserve.api_key_id}  # fmt: skip
    if not entries.filter(kind=LedgerEntry.Kind.RELEASE).exists():
        if due:
            LedgerEntry.objects.create(kind=LedgerEntry.Kind.CHARGE, amount_usd=due, **common)
        moved = LedgerEntry.objects.create(kind=LedgerEntry.Kind.RELEASE, amount_usd=reserve.amount_usd - due, **common)
    else:
        charged = entries.filter(kind__in=JOB_CHARGE_KINDS).aggregate(total=Sum("amount_usd"))["total"] or 0
        if due <= charged:
            return
        moved = LedgerEntry.objects.create(
            kind=LedgerEntry.Kind.ADJUST, amount_usd=due - charged, reason=LATE_CHARGE_REASON, **common
        )
    _record(moved, _budgets_locked(job.tenant, project_id=job.project_id, api_key_id=reserve.api_key_id))


class BudgetExceeded(ApplicationError):
    def __init__(self, message: str, *, estimate: Decimal, remaining: dict[str, Decimal]):
        super().__init__("budget_exceeded", message, status_code=402)
        self.extra = {"estimate": f"{estimate:.6f}", "remaining": {k: f"{v:.6f}" for k, v in remaining.items()}}


@transaction.atomic
def budget_update(*, budget: Budget, actor: Actor, amount_usd: Decimal | None = None, alert_thresholds=None) -> Budget:
    budget = Budget.objects.select_for_update().get(pk=budget.pk)  # the running figures are not ours to overwrite
    before = {"amount": str(budget.amount_usd), "alert_thresholds": budget.alert_thresholds}
    if amount_usd is not None:
        budget.amount_usd = amount_usd
    if alert_thresholds is not None:
        budget.alert_thresholds = alert_thresholds
    budget.alerted_percent = _percent_crossed(budget)  # only thresholds crossed from now on alert
    budget.full_clean(validate_constraints=False)
    budget.save(update_fields=["amount_usd", "alert_thresholds", "alerted_percent", "updated_at"])
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
    _check_own(tenant, project=project)
    entry = LedgerEntry.objects.create(
        tenant=tenant, kind=LedgerEntry.Kind.ADJUST, amount_usd=amount_usd.quantize(USD_QUANTUM),
        period_start=period_start_for(tenant), project=project, reason=reason.strip(),
    )  # fmt: skip
    _record(entry, _budgets_locked(tenant, project_id=project.pk if project else None))
    audit_event_record(
        tenant=tenant, actor=actor, verb="ledger.adjusted", target=entry,
        data={"amount": f"{entry.amount_usd:.6f}", "reason": entry.reason},
    )  # fmt: skip
    return entry
