"""Webhooks on real parts: a real HTTP receiver on loopback, the real delivery task (run in this
process), PostgreSQL, and the services that end jobs, review assets and cross budget thresholds."""

import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from assets.review import asset_approve, asset_reject, asset_submit
from billing.services import budget_set_tenant_monthly, ledger_adjust
from config.celery_app import app
from generation.services import job_fail, job_submit
from tenants import webhooks
from tenants.models import AuditEvent, Role, WebhookDelivery, WebhookEndpoint

from ..factories import UserFactory, make_asset, make_job
from ..processes import wait_for

pytestmark = pytest.mark.django_db

NOVA = "amazon.nova-canvas-v1:0"
LOOPBACK = ["127.0.0.0/8", "::1/128"]


class Receiver:
    """An HTTP server on loopback that records every request and answers with the next status of
    `answers` (200 once they run out)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                code = receiver.answers.pop(0) if receiver.answers else 200
                answer = b"ok" if code < 300 else b"receiver is down"
                self.send_response(code)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [request["headers"]["Atelier-Event"] for request in self.requests]

    def payloads(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def receiver(settings):
    """The receiver, with loopback allowed (explicitly: only here) and fast retries."""
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = LOOPBACK
    settings.ATELIER_WEBHOOK_BACKOFF_SECONDS = 0.01
    settings.ATELIER_WEBHOOK_BACKOFF_MAX_SECONDS = 0.05
    settings.ATELIER_WEBHOOK_TIMEOUT_SECONDS = 5
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def eager():
    """Celery tasks run in this process (retries at once, in order), so deliveries land before asserting."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def verify(headers: dict, body: bytes, secret: str, tolerance_seconds: int = 300) -> bool:
    """What a receiver does, as the README says: recompute the HMAC, refuse an old timestamp."""
    fields = dict(part.split("=", 1) for part in headers["Atelier-Signature"].split(","))
    timestamp = int(fields["t"])
    if abs(time.time() - timestamp) > tolerance_seconds:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def hooks_url(tenant, pk=None, rest=""):
    base = f"/api/v1/tenants/{tenant.slug}/webhooks/"
    return f"{base}{pk}/{rest}" if pk else base


def register(tenant, url, events, **fields) -> tuple[WebhookEndpoint, str]:
    created = webhooks.webhook_endpoint_create(tenant=tenant, actor=None, url=url, events=events, **fields)
    return created.endpoint, created.secret


