"""Access ends with membership. Removing a member revokes every key they made in that tenant;
demoting one caps their keys' roles at the new role; a named member of an approval stage decides it
only while an approver or admin. The same through every door — REST, the studio, the Django admin
(one row and the bulk delete) — each change audited. Behind the services, the check at request time
holds too: a key answers for its owner's current membership, and a deleted person's keys and
sessions stop working."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from assets.models import ApprovalStage, Asset
from tenants import services
from tenants.models import ApiKey, AuditEvent, Membership, Role

from ..factories import make_asset, make_job, make_project

pytestmark = pytest.mark.django_db
A_JOB = {"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "width": 512, "height": 512}


@pytest.fixture
def keeper(tenant_a, member):
    """An admin of Acme who made an admin key and a creator key, and a second admin who manages them."""
    user = member(tenant_a, Role.ADMIN, email="kim@acme.test")
    keys = {
        role: services.api_key_create(tenant=tenant_a, name=f"{role} key", role=role, actor=user)
        for role in (Role.ADMIN, Role.CREATOR)
    }
    return user, keys


@pytest.fixture
def staff(tenant_a, member):
    user = member(tenant_a, Role.ADMIN, email="staff@acme.test")
    user.is_staff = True
    user.save()
    return user


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def remove(door: str, membership: Membership, by) -> None:
    slug = membership.tenant.slug
    if door == "rest":
        response = browser(by).delete(f"/api/v1/tenants/{slug}/members/{membership.uuid}/")
        assert response.status_code == 204
    elif door == "studio":
        response = browser(by).post(f"/t/{slug}/settings/members/{membership.uuid}/remove/")
        assert response.status_code == 302
    elif door == "admin":
        response = browser(by).post(reverse("admin:tenants_membership_delete", args=[membership.pk]), {"post": "yes"})
        assert response.status_code == 302
    elif door == "admin bulk":
        response = browser(by).post(
            reverse("admin:tenants_membership_changelist"),
            {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"},
        )
        assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def change_role(door: str, membership: Membership, role: str, by) -> None:
    slug = membership.tenant.slug
    if door == "rest":
        url = f"/api/v1/tenants/{slug}/members/{membership.uuid}/"
        response = browser(by).patch(url, {"role": role}, content_type="application/json")
        assert response.status_code == 200
    elif door == "studio":
        response = browser(by).post(f"/t/{slug}/settings/members/{membership.uuid}/role/", {"role": role})
        assert response.status_code == 302
    elif door == "admin":
        response = browser(by).post(reverse("admin:tenants_membership_change", args=[membership.pk]), {"role": role})
        assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == role


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.mark.parametrize("door", ["rest", "studio", "admin", "admin bulk"])
def test_removing_a_member_revokes_every_key_they_made_there(door, tenant_a, keeper, staff):
    user, keys = keeper
    (admin_key, admin_secret), (creator_key, creator_secret) = keys[Role.ADMIN], keys[Role.CREATOR]
    client = Client()
    assert client.get("/api/v1/tenants/acme/members/", **bearer(admin_secret)).status_code == 200

    remove(door, Membership.objects.get(user=user, tenant=tenant_a), by=staff)

    for secret in (admin_secret, creator_secret):
        assert client.get("/api/v1/tenants/acme/members/", **bearer(secret)).status_code == 401
        assert client.get("/api/v1/tenants/acme/", **bearer(secret)).status_code == 401
        assert client.get("/v1/models", **bearer(secret)).status_code == 401
        assert client.post("/v1/images/generations", {"prompt": "a lamp"}, content_type="application/json",
                           **bearer(secret)).status_code == 401  # fmt: skip
    assert ApiKey.objects.filter(pk__in=[admin_key.pk, creator_key.pk], revoked_at__isnull=False).count() == 2
    revoked = AuditEvent.objects.filter(tenant=tenant_a, verb="api_key.revoked").order_by("target_id")
    assert sorted(int(e.target_id) for e in revoked) == sorted([admin_key.pk, creator_key.pk])
    assert {e.data["reason"] for e in revoked} == {"owner_removed"}
    assert AuditEvent.objects.filter(tenant=tenant_a, verb="member.removed").count() == 1


def test_removing_a_member_leaves_their_keys_in_other_tenants_and_others_keys(tenant_a, tenant_b, keeper, staff,
                                                                              member):  # fmt: skip
    user, keys = keeper
    Membership.objects.create(user=user, tenant=tenant_b, role=Role.ADMIN)
    _, globex_secret = services.api_key_create(tenant=tenant_b, name="globex", role=Role.CREATOR, actor=user)
    _, staff_secret = services.api_key_create(tenant=tenant_a, name="staff's", role=Role.CREATOR, actor=staff)

    remove("rest", Membership.objects.get(user=user, tenant=tenant_a), by=staff)

    assert Client().get("/api/v1/tenants/globex/", **bearer(globex_secret)).status_code == 200
    assert Client().get("/api/v1/tenants/acme/", **bearer(staff_secret)).status_code == 200


@pytest.mark.parametrize("door", ["rest", "studio", "admin"])
def test_demoting_a_member_caps_their_keys_at_the_new_role(door, tenant_a, keeper, staff):
    user, keys = keeper
    (admin_key, admin_secret), (creator_key, _) = keys[Role.ADMIN], keys[Role.CREATOR]

    change_role(door, Membership.objects.get(user=user, tenant=tenant_a), Role.CREATOR, by=staff)

    admin_key.refresh_from_db()
    creator_key.refresh_from_db()
    assert (admin_key.role, creator_key.role) == (Role.CREATOR, Role.CREATOR)
    assert admin_key.is_usable()
    client = Client()
    assert client.get("/api/v1/tenants/acme/members/", **bearer(admin_secret)).status_code == 403
    assert client.post("/api/v1/tenants/acme/api-keys/", {"name": "x", "role": "admin"},
                       content_type="application/json", **bearer(admin_secret)).status_code == 403  # fmt: skip
    assert client.post("/api/v1/tenants/acme/jobs/", A_JOB, content_type="application/json",
                       **bearer(admin_secret)).status_code == 201  # fmt: skip
    capped = AuditEvent.objects.get(tenant=tenant_a, verb="api_key.role_capped")
    assert capped.target_id == str(admin_key.pk) and capped.data == {
        "name": "admin key", "from": "admin", "to": "creator", "reason": "owner_demoted"
    }  # fmt: skip


def test_promoting_a_member_does_not_raise_their_keys(tenant_a, keeper, staff):
    user, keys = keeper
    membership = Membership.objects.get(user=user, tenant=tenant_a)
    change_role("rest", membership, Role.VIEWER, by=staff)
    change_role("rest", membership, Role.ADMIN, by=staff)

    keys[Role.ADMIN][0].refresh_from_db()
    assert keys[Role.ADMIN][0].role == Role.VIEWER


def test_a_key_answers_for_its_owners_membership_at_every_request(tenant_a, keeper):
    """Rows changed behind the services' back (a shell, a bulk update): the key still cannot do more than
    its owner may now, and stops with the owner's membership or account."""
    user, keys = keeper
    _, admin_secret = keys[Role.ADMIN]
    client = Client()

    Membership.objects.filter(user=user, tenant=tenant_a).update(role=Role.VIEWER)
    assert client.get("/api/v1/tenants/acme/members/", **bearer(admin_secret)).status_code == 403
    assert client.get("/api/v1/tenants/", **bearer(admin_secret)).json()[0]["role"] == "viewer"
    assert client.post("/api/v1/tenants/acme/jobs/", A_JOB, content_type="application/json",
                       **bearer(admin_secret)).status_code == 403  # fmt: skip

    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/tenants/acme/", **bearer(admin_secret)).status_code == 401

    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    Membership.objects.filter(user=user, tenant=tenant_a).delete()
    assert client.get("/api/v1/tenants/acme/", **bearer(admin_secret)).status_code == 401
    assert client.get("/v1/models", **bearer(admin_secret)).status_code == 401


