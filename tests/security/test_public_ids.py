"""Members, API keys, budgets and webhooks are named by UUIDs wherever anyone outside Atelier sees
them: REST paths and bodies, the studio's URLs and forms, webhook payloads. Their integer ids (which
count a platform's rows and invite guessing the next one) stay inside. An integer id in a URL
answers 404, as another tenant's UUID does."""

import re
import uuid
from decimal import Decimal
from unittest import mock

import pytest
from django.test import Client

from assets.review import asset_submit
from billing.models import Budget
from billing.services import budget_set_monthly, ledger_adjust
from generation.services import job_submit
from tenants import webhooks
from tenants.models import ApiKey, Membership, Role, WebhookDelivery, WebhookEndpoint

from ..factories import make_api_key, make_asset, make_job, make_project
from .endpoints import a_member, a_project_budget, a_webhook, an_api_key

pytestmark = pytest.mark.django_db

API = "/api/v1/tenants/{slug}/{segment}/"
RESOURCES = {"members": a_member, "api-keys": an_api_key, "budgets": a_project_budget, "webhooks": a_webhook}
# The fields of an answer that name a member, key, budget or webhook.
REFERENCES = {"id", "api_key", "webhook", "budget", "member", "membership", "endpoint"}


@pytest.fixture
def admin_client(admin_a, client_as):
    return client_as(admin_a)


@pytest.fixture
def browser(admin_a):
    client = Client()
    client.force_login(admin_a)
    return client


def collection(segment, slug="acme"):
    return API.format(slug=slug, segment=segment)


def detail(segment, obj_id, slug="acme", rest=""):
    return f"{collection(segment, slug)}{obj_id}/{rest}"


def integer_ids(value, references=REFERENCES, key=None):
    """Every (field, integer) in a JSON answer where the field names one of these rows."""
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in integer_ids(item, references, name)]
    if isinstance(value, list):
        return [found for item in value for found in integer_ids(item, references, key)]
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    return [(key, value)] if is_integer and key in references else []


# REST


@pytest.mark.parametrize("segment", RESOURCES)
def test_a_rest_object_is_named_by_its_uuid(segment, tenant_a, admin_client):
    obj = RESOURCES[segment](tenant_a)

    response = admin_client.get(detail(segment, obj.uuid))

    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(obj.uuid)
    assert [row["id"] for row in _rows(admin_client.get(collection(segment)))].count(str(obj.uuid)) == 1


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("segment", RESOURCES)
def test_an_integer_id_in_a_rest_path_is_404_and_changes_nothing(segment, method, tenant_a, admin_client):
    obj = RESOURCES[segment](tenant_a)
    before = type(obj).objects.filter(pk=obj.pk).values().get()

    response = getattr(admin_client, method)(detail(segment, obj.pk), {"role": "admin", "amount": "9"}, format="json")

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert type(obj).objects.filter(pk=obj.pk).values().get() == before


@pytest.mark.parametrize("rest", ["deliveries/", "ping/"])
def test_an_integer_webhook_id_under_its_actions_is_404(rest, tenant_a, admin_client):
    endpoint = a_webhook(tenant_a)
    method = admin_client.get if rest == "deliveries/" else admin_client.post

    response = method(detail("webhooks", endpoint.pk, rest=rest))

    assert response.status_code == 404, response.content
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("segment", RESOURCES)
def test_another_tenants_uuid_is_404(segment, method, tenant_a, tenant_b, admin_client):
    theirs = RESOURCES[segment](tenant_b)

    response = getattr(admin_client, method)(detail(segment, theirs.uuid))

    assert response.status_code == 404, response.content
    assert type(theirs).objects.filter(pk=theirs.pk).exists()


