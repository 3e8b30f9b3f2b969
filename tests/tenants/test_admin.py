"""Django admin: platform staff see every tenant; a staff tenant admin sees only their own rows."""

import pytest
from django.urls import reverse

from tenants.models import ApiKey, AuditEvent, Membership, Role

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin_of_a(tenant_a, member):
    user = member(tenant_a, Role.ADMIN, email="staff@acme.test")
    user.is_staff = True
    user.save()
    return user


def test_platform_staff_see_every_tenant(tenant_a, tenant_b, admin_a, admin_b, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:tenants_membership_changelist")).content.decode()

    assert "ada@acme.test" in page and "grace@globex.test" in page


def test_a_tenant_admin_sees_only_their_tenants_rows(tenant_a, tenant_b, admin_b, staff_admin_of_a, client):
    client.force_login(staff_admin_of_a)

    memberships = client.get(reverse("admin:tenants_membership_changelist"))
    tenants = client.get(reverse("admin:tenants_tenant_changelist")).content.decode()

    assert memberships.status_code == 200
    assert "staff@acme.test" in memberships.content.decode()
    assert "grace@globex.test" not in memberships.content.decode()
    assert "acme" in tenants and "globex" not in tenants


def test_a_tenant_admin_cannot_open_or_change_another_tenants_row(tenant_b, admin_b, staff_admin_of_a, client):
    client.force_login(staff_admin_of_a)
    foreign = Membership.objects.get(user=admin_b)
    url = reverse("admin:tenants_membership_change", args=[foreign.pk])

    opened = client.get(url)
    posted = client.post(url, {"role": "viewer"})

    assert opened.status_code == 302  # the admin's "does not exist" redirect
    assert posted.status_code == 302
    foreign.refresh_from_db()
    assert foreign.role == Role.ADMIN


def test_a_role_change_in_the_admin_goes_through_the_service_and_is_audited(tenant_a, member, staff_admin_of_a, client):
    viewer = Membership.objects.get(user=member(tenant_a, Role.VIEWER))
    client.force_login(staff_admin_of_a)

    response = client.post(reverse("admin:tenants_membership_change", args=[viewer.pk]), {"role": "creator"})

    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.role == Role.CREATOR
    assert AuditEvent.objects.get(verb="member.role_changed").actor_user == staff_admin_of_a


def test_the_revoke_action_revokes_keys(tenant_a, api_key, staff_admin_of_a, client):
    api_key(tenant_a)
    row = ApiKey.objects.get()
    client.force_login(staff_admin_of_a)

    client.post(reverse("admin:tenants_apikey_changelist"), {"action": "revoke", "_selected_action": [row.pk]})

    row.refresh_from_db()
    assert row.revoked_at is not None


def test_staff_without_a_tenant_see_no_tenant_data(tenant_a, admin_a, client):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(reverse("admin:tenants_membership_changelist")).status_code == 403
