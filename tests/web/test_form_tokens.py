"""Studio forms that spend or create carry a token drawn with the form: the same drawn form sent twice
(a double click, Back, a reload) makes one job, one reservation, one key — the second answer shows
the first result (never a secret again). The same token with other values makes nothing and draws
the form again with a new token; another person cannot use someone's token."""

import re
from decimal import Decimal

import pytest

from assets.models import Project
from billing.models import Budget, LedgerEntry
from generation.models import GenerationJob
from tenants.models import ApiKey, AuditEvent, Membership, Role, WebhookEndpoint

from ..factories import make_asset, make_job

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"
DRAFT_PARAMS = {"task": "TEXT_IMAGE", "prompt": "a brass lamp", "n": 1, "seed": 9, "width": 512, "height": 512,
                "quality": "standard"}  # fmt: skip
A_JOB = {"model": NOVA, "task_type": "TEXT_IMAGE", "prompt": "a ceramic lamp", "width": "512", "height": "512",
         "n": "2"}  # fmt: skip


def form_tokens(response) -> list[str]:
    return re.findall(r'<input type="hidden" name="form_token" value="([^"]+)">', response.content.decode())


def the_token(client, url: str) -> str:
    """The token of the (one) spending or creating form the page draws."""
    (token,) = form_tokens(client.get(url))
    return token


def reservations() -> int:
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESERVE).count()


def shown_messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


# Jobs: compose and finalize


def test_compose_sent_twice_with_one_token_makes_one_job_and_one_reservation(signed_in):
    client, _ = signed_in(Role.CREATOR)
    token = the_token(client, "/t/acme/compose/")

    first = client.post("/t/acme/compose/", A_JOB | {"form_token": token})
    again = client.post("/t/acme/compose/", A_JOB | {"form_token": token}, follow=True)

    job = GenerationJob.objects.get()
    assert first["Location"] == f"/t/acme/jobs/{job.pk}/"
    assert again.redirect_chain == [(f"/t/acme/jobs/{job.pk}/", 302)]
    assert "already sent" in shown_messages(again)
    assert reservations() == 1
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.RESERVE).amount_usd == job.unit_price_usd * 2


def test_compose_each_drawn_form_has_its_own_token(signed_in):
    client, _ = signed_in(Role.CREATOR)
    first, second = the_token(client, "/t/acme/compose/"), the_token(client, "/t/acme/compose/")

    client.post("/t/acme/compose/", A_JOB | {"form_token": first})
    client.post("/t/acme/compose/", A_JOB | {"form_token": second})

    assert first != second
    assert GenerationJob.objects.count() == 2 and reservations() == 2


def test_compose_the_token_with_other_values_makes_nothing_and_draws_a_fresh_token(signed_in):
    client, _ = signed_in(Role.CREATOR)
    token = the_token(client, "/t/acme/compose/")
    client.post("/t/acme/compose/", A_JOB | {"form_token": token})

    changed = client.post("/t/acme/compose/", A_JOB | {"prompt": "a kite", "form_token": token})

    assert changed.status_code == 409
    assert "already sent with other values" in changed.content.decode()
    assert GenerationJob.objects.count() == 1 and reservations() == 1
    (fresh,) = form_tokens(changed)
    assert fresh != token and "a kite" in changed.content.decode()  # the values stay, to send again
    assert client.post("/t/acme/compose/", A_JOB | {"prompt": "a kite", "form_token": fresh}).status_code == 302
    assert GenerationJob.objects.count() == 2


def test_compose_someone_elses_token_makes_nothing(signed_in):
    cleo, _ = signed_in(Role.CREATOR)
    sam, _ = signed_in(Role.CREATOR)
    token = the_token(cleo, "/t/acme/compose/")
    cleo.post("/t/acme/compose/", A_JOB | {"form_token": token})

    refused = sam.post("/t/acme/compose/", A_JOB | {"form_token": token})

    assert refused.status_code == 409
    assert GenerationJob.objects.count() == 1 and reservations() == 1


@pytest.fixture
def draft(tenant_a):
    job = make_job(tenant_a, quality="standard", params=DRAFT_PARAMS)
    return make_asset(tenant_a, job=job, index=0, seed=9, title="Desk lamp")


def test_finalize_sent_twice_with_one_token_makes_one_final_and_one_reservation(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)
    token = form_tokens(client.get(f"/t/acme/assets/{draft.pk}/"))[0]  # the premium re-render's form

    client.post(f"/t/acme/assets/{draft.pk}/finalize/", {"form_token": token})
    again = client.post(f"/t/acme/assets/{draft.pk}/finalize/", {"form_token": token}, follow=True)

    final = GenerationJob.objects.get(finalizes=draft)
    assert again.redirect_chain == [(f"/t/acme/jobs/{final.pk}/", 302)]
    assert "already sent" in shown_messages(again)
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.RESERVE).job_id == final.pk