def test_deleting_a_person_revokes_their_keys_and_ends_their_sessions(tenant_a, keeper, staff):
    user, keys = keeper
    (admin_key, admin_secret), _ = keys[Role.ADMIN], keys[Role.CREATOR]
    session = browser(user)
    assert session.get("/api/v1/tenants/acme/").status_code == 200

    platform = get_user_model().objects.create_superuser("root", "root@platform.test", "pw-not-used-here")
    deleted = browser(platform).post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})

    assert deleted.status_code == 302 and not get_user_model().objects.filter(pk=user.pk).exists()
    assert Client().get("/api/v1/tenants/acme/", **bearer(admin_secret)).status_code == 401
    assert Client().get("/v1/models", **bearer(admin_secret)).status_code == 401
    admin_key.refresh_from_db()
    assert admin_key.revoked_at is not None and admin_key.created_by is None
    revoked = AuditEvent.objects.filter(tenant=tenant_a, verb="api_key.revoked", target_id=str(admin_key.pk)).get()
    assert revoked.data["reason"] == "owner_deleted" and revoked.data["owner"] == "kim@acme.test"
    assert session.get("/api/v1/tenants/acme/").status_code in (401, 403)
    assert session.get("/t/acme/").status_code == 302  # back to sign-in
    assert session.get("/t/acme/").url.startswith("/accounts/login/")


def test_a_removed_members_old_session_opens_nothing_of_that_tenant(tenant_a, member, staff):
    user = member(tenant_a, Role.ADMIN, email="leaver@acme.test")
    session = browser(user)
    assert session.get("/t/acme/settings/").status_code == 200

    remove("rest", Membership.objects.get(user=user), by=staff)

    assert session.get("/api/v1/tenants/acme/").status_code == 404
    assert session.get("/api/v1/tenants/acme/members/").status_code == 404
    assert session.get("/t/acme/").status_code == 404
    assert session.get("/t/acme/settings/").status_code == 404
    assert session.get("/api/v1/tenants/").json() == []


