"""Settings in the studio, for admins only: the tenant, members and roles, API keys (the secret
shown once), budgets and webhooks (the signing secret shown once)."""

import re
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.models import Budget
from tenants import webhooks
from tenants.models import ApiKey, AuditEvent, Membership, Role, WebhookDelivery, WebhookEndpoint
from tests.factories import make_api_key, make_project

pytestmark = pytest.mark.django_db

PAGES = ["", "members/", "keys/", "budgets/", "webhooks/"]
PUBLIC_URL = "https://93.184.215.14/hook"  # a literal public address: no DNS needed


def near(html: str, marker: str, text: str, within: int = 1500) -> bool:
    """`text` appears within `within` characters after `marker`: beside that field or row."""
    start = html.find(marker)
    return start >= 0 and text in html[start : start + within]


def url(suffix=""):
    return f"/t/acme/settings/{suffix}"


@pytest.fixture
def admin(signed_in):
    return signed_in(Role.ADMIN)[0]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER])
def test_settings_are_for_admins_only(signed_in, tenant_a, page, role):
    client, _ = signed_in(role)

    assert client.get(url(page)).status_code == 403
    assert client.post(url(page), {"name": "Taken over", "email": "x@y.test", "role": "admin"}).status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.name == "Acme" and not Membership.objects.filter(user__email="x@y.test").exists()


@pytest.mark.parametrize("page", PAGES)
def test_an_admin_sees_every_settings_page(admin, page):
    response = admin.get(url(page))

    assert response.status_code == 200
    assert 'aria-current="page"' in response.content.decode()


def test_settings_link_is_in_the_menu_for_admins_only(signed_in, tenant_a):
    admin, _ = signed_in(Role.ADMIN)
    viewer, _ = signed_in(Role.VIEWER)

    assert 'href="/t/acme/settings/"' in admin.get("/t/acme/projects/").content.decode()
    assert 'href="/t/acme/settings/"' not in viewer.get("/t/acme/projects/").content.decode()


# The tenant


def test_an_admin_changes_name_time_zone_and_four_eyes(admin, tenant_a):
    response = admin.post(url(), {"name": "Acme Corp", "timezone": "Europe/Berlin", "four_eyes_approval": "on"})

    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert (tenant_a.name, tenant_a.timezone, tenant_a.four_eyes_approval) == ("Acme Corp", "Europe/Berlin", True)
    assert AuditEvent.objects.filter(verb="tenant.updated").exists()


def test_an_unknown_time_zone_is_shown_beside_it(admin, tenant_a):
    response = admin.post(url(), {"name": "Acme Corp", "timezone": "Mars/Olympus"})

    assert response.status_code == 400
    assert near(response.content.decode(), 'name="timezone"', "Unknown time zone", within=40000)
    tenant_a.refresh_from_db()
    assert (tenant_a.name, tenant_a.timezone) == ("Acme", "UTC")


# Members


def test_an_admin_changes_a_members_role(admin, tenant_a, member):
    sam = member(tenant_a, Role.VIEWER, email="sam@acme.test")
    membership = Membership.objects.get(user=sam)

    response = admin.post(url(f"members/{membership.uuid}/role/"), {"role": "approver"})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.APPROVER
    assert "sam@acme.test is now approver" in admin.get(response["Location"]).content.decode()


def test_the_last_admin_cannot_be_demoted(signed_in, tenant_a):
    client, me = signed_in(Role.ADMIN)
    mine = Membership.objects.get(user=me)

    response = client.post(url(f"members/{mine.uuid}/role/"), {"role": "viewer"})

    assert response.status_code == 400
    assert near(response.content.decode(), f'id="member-{mine.uuid}"', "A tenant must keep at least one admin")
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN


def test_the_last_admin_cannot_be_removed(signed_in):
    client, me = signed_in(Role.ADMIN)
    mine = Membership.objects.get(user=me)

    response = client.post(url(f"members/{mine.uuid}/remove/"))

    assert response.status_code == 400
    assert "The last admin cannot be demoted or removed" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_an_admin_who_steps_down_leaves_settings(signed_in, tenant_a, member):
    client, me = signed_in(Role.ADMIN)
    member(tenant_a, Role.ADMIN)
    mine = Membership.objects.get(user=me)

    response = client.post(url(f"members/{mine.uuid}/role/"), {"role": "creator"})

    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    mine.refresh_from_db()
    assert mine.role == Role.CREATOR


