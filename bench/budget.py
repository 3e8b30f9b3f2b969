"""What the budget's hard stop costs: job submissions per second with the reservation (ledger
entry written, budget rows locked, their running figures checked and updated) versus without,
from 8 concurrent client processes on PostgreSQL, side by side in one run. Target: the
reservation costs ≤ 20 % throughput.

    .venv/bin/python bench/budget.py [--submissions 800] [--clients 8]

Needs PostgreSQL and Redis on localhost, like `make test` (database `atelier_bench`).
"""

import argparse
import multiprocessing
import sys
import time
from decimal import Decimal
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import MODEL, SIZE, prepare_environment


def run(tenant, submissions: int, clients: int, reserve: bool) -> float:
    """Submissions per second from `clients` processes (as a web server's workers would be), each
    with its own database connection."""
    from django.db import connections

    per_client = submissions // clients
    start = multiprocessing.Barrier(clients + 1)
    done = multiprocessing.Barrier(clients + 1)

    def client():
        from generation.services import job_submit

        start.wait()
        for _ in range(per_client):
            job_submit(tenant=tenant, actor=None, model_id=MODEL,
                       raw={"prompt": "a bench mark", "width": SIZE, "height": SIZE})  # fmt: skip
        connections.close_all()
        done.wait()

    patches = [mock.patch("generation.services._enqueue_on_commit")]  # measure submission, not the queue
    if not reserve:
        patches.append(mock.patch("generation.services.budget_reserve"))
    for patch in patches:
        patch.start()
    connections.close_all()  # each forked client opens its own
    try:
        processes = [multiprocessing.get_context("fork").Process(target=client) for _ in range(clients)]
        for process in processes:
            process.start()
        start.wait()
        started = time.perf_counter()
        done.wait()
        seconds = time.perf_counter() - started
        for process in processes:
            process.join()
    finally:
        for patch in patches:
            patch.stop()
    return per_client * clients / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=800)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    import tempfile

    prepare_environment(Path(tempfile.mkdtemp(prefix="atelier-bench-")) / "media")
    from billing.services import budget_set_tenant_monthly
    from tenants.models import Tenant
    from tenants.services import tenant_create

    tenant = Tenant.objects.filter(slug="budget-bench").first() or tenant_create(slug="budget-bench", name="Bench")
    budget_set_tenant_monthly(tenant=tenant, amount_usd=Decimal("1000000"), actor=None)
    run(tenant, args.clients * 5, args.clients, reserve=True)  # warm up connections and caches
    # Alternate the two, twice, so drift on a noisy machine falls on both.
    rates = {True: [], False: []}
    for reserve in (False, True, False, True):
        rates[reserve].append(run(tenant, args.submissions // 2, args.clients, reserve))
    without, with_reserve = sum(rates[False]) / 2, sum(rates[True]) / 2
    print("| clients | without reservation /s | with reservation /s | throughput cost |")
    print("|---|---|---|---|")
    print(f"| {args.clients} | {without:.1f} | {with_reserve:.1f} | {1 - with_reserve / without:.0%} |")


if __name__ == "__main__":
    main()