def test_what_is_created_answers_with_its_uuid(tenant_a, admin_client):
    project = make_project(tenant_a)
    member = admin_client.post(collection("members"), {"email": "new@acme.test", "role": "viewer"}, format="json")
    key = admin_client.post(collection("api-keys"), {"name": "CMS", "role": "creator"}, format="json")
    key_budget = admin_client.post(collection("budgets"), {"amount": "3", "api_key": key.json()["id"]}, format="json")
    project_budget = admin_client.post(
        collection("budgets"), {"amount": "4", "project": str(project.pk)}, format="json"
    )
    hook = admin_client.post(collection("webhooks"), {"url": "https://93.184.215.14/h", "events": ["job.failed"]},
                             format="json")  # fmt: skip

    assert [r.status_code for r in (member, key, key_budget, project_budget, hook)] == [201] * 5
    assert member.json()["id"] == str(Membership.objects.get(user__email="new@acme.test").uuid)
    assert key.json()["id"] == str(ApiKey.objects.get(name="CMS").uuid)
    assert key_budget.json()["id"] == str(Budget.objects.get(api_key__name="CMS").uuid)
    assert key_budget.json()["api_key"] == key.json()["id"]
    assert (project_budget.json()["api_key"], project_budget.json()["project"]) == (None, str(project.pk))
    assert hook.json()["id"] == str(WebhookEndpoint.objects.get().uuid)


@pytest.mark.parametrize("reference", ["pk", "their uuid"])
def test_a_budget_names_its_api_key_by_its_own_tenants_uuid(reference, tenant_a, tenant_b, admin_client):
    mine, theirs = an_api_key(tenant_a), an_api_key(tenant_b)
    named = mine.pk if reference == "pk" else str(theirs.uuid)

    response = admin_client.post(collection("budgets"), {"amount": "3", "api_key": named}, format="json")

    assert response.status_code == 400, response.content
    assert "api_key" in response.json()["error"]["fields"]
    assert not Budget.objects.filter(api_key__isnull=False).exists()


def test_no_list_answer_carries_an_integer_id_of_these_rows(tenant_a, admin_client):
    key = an_api_key(tenant_a)
    a_member(tenant_a)
    budget_set_monthly(tenant=tenant_a, api_key=key, amount_usd=Decimal("5"), actor=None)
    endpoint = a_webhook(tenant_a)
    webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)
    with mock.patch("generation.services._enqueue_on_commit"):
        job_submit(tenant=tenant_a, actor=key, model_id="amazon.nova-canvas-v1:0",
                   raw={"prompt": "a lamp", "width": 512, "height": 512})  # fmt: skip
    lists = ["members/", "api-keys/", "budgets/", "webhooks/", f"webhooks/{endpoint.uuid}/deliveries/", "ledger/"]

    answers = {path: admin_client.get(f"/api/v1/tenants/acme/{path}") for path in lists}

    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(lists, 200)
    # A ledger entry's own id is its own business; what it names of these rows is not.
    found = {path: integer_ids(a.json(), REFERENCES - {"id"} if path == "ledger/" else REFERENCES)
             for path, a in answers.items()}  # fmt: skip
    assert found == dict.fromkeys(lists, [])
    ledger = _rows(answers["ledger/"])
    assert {entry["api_key"] for entry in ledger} == {str(key.uuid)}
    assert {row["webhook"] for row in _rows(answers[lists[4]])} == {str(endpoint.uuid)}


def _rows(response) -> list[dict]:
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


# Webhook payloads


def test_webhook_payloads_name_webhooks_budgets_and_keys_by_uuid(tenant_a):
    key = make_api_key(tenant_a, Role.CREATOR)[0]
    key_budget = budget_set_monthly(tenant=tenant_a, api_key=key, amount_usd=Decimal("0.05"), actor=None)
    endpoint = webhooks.webhook_endpoint_create(
        tenant=tenant_a, actor=None, url="https://93.184.215.14/h",
        events=["budget.threshold_crossed", "asset.submitted"],
    ).endpoint  # fmt: skip

    ping = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)
    with mock.patch("generation.services._enqueue_on_commit"):
        job_submit(tenant=tenant_a, actor=key, model_id="amazon.nova-canvas-v1:0",
                   raw={"prompt": "a lamp", "width": 512, "height": 512})  # fmt: skip
    ledger_adjust(tenant=tenant_a, amount_usd=Decimal("800"), reason="Agency invoice", actor=None)
    asset_submit(tenant=tenant_a, asset_id=make_asset(tenant_a, job=make_job(tenant_a)).pk, actor=key)

    payloads = {d.event: d.payload for d in WebhookDelivery.objects.exclude(pk=ping.pk).order_by("created_at")}
    crossings = [d.payload["data"]["budget"] for d in WebhookDelivery.objects.filter(event="budget.threshold_crossed")]
    assert ping.payload["data"]["webhook"] == str(endpoint.uuid)
    assert {(c["scope"], c["id"], c["api_key"]) for c in crossings} == {
        ("api_key", str(key_budget.uuid), str(key.uuid)),
        ("tenant", str(Budget.objects.get(tenant=tenant_a, project=None, api_key=None).uuid), None),
    }
    assert payloads["asset.submitted"]["data"]["review"]["reviewer_api_key"] == str(key.uuid)
    # (A review's own id is an integer, and out of this wall.)
    assert integer_ids([d.payload for d in WebhookDelivery.objects.exclude(event="asset.submitted")]) == []


