import datetime
import zoneinfo
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from generation.models import GenerationJob

from .models import JOB_CHARGE_KINDS, Budget, LedgerEntry
from .money import USD_QUANTUM
from .pricing import images_charge


def ledger_drift(*, tenant_slug: str | None = None) -> tuple[list[dict], int]:
    """Finished jobs whose reservation is not exactly charged + released: (drifting rows, jobs checked)."""
    entries = LedgerEntry.objects.filter(job__status__in=GenerationJob.TERMINAL)
    if tenant_slug:
        entries = entries.filter(tenant__slug=tenant_slug)
    sums: dict = defaultdict(lambda: defaultdict(Decimal))
    tenants = {}
    for row in entries.values("job_id", "tenant__slug", "kind").annotate(total=Sum("amount_usd")).order_by():
        sums[row["job_id"]][row["kind"]] = row["total"]
        tenants[row["job_id"]] = row["tenant__slug"]
    drifting = []
    reserved_jobs = [job_id for job_id, kinds in sums.items() if LedgerEntry.Kind.RESERVE in kinds]
    for job_id in reserved_jobs:
        kinds = sums[job_id]
        reserved, charged, released = (kinds[k] for k in ("reserve", "charge", "release"))
        drift = reserved - charged - released
        if drift:
            drifting.append(
                {"job_id": job_id, "tenant": tenants[job_id], "reserved": reserved, "charged": charged,
                 "released": released, "drift": drift}
            )  # fmt: skip
    return drifting, len(reserved_jobs)


def charge_drift(*, tenant_slug: str | None = None) -> tuple[list[dict], int]:
    """Finished jobs not charged exactly for what Bedrock made, counted from the stored images rather than
    the job's own counts: its quoted unit price × the generated images stored for it (for a batch, for its
    parts), plus the withheld ones where those are charged (billing.pricing.images_charge). (Drifting rows,
    jobs checked.)"""
    from assets.models import Asset

    reserves = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESERVE, job__status__in=GenerationJob.TERMINAL)
    if tenant_slug:
        reserves = reserves.filter(tenant__slug=tenant_slug)
    jobs = {
        row["job_id"]: row
        for row in reserves.values("job_id", "tenant__slug", "job__unit_price_usd", "job__images_filtered")
    }
    job_ids = reserves.values("job_id")
    charged = dict(
        LedgerEntry.objects.filter(job__in=job_ids, kind__in=JOB_CHARGE_KINDS)
        .values("job_id").annotate(total=Sum("amount_usd")).values_list("job_id", "total").order_by()
    )  # fmt: skip
    made: dict = defaultdict(int)
    stored = Asset.objects.filter(kind=Asset.Kind.GENERATED).filter(Q(job__in=job_ids) | Q(job__parent__in=job_ids))
    for job_id, parent_id, count in (
        stored.values("job_id", "job__parent_id").annotate(count=Count("id")).values_list(
            "job_id", "job__parent_id", "count").order_by()
    ):  # fmt: skip
        made[parent_id or job_id] += count  # a batch's parts are charged on the batch
    drifting = []
    for job_id, row in jobs.items():
        due = images_charge(
            unit_price=row["job__unit_price_usd"], made=made[job_id], withheld=row["job__images_filtered"]
        )
        paid = charged.get(job_id, Decimal(0))
        if paid != due:
            drifting.append(
                {"job_id": job_id, "tenant": row["tenant__slug"], "images": made[job_id],
                 "withheld": row["job__images_filtered"], "unit_price": row["job__unit_price_usd"] or Decimal(0),
                 "due": due, "charged": paid, "drift": paid - due}
            )  # fmt: skip
    return drifting, len(jobs)


def budget_drift(*, tenant_slug: str | None = None) -> tuple[list[dict], int]:
    """Budgets whose running figure for their month is not the ledger's sum: (drifting rows, budgets checked)."""
    from .services import committed_usd

    budgets = Budget.objects.exclude(period_start=None).select_related("tenant")
    if tenant_slug:
        budgets = budgets.filter(tenant__slug=tenant_slug)
    drifting, checked = [], 0
    for budget in budgets:
        checked += 1
        ledger = committed_usd(tenant=budget.tenant, period_start=budget.period_start, budget=budget)
        if ledger != budget.committed_usd:
            drifting.append({"budget": budget, "running": budget.committed_usd, "ledger": ledger})
    return drifting, checked


def job_cost(job) -> Decimal | None:
    """What a job was charged, once it is settled; None before. A repeat of a seeded job costs 0."""
    return job_costs([job])[job.pk]


