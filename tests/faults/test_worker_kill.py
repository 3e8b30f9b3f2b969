"""Fault: a worker killed -9 in the middle of a job, 20 times. The worker is one process running its jobs in
threads (Celery's threads pool), with two stamp processes beside it for the CPU work of storing an image
(assets/stamping.py). 8 times the whole worker is killed, as the OOM killer would take it: every job it held
loses its thread, its claim and its connection, and its unacknowledged messages come back after the broker's
visibility timeout, to the worker started again. 12 times a stamp process is killed while it stamps: the stamps it
held fail, and the worker runs them again on new stamp processes, in place (the images were paid for). A kill
counts when it interrupted a job that had not ended: for the whole worker, a task held the job's execution claim
(a PostgreSQL advisory lock, gone with the killed process's connection, which is how the test sees which jobs it
interrupted); for a stamp process, the worker logged that a job's stamp broke. Kills land during the Bedrock call or
while images are being stored, and some jobs are killed more than once.

Invariants: 0 jobs lost (every job succeeds with all its images), 0 charged twice (one reserve,
one release, at most one charge, charge == images stored × unit price, no ledger or budget drift),
0 images stored twice (one Asset per job slot, each slot's object holding the bytes its sha256
names), and the bucket holds exactly the objects the rows name — a crash between writing the bytes
and committing the row may leave objects without rows (at most one image and its thumbnail per
interrupted job), and sweep_orphans removes exactly those."""

import random
import re
import time
from collections import Counter

import pytest

from generation.models import GenerationJob
from generation.tasks import requeue_stalled_jobs

