"""Shared fixtures. The suite runs against the real parts — PostgreSQL and Redis on localhost —
and stops at once, with the way to start them, when one is missing: it never skips."""

import json
import os
import socket
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from tenants.models import Role

from .factories import MembershipFactory, TenantFactory, UserFactory, make_api_key

START_HINT = "Start it with your OS packages or `docker compose up -d postgres redis` (see README)."


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    from django.conf import settings

    database_url = os.environ["DATABASE_URL"]
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(f"The tests need PostgreSQL; DATABASE_URL is {database_url}.", returncode=3)
    missing = [
        f"{name} is not reachable at {url}."
        for name, url, port in (("PostgreSQL", database_url, 5432), ("Redis", os.environ["REDIS_URL"], 6379))
        if not _reachable(url, port)
    ]
    if missing:
        pytest.exit(" ".join(missing) + " " + START_HINT, returncode=3)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()  # no queued message or quota left from an earlier run


@pytest.fixture(scope="session")
def _test_redis():
    """One connection to the tests' Redis for the session, not one per test."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _no_request_counts_left(_test_redis):
    """Request-rate counters (config/throttling.py) live in the test cache, Redis: each test starts without any."""
    stale = list(_test_redis.scan_iter(match="*throttle:*", count=1000))
    if stale:
        _test_redis.delete(*stale)


TEST_BUDGET_USD = Decimal("1000")


def _tenant_with_budget(slug: str, name: str):
    from billing.services import budget_set_tenant_monthly

    tenant = TenantFactory(slug=slug, name=name)
    budget_set_tenant_monthly(tenant=tenant, amount_usd=TEST_BUDGET_USD, actor=None)
    return tenant


@pytest.fixture
def tenant_a(db):
    return _tenant_with_budget("acme", "Acme")


@pytest.fixture
def tenant_b(db):
    return _tenant_with_budget("globex", "Globex")


@pytest.fixture
def member():
    """member(tenant, role) → a user with that role in that tenant."""

    def make(tenant, role=Role.VIEWER, **user_fields):
        return MembershipFactory(tenant=tenant, role=role, user=UserFactory(**user_fields)).user

    return make


@pytest.fixture
def admin_a(tenant_a, member):
    return member(tenant_a, Role.ADMIN, email="ada@acme.test")


@pytest.fixture
def admin_b(tenant_b, member):
    return member(tenant_b, Role.ADMIN, email="grace@globex.test")


@pytest.fixture
def api_key():
    """api_key(tenant, role) → the secret of a fresh key."""

    def make(tenant, role=Role.CREATOR, **kwargs):
        return make_api_key(tenant, role, **kwargs)[1]

    return make


@pytest.fixture
def client_as():
    """client_as(user) or client_as(key=secret) → an APIClient signed in that way."""

    def make(user=None, *, key=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        if key is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


@pytest.fixture(scope="session")
def bedrock_emulator(tmp_path_factory):
    """The local Bedrock emulator as its own process on a free port: its base URL."""
    from .processes import start_emulator, stop

    url, process = start_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log")
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="session")
def boto3_session():
    """One boto3 Session for the tests' clients: it loads the service models once, not per test."""
    import boto3

    return boto3.session.Session()


@pytest.fixture
def bedrock_client(bedrock_emulator, boto3_session):
    """Real boto3 bedrock-runtime, over HTTP to the emulator: a new client per test (its own event
    handlers), built on the session's loaded models."""
    from generation.bedrock.client import make_client

    return make_client(endpoint_url=bedrock_emulator, read_timeout=60, session=boto3_session)


@pytest.fixture
def bedrock_settings(bedrock_emulator, settings):
    settings.ATELIER_BEDROCK_ENDPOINT_URL = bedrock_emulator
    return settings


@pytest.fixture
def emulator_here(bedrock_settings, settings, tmp_path):
    """Jobs are queued without a broker and run in this process (run_job.apply) against the emulator,
    started without faults, with files on local disk: its test hooks."""
    from unittest import mock

    from generation.tasks import bedrock_client

    from .processes import EmulatorControl

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    bedrock_client.cache_clear()  # a client for this emulator, not one cached by an earlier test
    control = EmulatorControl(settings.ATELIER_BEDROCK_ENDPOINT_URL)
    control.reset()
    with mock.patch("generation.services._enqueue_on_commit"):
        yield control
    control.reset()
    bedrock_client.cache_clear()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """moto's S3 server over HTTP with one bucket, behind a proxy the tests can take down."""
    from .processes import stop
    from .s3 import FaultyProxy, make_bucket, start_moto

    url, process = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    proxy = FaultyProxy(url)
    make_bucket(url, "atelier-test")
    try:
        yield SimpleNamespace(url=url, proxy=proxy, bucket="atelier-test")
    finally:
        proxy.close()
        stop(process)


