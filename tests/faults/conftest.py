"""The fault suite's stack: a private redis-server (so Redis can be killed without touching the shared
one) as broker, result backend, cache and quota store; a Celery worker of its own on it, on the test
database, the emulator and S3 (moto) through the FaultyProxy; and this test process sending its
tasks to that Redis. Plus the checks every fault test ends with: each job ended, charged once, its
images stored once, and the bucket holding exactly what the rows name."""

import hashlib
from collections import Counter
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from assets.models import Asset
from billing.models import LedgerEntry
from billing.selectors import budget_drift, ledger_drift
from generation.models import GenerationJob
from generation.services import job_claim_key, job_claim_keys_held
from tenants.models import Role

from ..conftest import worker_env
from ..processes import EmulatorControl, RedisServer, WorkerHandle, wait_for
from ..s3 import s3_client, s3_settings

NOVA = "amazon.nova-canvas-v1:0"
TERMINAL = {status.value for status in GenerationJob.TERMINAL}
# Redis hands a killed worker's unacknowledged message out again after this long (the session worker
# waits 10 s); every fault job takes well under it.
FAULT_VISIBILITY_TIMEOUT = 4
FAULT_WORKER_CONCURRENCY = 8  # threads in the worker's one process
FAULT_QUOTA_LEASE_SECONDS = 6  # a killed worker's Bedrock slots lapse this long after its last renewal


@contextmanager
def celery_broker(broker_url: str):
    """Send this process's tasks (job_submit's on_commit enqueue, control pings) to another broker.
    Its result backend stays on the shared Redis: the tests read jobs from the database, not results."""
    from config.celery_app import app

    before = app.conf.broker_url

    def switch(url):
        from kombu import pools

        app.conf.broker_url = url
        pools.reset()  # kombu keeps pools per URL: drop them, and any connection to a Redis that restarted
        app._pool = None  # the app's connection and producer pools were made for one broker URL
        app.amqp._producer_pool = None

    switch(broker_url)
    try:
        yield app
    finally:
        switch(before)