def test_an_admin_adds_and_removes_a_member(admin, tenant_a):
    response = admin.post(url("members/"), {"email": "New.Person@Acme.test", "role": "creator"})

    assert response.status_code == 302
    membership = Membership.objects.get(tenant=tenant_a, user__email="new.person@acme.test")
    assert membership.role == Role.CREATOR
    page = admin.get(url("members/")).content.decode()
    assert "new.person@acme.test" in page and 'data-confirm="Remove new.person@acme.test' in page

    assert admin.post(url(f"members/{membership.uuid}/remove/")).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "not-an-address", "role": "viewer"}, "email", "Give an e-mail address"),
        ({"email": "ok@acme.test", "role": "owner"}, "role", "Choose one of"),
        ({"email": "ada@acme.test", "role": "viewer"}, "email", "Already a member"),
    ],
)
def test_a_refused_member_is_shown_beside_the_field(signed_in, tenant_a, member, form, field, message):
    client, _ = signed_in(Role.ADMIN, email="ada@acme.test")
    before = Membership.objects.filter(tenant=tenant_a).count()

    response = client.post(url("members/"), form)

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html[html.find("Add a member") :], f'name="{field}"', message)
    assert Membership.objects.filter(tenant=tenant_a).count() == before


# API keys


def test_a_new_keys_secret_is_shown_once_and_works(admin, tenant_a):
    project = make_project(tenant_a)

    response = admin.post(
        url("keys/"), {"name": "CMS", "role": "viewer", "expires_on": "2099-12-31", "default_project": str(project.pk)}
    )

    html = response.content.decode()
    assert response.status_code == 201
    key = ApiKey.objects.get(tenant=tenant_a, name="CMS")
    assert (key.role, key.default_project, key.expires_at.year) == (Role.VIEWER, project, 2100)
    secret = re.search(r'id="new-secret">(atl_[^<]+)</code>', html)[1]
    assert secret.startswith(f"atl_{key.prefix}_") and "will not be shown again" in html
    assert ApiKey.hash_secret(secret) == key.secret_sha256

    again = admin.get(url("keys/")).content.decode()
    assert secret not in again and "will not be shown again" not in again and f"atl_{key.prefix}_…" in again

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/tenants/acme/").status_code == 200


def test_a_revoked_key_is_refused_by_the_api(admin, tenant_a):
    key, secret = make_api_key(tenant_a, Role.CREATOR, name="Old integration")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/tenants/acme/").status_code == 200

    response = admin.post(url(f"keys/{key.uuid}/revoke/"))

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api.get("/api/v1/tenants/acme/").status_code == 401
    assert "revoked" in admin.get(url("keys/")).content.decode()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "", "role": "creator"}, "name", "Name the key"),
        ({"name": "K", "role": "creator", "expires_on": "2001-01-01"}, "expires_on", "Must be in the future"),
        ({"name": "K", "role": "creator", "expires_on": "soon"}, "expires_on", "Give a date"),
        ({"name": "K", "role": "creator", "default_project": "5a5a5a5a-0000-0000-0000-000000000000"},
         "default_project", "No such project"),
    ],
)  # fmt: skip
def test_a_refused_key_is_shown_beside_the_field(admin, tenant_a, form, field, message):
    response = admin.post(url("keys/"), form)

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html[html.find("Create a key") :], f'name="{field}"', message)
    assert not ApiKey.objects.filter(tenant=tenant_a).exists()
    assert "atl_" not in html


# Budgets


def test_budgets_show_the_months_figures(admin, tenant_a):
    page = admin.get(url("budgets/")).content.decode()

    assert "$1,000.00" in page and "50, 80, 100" in page


def test_an_admin_sets_changes_and_removes_a_project_budget(admin, tenant_a):
    project = make_project(tenant_a)

    response = admin.post(
        url("budgets/"), {"scope": f"project:{project.pk}", "amount": "250", "alert_thresholds": "75, 90"}
    )

    assert response.status_code == 302
    budget = Budget.objects.get(project=project)
    assert (budget.amount_usd, budget.alert_thresholds) == (Decimal("250"), [75, 90])

    assert admin.post(url(f"budgets/{budget.uuid}/"), {"amount": "300.5", "alert_thresholds": "100"}).status_code == 302
    budget.refresh_from_db()
    assert (budget.amount_usd, budget.alert_thresholds) == (Decimal("300.5"), [100])

    assert admin.post(url(f"budgets/{budget.uuid}/delete/")).status_code == 302
    assert not Budget.objects.filter(project=project).exists()


def test_an_api_key_gets_a_cap(admin, tenant_a):
    key, _ = make_api_key(tenant_a, name="Bulk job")

    assert admin.post(url("budgets/"), {"scope": f"api_key:{key.uuid}", "amount": "20"}).status_code == 302
    assert Budget.objects.get(api_key=key).amount_usd == Decimal("20")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"amount": "-5", "alert_thresholds": "50"}, "amount", "Give an amount in USD of 0 or more"),
        ({"amount": "5", "alert_thresholds": "50, lots"}, "alert_thresholds", "whole percentages"),
    ],
)
def test_a_refused_budget_is_shown_beside_the_field(admin, tenant_a, form, field, message):
    project = make_project(tenant_a)

    response = admin.post(url("budgets/"), {"scope": f"project:{project.pk}", **form})

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html[html.find("Set a budget") :], f'name="{field}"', message)
    assert not Budget.objects.filter(project=project).exists()