def job_costs(jobs) -> dict:
    """job_cost for each of these jobs, from one query: {job id: cost or None}."""
    costs = {job.pk: Decimal(0) if job.deduplicated_from_id else None for job in jobs}
    # A batch is charged as a whole: its parent carries the cost, its parts none.
    billed = [job.pk for job in jobs if not job.deduplicated_from_id and not job.parent_id]
    kinds: dict = {}
    if billed:
        rows = (
            LedgerEntry.objects.filter(job_id__in=billed)
            .values("job_id", "kind")
            .annotate(total=Sum("amount_usd"))
            .values_list("job_id", "kind", "total")
            .order_by()
        )
        for job_id, kind, total in rows:
            kinds.setdefault(job_id, {})[kind] = total
    for job_id, totals in kinds.items():
        if LedgerEntry.Kind.RELEASE in totals:
            costs[job_id] = sum((totals.get(kind, Decimal(0)) for kind in JOB_CHARGE_KINDS), Decimal(0))
    return costs


def budget_status(budget, *, period_start) -> dict[str, Decimal]:
    """The budget's month so far: charged (spent), still held by running jobs (reserved), and left."""
    entries = LedgerEntry.objects.filter(tenant_id=budget.tenant_id, period_start=period_start).filter(
        budget.entries_filter()
    )
    kinds = defaultdict(
        Decimal, entries.values("kind").annotate(total=Sum("amount_usd")).values_list("kind", "total").order_by()
    )
    spent = kinds["charge"] + kinds["adjust"]
    reserved = kinds["reserve"] - kinds["charge"] - kinds["release"]
    return {"spent": spent, "reserved": reserved, "remaining": budget.amount_usd - spent - reserved}


SPEND_GROUPS = {
    "day": None,  # the charge's day in the tenant's time zone
    "project": "project__name",
    "model": "job__model__model_id",
    "user": "job__requested_by_user__email",
    "quality": "job__quality",
    "api_key": "api_key__name",
    "tag": None,  # a job's tags: a charge counts once under each of them
}


def _approved_assets_by_job(job_ids) -> dict:
    """How many approved (or approved, then archived) images each job made; a batch counts its parts'."""
    from assets.models import Asset

    approved = Asset.objects.filter(status__in=[Asset.Status.APPROVED, Asset.Status.ARCHIVED])
    counts: dict = defaultdict(int)
    for job_id, parent_id in approved.filter(Q(job__in=job_ids) | Q(job__parent__in=job_ids)).values_list(
        "job_id", "job__parent_id"
    ):
        counts[parent_id if parent_id in job_ids else job_id] += 1
    return counts


def _per_approved(spent: Decimal, approved: int) -> Decimal | None:
    return (spent / approved).quantize(USD_QUANTUM) if approved else None


def spend_report(*, tenant, group_by: str, start, end) -> dict:
    """Money charged (charges and adjustments) in [start, end), grouped; rows sorted by key. Each row
    also counts the approved images its charged jobs made, and what each cost on average — the
    rejected drafts' money included, which is the point."""
    entries = list(
        LedgerEntry.objects.for_tenant(tenant)
        .filter(kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST], created_at__gte=start, created_at__lt=end)
        .select_related("job", "job__model", "job__requested_by_user", "project", "api_key")
    )
    approved_by_job = _approved_assets_by_job({entry.job_id for entry in entries if entry.job_id})
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    rows: dict[str, dict] = defaultdict(lambda: {"spent": Decimal(0), "entries": 0, "approved_assets": 0})
    for entry in entries:
        if group_by == "day":
            keys = [timezone.localtime(entry.created_at, zone).date().isoformat()]
        elif group_by == "tag":
            keys = (entry.job.tags if entry.job else []) or ["(untagged)"]
        else:
            value = entry
            for part in SPEND_GROUPS[group_by].split("__"):
                value = getattr(value, part, None) if value is not None else None
            keys = [value or "(none)"]
        for key in keys:
            rows[key]["spent"] += entry.amount_usd
            rows[key]["entries"] += 1
            if entry.kind == LedgerEntry.Kind.CHARGE:
                rows[key]["approved_assets"] += approved_by_job.get(entry.job_id, 0)
    total = sum((entry.amount_usd for entry in entries), Decimal(0))
    approved_total = sum(approved_by_job.values())
    return {
        "rows": [
            {"key": key, **values, "cost_per_approved_asset": _per_approved(values["spent"], values["approved_assets"])}
            for key, values in sorted(rows.items())
        ],
        "total": total,
        "approved_assets": approved_total,
        "cost_per_approved_asset": _per_approved(total, approved_total),
    }


# --- Reads for the studio's home page and cost dashboard ----------------------------------------


def tenant_budget(*, tenant) -> Budget | None:
    """The tenant's own monthly budget (not a project's or an API key's), or None when it has none."""
    return (
        Budget.objects.for_tenant(tenant)
        .filter(period=Budget.Period.MONTHLY, project__isnull=True, api_key__isnull=True)
        .first()
    )