# The studio

SETTINGS_LINKS = re.compile(r"/settings/(?:members|keys|budgets|webhooks)/(?!deliveries/)([^/\"]+)/")


def test_the_studios_settings_pages_link_and_post_by_uuid(tenant_a, browser):
    member, key, endpoint = a_member(tenant_a), an_api_key(tenant_a), a_webhook(tenant_a)
    budget = a_project_budget(tenant_a)
    spare_key = make_api_key(tenant_a, Role.VIEWER, name="no budget yet")[0]

    html = {page: browser.get(f"/t/acme/settings/{page}/").content.decode() for page in ("members", "keys",
            "budgets", "webhooks")}  # fmt: skip

    assert f"/settings/members/{member.uuid}/role/" in html["members"]
    assert f"/settings/keys/{key.uuid}/revoke/" in html["keys"]
    assert f"/settings/budgets/{budget.uuid}/delete/" in html["budgets"]
    assert f'value="api_key:{spare_key.uuid}"' in html["budgets"]
    assert f"/settings/webhooks/{endpoint.uuid}/ping/" in html["webhooks"]
    for page, text in html.items():
        named = SETTINGS_LINKS.findall(text)
        assert named and all(uuid.UUID(found) for found in named), (page, named)
        integers = {str(row.pk) for row in (member, key, endpoint, budget, spare_key)}
        assert not re.search(rf'(?:id|for|value)="[a-z_:-]*(?:{"|".join(integers)})"', text), page


def test_a_budget_set_in_the_studio_names_its_key_by_uuid(tenant_a, browser):
    key = an_api_key(tenant_a)

    by_pk = browser.post("/t/acme/settings/budgets/", {"scope": f"api_key:{key.pk}", "amount": "5"})
    by_uuid = browser.post("/t/acme/settings/budgets/", {"scope": f"api_key:{key.uuid}", "amount": "5"})

    assert (by_pk.status_code, by_uuid.status_code) == (400, 302)
    assert Budget.objects.get(api_key=key).amount_usd == Decimal("5")


STUDIO_ACTIONS = [
    ("members/{id}/role/", a_member, {"role": "admin"}),
    ("members/{id}/remove/", a_member, {}),
    ("keys/{id}/revoke/", an_api_key, {}),
    ("budgets/{id}/", a_project_budget, {"amount": "9"}),
    ("budgets/{id}/delete/", a_project_budget, {}),
    ("webhooks/{id}/", a_webhook, {"url": "https://93.184.215.14/moved", "events": ["job.failed"]}),
    ("webhooks/{id}/ping/", a_webhook, {}),
    ("webhooks/{id}/delete/", a_webhook, {}),
]


@pytest.mark.parametrize(("path", "target", "data"), STUDIO_ACTIONS, ids=[a[0] for a in STUDIO_ACTIONS])
def test_studio_forms_take_the_uuid_and_an_integer_id_is_404(path, target, data, tenant_a, tenant_b, browser):
    mine, theirs = target(tenant_a), target(tenant_b)
    before = {obj.pk: type(obj).objects.filter(pk=obj.pk).values().get() for obj in (mine, theirs)}

    by_pk = browser.post(f"/t/acme/settings/{path.format(id=mine.pk)}", data)
    by_their_uuid = browser.post(f"/t/acme/settings/{path.format(id=theirs.uuid)}", data)

    assert (by_pk.status_code, by_their_uuid.status_code) == (404, 404)
    assert b"Not found" in by_pk.content
    assert {obj.pk: type(obj).objects.filter(pk=obj.pk).values().get() for obj in (mine, theirs)} == before
    assert browser.post(f"/t/acme/settings/{path.format(id=mine.uuid)}", data).status_code == 302