from ..processes import kill_stamp_process, wait_for
from .conftest import (
    FAULT_QUOTA_LEASE_SECONDS,
    FAULT_VISIBILITY_TIMEOUT,
    FAULT_WORKER_CONCURRENCY,
    NOVA,
    all_ended,
    assert_books_balanced,
    assert_bucket_matches_rows,
    jobs_claimed,
    live_quota_leases,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KILLS = 20
WHOLE_WORKER_KILLS = {2, 5, 7, 10, 12, 15, 17, 20}  # these kills take the whole worker down; the others a stamp process
STAMP_BROKEN = re.compile(r"job_id=([0-9a-f-]{36})\] stamp pool broken")


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


def _stamps_broken(worker, log_offset: int, job_ids: list[str]) -> set[str]:
    """The jobs whose stamp the worker logged broken since `log_offset` and that had not ended (up to two seconds)."""
    deadline = time.monotonic() + 2.0
    while True:
        logged = set(STAMP_BROKEN.findall(worker.log_path.read_text()[log_offset:])) & set(job_ids)
        interrupted = set(GenerationJob.objects.filter(pk__in=logged).exclude(status__in=GenerationJob.TERMINAL)
                          .values_list("pk", flat=True))  # fmt: skip
        if interrupted or time.monotonic() > deadline:
            return {str(pk) for pk in interrupted}
        time.sleep(0.05)


def _beat_requeues_while_waiting(job_ids, rounds: int = 12, every: float = 5.0) -> set[str]:
    """Run the stalled-job sweep (jobs not ended, untouched 10 s, run by no worker, absent from the broker)
    every few seconds until every job has ended, as beat does every minute."""
    requeued: set[str] = set()
    for _ in range(rounds):
        if not GenerationJob.objects.filter(pk__in=job_ids).exclude(status__in=GenerationJob.TERMINAL).exists():
            break
        requeued |= set(requeue_stalled_jobs(older_than_seconds=10))
        time.sleep(every)
    return requeued


def test_twenty_kills_mid_job_lose_nothing_and_charge_once(api, faults, tenant_a):
    faults.emulator.configure(latency=[0.3, 0.9])
    draw = random.Random(9)  # noqa: S311 — repeatable kill points
    job_ids: list[str] = []
    kills: list[tuple[str, set[str]]] = []  # (stamp process or whole worker, the jobs it interrupted)
    slots_left_by_kills: list[int] = []  # Bedrock concurrency slots still leased right after each whole kill

    while len(kills) < KILLS:
        assert len(job_ids) <= 200, f"only {len(kills)} of {KILLS} kills landed mid-job"
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
            slots_left_by_kills.append(live_quota_leases(faults, NOVA))  # no other worker holds any
            interrupted = _interrupted(before, job_ids)
        else:
            log_offset = len(faults.worker.log_path.read_text())
            try:
                kill_stamp_process(faults.worker, choose=draw.choice, timeout=10)
            except AssertionError:  # the jobs all ended before a stamp was caught running: top them up, try again
                continue
            interrupted = _stamps_broken(faults.worker, log_offset, job_ids)
        if interrupted:
            kills.append(("worker" if whole else "stamp process", interrupted))
        if whole:
            faults.worker.restart()

    # A message taken by a worker that was then killed whole comes back after the visibility timeout and a
    # restore interval (4 + 1 s here). A message the kills lost outright is what beat's requeue_stalled_jobs
    # (every minute in the deployment) puts back: run it as beat would, so the deployment as shipped loses
    # nothing, and record what it had to requeue.
    requeued = _beat_requeues_while_waiting(job_ids)
    jobs = all_ended(job_ids, timeout=120)
    print(f"requeued by the stalled-job sweep: {sorted(requeued)}")  # shown with -s
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
    # A killed worker's Bedrock slots lapse without their renewals (generation.quota): none is held a lease time
    # after the last kill, where leases that waited out the longest call would have added up to the whole quota.
    assert max(slots_left_by_kills) > 0, "no kill left a Bedrock slot behind"
    wait_for(lambda: live_quota_leases(faults, NOVA) == 0, FAULT_QUOTA_LEASE_SECONDS + 5, "the dead slots to lapse")


def test_a_worker_killed_while_restoring_messages_holds_no_job_up_for_long(api, faults, tenant_a):
    """Workers hand unacknowledged messages of dead workers back to the queue under a Redis lock that expires. A
    worker killed -9 while holding it leaves it behind, and until it expires no worker restores anything: the jobs
    whose messages the dead worker had taken wait. With kombu's default expiry (300 s) such a job sat queued past
    every wait of the test above (its intermittent "queued with attempts 0"); the stalled-job sweep cannot help, as
    the message is still in the broker, unacknowledged. Here the lock is left behind with the expiry the worker
    itself would give it, and the job ends soon after its message's visibility timeout all the same."""
    import redis

    from config.celery_app import app

    node = faults.worker.node_name
    conf = app.control.inspect(destination=[node], timeout=5).conf()[node]
    options = conf.get("broker_transport_options") or conf["CELERY_BROKER_TRANSPORT_OPTIONS"]  # the worker's own
    expire = options.get("unacked_mutex_expire", 300)  # kombu's default when the settings name none
    restore_interval = options.get("unacked_restore_interval", 10)
    faults.emulator.configure(latency=[2.0, 2.0])
    job_id = submit(api, "a held-up one")
    wait_for(lambda: jobs_claimed([job_id]), 30, "the job being run", interval=0.02)

    faults.worker.kill()
    broker = redis.Redis.from_url(faults.redis.url(0))
    assert broker.lock("unacked_mutex", timeout=expire).acquire(blocking=False)  # as the killed worker held it
    faults.emulator.configure(latency=[0.0, 0.0])
    faults.worker.restart()

    # The lock expires (30 s: the most a job may wait for it, against kombu's 300), the next restore pass hands
    # the message back, and the job runs.
    (job,) = all_ended([job_id], timeout=30 + restore_interval + FAULT_VISIBILITY_TIMEOUT + 15)
    assert (job.status, job.images_returned) == ("succeeded", 1)
    assert_books_balanced([job], tenant_a)