def budget_month(*, tenant, now=None) -> dict:
    """This month of the tenant's budget, for a gauge: the budget (None when unset), what is spent, what running
    jobs hold, what is left, and how much of the limit is used (spent + held) in percent."""
    from .services import period_start_for

    period_start = period_start_for(tenant, now)
    budget = tenant_budget(tenant=tenant)
    month = {"budget": budget, "period_start": period_start, "limit": None, "percent": None}
    if budget is None:
        spent = (
            LedgerEntry.objects.for_tenant(tenant)
            .filter(period_start=period_start, kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST])
            .aggregate(total=Sum("amount_usd"))["total"]
        )
        return month | {"spent": spent or Decimal(0), "reserved": Decimal(0), "remaining": None}
    status = budget_status(budget, period_start=period_start)
    used = status["spent"] + status["reserved"]
    if budget.amount_usd:
        percent = (used * 100 / budget.amount_usd).quantize(Decimal("0.1"))
    else:  # a budget of $0 allows nothing: any use is all of it
        percent = Decimal(100) if used > 0 else Decimal(0)
    return month | status | {"limit": budget.amount_usd, "percent": percent}


def _local_days(start: datetime.datetime, end: datetime.datetime, zone) -> list[datetime.date]:
    """Every day of the tenant's calendar that [start, end) touches."""
    first = timezone.localtime(start, zone).date()
    last = timezone.localtime(end - datetime.timedelta(microseconds=1), zone).date()
    return [first + datetime.timedelta(days=offset) for offset in range((last - first).days + 1)]


def spend_by_day_and_model(*, tenant, start, end) -> dict:
    """Money charged (charges and adjustments) in [start, end) per day of the tenant's calendar and per model:
    {"days": [every day in the range], "series": {model id: [Decimal per day]}, "total": Decimal}. An adjustment
    made by hand has no model: it counts under "(adjustment)"."""
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    days = _local_days(start, end, zone)
    position = {day: index for index, day in enumerate(days)}
    entries = (
        LedgerEntry.objects.for_tenant(tenant)
        .filter(kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST], created_at__gte=start, created_at__lt=end)
        .values_list("created_at", "amount_usd", "job__model__model_id")
    )
    series: dict[str, list[Decimal]] = {}
    total = Decimal(0)
    for created_at, amount, model_id in entries:
        row = series.setdefault(model_id or "(adjustment)", [Decimal(0)] * len(days))
        row[position[timezone.localtime(created_at, zone).date()]] += amount
        total += amount
    return {"days": days, "series": dict(sorted(series.items())), "total": total}


def budget_burndown(*, tenant, period_start: datetime.date, budget: Budget | None = None, now=None) -> dict:
    """One budget month day by day: the cumulative spend (charges and adjustments counted in the month, as the
    budget counts them) up to today, and a straight-line projection to the month's end from the average daily
    spend so far. `projected` is the month-end figure; `over_budget` whether it passes the budget's amount."""
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    next_month = (period_start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    days = [period_start + datetime.timedelta(days=offset) for offset in range((next_month - period_start).days)]
    today = timezone.localtime(now or timezone.now(), zone).date()
    elapsed = min(max((today - period_start).days + 1, 0), len(days))
    entries = LedgerEntry.objects.for_tenant(tenant).filter(
        period_start=period_start, kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST]
    )
    if budget is not None:
        entries = entries.filter(budget.entries_filter())
    daily = [Decimal(0)] * len(days)
    for created_at, amount in entries.values_list("created_at", "amount_usd"):
        # A job reserved on the month's last evening may be charged the next morning: it counts in its month.
        index = (timezone.localtime(created_at, zone).date() - period_start).days
        daily[min(max(index, 0), len(days) - 1)] += amount
    cumulative, spent = [], Decimal(0)
    for amount in daily[:elapsed]:
        spent += amount
        cumulative.append(spent)
    average = (spent / elapsed).quantize(USD_QUANTUM) if elapsed else Decimal(0)
    projection = [spent + average * (index - elapsed + 1) for index in range(max(elapsed - 1, 0), len(days))]
    projected = (spent + average * (len(days) - elapsed)).quantize(USD_QUANTUM)
    limit = budget.amount_usd if budget is not None else None
    return {
        "days": days,
        "elapsed": elapsed,
        "cumulative": cumulative,
        "projection": projection,  # from today (its first value is today's cumulative) to the month's last day
        "spent": spent,
        "average_daily": average,
        "projected": projected,
        "limit": limit,
        "over_budget": limit is not None and projected > limit,
    }


def spend_by_project(*, tenant, period_start) -> dict:
    """Money charged (charges and adjustments) in one budget month, by project id."""
    rows = (
        LedgerEntry.objects.for_tenant(tenant)
        .filter(period_start=period_start, kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST])
        .exclude(project=None)
        .values("project_id")
        .annotate(total=Sum("amount_usd"))
        .values_list("project_id", "total")
        .order_by()
    )
    return dict(rows)


def budget_gauge(budget, *, period_start) -> dict:
    """budget_status plus what people read off a gauge: used (spent + held) and the percent of the amount."""
    figures = budget_status(budget, period_start=period_start)
    used = figures["spent"] + figures["reserved"]
    percent = (used * 100 / budget.amount_usd).quantize(Decimal(1)) if budget.amount_usd > 0 else None
    return {**figures, "used": used, "percent": percent}
