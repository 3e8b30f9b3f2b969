"""Bad credentials and foreign tenants: 401 for who you are, 404 for what you may not see,
403 for what your role may not do — always in the one error envelope."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import ApiKey, Role

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_with_a_bearer_challenge(tenant_a):
    response = APIClient().get(f"/api/v1/tenants/{tenant_a.slug}/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {
        "error": {"code": "not_authenticated", "message": "Authentication credentials were not provided.", "fields": {}}
    }


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Bearer not-a-key", "bearer atl_00000000_" + "x" * 43, "Bearer atl_zz_short"],
)
def test_malformed_or_unknown_bearer_is_401(tenant_a, header):
    response = APIClient().get("/api/v1/tenants/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_good_secret_with_one_wrong_character_is_refused(tenant_a, api_key):
    secret = api_key(tenant_a)
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    assert APIClient().get("/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {tampered}").status_code == 401


def test_an_expired_key_is_401(tenant_a, api_key, client_as):
    secret = api_key(tenant_a, expires_at=timezone.now() + timedelta(seconds=60))
    assert client_as(key=secret).get("/api/v1/tenants/").status_code == 200

    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client_as(key=secret).get("/api/v1/tenants/").status_code == 401


def test_using_a_key_records_when_it_was_last_used(tenant_a, api_key, client_as):
    secret = api_key(tenant_a)
    assert ApiKey.objects.get().last_used_at is None

    client_as(key=secret).get("/api/v1/tenants/")

    assert ApiKey.objects.get().last_used_at is not None


def test_a_key_on_another_tenants_url_is_404(tenant_a, tenant_b, api_key, client_as):
    response = client_as(key=api_key(tenant_a, Role.ADMIN)).get(f"/api/v1/tenants/{tenant_b.slug}/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_and_foreign_tenants_answer_the_same_404(tenant_a, tenant_b, admin_a, client_as):
    client = client_as(admin_a)

    unknown = client.get("/api/v1/tenants/no-such-tenant/members/")
    foreign = client.get(f"/api/v1/tenants/{tenant_b.slug}/members/")

    assert unknown.status_code == foreign.status_code == 404
    assert unknown.json() == foreign.json()


def test_session_writes_need_the_csrf_token(tenant_a, admin_a):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_a)

    response = client.post(f"/api/v1/tenants/{tenant_a.slug}/api-keys/", {"name": "x"})

    assert response.status_code == 403
    assert not ApiKey.objects.exists()


def test_unrouted_api_paths_answer_json_404(admin_a, client_as):
    response = client_as(admin_a).get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_role_order_is_viewer_creator_approver_admin():
    assert Role.at_least(Role.ADMIN, Role.VIEWER)
    assert Role.at_least(Role.APPROVER, Role.CREATOR)
    assert not Role.at_least(Role.CREATOR, Role.APPROVER)
    assert not Role.at_least(None, Role.VIEWER)