# Things made in settings and projects


def test_an_api_key_form_sent_twice_makes_one_key_and_shows_its_secret_once(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)
    token = the_token(client, "/t/acme/settings/keys/")
    form = {"name": "CMS sync", "role": Role.VIEWER, "expires_on": "", "default_project": "", "form_token": token}

    first = client.post("/t/acme/settings/keys/", form)
    reload = client.post("/t/acme/settings/keys/", form)

    key = ApiKey.objects.get(tenant=tenant_a, name="CMS sync")
    secret = re.search(r'id="new-secret">([^<]+)<', first.content.decode()).group(1)
    assert first.status_code == 201 and secret.startswith(f"atl_{key.prefix}_")
    assert reload.status_code == 200 and secret not in reload.content.decode()
    assert "already created the API key" in reload.content.decode() and f"atl_{key.prefix}_" in reload.content.decode()
    assert 'id="new-secret"' not in reload.content.decode()


def test_a_webhook_form_sent_twice_makes_one_endpoint_and_shows_its_secret_once(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)
    token = the_token(client, "/t/acme/settings/webhooks/")
    form = {
        "url": "https://93.184.215.14/hook",
        "events": ["job.succeeded"],
        "active": "on",
        "form_token": token,
    }

    first = client.post("/t/acme/settings/webhooks/", form)
    again = client.post("/t/acme/settings/webhooks/", form)

    endpoint = WebhookEndpoint.objects.get(tenant=tenant_a)
    assert first.status_code == 201 and endpoint.secret in first.content.decode()
    assert again.status_code == 200 and endpoint.secret not in again.content.decode()
    assert "already added the webhook" in again.content.decode()


def test_a_new_project_form_sent_twice_makes_one_project(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)
    token = the_token(client, "/t/acme/projects/new/")
    form = {"name": "Autumn", "slug": "autumn", "budget_amount": "40", "form_token": token}

    first = client.post("/t/acme/projects/new/", form)
    again = client.post("/t/acme/projects/new/", form, follow=True)

    project = Project.objects.get(tenant=tenant_a, slug="autumn")
    assert first["Location"] == again.redirect_chain[0][0] == f"/t/acme/projects/{project.pk}/"
    assert "already sent" in shown_messages(again)
    assert Budget.objects.filter(project=project).count() == 1
    assert AuditEvent.objects.filter(tenant=tenant_a, verb="project.created").count() == 1


def test_a_budget_form_sent_twice_sets_the_budget_once(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)
    project = Project.objects.create(tenant=tenant_a, name="Spring", slug="spring")
    token = the_token(client, "/t/acme/settings/budgets/")
    form = {"scope": f"project:{project.pk}", "amount": "25", "alert_thresholds": "50, 100", "form_token": token}
    sets_before = AuditEvent.objects.filter(tenant=tenant_a, verb="budget.set").count()

    client.post("/t/acme/settings/budgets/", form)
    again = client.post("/t/acme/settings/budgets/", form, follow=True)

    assert Budget.objects.get(project=project).amount_usd == Decimal("25")
    assert "already sent" in shown_messages(again)
    assert AuditEvent.objects.filter(tenant=tenant_a, verb="budget.set").count() == sets_before + 1


def test_an_add_member_form_sent_twice_adds_once_and_answers_the_first_result(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)
    token = the_token(client, "/t/acme/settings/members/")
    form = {"email": "new@acme.test", "role": Role.CREATOR, "form_token": token}

    first = client.post("/t/acme/settings/members/", form)
    again = client.post("/t/acme/settings/members/", form, follow=True)

    assert first.status_code == 302 and again.status_code == 200
    assert "already sent" in shown_messages(again)
    assert Membership.objects.filter(tenant=tenant_a, user__email="new@acme.test").count() == 1
    assert AuditEvent.objects.filter(tenant=tenant_a, verb="member.added").count() == 1


# Where the tokens are


@pytest.mark.parametrize(
    "url",
    ["/t/acme/compose/", "/t/acme/projects/new/", "/t/acme/settings/keys/", "/t/acme/settings/webhooks/",
     "/t/acme/settings/budgets/", "/t/acme/settings/members/"],
)  # fmt: skip
def test_every_form_that_spends_or_creates_carries_a_token(signed_in, tenant_a, url):
    client, _ = signed_in(Role.ADMIN)
    Project.objects.create(tenant=tenant_a, name="Spring", slug="spring")  # something a budget can be set for

    assert len(form_tokens(client.get(url))) == 1


def test_each_finalize_form_carries_its_own_token(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)

    body = client.get(f"/t/acme/assets/{draft.pk}/")

    forms = re.findall(rf'<form method="post" action="/t/acme/assets/{draft.pk}/finalize/"', body.content.decode())
    assert len(forms) == 2 and len(set(form_tokens(body))) == 2  # the premium re-render, the upscalers
