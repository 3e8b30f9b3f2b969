from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from generation.models import GenerationJob

from .models import LedgerEntry


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
