"""A worker process keeps many Bedrock calls in flight at once (Celery's threads pool; the stamps in its process
pool), and every job still ends once: one worker process, the emulator answering each call after a second, N jobs
— the emulator is answering at least N calls at one moment, all from that one process, and each job succeeded with
its image stored once and charged once."""

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from assets.models import Asset
from billing.models import LedgerEntry
from config.celery_app import app
from generation.models import GenerationJob
from tenants.models import Role

from ..processes import WORKER_THREADS, pool_pids, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOVA = "amazon.nova-canvas-v1:0"
JOBS = WORKER_THREADS


def other_connections() -> int:
    """Connections to the test database other than this process's own: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def api(pipeline, tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


def test_one_worker_process_has_a_call_per_thread_in_flight_and_each_job_ends_once(api, pipeline, tenant_a):
    worker = pipeline.worker
    stats = app.control.inspect(destination=[worker.node_name], timeout=5).stats()[worker.node_name]
    assert stats["pool"]["implementation"] == "celery.concurrency.thread:TaskPool"
    assert stats["pool"]["max-concurrency"] == WORKER_THREADS
    pipeline.emulator.configure(latency=[3.0, 3.0])  # longer than submitting them all takes on a busy machine

    ids = []
    for index in range(JOBS):
        response = api.post(
            "/api/v1/tenants/acme/jobs/", {"model": NOVA, "prompt": f"a lantern {index}", "width": 512, "height": 512},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    terminal = {status.value for status in GenerationJob.TERMINAL}
    most_connections = 0

    def ended():
        nonlocal most_connections
        most_connections = max(most_connections, other_connections())
        found = list(GenerationJob.objects.filter(pk__in=ids))
        return found if all(job.status in terminal for job in found) else None

    jobs = wait_for(ended, 60, f"{JOBS} jobs to end", interval=0.05)
    worker.wait_idle()

    # One database connection per thread (its claim is a session lock), which the thread keeps for its next task
    # (config.celery_app): never more than the threads, and no more once they are idle.
    assert most_connections <= WORKER_THREADS + 1
    assert other_connections() <= WORKER_THREADS + 1

    assert pipeline.emulator.peak_in_flight() >= JOBS  # every job's call at once ...
    children = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pool_pids(worker.process.pid)]
    assert children and all(b"multiprocessing" in c for c in children)  # ... one process; its children stamp
    assert len(pipeline.emulator.calls(NOVA)) == JOBS  # one call per job, no retry
    assert {job.status for job in jobs} == {"succeeded"}
    for job in jobs:
        (asset,) = Asset.objects.filter(job=job)
        data = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=asset.file_key)["Body"].read()
        assert hashlib.sha256(data).hexdigest() == asset.sha256
        assert asset.watermark_id and asset.provenance["manifest_label"]  # stamped, in the worker's stamp pool
        kinds = {entry.kind: entry.amount_usd for entry in LedgerEntry.objects.filter(job=job)}
        assert LedgerEntry.objects.filter(job=job, kind="charge").count() == 1
        assert kinds["charge"] == job.unit_price_usd == Decimal("0.04")