def test_a_webhook_shows_its_secret_once_and_signs_what_it_sends(
    tenant_a, admin_a, client_as, receiver, eager, django_capture_on_commit_callbacks
):
    client = client_as(admin_a)

    created = client.post(hooks_url(tenant_a), {"url": f"{receiver.url}/hooks", "events": ["job.succeeded"]},
                          format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    hook, secret = created.json(), created.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert "secret" not in client.get(hooks_url(tenant_a)).json()[0]
    assert "secret" not in client.get(hooks_url(tenant_a, hook["id"])).json()
    assert (hook["created_by"], hook["active"], hook["events"]) == ("ada@acme.test", True, ["job.succeeded"])
    # The audit trail keeps the internal pk (the admin's view); the API names the webhook by its UUID.
    assert AuditEvent.objects.get(verb="webhook.created").target_id == str(
        WebhookEndpoint.objects.get(uuid=hook["id"]).pk
    )

    with django_capture_on_commit_callbacks(execute=True):
        pinged = client.post(hooks_url(tenant_a, hook["id"], "ping/"))

    assert pinged.status_code == 202, pinged.json()
    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hooks"
    assert headers["Atelier-Event"] == "ping" and headers["Atelier-Delivery"] == pinged.json()["id"]
    assert headers["Content-Type"] == "application/json"
    assert verify(headers, body, secret)
    assert not verify(headers, body, "whsec_not-the-secret-at-all")
    assert not verify(headers, body + b" ", secret)  # a changed body
    payload = json.loads(body)
    assert (payload["type"], payload["tenant"], payload["data"]["webhook"]) == ("ping", "acme", hook["id"])
    delivery = client.get(hooks_url(tenant_a, hook["id"], f"deliveries/{pinged.json()['id']}/")).json()
    assert (delivery["status"], delivery["attempts"], delivery["response_code"]) == ("succeeded", 1, 200)
    assert delivery["response_body"] == "ok" and delivery["delivered_at"] is not None

    chosen = client.post(hooks_url(tenant_a), {"url": receiver.url, "events": ["job.failed"],
                                               "secret": "a-secret-we-chose-ourselves"}, format="json")  # fmt: skip
    too_short = client.post(hooks_url(tenant_a), {"url": receiver.url, "events": ["job.failed"], "secret": "short"},
                            format="json")  # fmt: skip
    no_events = client.post(hooks_url(tenant_a), {"url": receiver.url, "events": []}, format="json")
    assert chosen.json()["secret"] == "a-secret-we-chose-ourselves"
    assert too_short.status_code == 400 and "secret" in too_short.json()["error"]["fields"]
    assert no_events.status_code == 400 and "events" in no_events.json()["error"]["fields"]


def test_a_failing_receiver_is_retried_until_it_answers(tenant_a, receiver, eager, django_capture_on_commit_callbacks):
    endpoint, secret = register(tenant_a, receiver.url, ["job.succeeded"])
    receiver.answers = [500, 500, 200]

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 3, 200)
    assert delivery.last_error == "" and delivery.next_attempt_at is None
    assert [r["headers"]["Atelier-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert {r["headers"]["Atelier-Delivery"] for r in receiver.requests} == {str(delivery.pk)}
    assert len({r["body"] for r in receiver.requests}) == 1  # the same event each time
    assert all(verify(r["headers"], r["body"], secret) for r in receiver.requests)


def test_a_receiver_that_never_answers_well_fails_after_the_last_attempt(
    tenant_a, receiver, eager, settings, django_capture_on_commit_callbacks
):
    settings.ATELIER_WEBHOOK_MAX_ATTEMPTS = 2
    endpoint, _ = register(tenant_a, receiver.url, ["job.succeeded"])
    receiver.answers = [503, 503, 200]

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 2, 503)
    assert (delivery.last_error, delivery.response_body) == ("HTTP 503", "receiver is down")
    assert len(receiver.requests) == 2


def test_backoff_doubles_per_attempt_up_to_its_ceiling(settings):
    settings.ATELIER_WEBHOOK_BACKOFF_SECONDS = 1
    settings.ATELIER_WEBHOOK_BACKOFF_MAX_SECONDS = 4

    waits = [webhooks._backoff_seconds(attempt) for attempt in (1, 2, 3, 4, 5)]

    bounds = [(0.5, 1), (1, 2), (2, 4), (2, 4), (2, 4)]  # full jitter over the upper half
    assert all(low <= wait <= high for (low, high), wait in zip(bounds, waits, strict=True)), waits


def test_a_delivery_is_replayed_as_a_new_delivery_of_the_same_event(
    tenant_a, admin_a, client_as, receiver, eager, settings, django_capture_on_commit_callbacks
):
    settings.ATELIER_WEBHOOK_MAX_ATTEMPTS = 1
    endpoint, secret = register(tenant_a, receiver.url, ["job.succeeded"])
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        failed = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)
    failed.refresh_from_db()
    assert failed.status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        replayed = client_as(admin_a).post(hooks_url(tenant_a, endpoint.uuid, f"deliveries/{failed.pk}/replay/"))

    assert replayed.status_code == 202, replayed.json()
    replay = WebhookDelivery.objects.get(pk=replayed.json()["id"])
    assert (replay.status, replay.replay_of, replay.attempts) == ("succeeded", failed, 1)
    first, again = receiver.requests
    assert json.loads(first["body"]) == json.loads(again["body"])  # the same event id, time and data
    assert again["headers"]["Atelier-Delivery"] == str(replay.pk) != first["headers"]["Atelier-Delivery"]
    assert verify(again["headers"], again["body"], secret)
    failed.refresh_from_db()
    assert failed.status == "failed"  # its history stays as it happened
    listed = client_as(admin_a).get(hooks_url(tenant_a, endpoint.uuid, "deliveries/")).json()["results"]
    assert [d["id"] for d in listed] == [str(replay.pk), str(failed.pk)]
    only_failed = client_as(admin_a).get(hooks_url(tenant_a, endpoint.uuid, "deliveries/?status=failed")).json()
    assert [d["id"] for d in only_failed["results"]] == [str(failed.pk)]
    assert AuditEvent.objects.filter(verb="webhook.replayed", target_id=str(endpoint.pk)).count() == 1


