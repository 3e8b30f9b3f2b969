"""Shared fixtures. The suite runs against the real parts — PostgreSQL and Redis on localhost —
and stops at once, with the way to start them, when one is missing: it never skips."""

import os
import socket
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


@pytest.fixture
def tenant_a(db):
    return TenantFactory(slug="acme", name="Acme")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(slug="globex", name="Globex")


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
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on Redis and the test database, for the whole session.
    Tests that use it need committed data: mark them `django_db(transaction=True, serialized_rollback=True)`
    (serialized rollback keeps the seeded model catalog for the tests after them)."""
    from config.celery_app import ping

    from .processes import start_worker, stop

    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    with django_db_blocker.unblock():
        process = start_worker(log_path)
    try:
        try:
            assert ping.delay().get(timeout=60) == "pong"
        except Exception as exc:
            raise AssertionError(f"the Celery worker did not answer: {exc}\n{log_path.read_text()}") from exc
        yield process
    finally:
        stop(process)


@pytest.fixture(scope="session")
def bedrock_emulator(tmp_path_factory):
    """The local Bedrock emulator as its own process on a free port: its base URL."""
    from .processes import start_emulator, stop

    url, process = start_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log")
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture
def bedrock_client(bedrock_emulator):
    """Real boto3 bedrock-runtime, over HTTP to the emulator."""
    from generation.bedrock.client import make_client

    return make_client(endpoint_url=bedrock_emulator, read_timeout=60)


@pytest.fixture
def bedrock_settings(bedrock_emulator, settings):
    settings.ATELIER_BEDROCK_ENDPOINT_URL = bedrock_emulator
    return settings
