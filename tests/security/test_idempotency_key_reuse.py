"""One answer for a reused Idempotency-Key on every surface that makes jobs: the same key with the
same request from the same caller answers the first job again; with another body, or from another
caller (another person, another API key), it is a 409 `idempotency_key_reused` and nothing is made,
reserved or shown of the first job — as on every other creating POST."""

import io

import pytest
from PIL import Image

from billing.models import LedgerEntry
from generation.models import GenerationJob
from tenants.models import Role

from ..factories import make_asset, make_job

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/tenants/acme/jobs/"
GENERATIONS = "/v1/images/generations"
EDITS = "/v1/images/edits"
A_JOB = {"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "width": 512, "height": 512}
DRAFT_PARAMS = {"task": "TEXT_IMAGE", "prompt": "a brass lamp", "n": 1, "seed": 9, "width": 512, "height": 512,
                "quality": "standard"}  # fmt: skip


def png(width=320, height=320, colour=(200, 120, 40)) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    out.seek(0)
    out.name = "image.png"
    return out


def refused_as_reused(response, first_job_id) -> None:
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert str(first_job_id) not in response.content.decode()


def reservations() -> int:
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESERVE).count()


@pytest.fixture
def no_worker(settings, tmp_path):
    """/v1 waits for its job; without a worker it answers 504 at once, leaving the job to inspect."""
    settings.ATELIER_OPENAI_WAIT_SECONDS = 0.1
    settings.MEDIA_ROOT = tmp_path
    return settings


# REST jobs