def test_the_admin_replays_deliveries(tenant_a, receiver, eager, client, django_capture_on_commit_callbacks):
    endpoint, _ = register(tenant_a, receiver.url, ["job.succeeded"])
    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:tenants_webhookdelivery_changelist"),
            {"action": "replay", "_selected_action": [str(delivery.pk)]},
            follow=True,
        )

    assert response.status_code == 200 and "Replayed 1 deliveries." in response.content.decode()
    assert len(receiver.requests) == 2
    assert WebhookDelivery.objects.get(replay_of=delivery).status == "succeeded"
    page = client.get(reverse("admin:tenants_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200 and endpoint.secret not in page.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.215.14/hook",
        "not a url",
    ],
)
def test_a_url_to_a_non_public_address_is_refused_at_registration(url, tenant_a, admin_a, client_as, settings):
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = []

    response = client_as(admin_a).post(hooks_url(tenant_a), {"url": url, "events": ["job.failed"]}, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


def test_allowed_networks_open_loopback_but_never_the_metadata_service(tenant_a, admin_a, client_as, settings):
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "169.254.0.0/16"]
    client = client_as(admin_a)

    loopback = client.post(hooks_url(tenant_a), {"url": "http://127.0.0.1:9/hook", "events": ["job.failed"]},
                           format="json")  # fmt: skip
    metadata = client.post(hooks_url(tenant_a), {"url": "http://169.254.169.254/", "events": ["job.failed"]},
                           format="json")  # fmt: skip
    moved = client.patch(hooks_url(tenant_a, loopback.json()["id"]), {"url": "http://169.254.169.254/"}, format="json")

    assert loopback.status_code == 201
    assert metadata.status_code == 400 and "cloud metadata" in metadata.json()["error"]["fields"]["url"][0]
    assert moved.status_code == 400 and list(moved.json()["error"]["fields"]) == ["url"]
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:9/hook"


def test_an_address_allowed_at_registration_is_refused_at_delivery_once_it_no_longer_is(
    tenant_a, receiver, eager, settings, django_capture_on_commit_callbacks
):
    endpoint, _ = register(tenant_a, receiver.url, ["job.succeeded"])
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = []

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, None)
    assert "127.0.0.1" in delivery.last_error and "loopback" in delivery.last_error
    assert receiver.requests == []


def test_the_address_connected_to_is_checked_too(tenant_a, receiver, eager, settings, monkeypatch):
    """Should a connection ever reach an address the check did not approve, the connection itself
    refuses it."""
    endpoint, _ = register(tenant_a, receiver.url, ["job.succeeded"])
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = []
    unchecked = webhooks.WebhookTarget(webhooks.webhook_url_parse(receiver.url), ("127.0.0.1",))
    monkeypatch.setattr(webhooks, "webhook_url_check", lambda url: unchecked)  # a check that let loopback by

    delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)
    outcome = webhooks.webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert outcome.status == delivery.status == "failed"
    assert "connected to 127.0.0.1, a loopback address" in delivery.last_error
    assert receiver.requests == []


def test_a_job_end_is_announced_once_for_a_batch_and_to_the_endpoints_that_asked(
    tenant_a, receiver, eager, bedrock_settings, settings, tmp_path, django_capture_on_commit_callbacks
):
    from assets.models import Asset

    from ..assets.provenance_helpers import use_local_storage

    use_local_storage(settings, tmp_path)
    succeeded_hook, secret = register(tenant_a, f"{receiver.url}/succeeded", ["job.succeeded"])
    register(tenant_a, f"{receiver.url}/failed", ["job.failed"])

    with django_capture_on_commit_callbacks(execute=True):  # the batch's parts run here, then the delivery
        job = job_submit(tenant=tenant_a, actor=None, model_id=NOVA,
                         raw={"prompt": "a lamp", "width": 512, "height": 512, "n": 6, "seed": 7}).job  # fmt: skip

    job.refresh_from_db()
    assert job.status == "succeeded" and job.children.count() == 2
    (request,) = receiver.requests  # one event for the batch, none for its parts
    assert request["path"] == "/succeeded" and verify(request["headers"], request["body"], secret)
    event = json.loads(request["body"])
    assets = Asset.objects.filter(job__parent=job).order_by("job__created_at", "index")
    assert (event["type"], event["tenant"]) == ("job.succeeded", "acme")
    assert event["data"]["job"] | {"finished_at": None} == {
        "id": str(job.pk), "status": "succeeded", "model": NOVA, "task_type": "TEXT_IMAGE",
        "project": str(job.project_id), "images_requested": 6, "images_returned": 6, "images_filtered": 0,
        "tags": [], "cost": "0.240000", "currency": "USD", "error": None,
        "assets": [str(asset.pk) for asset in assets], "deduplicated_from": None, "finished_at": None,
    }  # fmt: skip
    assert WebhookDelivery.objects.get(endpoint=succeeded_hook).status == "succeeded"

    with django_capture_on_commit_callbacks(execute=True):
        job_fail(job_id=make_job(tenant_a).pk, code="model_error", message="The model could not draw that.")

    assert receiver.events() == ["job.succeeded", "job.failed"]
    failed = receiver.requests[1]
    assert failed["path"] == "/failed"
    error = json.loads(failed["body"])["data"]["job"]["error"]
    assert error == {"code": "model_error", "message": "The model could not draw that."}


