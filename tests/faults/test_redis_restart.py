"""Fault: the broker's Redis killed -9 and started again, empty, while jobs run and wait in the
queue (the suite's own redis-server: the shared one is never touched).

Invariants: the worker reconnects by itself (same process, and jobs submitted after the restart
run); the jobs whose messages died with Redis are not lost — requeue_stalled_jobs (beat runs it
every minute; here it is called as the management command) puts back exactly those: not ended,
run by no worker, absent from the broker — and running it again requeues nothing; every job then
succeeds once, with one image and one charge."""

import pytest
from django.core.management import call_command

from generation.models import GenerationJob

from ..processes import wait_for
from .conftest import (
    FAULT_WORKER_CONCURRENCY,
    all_ended,
    assert_books_balanced,
    assert_bucket_matches_rows,
    jobs_claimed,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def requeue(older_than_seconds: float) -> set[str]:
    from io import StringIO

    out = StringIO()
    call_command("requeue_stalled_jobs", "--older-than-seconds", str(older_than_seconds), stdout=out)
    return {line.removeprefix("requeued ") for line in out.getvalue().splitlines() if line.startswith("requeued ")}


def test_redis_restarted_mid_run_workers_reconnect_and_no_job_is_lost(api, faults, tenant_a, settings):
    # Bedrock's own seconds: the worker drains its queue slower than a loaded machine submits to it.
    faults.emulator.configure(latency=[2.0, 3.0])
    worker_pid = faults.worker.process.pid
    # Three times what the worker holds (a message per thread): some are still in Redis's queue when it dies.
    before = [submit(api, f"a harbour {i}") for i in range(3 * FAULT_WORKER_CONCURRENCY)]
    wait_for(lambda: GenerationJob.objects.filter(pk__in=before, status="succeeded").count() >= 2, 30, "2 jobs")

    faults.redis.restart()

    after = [submit(api, f"a pier {i}") for i in range(3)]
    all_ended(after, timeout=30)  # the worker reconnected and consumes again
    assert faults.worker.process.pid == worker_pid and faults.worker.process.poll() is None
    wait_for(lambda: not jobs_claimed(before), 30, "the tasks running during the restart to end")
    stranded = {str(pk) for pk in GenerationJob.objects.filter(pk__in=before).exclude(status="succeeded")
                .values_list("pk", flat=True)}  # fmt: skip
    assert stranded, "no message was lost: the restart came too late to test anything"

    requeued = requeue(older_than_seconds=0.5)

    assert requeued == stranded
    assert requeue(older_than_seconds=0.5) == set()  # waiting in the broker now, or running, or ended
    jobs = all_ended(before + after, timeout=60)
    assert {job.status for job in jobs} == {"succeeded"}
    assert all(job.images_returned == 1 for job in jobs)
    assert_books_balanced(jobs, tenant_a)
    assert_bucket_matches_rows(faults, tenant_a)
    assert settings.CELERY_BEAT_SCHEDULE["requeue-stalled-jobs"]["task"] == "generation.requeue_stalled_jobs"
