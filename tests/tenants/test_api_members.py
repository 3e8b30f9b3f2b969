import pytest
from django.contrib.auth import get_user_model

from tenants.models import AuditEvent, Membership, Role

pytestmark = pytest.mark.django_db
User = get_user_model()


def members_url(tenant, pk=None):
    base = f"/api/v1/tenants/{tenant.slug}/members/"
    return f"{base}{pk}/" if pk else base


def test_admin_lists_members_of_their_tenant_only(tenant_a, tenant_b, admin_a, member, client_as):
    member(tenant_a, Role.VIEWER, email="vic@acme.test")
    member(tenant_b, Role.ADMIN, email="outsider@globex.test")

    response = client_as(admin_a).get(members_url(tenant_a))

    assert response.status_code == 200
    assert sorted((m["email"], m["role"]) for m in response.json()) == [
        ("ada@acme.test", "admin"),
        ("vic@acme.test", "viewer"),
    ]


def test_adding_a_member_by_email_creates_the_person_and_an_audit_event(tenant_a, admin_a, client_as):
    response = client_as(admin_a).post(members_url(tenant_a), {"email": "New.Person@Acme.test", "role": "creator"})

    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "new.person@acme.test"
    user = User.objects.get(email="new.person@acme.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(tenant=tenant_a, user=user).role == Role.CREATOR
    event = AuditEvent.objects.get(tenant=tenant_a, verb="member.added")
    assert event.actor_user == admin_a
    assert event.data == {"email": "new.person@acme.test", "role": "creator"}


def test_adding_an_existing_member_is_refused(tenant_a, admin_a, client_as):
    response = client_as(admin_a).post(members_url(tenant_a), {"email": "ada@acme.test", "role": "viewer"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "already_member"
    assert "email" in response.json()["error"]["fields"]
    assert Membership.objects.get(tenant=tenant_a, user=admin_a).role == Role.ADMIN


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "not-an-email", "role": "viewer"}, "email"), ({"email": "x@acme.test", "role": "owner"}, "role")],
)
def test_bad_member_input_names_the_field(tenant_a, admin_a, client_as, body, field):
    response = client_as(admin_a).post(members_url(tenant_a), body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert Membership.objects.filter(tenant=tenant_a).count() == 1


def test_admin_changes_a_role_and_it_is_audited(tenant_a, admin_a, member, client_as):
    viewer = member(tenant_a, Role.VIEWER)
    membership = Membership.objects.get(user=viewer)

    response = client_as(admin_a).patch(members_url(tenant_a, membership.uuid), {"role": "approver"})

    assert response.status_code == 200
    assert response.json()["role"] == "approver"
    membership.refresh_from_db()
    assert membership.role == Role.APPROVER
    event = AuditEvent.objects.get(verb="member.role_changed")
    assert event.data["from"] == "viewer" and event.data["to"] == "approver"


def test_admin_removes_a_member(tenant_a, admin_a, member, client_as):
    viewer = member(tenant_a, Role.VIEWER)
    membership = Membership.objects.get(user=viewer)

    response = client_as(admin_a).delete(members_url(tenant_a, membership.uuid))

    assert response.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=viewer.pk).exists()  # the person stays; only the membership goes
    assert AuditEvent.objects.get(verb="member.removed").target_id == str(membership.pk)


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_the_last_admin_cannot_be_demoted_or_removed(tenant_a, admin_a, client_as, method):
    membership = Membership.objects.get(user=admin_a)
    client = client_as(admin_a)

    response = getattr(client, method)(members_url(tenant_a, membership.uuid), {"role": "viewer"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "last_admin"
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_an_admin_can_step_down_when_another_admin_remains(tenant_a, admin_a, member, client_as):
    member(tenant_a, Role.ADMIN)
    membership = Membership.objects.get(user=admin_a)

    response = client_as(admin_a).patch(members_url(tenant_a, membership.uuid), {"role": "viewer"})

    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER])
def test_only_admins_manage_members(tenant_a, admin_a, member, client_as, role):
    caller = member(tenant_a, role)
    client = client_as(caller)
    admin_membership = Membership.objects.get(user=admin_a)

    assert client.get(members_url(tenant_a)).status_code == 403
    response = client.post(members_url(tenant_a), {"email": "sneaky@acme.test", "role": "admin"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.patch(members_url(tenant_a, admin_membership.uuid), {"role": "viewer"}).status_code == 403
    assert client.delete(members_url(tenant_a, admin_membership.uuid)).status_code == 403
    assert not User.objects.filter(email="sneaky@acme.test").exists()
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.ADMIN


def test_an_admin_api_key_manages_members_and_is_the_audited_actor(tenant_a, admin_a, api_key, client_as):
    response = client_as(key=api_key(tenant_a, Role.ADMIN)).post(
        members_url(tenant_a), {"email": "bot-added@acme.test", "role": "viewer"}
    )

    assert response.status_code == 201
    event = AuditEvent.objects.get(verb="member.added")
    assert event.actor_user is None
    assert event.actor_api_key.tenant == tenant_a
