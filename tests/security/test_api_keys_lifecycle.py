"""API keys and memberships lose their power at the very next request — on every surface.

Already proven, not repeated: a key revoked over REST is 401 at once (tests/tenants/test_api_keys.py),
a key revoked in the studio is refused by the REST API (tests/web/test_settings.py), an expiry moved
into the past is 401 and a key on another tenant's URL is 404 (tests/tenants/test_authentication.py),
and every endpoint refuses another tenant's key (test_cross_tenant.py).

Here: the OpenAI-compatible /v1/ API with revoked and expired keys; expiry by the clock passing (no
row edited); an Idempotency-Key cannot replay a revoked key's earlier answer; a key acting in the
same moment it is revoked writes nothing afterwards; and people: a demoted admin is refused admin
pages and endpoints on the next request, and a removed member gets the same 404 as a stranger."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from generation.models import GenerationJob
from tenants import services
from tenants.models import ApiKey, Membership, Role

from ..factories import make_api_key

pytestmark = pytest.mark.django_db

A_JOB = {"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "width": 512, "height": 512}


def without_csrf_tokens(response) -> str:
    """The page, less the per-request masked CSRF token."""
    return re.sub(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", response.content.decode())


@pytest.fixture
def key(tenant_a):
    row, secret = make_api_key(tenant_a, Role.CREATOR)
    return row, secret


def test_a_revoked_key_is_refused_by_the_openai_api_at_once(key, client_as, admin_a):
    row, secret = key
    client = client_as(key=secret)
    assert client.get("/v1/models").status_code == 200

    services.api_key_revoke(api_key=row, actor=admin_a)

    refused = client.get("/v1/models")
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "invalid_request_error"  # OpenAI's envelope, as its SDKs expect
    assert client.post("/v1/images/generations", {"prompt": "a lamp"}, format="json").status_code == 401
    assert client.get("/api/v1/tenants/acme/").status_code == 401


def test_a_key_stops_working_when_its_expiry_passes(tenant_a, client_as, monkeypatch):
    now = timezone.now()
    _, secret = make_api_key(tenant_a, Role.CREATOR, expires_at=now + datetime.timedelta(minutes=5))
    client = client_as(key=secret)

    monkeypatch.setattr(timezone, "now", lambda: now + datetime.timedelta(minutes=4, seconds=59))
    assert client.get("/v1/models").status_code == 200
    assert client.get("/api/v1/tenants/acme/").status_code == 200

    monkeypatch.setattr(timezone, "now", lambda: now + datetime.timedelta(minutes=5))
    assert client.get("/v1/models").status_code == 401
    assert client.get("/api/v1/tenants/acme/").status_code == 401


def test_an_idempotency_key_does_not_replay_for_a_revoked_key(key, client_as, admin_a):
    row, secret = key
    client = client_as(key=secret)
    first = client.post("/api/v1/tenants/acme/jobs/", A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="launch-1")
    assert first.status_code == 201, first.content
    assert client.post(
        "/api/v1/tenants/acme/jobs/", A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="launch-1"
    ).json()["id"] == first.json()["id"]  # fmt: skip

    services.api_key_revoke(api_key=row, actor=admin_a)

    replay = client.post("/api/v1/tenants/acme/jobs/", A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="launch-1")
    assert replay.status_code == 401
    assert str(first.json()["id"]) not in replay.content.decode()
    assert GenerationJob.objects.count() == 1


def test_a_revoked_key_cannot_revoke_or_mint_keys(tenant_a, client_as, admin_a):
    admin_key, secret = make_api_key(tenant_a, Role.ADMIN)
    other, _ = make_api_key(tenant_a, Role.VIEWER)
    services.api_key_revoke(api_key=admin_key, actor=admin_a)
    client = client_as(key=secret)

    assert client.post("/api/v1/tenants/acme/api-keys/", {"name": "x", "role": "admin"}).status_code == 401
    assert client.delete(f"/api/v1/tenants/acme/api-keys/{other.uuid}/").status_code == 401
    assert ApiKey.objects.filter(tenant=tenant_a).count() == 2
    other.refresh_from_db()
    assert other.revoked_at is None


def test_a_demoted_admin_is_refused_on_the_next_request(tenant_a, member, client_as):
    person = member(tenant_a, Role.ADMIN)
    studio = Client()
    studio.force_login(person)
    api = client_as(person)
    assert studio.get("/t/acme/settings/keys/").status_code == 200
    assert api.get("/api/v1/tenants/acme/members/").status_code == 200

    Membership.objects.filter(user=person).update(role=Role.VIEWER)

    assert studio.get("/t/acme/settings/keys/").status_code == 403
    assert api.get("/api/v1/tenants/acme/members/").status_code == 403
    assert api.post("/api/v1/tenants/acme/api-keys/", {"name": "x", "role": "admin"}).status_code == 403
    assert studio.get("/t/acme/gallery/").status_code == 200  # still a viewer


def test_a_removed_member_gets_the_strangers_404_on_the_next_request(tenant_a, member, client_as, admin_a):
    person = member(tenant_a, Role.CREATOR)
    studio = Client()
    studio.force_login(person)
    api = client_as(person)
    assert studio.get("/t/acme/gallery/").status_code == 200

    services.membership_remove(membership=Membership.objects.get(user=person), actor=admin_a)

    removed, unknown = studio.get("/t/acme/gallery/"), studio.get("/t/no-such-tenant/gallery/")
    assert removed.status_code == unknown.status_code == 404
    assert without_csrf_tokens(removed) == without_csrf_tokens(unknown)
    gone = api.get("/api/v1/tenants/acme/jobs/")
    assert gone.status_code == 404
    assert gone.json() == api.get("/api/v1/tenants/no-such-tenant/jobs/").json()
    assert api.post("/api/v1/tenants/acme/jobs/", A_JOB, format="json").status_code == 404
    assert not GenerationJob.objects.exists()