def test_a_job_key_with_another_body_is_a_409_and_makes_nothing(tenant_a, client_as, api_key):
    client = client_as(key=api_key(tenant_a, Role.CREATOR))
    first = client.post(JOBS, A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    again = client.post(JOBS, A_JOB | {"prompt": "a kite"}, format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    refused_as_reused(again, first.json()["id"])
    assert list(again.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert GenerationJob.objects.count() == 1 and reservations() == 1


@pytest.mark.parametrize("other", ["api_key", "person"])
def test_a_job_key_from_another_caller_is_a_409(other, tenant_a, client_as, api_key, member):
    first = client_as(key=api_key(tenant_a, Role.CREATOR)).post(
        JOBS, A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="order-2"
    )
    if other == "api_key":
        someone_else = client_as(key=api_key(tenant_a, Role.CREATOR))
    else:
        someone_else = client_as(member(tenant_a, Role.CREATOR))

    again = someone_else.post(JOBS, A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="order-2")

    refused_as_reused(again, first.json()["id"])
    assert GenerationJob.objects.count() == 1 and reservations() == 1


def test_a_job_key_replays_for_the_same_person_and_body(tenant_a, client_as, member):
    client = client_as(member(tenant_a, Role.CREATOR))
    first = client.post(JOBS, A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="order-3")

    again = client.post(JOBS, dict(reversed(A_JOB.items())), format="json", HTTP_IDEMPOTENCY_KEY="order-3")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert GenerationJob.objects.count() == 1 and reservations() == 1


# Finals


@pytest.fixture
def draft(tenant_a):
    return make_asset(tenant_a, job=make_job(tenant_a, quality="standard", params=DRAFT_PARAMS), index=0, seed=9)


def finalize_url(asset) -> str:
    return f"/api/v1/tenants/acme/assets/{asset.pk}/finalize/"


def test_a_final_key_with_another_size_is_a_409(tenant_a, client_as, api_key, draft):
    client = client_as(key=api_key(tenant_a, Role.CREATOR))
    first = client.post(finalize_url(draft), {}, format="json", HTTP_IDEMPOTENCY_KEY="final-1")
    assert first.status_code == 201, first.content

    again = client.post(finalize_url(draft), {"width": 1024, "height": 1024}, format="json",
                        HTTP_IDEMPOTENCY_KEY="final-1")  # fmt: skip

    refused_as_reused(again, first.json()["id"])
    assert GenerationJob.objects.filter(finalizes=draft).count() == 1


def test_a_final_key_from_another_caller_is_a_409(tenant_a, client_as, api_key, draft):
    first = client_as(key=api_key(tenant_a, Role.CREATOR)).post(
        finalize_url(draft), {}, format="json", HTTP_IDEMPOTENCY_KEY="final-2"
    )

    again = client_as(key=api_key(tenant_a, Role.CREATOR)).post(
        finalize_url(draft), {}, format="json", HTTP_IDEMPOTENCY_KEY="final-2"
    )

    refused_as_reused(again, first.json()["id"])
    assert GenerationJob.objects.filter(finalizes=draft).count() == 1


def test_a_job_key_used_again_to_finalize_is_a_409(tenant_a, client_as, api_key, draft):
    client = client_as(key=api_key(tenant_a, Role.CREATOR))
    first = client.post(JOBS, A_JOB, format="json", HTTP_IDEMPOTENCY_KEY="order-4")

    again = client.post(finalize_url(draft), {}, format="json", HTTP_IDEMPOTENCY_KEY="order-4")

    refused_as_reused(again, first.json()["id"])
    assert not GenerationJob.objects.filter(finalizes=draft).exists()


def test_a_final_key_replays_for_the_same_caller(tenant_a, client_as, api_key, draft):
    client = client_as(key=api_key(tenant_a, Role.CREATOR))
    first = client.post(finalize_url(draft), {"width": 1024, "height": 1024}, format="json",
                        HTTP_IDEMPOTENCY_KEY="final-3")  # fmt: skip

    again = client.post(finalize_url(draft), {"height": 1024, "width": 1024}, format="json",
                        HTTP_IDEMPOTENCY_KEY="final-3")  # fmt: skip

    assert (first.status_code, again.status_code) == (201, 200) and again.json()["id"] == first.json()["id"]
    assert GenerationJob.objects.filter(finalizes=draft).count() == 1


# /v1 (OpenAI-compatible)


def first_v1_job(response) -> GenerationJob:
    assert response.status_code == 504, response.content  # no worker: the job waits, the answer names it
    return GenerationJob.objects.get(pk=response.json()["error"]["job"])


def refused_in_openais_envelope(response, first_job) -> None:
    refused_as_reused(response, first_job.pk)
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "Idempotency-Key")
    assert response["x-should-retry"] == "false"  # the SDKs retry a 409; this one would only repeat


def test_a_generations_key_with_another_prompt_is_a_409(tenant_a, client_as, api_key, no_worker):
    client = client_as(key=api_key(tenant_a, Role.CREATOR))
    body = {"prompt": "a kite", "size": "512x512"}
    first = first_v1_job(client.post(GENERATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="v1-1"))

    again = client.post(GENERATIONS, body | {"prompt": "a boat"}, format="json", HTTP_IDEMPOTENCY_KEY="v1-1")

    refused_in_openais_envelope(again, first)
    assert GenerationJob.objects.count() == 1 and reservations() == 1


def test_a_generations_key_from_another_api_key_is_a_409(tenant_a, client_as, api_key, no_worker):
    body = {"prompt": "a kite", "size": "512x512"}
    first = first_v1_job(
        client_as(key=api_key(tenant_a, Role.CREATOR)).post(
            GENERATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="v1-2"
        )  # fmt: skip
    )

    again = client_as(key=api_key(tenant_a, Role.CREATOR)).post(
        GENERATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="v1-2"
    )

    refused_in_openais_envelope(again, first)
    assert GenerationJob.objects.count() == 1


def test_an_edits_key_with_another_image_is_a_409(tenant_a, client_as, api_key, no_worker):
    client = client_as(key=api_key(tenant_a, Role.CREATOR))
    edit = {"prompt": "a red door", "mask_prompt": "the door"}
    first = first_v1_job(client.post(EDITS, edit | {"image": png()}, format="multipart", HTTP_IDEMPOTENCY_KEY="v1-3"))

    again = client.post(EDITS, edit | {"image": png(colour=(10, 200, 10))}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="v1-3")  # fmt: skip

    refused_in_openais_envelope(again, first)
    assert GenerationJob.objects.count() == 1 and reservations() == 1


def test_an_edits_key_from_another_api_key_is_a_409(tenant_a, client_as, api_key, no_worker):
    edit = {"prompt": "a red door", "mask_prompt": "the door"}
    first = first_v1_job(
        client_as(key=api_key(tenant_a, Role.CREATOR)).post(
            EDITS, edit | {"image": png()}, format="multipart", HTTP_IDEMPOTENCY_KEY="v1-4"
        )
    )

    again = client_as(key=api_key(tenant_a, Role.CREATOR)).post(
        EDITS, edit | {"image": png()}, format="multipart", HTTP_IDEMPOTENCY_KEY="v1-4"
    )

    refused_in_openais_envelope(again, first)
    assert GenerationJob.objects.count() == 1


def test_an_edits_key_replays_for_the_same_key_and_image(tenant_a, client_as, api_key, no_worker):
    client = client_as(key=api_key(tenant_a, Role.CREATOR))
    edit = {"prompt": "a red door", "mask_prompt": "the door"}
    first = first_v1_job(client.post(EDITS, edit | {"image": png()}, format="multipart", HTTP_IDEMPOTENCY_KEY="v1-5"))

    again = client.post(EDITS, edit | {"image": png()}, format="multipart", HTTP_IDEMPOTENCY_KEY="v1-5")

    assert first_v1_job(again) == first
    assert GenerationJob.objects.count() == 1 and reservations() == 1
