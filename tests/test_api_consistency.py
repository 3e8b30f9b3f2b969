"""The rules every endpoint keeps: Idempotency-Key on creating POSTs, request rates with 429 and
Retry-After, cursor pages, and the one error envelope for whatever DRF or Django refuses."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from assets.models import Seed
from billing.models import Budget
from generation.models import GenerationJob
from tenants.models import ApiKey, IdempotentRequest, Role

from .factories import make_job, make_project

pytestmark = pytest.mark.django_db

BASE = "/api/v1/tenants/acme"


@pytest.fixture
def creator(tenant_a, client_as, api_key):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


@pytest.fixture
def admin(admin_a, client_as):
    return client_as(admin_a)


# Idempotency-Key


def test_a_replayed_create_answers_the_first_response_and_creates_nothing_more(creator):
    body = {"value": 7, "label": "Dusk"}

    first = creator.post(f"{BASE}/seeds/", body, HTTP_IDEMPOTENCY_KEY="seed-dusk")
    again = creator.post(f"{BASE}/seeds/", {"label": "Dusk", "value": 7}, HTTP_IDEMPOTENCY_KEY="seed-dusk")

    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Seed.objects.filter(label="Dusk").count() == 1


def test_a_replay_by_session_works_the_same(admin, tenant_a):
    project = make_project(tenant_a)
    body = {"amount": "25.00", "project": str(project.pk)}

    first = admin.post(f"{BASE}/budgets/", body, HTTP_IDEMPOTENCY_KEY="spring-cap")
    again = admin.post(f"{BASE}/budgets/", body, HTTP_IDEMPOTENCY_KEY="spring-cap")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert Budget.objects.filter(project=project).count() == 1


@pytest.mark.parametrize(
    "second",
    [
        {"path": "seeds", "body": {"value": 8, "label": "Dawn"}},  # another body
        {"path": "prompts", "body": {"name": "Hero", "text": "a lamp"}},  # another URL
        {"path": "seeds", "body": {"value": 7, "label": "Dusk"}, "caller": "other"},  # another caller
    ],
    ids=["body", "url", "caller"],
)
def test_the_same_key_on_another_request_is_a_409_naming_the_header(second, creator, tenant_a, client_as, api_key):
    creator.post(f"{BASE}/seeds/", {"value": 7, "label": "Dusk"}, HTTP_IDEMPOTENCY_KEY="k-1")
    client = client_as(key=api_key(tenant_a, Role.CREATOR)) if second.get("caller") else creator

    refused = client.post(f"{BASE}/{second['path']}/", second["body"], HTTP_IDEMPOTENCY_KEY="k-1")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "idempotency_key_reused"
    assert list(refused.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert Seed.objects.count() == 1


def test_a_failed_request_keeps_its_key_free(creator):
    refused = creator.post(f"{BASE}/seeds/", {"label": "Dusk"}, HTTP_IDEMPOTENCY_KEY="k-2")
    created = creator.post(f"{BASE}/seeds/", {"value": 7, "label": "Dusk"}, HTTP_IDEMPOTENCY_KEY="k-2")

    assert refused.status_code == 400 and created.status_code == 201
    assert "Idempotent-Replayed" not in created.headers
    assert IdempotentRequest.objects.get(key="k-2").response_status == 201


def test_a_replayed_api_key_never_shows_or_stores_its_secret(admin, tenant_a):
    body = {"name": "DAM sync", "role": "viewer"}

    first = admin.post(f"{BASE}/api-keys/", body, HTTP_IDEMPOTENCY_KEY="dam")
    again = admin.post(f"{BASE}/api-keys/", body, HTTP_IDEMPOTENCY_KEY="dam")

    assert first.json()["secret"].startswith("atl_") and again.json()["secret"] is None
    assert {k: v for k, v in again.json().items() if k != "secret"} == {
        k: v for k, v in first.json().items() if k != "secret"
    }
    assert first.json()["secret"] not in str(IdempotentRequest.objects.values().get(key="dam"))
    assert ApiKey.objects.filter(tenant=tenant_a, name="DAM sync").count() == 1


def test_an_upload_is_replayed_by_its_bytes(tenant_a, client_as, api_key):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .security.endpoints import a_small_png_base64

    viewer = client_as(key=api_key(tenant_a, Role.VIEWER))
    png = __import__("base64").b64decode(a_small_png_base64())
    url = f"{BASE}/provenance-checks/"

    def upload(data: bytes, key: str):
        image = SimpleUploadedFile("kite.png", data, content_type="image/png")
        return viewer.post(url, {"image": image}, format="multipart", HTTP_IDEMPOTENCY_KEY=key)

    first, again, other = upload(png, "check-1"), upload(png, "check-1"), upload(png + b"\0", "check-1")

    assert first.status_code == 201 and again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert other.status_code == 409


def test_a_key_is_forgotten_after_its_lifetime(creator, settings):
    creator.post(f"{BASE}/seeds/", {"value": 7, "label": "Dusk"}, HTTP_IDEMPOTENCY_KEY="k-3")
    IdempotentRequest.objects.filter(key="k-3").update(created_at=timezone.now() - datetime.timedelta(hours=25))

    again = creator.post(f"{BASE}/seeds/", {"value": 7, "label": "Dusk"}, HTTP_IDEMPOTENCY_KEY="k-3")

    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert Seed.objects.filter(label="Dusk").count() == 2


def test_an_overlong_key_is_refused_by_name(creator):
    refused = creator.post(f"{BASE}/seeds/", {"value": 7, "label": "Dusk"}, HTTP_IDEMPOTENCY_KEY="k" * 201)

    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["Idempotency-Key"]


def test_a_job_replay_says_so(creator):
    body = {"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "width": 512, "height": 512}

    first = creator.post(f"{BASE}/jobs/", body, HTTP_IDEMPOTENCY_KEY="job-1")
    again = creator.post(f"{BASE}/jobs/", body, HTTP_IDEMPOTENCY_KEY="job-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_racing_requests_with_one_key_create_one_object(tenant_a, api_key, client_as):
    secret = api_key(tenant_a, Role.CREATOR)
    start = threading.Barrier(2)
    answers = []

    def send():
        client = client_as(key=secret)
        start.wait()
        try:
            answers.append(client.post(f"{BASE}/seeds/", {"value": 7, "label": "Dusk"}, HTTP_IDEMPOTENCY_KEY="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(a.status_code for a in answers) == [201, 201]
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert answers[0].json() == answers[1].json()
    assert Seed.objects.filter(label="Dusk").count() == 1


# Request rates


def test_an_api_key_over_its_rate_gets_429_with_retry_after(tenant_a, client_as, api_key, settings):
    settings.ATELIER_API_RATE_PER_KEY = "3/min"
    busy, other = client_as(key=api_key(tenant_a, Role.VIEWER)), client_as(key=api_key(tenant_a, Role.VIEWER))

    answers = [busy.get(f"{BASE}/jobs/").status_code for _ in range(3)]
    refused = busy.get(f"{BASE}/jobs/")

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled" and refused.json()["error"]["fields"] == {}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert other.get(f"{BASE}/jobs/").status_code == 200  # each key has its own count


def test_a_signed_in_person_has_a_rate_of_their_own(admin, settings):
    settings.ATELIER_API_RATE_PER_USER = "2/min"

    answers = [admin.get(f"{BASE}/").status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_rates_can_be_turned_off(creator, settings):
    settings.ATELIER_API_RATE_PER_KEY = "off"

    assert {creator.get(f"{BASE}/").status_code for _ in range(5)} == {200}


def test_each_test_starts_with_no_request_counted(tenant_a, settings):
    from django.core.cache import cache

    assert not [key for key in cache._cache.get_client().scan_iter(match="*throttle:*")]


# Cursor pages


def test_walking_next_sees_every_row_once_newest_first_even_while_rows_are_added(tenant_a, member, client_as):
    client = client_as(member(tenant_a, Role.VIEWER))
    start = timezone.now() - datetime.timedelta(hours=1)
    jobs = [make_job(tenant_a) for _ in range(7)]
    for minutes, job in enumerate(jobs):  # distinct, known times: jobs[-1] is the newest
        GenerationJob.objects.filter(pk=job.pk).update(created_at=start + datetime.timedelta(minutes=minutes))

    first = client.get(f"{BASE}/jobs/?page_size=3").json()
    make_job(tenant_a)  # a new job arrives while the client walks the list
    seen, page = [j["id"] for j in first["results"]], first
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [j["id"] for j in page["results"]]
    back = client.get(client.get(first["next"]).json()["previous"]).json()

    assert seen == [str(job.pk) for job in reversed(jobs)]
    assert first["previous"] is None and [j["id"] for j in back["results"]] == seen[:3]


def test_every_growing_list_is_a_cursor_page(tenant_a, admin):
    for name in ("jobs", "assets", "reviews", "ledger", "provenance-checks", "api-keys"):
        page = admin.get(f"{BASE}/{name}/?page_size=1").json()

        assert set(page) == {"next", "previous", "results"}, name


def test_a_bad_cursor_is_404_and_a_bad_page_size_falls_back(tenant_a, admin):
    bad_cursor = admin.get(f"{BASE}/ledger/?cursor=nonsense")
    bad_size = admin.get(f"{BASE}/ledger/?page_size=lots")

    assert bad_cursor.status_code == 404 and bad_cursor.json()["error"]["code"] == "not_found"
    assert bad_size.status_code == 200


# The one error envelope


def envelope(response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return response.status_code, body["error"]["code"]


def test_whatever_is_refused_answers_in_the_envelope(creator, admin, client_as):
    assert envelope(admin.put(f"{BASE}/jobs/", {})) == (405, "method_not_allowed")
    assert envelope(creator.post(f"{BASE}/seeds/", "{not json", content_type="application/json")) == (
        400,
        "parse_error",
    )
    assert envelope(creator.post(f"{BASE}/seeds/", "value=7&label=Dusk", content_type="text/plain")) == (
        415,
        "unsupported_media_type",
    )
    assert envelope(creator.post(f"{BASE}/seeds/", {"value": 7, "label": "Dusk"}, format="multipart")) == (
        415,
        "unsupported_media_type",
    )
    assert envelope(creator.get(f"{BASE}/jobs/", HTTP_ACCEPT="text/xml")) == (406, "not_acceptable")
    assert envelope(creator.get("/api/v1/nowhere/")) == (404, "not_found")
    assert envelope(client_as().get(f"{BASE}/jobs/")) == (401, "not_authenticated")
    assert envelope(creator.get(f"{BASE}/jobs/?status=lost")) == (400, "invalid")


def test_a_time_filter_takes_any_offset_and_refuses_what_has_no_utc_time(creator):
    odd_offset = creator.get(f"{BASE}/jobs/", {"created_before": "0055-03-08T01:12:18-17:35"})
    before_year_one = creator.get(f"{BASE}/assets/", {"created_after": "0001-01-01T00:00:00+05:00"})

    assert odd_offset.status_code == 200
    assert envelope(before_year_one) == (400, "invalid")
    assert list(before_year_one.json()["error"]["fields"]) == ["created_after"]


def test_a_body_over_the_limit_is_a_400_in_the_envelope_and_creates_nothing(creator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    body = {"model": "amazon.nova-canvas-v1:0", "prompt": "x" * 2_000}
    response = creator.post(f"{BASE}/jobs/", body, format="json")

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "bad_request"
    assert GenerationJob.objects.count() == 0
