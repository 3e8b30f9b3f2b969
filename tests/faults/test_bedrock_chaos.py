"""Fault: the Bedrock emulator throttles 20 % of calls, answers 5 % with a 500/503, and takes a
random 0–0.3 s over each, while 30 jobs run on one worker's eight threads.

Invariants: every job ends, and succeeds (a job may fail only by exhausting its attempts, which
100 allowed attempts make vanishingly unlikely); every failed call was retried and counted, so the
attempts add up to the jobs plus the throttled and failed calls; the ledger is balanced to the
cent — one reserve, one release and one charge of exactly one image at the unit price per job,
$1.20 charged in all, no ledger drift, and the tenant budget's running figure equal to the ledger."""

from decimal import Decimal

import pytest

from billing.models import LedgerEntry

from .conftest import all_ended, assert_books_balanced, assert_bucket_matches_rows, submit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

JOBS = 30


def test_throttling_errors_and_latency_every_job_ends_and_the_ledger_balances(api, faults, tenant_a):
    faults.emulator.configure(throttle_rate=0.2, error_rate=0.05, latency=[0.0, 0.3])
    job_ids = [submit(api, f"a kite {i}") for i in range(JOBS)]

    jobs = all_ended(job_ids, timeout=90)

    assert {job.status for job in jobs} == {"succeeded"}
    statuses = [call["status"] for call in faults.emulator.calls()]
    failed_calls = sum(1 for status in statuses if status != 200)
    assert statuses.count(429) > 0
    assert set(statuses) <= {200, 429, 500, 503}
    assert sum(job.attempts for job in jobs) == JOBS + failed_calls  # each failed call retried, and counted
    assert any(job.attempts > 1 for job in jobs)
    assert_books_balanced(jobs, tenant_a)
    charged = LedgerEntry.objects.filter(tenant=tenant_a, kind=LedgerEntry.Kind.CHARGE).values_list("amount_usd")
    assert sum(amount for (amount,) in charged) == Decimal("0.04") * JOBS == Decimal("1.20")
    assert_bucket_matches_rows(faults, tenant_a)
