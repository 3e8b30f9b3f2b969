"""Fault: PostgreSQL drops a connection (pg_terminate_backend, on this test database only).

Web as production serves it (gunicorn with uvicorn workers, config.asgi): each request step takes a connection
from the process's pool, which checks it as it hands it out, so a drop between requests costs no request at all.
Web under a WSGI server (config.wsgi, its connection kept between requests as CONN_MAX_AGE keeps it): the request
that meets the dead connection fails cleanly — the API's 500 envelope, no traceback, nothing written — and the next
request succeeds on a new connection; with CONN_HEALTH_CHECKS on (production's setting) Django notices the dead
connection before the request and even that first request succeeds. Worker: connections dropped while a job waits
on Bedrock — the attempt fails as database_unavailable, the worker drops the broken connection, and the job's retry
completes it, charged once."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import psycopg
import pytest
from django.db import connection

from billing.models import LedgerEntry
from generation.models import GenerationJob
from tenants.models import Role

from .. import processes
from ..processes import wait_for
from .conftest import all_ended, assert_books_balanced, submit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid {} %s"
)


def terminate(*, only: int | None = None, all_but: int | None = None) -> int:
    """pg_terminate_backend over a connection of its own, in this test database only: one backend,
    or every backend but one. How many it ended."""
    assert connection.settings_dict["NAME"].startswith("test_")
    query = TERMINATE.format("=" if only is not None else "<>")
    with psycopg.connect(processes.test_database_url(), autocommit=True) as admin:
        return len(admin.execute(query, [only if only is not None else all_but]).fetchall())


def my_backend_pid() -> int:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def web_server(tmp_path, faults):
    """web_server(health_checks) → the base URL of gunicorn on this test database: WSGI with one worker and one
    thread (one connection, kept between requests as CONN_MAX_AGE keeps it), or with `asgi` production's command."""
    started = []

    def start(health_checks: bool, asgi: bool = False) -> str:
        port = processes.free_port()
        database_url = f"{processes.test_database_url()}?conn_max_age=600&conn_health_checks={health_checks}"
        env = (
            os.environ
            | faults.worker.env
            | {"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url}
        )
        argv = [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "1"]
        if asgi:
            argv = processes.production_web_argv(port)
        with (tmp_path / "gunicorn.log").open("a") as log:
            process = subprocess.Popen(argv, cwd=processes.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: processes.http_ok(f"{url}/healthz") or process.poll() is not None, 30, "gunicorn")
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
        return url

    yield start
    for process in started:
        processes.stop(process)


def call(url: str, key: str, method: str = "GET", body: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{url}/api/v1/tenants/acme/jobs/", method=method, data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


BODY = {"model": "amazon.nova-canvas-v1:0", "prompt": "a lantern", "width": 512, "height": 512}


def test_production_web_tier_loses_no_request_to_a_connection_dropped_between_requests(web_server, tenant_a, api_key):
    key = api_key(tenant_a, Role.CREATOR)
    url = web_server(health_checks=False, asgi=True)
    assert call(url, key)[0] == 200
    assert terminate(all_but=my_backend_pid()) >= 1  # the fault worker's, and the web tier's had it kept one

    status, body = call(url, key, "POST", BODY)  # under WSGI without health checks: the 500 of the test below

    assert status == 201, body
    assert GenerationJob.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="reserve").count() == 1


def test_a_dropped_connection_fails_one_request_cleanly_and_the_retry_succeeds(web_server, tenant_a, api_key):
    key = api_key(tenant_a, Role.CREATOR)
    url = web_server(health_checks=False)
    assert call(url, key)[0] == 200  # the server now holds a connection
    assert terminate(all_but=my_backend_pid()) >= 1

    status, body = call(url, key, "POST", BODY)

    assert status == 500
    assert json.loads(body) == {
        "error": {"code": "server_error", "message": "Something went wrong on our side.", "fields": {}}
    }
    assert b"Traceback" not in body and b"psycopg" not in body
    assert GenerationJob.objects.count() == 0 and LedgerEntry.objects.count() == 0  # nothing half-written
    status, body = call(url, key, "POST", BODY)
    assert status == 201, body
    assert GenerationJob.objects.count() == 1
    assert list(LedgerEntry.objects.values_list("kind", flat=True)) == ["reserve"]


def test_with_health_checks_the_first_request_after_a_drop_succeeds(web_server, tenant_a, api_key):
    key = api_key(tenant_a, Role.CREATOR)
    url = web_server(health_checks=True)
    assert call(url, key)[0] == 200
    assert terminate(all_but=my_backend_pid()) >= 1

    assert call(url, key)[0] == 200


def test_a_worker_whose_connection_drops_mid_job_retries_and_completes_it(api, faults, tenant_a):
    faults.emulator.configure(latency=[1.0, 1.0])
    calls = faults.emulator.invocations()
    job_id = submit(api, "a lighthouse keeper")
    wait_for(lambda: faults.emulator.invocations() > calls, 30, "the job's Bedrock call")

    # Every connection of this test database but this process's own: the worker's among them.
    assert terminate(all_but=my_backend_pid()) >= 1

    (job,) = all_ended([job_id], timeout=30)
    assert job.status == "succeeded" and job.images_returned == 1
    assert job.attempts == 2  # the attempt that met the dropped connection, then the one that succeeded
    assert_books_balanced([job], tenant_a)
