import pytest

from tenants.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


def test_a_person_sees_only_the_tenants_they_belong_to_with_their_role(tenant_a, tenant_b, member, client_as):
    person = member(tenant_a, Role.CREATOR)
    member(tenant_b, Role.ADMIN)  # someone else's tenant

    response = client_as(person).get("/api/v1/tenants/")

    assert response.status_code == 200
    assert [(t["slug"], t["role"]) for t in response.json()] == [("acme", "creator")]


def test_a_key_sees_its_own_tenant_only(tenant_a, tenant_b, api_key, client_as):
    response = client_as(key=api_key(tenant_b, Role.VIEWER)).get("/api/v1/tenants/")

    assert [(t["slug"], t["role"]) for t in response.json()] == [("globex", "viewer")]


def test_tenant_detail_for_a_member(tenant_a, member, client_as):
    response = client_as(member(tenant_a, Role.VIEWER)).get("/api/v1/tenants/acme/")

    assert response.status_code == 200
    assert response.json()["name"] == "Acme"
    assert response.json()["four_eyes_approval"] is False


def test_an_admin_turns_on_four_eyes_approval_and_it_is_audited(tenant_a, admin_a, client_as):
    response = client_as(admin_a).patch(
        "/api/v1/tenants/acme/", {"four_eyes_approval": True, "timezone": "Europe/Berlin"}
    )

    assert response.status_code == 200
    tenant_a.refresh_from_db()
    assert tenant_a.four_eyes_approval is True and tenant_a.timezone == "Europe/Berlin"
    event = AuditEvent.objects.get(verb="tenant.updated")
    assert event.data["four_eyes_approval"] == {"from": False, "to": True}
    assert event.actor_user == admin_a


def test_an_unknown_time_zone_is_refused_by_name(tenant_a, admin_a, client_as):
    response = client_as(admin_a).patch("/api/v1/tenants/acme/", {"timezone": "Mars/Olympus"})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["timezone"]
    tenant_a.refresh_from_db()
    assert tenant_a.timezone == "UTC"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER])
def test_only_admins_change_tenant_settings(tenant_a, member, client_as, role):
    response = client_as(member(tenant_a, role)).patch("/api/v1/tenants/acme/", {"name": "Taken over"})

    assert response.status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Acme"
