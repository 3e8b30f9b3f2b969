"""Draft → final: a generated image re-rendered at premium quality (optionally larger) with the
same model, prompt, inputs and seed, as a new child asset, priced and budget-checked like any job."""

import io
from decimal import Decimal
from unittest import mock

import pytest
from PIL import Image

from assets.models import Asset
from billing.models import LedgerEntry
from billing.services import budget_set_tenant_monthly
from generation.models import BedrockModel, GenerationJob
from tenants.models import Role

from ..factories import make_asset, make_job
from ..generation.test_pipeline import bucket_bytes, finished, submit

NOVA = "amazon.nova-canvas-v1:0"


def finalize(api, asset_id, body=None, slug="acme"):
    return api.post(f"/api/v1/tenants/{slug}/assets/{asset_id}/finalize/", body or {}, format="json")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_draft_is_re_rendered_at_premium_as_its_child(pipeline, tenant_a, api_key, client_as):
    api = client_as(key=api_key(tenant_a, Role.CREATOR))
    body = {"model": NOVA, "prompt": "a lighthouse at dusk", "width": 512, "height": 512, "n": 2, "seed": 42,
            "tags": ["spring"]}  # fmt: skip
    draft_job = finished(api, submit(api, body).json()["id"])
    draft = draft_job["assets"][1]

    response = finalize(api, draft["id"], {"width": 1024, "height": 1024})

    assert response.status_code == 201, response.json()
    final_job = response.json()
    assert (final_job["quality"], final_job["seed"], final_job["n"], final_job["prompt"]) == (
        "premium",
        42,
        1,
        "a lighthouse at dusk",
    )
    assert (final_job["width"], final_job["height"], final_job["unit_price"]) == (1024, 1024, "0.060000")
    assert (final_job["finalizes"], final_job["tags"]) == (draft["id"], ["spring"])
    final_job = finished(api, final_job["id"])
    assert final_job["status"] == "succeeded" and final_job["cost"] == "0.060000"
    assert {e.kind: e.amount_usd for e in LedgerEntry.objects.filter(job_id=final_job["id"])} == {
        "reserve": Decimal("0.06"), "charge": Decimal("0.06"), "release": Decimal("0")
    }  # fmt: skip
    final = Asset.objects.get(pk=final_job["assets"][0]["id"])
    assert [str(parent.pk) for parent in final.parents.all()] == [draft["id"]]
    assert [str(child.pk) for child in Asset.objects.get(pk=draft["id"]).children.all()] == [str(final.pk)]
    stored = Image.open(io.BytesIO(bucket_bytes(pipeline, final.file_key)))
    assert stored.size == (1024, 1024) and final.seed == 42
    assert final.sha256 != draft["sha256"]


@pytest.fixture
def draft(tenant_a):
    params = {"prompt": "a lamp", "task": "TEXT_IMAGE", "n": 1, "seed": 9, "width": 512, "height": 512,
              "quality": "standard"}  # fmt: skip
    job = make_job(tenant_a, quality="standard", params=params)
    return make_asset(tenant_a, job=job, index=0, seed=9)


@pytest.fixture
def creator(tenant_a, member, client_as):
    with mock.patch("generation.services._enqueue_on_commit"):
        yield client_as(member(tenant_a, Role.CREATOR))


@pytest.mark.django_db
def test_finalizing_keeps_the_draft_size_unless_told(draft, creator):
    response = finalize(creator, draft.pk)

    assert response.status_code == 201
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert (job.quality, job.width, job.height, job.seed, job.finalizes_id) == ("premium", 512, 512, 9, draft.pk)
    assert job.unit_price_usd == Decimal("0.06")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"width": 256}, "width", "no smaller than the draft's 512"),
        ({"height": "big"}, "height", "whole number of pixels"),
        ({"width": 4100, "height": 4100}, "width", ""),  # past the model's limits: the catalog's own rule
    ],
)
def test_a_bad_size_is_a_400_naming_the_field_and_costs_nothing(draft, creator, body, field, words):
    response = finalize(creator, draft.pk, body)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"] and words in response.json()["error"]["message"]
    assert GenerationJob.objects.count() == 1 and LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_what_cannot_be_finalized_says_why(tenant_a, draft, creator):
    upload = make_asset(tenant_a, sha256="cd" * 32, kind=Asset.Kind.UPLOAD)
    core = BedrockModel.objects.get(model_id="stability.stable-image-core-v1:1")
    stability_job = make_job(tenant_a, model=core, params={"prompt": "a lamp", "task": "TEXT_IMAGE", "seed": 3})
    stability = make_asset(tenant_a, sha256="ef" * 32, job=stability_job, index=0, seed=3)
    final_job = make_job(tenant_a, quality="premium", params={"prompt": "a lamp", "task": "TEXT_IMAGE", "seed": 9,
                                                               "quality": "premium"})  # fmt: skip
    final = make_asset(tenant_a, sha256="12" * 32, job=final_job, index=0, seed=9)

    uploaded, no_premium, already = (finalize(creator, a.pk) for a in (upload, stability, final))

    assert (uploaded.status_code, uploaded.json()["error"]["fields"]) == (400, {"asset": [mock.ANY]})
    assert "uploaded" in uploaded.json()["error"]["message"]
    assert (no_premium.status_code, list(no_premium.json()["error"]["fields"])) == (400, ["quality"])
    assert (already.status_code, already.json()["error"]["code"]) == (409, "already_final")
    assert finalize(creator, final.pk, {"width": 1024, "height": 1024}).status_code == 201  # larger is new work


@pytest.mark.django_db
def test_a_final_over_budget_is_a_402_and_nothing_is_queued(tenant_a, draft, creator):
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.05"), actor=None)

    response = finalize(creator, draft.pk)

    assert response.status_code == 402
    assert response.json()["error"]["estimate"] == "0.060000"
    assert GenerationJob.objects.count() == 1 and LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_a_viewer_may_not_finalize(tenant_a, draft, member, client_as):
    response = finalize(client_as(member(tenant_a, Role.VIEWER)), draft.pk)

    assert response.status_code == 403
    assert GenerationJob.objects.count() == 1