@pytest.fixture(scope="package")
def fault_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("fault-redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def fault_worker(django_db_setup, django_db_blocker, tmp_path_factory, moto_s3, bedrock_emulator, fault_redis):
    """The suite's own worker, on the private Redis. It keeps the session worker's fast retries."""
    env = worker_env(moto_s3, bedrock_emulator) | {
        "ATELIER_JOB_MAX_ATTEMPTS": "100",  # 30 s of S3 outage at a ≤1 s backoff must not exhaust a job
        "ATELIER_BROKER_VISIBILITY_TIMEOUT": str(FAULT_VISIBILITY_TIMEOUT),
        "ATELIER_BROKER_RESTORE_INTERVAL": "1",  # and looks for such messages every second
        "ATELIER_WORKER_LOST_WAIT": "0.5",  # a killed pool process's job goes back on the queue at once
        "CELERY_BROKER_URL": fault_redis.url(0),
        "CELERY_RESULT_BACKEND": fault_redis.url(1),
        "REDIS_URL": fault_redis.url(2),
        "ATELIER_QUOTA_LEASE_SECONDS": str(FAULT_QUOTA_LEASE_SECONDS),
    }
    with celery_broker(fault_redis.url(0)), django_db_blocker.unblock():
        worker = WorkerHandle(
            tmp_path_factory.mktemp("fault-worker"), env, name="faults",
            extra_args=(f"--concurrency={FAULT_WORKER_CONCURRENCY}",),
        )  # fmt: skip
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def faults(settings, moto_s3, bedrock_emulator, fault_redis, fault_worker):
    """This test process on the suite's Redis, S3 and emulator, the emulator reset and S3 up."""
    s3_settings(settings, moto_s3.proxy.url, moto_s3.bucket)
    settings.ATELIER_BEDROCK_ENDPOINT_URL = bedrock_emulator
    emulator = EmulatorControl(bedrock_emulator)
    emulator.reset()
    moto_s3.proxy.up()
    with celery_broker(fault_redis.url(0)):  # the restarted worker is pinged on its own broker
        if fault_worker.process.poll() is not None:  # a test before this one left it dead
            fault_worker.restart()
        yield SimpleNamespace(
            emulator=emulator, s3=s3_client(moto_s3.url), bucket=moto_s3.bucket, proxy=moto_s3.proxy,
            worker=fault_worker, redis=fault_redis,
        )  # fmt: skip
    emulator.reset()
    moto_s3.proxy.up()


@pytest.fixture
def api(faults, tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


def submit(api, prompt: str, **fields) -> str:
    body = {"model": NOVA, "prompt": prompt, "width": 512, "height": 512} | fields
    response = api.post("/api/v1/tenants/acme/jobs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def jobs_claimed(job_ids) -> set[str]:
    """Which of these jobs a task is running right now: it holds the job's execution claim."""
    held = job_claim_keys_held()
    return {str(job_id) for job_id in job_ids if job_claim_key(job_id) in held}


def live_quota_leases(faults, model_id: str) -> int:
    """Bedrock concurrency slots of `model_id` leased now, by any worker on the suite's Redis (generation.quota)."""
    import redis

    quota = redis.Redis.from_url(faults.redis.url(2))
    seconds, microseconds = quota.time()
    return quota.zcount(f"atelier:quota:{{{model_id}}}:leases", seconds * 1000 + microseconds / 1000, "+inf")


def all_ended(job_ids, timeout: float) -> list[GenerationJob]:
    """Wait until every job is terminal (read from the database, not through the API)."""

    def ended():
        jobs = list(GenerationJob.objects.filter(pk__in=job_ids))
        return jobs if len(jobs) == len(job_ids) and all(job.status in TERMINAL for job in jobs) else None

    try:
        return wait_for(ended, timeout, f"{len(job_ids)} jobs to end", interval=0.2)
    except AssertionError:
        stuck = GenerationJob.objects.filter(pk__in=job_ids).exclude(status__in=TERMINAL)
        raise AssertionError(
            f"jobs not ended: {[(str(j.pk), j.status, j.attempts, j.error_code) for j in stuck]}"
        ) from None


def assert_books_balanced(jobs: list[GenerationJob], tenant) -> None:
    """For every job: one reserve, one release, at most one charge, and reserve == charge + release;
    the charge is exactly the images stored × the unit price (to the cent: to the micro-dollar); each
    image slot is stored once; and the budget's running figure is the ledger's sum."""
    for job in jobs:
        entries = list(LedgerEntry.objects.filter(job=job))
        kinds = Counter(entry.kind for entry in entries)
        assert kinds["reserve"] == 1 and kinds["release"] == 1 and kinds["charge"] <= 1, (job.pk, kinds)
        amounts = {entry.kind: entry.amount_usd for entry in entries}
        charged = amounts.get("charge", Decimal(0))
        assert amounts["reserve"] == charged + amounts["release"], (job.pk, amounts)
        stored = Asset.objects.filter(job=job)
        assert stored.count() == job.images_returned, (job.pk, stored.count(), job.images_returned)
        assert sorted(stored.values_list("index", flat=True)) == list(range(job.images_returned))
        assert charged == job.unit_price_usd * job.images_returned, (job.pk, charged, job.images_returned)
    assert ledger_drift(tenant_slug=tenant.slug)[0] == []
    assert budget_drift(tenant_slug=tenant.slug)[0] == []


def bucket_keys(faults, tenant) -> set[str]:
    keys, token = set(), None
    while True:
        page = faults.s3.list_objects_v2(
            Bucket=faults.bucket, Prefix=f"tenants/{tenant.uuid}/", **({"ContinuationToken": token} if token else {})
        )
        keys |= {obj["Key"] for obj in page.get("Contents", [])}
        if not page.get("IsTruncated"):
            return keys
        token = page["NextContinuationToken"]


def referenced_keys(tenant) -> set[str]:
    return {key for asset in Asset.objects.filter(tenant=tenant) for key in (asset.file_key, asset.thumbnail_key)}


def assert_bucket_matches_rows(faults, tenant, *, crash_leftovers_allowed: int = 0) -> None:
    """Every row's objects are in the bucket with the bytes its sha256 names, and the bucket holds
    nothing else. Objects whose row never committed (bytes are written before the row; a crash in
    between leaves them) are allowed only up to `crash_leftovers_allowed`, and sweep_orphans must
    remove exactly those."""
    keys, referenced = bucket_keys(faults, tenant), referenced_keys(tenant)
    assert referenced <= keys, f"rows without objects: {referenced - keys}"
    leftovers = keys - referenced
    assert len(leftovers) <= crash_leftovers_allowed, leftovers
    for asset in Asset.objects.filter(tenant=tenant):
        data = faults.s3.get_object(Bucket=faults.bucket, Key=asset.file_key)["Body"].read()
        assert hashlib.sha256(data).hexdigest() == asset.sha256
    if leftovers:
        call_command("sweep_orphans", "--older-than-minutes", "0")
        assert bucket_keys(faults, tenant) == referenced