def test_review_moves_are_announced(tenant_a, member, receiver, eager, django_capture_on_commit_callbacks):
    creator = member(tenant_a, Role.CREATOR, email="cara@acme.test")
    approver = member(tenant_a, Role.APPROVER, email="abe@acme.test")
    register(tenant_a, receiver.url, ["asset.submitted", "asset.approved", "asset.rejected"])
    hero = make_asset(tenant_a, job=make_job(tenant_a), index=0, created_by=creator, title="Hero")
    other = make_asset(tenant_a, job=make_job(tenant_a), index=0, created_by=creator, sha256="cd" * 32)

    with django_capture_on_commit_callbacks(execute=True):
        asset_submit(tenant=tenant_a, asset_id=hero.pk, actor=creator)
        asset_approve(tenant=tenant_a, asset_id=hero.pk, actor=approver, comment="Ship it")
        asset_submit(tenant=tenant_a, asset_id=other.pk, actor=creator)
        asset_reject(tenant=tenant_a, asset_id=other.pk, actor=approver, comment="Off brand")

    assert receiver.events() == ["asset.submitted", "asset.approved", "asset.submitted", "asset.rejected"]
    approved = receiver.payloads()[1]["data"]
    assert approved["asset"] == {
        "id": str(hero.pk), "status": "approved", "project": str(hero.project_id), "title": "Hero",
        "job": str(hero.job_id), "tags": [],
    }  # fmt: skip
    assert approved["review"] | {"id": None, "at": None} == {
        "id": None, "decision": "approved", "stage": "Approval", "comment": "Ship it", "reviewer": "abe@acme.test",
        "reviewer_api_key": None, "at": None,
    }  # fmt: skip
    rejected = receiver.payloads()[3]["data"]
    assert (rejected["asset"]["status"], rejected["review"]["comment"]) == ("rejected", "Off brand")


def test_a_budget_threshold_crossing_is_announced(tenant_a, receiver, eager, django_capture_on_commit_callbacks):
    budget = budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("10"), actor=None)
    register(tenant_a, receiver.url, ["budget.threshold_crossed"])

    with django_capture_on_commit_callbacks(execute=True):
        ledger_adjust(tenant=tenant_a, amount_usd=Decimal("8.5"), reason="Agency invoice", actor=None)

    assert receiver.events() == ["budget.threshold_crossed", "budget.threshold_crossed"]  # 50 % and 80 %
    first, second = (payload["data"]["budget"] for payload in receiver.payloads())
    assert first == {
        "id": str(budget.uuid), "project": None, "api_key": None, "currency": "USD", "scope": "tenant",
        "threshold_percent": 50, "period_start": first["period_start"], "amount": "10.000000",
        "committed": "8.500000",
    }  # fmt: skip
    assert second["threshold_percent"] == 80


def test_nothing_is_sent_when_the_change_rolls_back(tenant_a, receiver, eager, django_capture_on_commit_callbacks):
    from django.db import transaction

    register(tenant_a, receiver.url, ["budget.threshold_crossed"])

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            ledger_adjust(tenant=tenant_a, amount_usd=Decimal("999"), reason="Mistake", actor=None)
            raise RuntimeError("undo")

    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


