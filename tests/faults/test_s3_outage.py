"""Fault: S3 unreachable for 30 s (ATELIER_FAULT_S3_DOWN_SECONDS) while jobs run: the proxy in front
of moto refuses connections and drops the open ones.

Invariants: while it is down no image is stored and no Asset row written, and the jobs keep
retrying with storage_unavailable recorded; once it is back every job succeeds; afterwards there
is no orphan either way — no row without its object, no object without its row (nothing left for
sweep_orphans) — and the ledger is balanced."""

import os
import time

import pytest

from assets.models import Asset
from generation.models import GenerationJob

from ..processes import wait_for
from .conftest import all_ended, assert_books_balanced, assert_bucket_matches_rows, submit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DOWN_SECONDS = float(os.environ.get("ATELIER_FAULT_S3_DOWN_SECONDS", "30"))
JOBS = 6


def test_s3_down_for_30_seconds_jobs_retry_and_leave_no_orphans(api, faults, tenant_a):
    faults.emulator.configure(latency=[0.0, 0.2])
    faults.proxy.down()
    went_down = time.monotonic()
    job_ids = [submit(api, f"a bridge {i}") for i in range(JOBS)]

    wait_for(
        lambda: all(job.attempts >= 2 for job in GenerationJob.objects.filter(pk__in=job_ids)),
        DOWN_SECONDS, "every job to retry while S3 is down",
    )  # fmt: skip
    time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - went_down)))  # the outage lasts its full length
    during = list(GenerationJob.objects.filter(pk__in=job_ids))
    assert {job.status for job in during} == {"running"}
    assert {job.error_code for job in during} == {"storage_unavailable"}
    assert Asset.objects.filter(tenant=tenant_a).count() == 0
    faults.proxy.up()

    jobs = all_ended(job_ids, timeout=30)

    assert {job.status for job in jobs} == {"succeeded"}
    assert all(job.images_returned == 1 and job.error_code == "" for job in jobs)
    print(f"attempts during {DOWN_SECONDS:.0f} s down: {sorted(job.attempts for job in jobs)}")  # shown with -s
    assert_books_balanced(jobs, tenant_a)
    assert_bucket_matches_rows(faults, tenant_a, crash_leftovers_allowed=0)
