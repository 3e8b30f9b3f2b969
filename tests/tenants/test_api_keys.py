from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import ApiKey, AuditEvent, Role

pytestmark = pytest.mark.django_db


def keys_url(tenant, pk=None):
    base = f"/api/v1/tenants/{tenant.slug}/api-keys/"
    return f"{base}{pk}/" if pk else base


def test_a_created_key_shows_its_secret_once_and_stores_only_its_hash(tenant_a, admin_a, client_as):
    client = client_as(admin_a)

    response = client.post(keys_url(tenant_a), {"name": "DAM sync", "role": "viewer"})

    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["secret"]
    assert secret.startswith(f"atl_{body['prefix']}_")
    row = ApiKey.objects.get(uuid=body["id"])
    assert row.secret_sha256 == ApiKey.hash_secret(secret)
    assert secret not in str(ApiKey.objects.filter(pk=row.pk).values().first())
    assert row.created_by == admin_a and row.role == Role.VIEWER
    listed = client.get(keys_url(tenant_a)).json()["results"]
    assert [k["name"] for k in listed] == ["DAM sync"]
    assert "secret" not in listed[0]
    assert client.get(keys_url(tenant_a, row.uuid)).json().get("secret") is None
    # The secret works, with the role it was given.
    with_key = client_as(key=secret)
    assert with_key.get(f"/api/v1/tenants/{tenant_a.slug}/").json()["role"] == "viewer"
    assert AuditEvent.objects.get(verb="api_key.created").target_id == str(row.pk)


def test_revoking_a_key_stops_it_at_once_and_keeps_the_row(tenant_a, admin_a, api_key, client_as):
    secret = api_key(tenant_a, Role.CREATOR)
    row = ApiKey.objects.get()
    assert client_as(key=secret).get("/api/v1/tenants/").status_code == 200

    response = client_as(admin_a).delete(keys_url(tenant_a, row.uuid))

    assert response.status_code == 204
    row.refresh_from_db()
    assert row.revoked_at is not None
    refused = client_as(key=secret).get("/api/v1/tenants/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"
    assert client_as(admin_a).get(keys_url(tenant_a)).json()["results"][0]["is_active"] is False
    assert AuditEvent.objects.filter(verb="api_key.revoked").count() == 1


def test_a_key_with_an_expiry_in_the_past_is_refused(tenant_a, admin_a, client_as):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()

    response = client_as(admin_a).post(keys_url(tenant_a), {"name": "old", "expires_at": past})

    assert response.status_code == 400
    assert "expires_at" in response.json()["error"]["fields"]
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"role": "viewer"}, "name"), ({"name": "x", "role": "root"}, "role"), ({"name": "x" * 101}, "name")],
)
def test_bad_key_input_names_the_field(tenant_a, admin_a, client_as, body, field):
    response = client_as(admin_a).post(keys_url(tenant_a), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER])
def test_only_admins_see_create_or_revoke_keys(tenant_a, member, api_key, client_as, role):
    existing = api_key(tenant_a, Role.ADMIN)
    row = ApiKey.objects.get()
    for client in (client_as(member(tenant_a, role)), client_as(key=api_key(tenant_a, role))):
        assert client.get(keys_url(tenant_a)).status_code == 403
        assert client.post(keys_url(tenant_a), {"name": "mine", "role": "admin"}).status_code == 403
        assert client.delete(keys_url(tenant_a, row.uuid)).status_code == 403
    row.refresh_from_db()
    assert row.revoked_at is None
    assert ApiKey.objects.filter(name="mine").count() == 0
    assert client_as(key=existing).get(keys_url(tenant_a)).status_code == 200