def test_changes_and_removal_are_audited_and_an_inactive_webhook_hears_nothing(
    tenant_a, admin_a, client_as, receiver, eager, django_capture_on_commit_callbacks
):
    client = client_as(admin_a)
    endpoint, _ = register(tenant_a, receiver.url, ["budget.threshold_crossed"])

    changed = client.patch(hooks_url(tenant_a, endpoint.uuid), {"active": False, "description": "Finance"},
                           format="json")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        ledger_adjust(tenant=tenant_a, amount_usd=Decimal("999"), reason="Big", actor=None)
        pinged = client.post(hooks_url(tenant_a, endpoint.uuid, "ping/"))
    removed = client.delete(hooks_url(tenant_a, endpoint.uuid))

    assert changed.status_code == 200
    assert (changed.json()["active"], changed.json()["description"]) == (False, "Finance")
    assert AuditEvent.objects.get(verb="webhook.updated").data == {
        "active": {"from": True, "to": False}, "description": {"from": "", "to": "Finance"}
    }  # fmt: skip
    assert pinged.status_code == 409 and receiver.requests == []
    assert removed.status_code == 204 and not WebhookEndpoint.objects.exists()
    assert AuditEvent.objects.filter(verb="webhook.deleted", target_id=str(endpoint.pk)).exists()


def test_another_tenants_webhooks_and_deliveries_are_404(tenant_a, tenant_b, admin_a, client_as):
    client = client_as(admin_a)
    mine = webhooks.webhook_endpoint_create(tenant=tenant_a, actor=None, url="https://93.184.215.14/a",
                                            events=["job.failed"]).endpoint  # fmt: skip
    theirs = webhooks.webhook_endpoint_create(tenant=tenant_b, actor=None, url="https://93.184.215.14/b",
                                              events=["job.failed"]).endpoint  # fmt: skip
    their_delivery = webhooks.webhook_endpoint_ping(endpoint=theirs, actor=None)

    responses = [
        client.get(hooks_url(tenant_a, theirs.uuid)),
        client.get(hooks_url(tenant_b)),
        client.get(hooks_url(tenant_a, mine.uuid, f"deliveries/{their_delivery.pk}/")),
        client.post(hooks_url(tenant_a, mine.uuid, f"deliveries/{their_delivery.pk}/replay/")),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER])
def test_only_admins_manage_webhooks(role, tenant_a, member, api_key, client_as):
    endpoint = webhooks.webhook_endpoint_create(tenant=tenant_a, actor=None, url="https://93.184.215.14/a",
                                                events=["job.failed"]).endpoint  # fmt: skip
    delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)
    body = {"url": "https://93.184.215.14/b", "events": ["job.failed"]}

    for client in (client_as(member(tenant_a, role)), client_as(key=api_key(tenant_a, role))):
        responses = [
            client.get(hooks_url(tenant_a)),
            client.post(hooks_url(tenant_a), body, format="json"),
            client.get(hooks_url(tenant_a, endpoint.uuid)),
            client.patch(hooks_url(tenant_a, endpoint.uuid), {"active": False}, format="json"),
            client.delete(hooks_url(tenant_a, endpoint.uuid)),
            client.get(hooks_url(tenant_a, endpoint.uuid, "deliveries/")),
            client.get(hooks_url(tenant_a, endpoint.uuid, f"deliveries/{delivery.pk}/")),
            client.post(hooks_url(tenant_a, endpoint.uuid, f"deliveries/{delivery.pk}/replay/")),
            client.post(hooks_url(tenant_a, endpoint.uuid, "ping/")),
        ]
        assert {response.status_code for response in responses} == {403}
    assert WebhookEndpoint.objects.count() == 1 and WebhookDelivery.objects.count() == 1


def test_a_repeated_creation_with_its_idempotency_key_answers_the_first_without_its_secret(
    tenant_a, admin_a, client_as
):
    client = client_as(admin_a)
    body = {"url": "https://93.184.215.14/hooks", "events": ["job.failed"]}

    first = client.post(hooks_url(tenant_a), body, format="json", HTTP_IDEMPOTENCY_KEY="crm-hook")
    again = client.post(hooks_url(tenant_a), body, format="json", HTTP_IDEMPOTENCY_KEY="crm-hook")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert first.json()["secret"].startswith("whsec_") and again.json()["secret"] is None
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_sends_after_commit_under_its_own_address_rules(tenant_a, receiver, celery_worker_process):
    """The worker process allows no private network (its environment does not name one): the
    loopback receiver registered here, where loopback is allowed, is refused there, as in production."""
    endpoint, _ = register(tenant_a, receiver.url, ["job.succeeded"])

    delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)  # commits, then goes to Redis

    ended = wait_for(
        lambda: WebhookDelivery.objects.exclude(status="pending").filter(pk=delivery.pk).first(), 30, "the delivery"
    )
    assert (ended.status, ended.attempts) == ("failed", 1)
    assert "loopback" in ended.last_error and receiver.requests == []