def worker_env(moto_s3, bedrock_emulator) -> dict:
    """What a test worker process needs: S3 (moto, through the proxy), the emulator, fast retries."""
    from .s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

    return {
        "ATELIER_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": moto_s3.bucket,
        "AWS_S3_ENDPOINT_URL": moto_s3.proxy.url,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "ATELIER_BEDROCK_ENDPOINT_URL": bedrock_emulator,
        **WORKER_PIPELINE_ENV,
    }


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, moto_s3, bedrock_emulator):
    """A real `celery worker` process on Redis, the test database, S3 (moto, through the proxy)
    and the emulator, for the whole session. Tests that use it need committed data: mark them
    `django_db(transaction=True, serialized_rollback=True)` (serialized rollback keeps the seeded
    model catalog for the tests after them)."""
    from .processes import WorkerHandle

    env = worker_env(moto_s3, bedrock_emulator)
    with django_db_blocker.unblock():
        worker = WorkerHandle(tmp_path_factory.mktemp("worker"), env)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def atelier_url(django_db_setup, tmp_path_factory, celery_worker_process):
    """Atelier's web server as its own process (`manage.py run_local_web`: uvicorn serving config.asgi, as
    production's gunicorn workers do), on the same database, broker, S3 and emulator as the worker: its base URL.
    Tests that use it need committed data."""
    import sys

    from . import processes

    env = os.environ | celery_worker_process.env | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": processes.test_database_url(),
    }  # fmt: skip
    argv = [sys.executable, str(processes.ROOT / "manage.py"), "run_local_web"]
    log_path = tmp_path_factory.mktemp("web") / "web.log"
    url, process = processes.start_server(argv, log_path, "/healthz", "the web server", env)
    try:
        yield url
    finally:
        processes.stop(process)


# Fast retries and short redelivery for tests; one model gets a tight quota to measure.
QUOTA_TEST_MODEL = "amazon.titan-image-generator-v1"
QUOTA_TEST_RPM = 120
WORKER_PIPELINE_ENV = {
    "ATELIER_RETRY_BACKOFF_SECONDS": "0.1",
    "ATELIER_RETRY_BACKOFF_MAX_SECONDS": "1",
    "ATELIER_JOB_MAX_ATTEMPTS": "10",
    "ATELIER_BROKER_VISIBILITY_TIMEOUT": "10",
    "ATELIER_BROKER_RESTORE_INTERVAL": "1",
    "ATELIER_BROKER_RESTORE_MUTEX_SECONDS": "3",
    "ATELIER_QUOTA_DEFAULT": json.dumps({"rpm": 60000, "concurrency": 50}),
    "ATELIER_QUOTA_OVERRIDES": json.dumps({QUOTA_TEST_MODEL: {"rpm": QUOTA_TEST_RPM, "concurrency": 2}}),
    "ATELIER_STAMP_PROCESSES": "2",  # the worker's stamps run in its process pool, as deployed
    "DATABASE_CONN_MAX_AGE": "60",  # a worker thread keeps its connection from task to task, as deployed
}


@pytest.fixture
def pipeline(settings, moto_s3, bedrock_emulator, celery_worker_process):
    """This test process pointed at the same S3 and emulator as the worker, with the emulator reset."""
    from .processes import EmulatorControl
    from .s3 import s3_client, s3_settings

    s3_settings(settings, moto_s3.proxy.url, moto_s3.bucket)
    settings.ATELIER_BEDROCK_ENDPOINT_URL = bedrock_emulator
    emulator = EmulatorControl(bedrock_emulator)
    emulator.reset()
    moto_s3.proxy.up()
    yield SimpleNamespace(
        emulator=emulator, s3=s3_client(moto_s3.url), bucket=moto_s3.bucket, proxy=moto_s3.proxy,
        worker=celery_worker_process,
    )  # fmt: skip
    # The emulator and the proxy outlive this test: leave no fault behind for the next one.
    emulator.reset()
    moto_s3.proxy.up()
    celery_worker_process.wait_idle()  # a job the test left running writes no more when its tables are flushed
