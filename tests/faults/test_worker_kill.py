"""Fault: a worker killed -9 in the middle of a job, 20 times. The worker runs four pool processes;
18 times one busy pool process is killed (as the OOM killer would: the main process forks a new one
and hands the job back to the queue), twice the whole worker (its unacknowledged messages come
back after the broker's visibility timeout, to the worker started again). A kill counts when it
took down a task holding a job's execution claim while the job had not ended — the claim, a
PostgreSQL advisory lock, goes with the killed process's connection, which is how the test sees
which job it interrupted. Kills land during the Bedrock call or while images are being stored, and
some jobs are killed more than once.

Invariants: 0 jobs lost (every job succeeds with all its images), 0 charged twice (one reserve,
one release, at most one charge, charge == images stored × unit price, no ledger or budget drift),
0 images stored twice (one Asset per job slot, each slot's object holding the bytes its sha256
names), and the bucket holds exactly the objects the rows name — a crash between writing the bytes
and committing the row may leave objects without rows (at most one image and its thumbnail per
interrupted job), and sweep_orphans removes exactly those."""

import random
import time
from collections import Counter

import pytest

from generation.models import GenerationJob

from ..processes import kill_pool_process, wait_for
from .conftest import (
    FAULT_WORKER_CONCURRENCY,
    all_ended,
    assert_books_balanced,
    assert_bucket_matches_rows,
    jobs_claimed,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KILLS = 20
WHOLE_WORKER_KILLS = {7, 17}  # these kills take the whole worker down; the others one pool process


def _interrupted(before: set[str], job_ids: list[str]) -> set[str]:
    """The jobs whose claim vanished after a kill while they had not ended (up to one second)."""
    deadline = time.monotonic() + 1.0
    while True:
        gone = before - jobs_claimed(job_ids)
        interrupted = set(GenerationJob.objects.filter(pk__in=gone).exclude(status__in=GenerationJob.TERMINAL)
                          .values_list("pk", flat=True))  # fmt: skip
        if interrupted or time.monotonic() > deadline:
            return {str(pk) for pk in interrupted}
        time.sleep(0.02)


def test_twenty_kills_mid_job_lose_nothing_and_charge_once(api, faults, tenant_a):
    faults.emulator.configure(latency=[0.3, 0.9])
    draw = random.Random(9)  # noqa: S311 — repeatable kill points
    job_ids: list[str] = []
    kills: list[tuple[str, set[str]]] = []  # (pool process or whole worker, the jobs it interrupted)

    while len(kills) < KILLS:
        assert len(job_ids) <= 80, f"only {len(kills)} of {KILLS} kills landed mid-job"
        live = GenerationJob.objects.filter(pk__in=job_ids).exclude(status__in=GenerationJob.TERMINAL).count()
        job_ids += [
            submit(api, f"a survivor {len(job_ids) + i}", n=2) for i in range(FAULT_WORKER_CONCURRENCY + 2 - live)
        ]
        wait_for(lambda ids=job_ids: jobs_claimed(ids), 30, "a job being run", interval=0.02)
        time.sleep(draw.uniform(0.0, 0.5))
        before = jobs_claimed(job_ids)
        whole = len(kills) + 1 in WHOLE_WORKER_KILLS
        if whole:
            faults.worker.kill()
        else:
            kill_pool_process(faults.worker, choose=draw.choice)
        interrupted = _interrupted(before, job_ids)
        if interrupted:
            kills.append(("worker" if whole else "pool process", interrupted))
        if whole:
            faults.worker.restart()

    jobs = all_ended(job_ids, timeout=60)
    times_interrupted = Counter(job_id for _, interrupted in kills for job_id in interrupted)
    print(  # shown with -s
        f"{len(jobs)} jobs; kills: {Counter(how for how, _ in kills)}; jobs interrupted: {len(times_interrupted)}, "
        f"at most {max(times_interrupted.values())} times each; attempts: {sum(j.attempts for j in jobs)}"
    )

    assert [how for how, _ in kills].count("worker") == len(WHOLE_WORKER_KILLS)
    assert {job.status for job in jobs} == {"succeeded"}
    assert all(job.images_returned == 2 for job in jobs)
    assert_books_balanced(jobs, tenant_a)
    assert_bucket_matches_rows(faults, tenant_a, crash_leftovers_allowed=2 * sum(times_interrupted.values()))