def test_a_negative_amount_on_an_existing_budget_is_shown_on_its_row(admin, tenant_a):
    budget = Budget.objects.get(tenant=tenant_a, project=None, api_key=None)

    response = admin.post(url(f"budgets/{budget.uuid}/"), {"amount": "-1", "alert_thresholds": "50"})

    assert response.status_code == 400
    assert near(response.content.decode(), f'id="amount-{budget.uuid}"', "Give an amount in USD of 0 or more")
    budget.refresh_from_db()
    assert budget.amount_usd == Decimal("1000")


# Webhooks


def test_a_new_webhooks_secret_is_shown_once(admin, tenant_a):
    response = admin.post(
        url("webhooks/"), {"url": PUBLIC_URL, "events": ["job.succeeded", "asset.approved"], "active": "on"}
    )

    html = response.content.decode()
    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get(tenant=tenant_a)
    assert (endpoint.url, endpoint.events, endpoint.active) == (PUBLIC_URL, ["job.succeeded", "asset.approved"], True)
    assert endpoint.secret in html and "will not be shown again" in html
    assert endpoint.secret not in admin.get(url("webhooks/")).content.decode()


@pytest.mark.parametrize("address", ["http://127.0.0.1/x", "http://10.0.0.5/hook", "http://169.254.169.254/"])
def test_a_webhook_to_a_private_address_is_refused_beside_the_url(admin, tenant_a, settings, address):
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = []

    response = admin.post(url("webhooks/"), {"url": address, "events": ["job.failed"], "active": "on"})

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html[html.find("Add a webhook") :], 'name="url"', "webhooks call public addresses")
    assert not WebhookEndpoint.objects.filter(tenant=tenant_a).exists()


def test_a_webhook_without_events_is_refused_beside_them(admin, tenant_a):
    response = admin.post(url("webhooks/"), {"url": PUBLIC_URL, "active": "on"})

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html[html.find("Add a webhook") :], "<legend>Events</legend>", "Name one or more of", within=3000)
    assert not WebhookEndpoint.objects.exists()


def test_a_webhook_is_edited_pinged_replayed_and_removed(admin, tenant_a):
    endpoint = webhooks.webhook_endpoint_create(
        tenant=tenant_a, actor=None, url=PUBLIC_URL, events=["job.failed"]
    ).endpoint

    edited = admin.post(
        url(f"webhooks/{endpoint.uuid}/"), {"url": PUBLIC_URL, "events": ["asset.approved"], "active": "on"}
    )
    assert edited.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["asset.approved"]

    assert admin.post(url(f"webhooks/{endpoint.uuid}/ping/")).status_code == 302
    ping = WebhookDelivery.objects.get(endpoint=endpoint)
    assert ping.event == "ping"
    page = admin.get(url("webhooks/")).content.decode()
    assert f"/settings/webhooks/deliveries/{ping.pk}/replay/" in page and "pending" in page

    assert admin.post(url(f"webhooks/deliveries/{ping.pk}/replay/")).status_code == 302
    replay = WebhookDelivery.objects.get(replay_of=ping)
    assert replay.event_id == ping.event_id

    assert admin.post(url(f"webhooks/{endpoint.uuid}/delete/")).status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_a_webhook_moved_to_a_private_address_is_refused_on_its_row(admin, tenant_a, settings):
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = []
    endpoint = webhooks.webhook_endpoint_create(
        tenant=tenant_a, actor=None, url=PUBLIC_URL, events=["job.failed"]
    ).endpoint

    response = admin.post(url(f"webhooks/{endpoint.uuid}/"), {"url": "http://127.0.0.1/x", "events": ["job.failed"]})

    assert response.status_code == 400
    assert near(response.content.decode(), f'id="w-url-{endpoint.uuid}"', "webhooks call public addresses")
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.active) == (PUBLIC_URL, True)


def test_an_inactive_webhook_is_not_pinged(admin, tenant_a):
    endpoint = webhooks.webhook_endpoint_create(
        tenant=tenant_a, actor=None, url=PUBLIC_URL, events=["job.failed"], active=False
    ).endpoint

    response = admin.post(url(f"webhooks/{endpoint.uuid}/ping/"))

    assert response.status_code == 400
    assert near(response.content.decode(), f'id="webhook-{endpoint.uuid}"', "activate it first")
    assert not WebhookDelivery.objects.exists()
