"""Waiting costs no worker: /v1/images requests wait for their jobs on the event loop of an ASGI worker, woken
by a Redis message published when the job ends, with the database as the truth (a lost message costs one
fallback re-read)."""

import asyncio
import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection

from generation import job_events
from generation.models import GenerationJob
from generation.services import job_fail, job_submit
from tenants.models import Role

from .. import processes
from ..factories import make_job
from ..processes import ROOT, free_port, http_ok, pool_pids, production_web_argv, stop, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WAITERS = 16
WEB_POOL = 4  # the web process's database connections: a quarter of its waiting requests
WEB_APPLICATION_NAME = "atelier-web-under-test"  # the web server's PostgreSQL connections, to count them


def web_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [WEB_APPLICATION_NAME])
        return cursor.fetchone()[0]


@pytest.fixture
def one_web_worker(celery_worker_process, tmp_path):
    """The image's web command with one uvicorn worker process and a pool of WEB_POOL database connections.
    (URL, pid)."""
    port = free_port()
    env = os.environ | celery_worker_process.env | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"{processes.test_database_url()}?application_name={WEB_APPLICATION_NAME}",
        "DATABASE_POOL_MAX_SIZE": str(WEB_POOL), "LOG_FORMAT": "plain",
    }  # fmt: skip
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            production_web_argv(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(f"{url}/healthz") or server.poll() is not None, 30, "gunicorn")
        assert server.poll() is None, log_path.read_text()
        yield url, server.pid
    finally:
        stop(server)


def test_one_uvicorn_worker_serves_many_requests_waiting_for_their_jobs(one_web_worker, pipeline, tenant_a, api_key):
    url, master = one_web_worker
    pipeline.emulator.configure(latency=[1.0, 1.0])  # each job takes a second; the one Celery worker runs them in turn
    key = api_key(tenant_a, Role.CREATOR)
    answers: list = [None] * WAITERS

    def ask(index: int) -> None:
        body = json.dumps({"prompt": f"a kite, number {index}", "size": "512x512", "response_format": "b64_json"})
        request = urllib.request.Request(
            f"{url}/v1/images/generations", data=body.encode(), method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=120) as response:
            answers[index] = (response.status, json.loads(response.read()), response.headers["X-Atelier-Job"])

    assert len(pool_pids(master)) == 1  # one worker process serves them all
    threads = [threading.Thread(target=ask, args=(index,)) for index in range(WAITERS)]
    for thread in threads:
        thread.start()
    held = []  # once all are submitted, while they wait: how many connections the server holds
    while any(thread.is_alive() for thread in threads):
        if GenerationJob.objects.count() == WAITERS:
            held.append(web_connections())
        time.sleep(0.25)
    for thread in threads:
        thread.join(timeout=180)

    assert [answer and answer[0] for answer in answers] == [200] * WAITERS
    assert all(len(body["data"]) == 1 and body["data"][0]["b64_json"] for _, body, _ in answers)
    jobs = GenerationJob.objects.filter(pk__in=[job for _, _, job in answers])
    assert {job.status for job in jobs} == {GenerationJob.Status.SUCCEEDED} and jobs.count() == WAITERS
    # Every request was in hand at once: all sixteen were submitted before the first job ended, so sixteen
    # requests waited together in the one process (a worker serving one request at a time submits the second
    # only after answering the first).
    first_end = min(job.finished_at for job in jobs)
    assert all(job.created_at < first_end for job in jobs)
    assert len(pool_pids(master)) == 1
    # A waiting request holds no database connection: it takes one from the process's pool of four to read a row
    # when woken, and gives it back, so sixteen wait on four.
    assert len(held) > 4 and max(held) <= WEB_POOL, held


def _submitted(tenant):
    return job_submit(tenant=tenant, actor=None, model_id="amazon.nova-canvas-v1:0",
                      raw={"prompt": "a lighthouse", "width": 512, "height": 512}).job  # fmt: skip


def test_a_job_the_worker_ends_wakes_its_waiter(pipeline, tenant_a, settings):
    settings.ATELIER_JOB_WAIT_FALLBACK_SECONDS = 3600  # only the message can wake it
    pipeline.emulator.configure(latency=[1.0, 1.0])
    job = _submitted(tenant_a)

    async def wait():
        rows, seen = job_events.job_watch(job.pk, deadline=time.monotonic() + 3600), []

        async def until_it_ends():
            async for row in rows:
                seen.append(row)

        await asyncio.wait_for(until_it_ends(), timeout=60)  # each message woke it, and it read the row again
        return seen

    seen = async_to_sync(wait)()
    assert not seen[0].is_terminal
    # Its image's message, then its end's (or both at once); each wake reads the row.
    assert [row.status for row in seen[1:]][-1] == GenerationJob.Status.SUCCEEDED and 2 <= len(seen) <= 3


def test_a_lost_message_costs_one_fallback_read_of_the_row(tenant_a, settings):
    """Publishing suppressed: a waiter that would wait an hour for the message does not wake when the job ends;
    one that reads the row every 0.2 s finds it ended."""
    settings.ATELIER_JOB_EVENTS_PUBLISH = False

    async def wait(fallback: float):
        settings.ATELIER_JOB_WAIT_FALLBACK_SECONDS = fallback
        job = await sync_to_async(make_job)(tenant_a, status=GenerationJob.Status.RUNNING)
        rows = job_events.job_watch(job.pk, deadline=time.monotonic() + 3600)
        try:
            first = await anext(rows)
            await sync_to_async(job_fail)(job_id=job.pk, code="bedrock_error", message="it broke")
            try:
                return first, await asyncio.wait_for(anext(rows), timeout=2)
            except TimeoutError:
                return first, None
        finally:
            await rows.aclose()

    first, woken = async_to_sync(wait)(3600)
    assert first.status == GenerationJob.Status.RUNNING and woken is None  # it ended, and no message said so

    first, later = async_to_sync(wait)(0.2)
    assert first.status == GenerationJob.Status.RUNNING and later.status == GenerationJob.Status.FAILED


def test_without_redis_a_waiter_polls_the_row(tenant_a, settings):
    """`make run`'s embedded defaults have no Redis: the wait reads the row until the job has ended."""
    settings.REDIS_URL = ""
    job = make_job(tenant_a, status=GenerationJob.Status.RUNNING)

    async def wait():
        waiter = asyncio.ensure_future(job_events.job_wait(job.pk, deadline=time.monotonic() + 60))
        await asyncio.sleep(0.2)
        await sync_to_async(job_fail)(job_id=job.pk, code="bedrock_error", message="it broke")
        return await asyncio.wait_for(waiter, timeout=30)

    ended = async_to_sync(wait)()
    assert ended is not None and ended.status == GenerationJob.Status.FAILED