@pytest.fixture
def legal_review(tenant_a, member):
    """A project whose one stage is decided by a named approver, with an asset waiting there."""
    lawyer = member(tenant_a, Role.APPROVER, email="lee@acme.test")
    project = make_project(tenant_a, name="Legal", slug="legal")
    stage = ApprovalStage.objects.create(project=project, position=0, name="Legal", role=Role.APPROVER)
    stage.members.set([lawyer])
    asset = make_asset(tenant_a, job=make_job(tenant_a), index=0, project=project, status=Asset.Status.IN_REVIEW,
                       review_stage=0, title="Contract art")  # fmt: skip
    return lawyer, asset


@pytest.mark.parametrize("role", [Role.CREATOR, Role.VIEWER])
def test_a_named_stage_approver_demoted_below_approver_cannot_decide(tenant_a, legal_review, staff, role):
    lawyer, asset = legal_review
    change_role("rest", Membership.objects.get(user=lawyer), role, by=staff)
    session = browser(lawyer)

    approve = session.post(f"/api/v1/tenants/acme/assets/{asset.pk}/approve/", content_type="application/json")
    reject = session.post(f"/api/v1/tenants/acme/assets/{asset.pk}/reject/", content_type="application/json")
    page = session.get(f"/t/acme/assets/{asset.pk}/").content.decode()

    assert approve.status_code == 403 and "Legal" in approve.json()["error"]["message"]
    assert reject.status_code == 403
    assert f"/t/acme/assets/{asset.pk}/approve/" not in page
    asset.refresh_from_db()
    assert asset.status == Asset.Status.IN_REVIEW
    assert AuditEvent.objects.filter(tenant=tenant_a, verb="member.role_changed").get().data["to"] == role


def test_a_named_stage_approver_promoted_back_decides_again(tenant_a, legal_review, staff):
    lawyer, asset = legal_review
    membership = Membership.objects.get(user=lawyer)
    change_role("rest", membership, Role.VIEWER, by=staff)
    change_role("rest", membership, Role.APPROVER, by=staff)

    approve = browser(lawyer).post(f"/api/v1/tenants/acme/assets/{asset.pk}/approve/", content_type="application/json")

    assert approve.status_code == 200 and approve.json()["status"] == "approved"


def test_a_removed_named_stage_approver_cannot_decide_and_the_stage_stays_closed_to_others(
    tenant_a, legal_review, staff, member
):
    lawyer, asset = legal_review
    remove("studio", Membership.objects.get(user=lawyer), by=staff)
    other_approver = member(tenant_a, Role.APPROVER)

    url = f"/api/v1/tenants/acme/assets/{asset.pk}/approve/"
    assert browser(lawyer).post(url, content_type="application/json").status_code == 404
    refused = browser(other_approver).post(url, content_type="application/json")
    assert refused.status_code == 403  # the stage still names its members: it does not fall open to every approver


def test_a_stage_names_only_approvers_or_admins(tenant_a, member, staff):
    member(tenant_a, Role.CREATOR, email="cara@acme.test")
    project = make_project(tenant_a, name="Legal", slug="legal")

    response = browser(staff).put(
        f"/api/v1/tenants/acme/projects/{project.pk}/approval-stages/",
        {"stages": [{"name": "Legal", "members": ["cara@acme.test"]}]},
        content_type="application/json",
    )

    assert response.status_code == 400 and "stages.0.members" in response.json()["error"]["fields"]
    assert not ApprovalStage.objects.filter(project=project).exists()


def test_a_demoted_named_approver_is_not_told_an_asset_waits_for_them(tenant_a, legal_review, staff):
    from assets.tasks import _deciders

    lawyer, asset = legal_review
    assert _deciders(asset) == ("Legal", ["lee@acme.test"])

    change_role("rest", Membership.objects.get(user=lawyer), Role.CREATOR, by=staff)

    assert _deciders(asset) == ("Legal", [])


def test_the_admin_refuses_to_remove_or_demote_the_last_admin_with_a_message(tenant_a, member):
    only = member(tenant_a, Role.ADMIN, email="only@acme.test")
    only.is_staff = True
    only.save()
    membership = Membership.objects.get(user=only)
    client = browser(only)

    answers = [
        client.post(reverse("admin:tenants_membership_changelist"),
                    {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"}),
        client.post(reverse("admin:tenants_membership_delete", args=[membership.pk]), {"post": "yes"}),
        client.post(reverse("admin:tenants_membership_change", args=[membership.pk]), {"role": "viewer"}),
    ]  # fmt: skip

    assert [answer.status_code for answer in answers] == [302, 302, 302]
    page = client.get(reverse("admin:tenants_membership_changelist")).content.decode()
    assert "A tenant must keep at least one admin" in page
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert not AuditEvent.objects.filter(verb__in=["member.removed", "member.role_changed"]).exists()
