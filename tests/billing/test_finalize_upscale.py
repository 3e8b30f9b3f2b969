"""Finalize by upscaling: any image (uploaded ones too) becomes the `image` of a Stability upscaler's
job (fast, conservative, creative), a child of the image, priced by its output size at the seeded tool
price, budget-checked, idempotent; bad values are a 400 naming the field."""

import io
from decimal import Decimal
from unittest import mock

import pytest
from PIL import Image

from assets.models import Asset
from assets.services import asset_store_upload, project_get_default
from billing.models import LedgerEntry
from billing.services import budget_set_tenant_monthly
from generation.bedrock.images import read_image
from generation.models import BedrockModel, GenerationJob, TenantModelAccess
from tenants.models import Role

from ..assets.provenance_helpers import emulator_image, ingest, use_local_storage
from ..factories import make_asset, make_job
from ..generation.test_pipeline import bucket_bytes, finished, submit

NOVA = "amazon.nova-canvas-v1:0"
FAST = "stability.stable-fast-upscale-v1:0"
CONSERVATIVE = "stability.stable-conservative-upscale-v1:0"
CREATIVE = "stability.stable-creative-upscale-v1:0"
DRAFT_PROMPT = "a brass lamp on an oak desk"


def finalize(api, asset_id, body=None, slug="acme", **headers):
    return api.post(f"/api/v1/tenants/{slug}/assets/{asset_id}/finalize/", body or {}, format="json", **headers)


def png(width: int, height: int, colour=(120, 90, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(tenant, width: int, height: int, colour=(120, 90, 60)) -> Asset:
    image = read_image(png(width, height, colour), max_side=16_384)
    return asset_store_upload(tenant=tenant, project=project_get_default(tenant=tenant), image=image)


@pytest.fixture
def stored(settings, tmp_path):
    use_local_storage(settings, tmp_path)


@pytest.fixture
def draft(tenant_a, stored):
    """A generated 512×512 Nova draft whose bytes are in storage."""
    params = {"prompt": DRAFT_PROMPT, "task": "TEXT_IMAGE", "n": 1, "seed": 9, "width": 512, "height": 512,
              "quality": "standard"}  # fmt: skip
    job = make_job(tenant_a, quality="standard", params=params, tags=["spring"])
    return ingest(tenant_a, emulator_image(seed=9), job=job)


@pytest.fixture
def creator(tenant_a, member, client_as):
    with mock.patch("generation.services._enqueue_on_commit"):
        yield client_as(member(tenant_a, Role.CREATOR))


def reserved(job_id) -> Decimal:
    return LedgerEntry.objects.get(job_id=job_id, kind=LedgerEntry.Kind.RESERVE).amount_usd


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upscale", "model_id", "size", "price"),
    [
        ("fast", FAST, (2048, 2048), Decimal("0.03")),
        ("conservative", CONSERVATIVE, (2048, 2048), Decimal("0.40")),
        ("creative", CREATIVE, (2048, 2048), Decimal("0.60")),
    ],
)
def test_each_upscaler_makes_a_job_on_its_model_with_the_asset_as_image(draft, creator, upscale, model_id, size, price):
    response = finalize(creator, draft.pk, {"upscale": upscale})

    assert response.status_code == 201, response.json()
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert (job.model.model_id, job.task_type, job.finalizes_id) == (model_id, "UPSCALE", draft.pk)
    assert job.input_assets == {"image": str(draft.pk)}
    assert list(job.source_assets.all()) == [draft]
    assert (job.width, job.height) == size
    assert job.unit_price_usd == price and reserved(job.pk) == price
    assert response.json()["unit_price"] == f"{price:.6f}" and job.tags == ["spring"]
    if upscale == "fast":
        assert "prompt" not in job.params and "creativity" not in job.params
    else:  # the draft's prompt, and the upscaler's own default creativity
        default = {"conservative": 0.35, "creative": 0.3}[upscale]
        assert (job.params["prompt"], job.params["creativity"]) == (DRAFT_PROMPT, default)


@pytest.mark.django_db
def test_a_prompt_and_creativity_given_are_used(draft, creator):
    response = finalize(creator, draft.pk, {"upscale": "creative", "prompt": "crisp brass", "creativity": 0.45})

    assert response.status_code == 201, response.json()
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert (job.params["prompt"], job.params["creativity"]) == ("crisp brass", 0.45)


@pytest.mark.django_db
def test_an_upscale_of_an_upscale_reuses_the_first_drafts_prompt(tenant_a, draft, creator):
    fast = GenerationJob.objects.get(pk=finalize(creator, draft.pk, {"upscale": "fast"}).json()["id"])
    upscaled = ingest(tenant_a, emulator_image(seed=10), job=fast)  # the fast upscale took no prompt

    response = finalize(creator, upscaled.pk, {"upscale": "conservative"})

    assert response.status_code == 201, response.json()
    assert GenerationJob.objects.get(pk=response.json()["id"]).params["prompt"] == DRAFT_PROMPT


@pytest.mark.django_db
def test_conservative_upscale_prices_its_output_size(tenant_a, stored, creator):
    wide = upload(tenant_a, 1024, 512)

    response = finalize(creator, wide.pk, {"upscale": "conservative", "prompt": "a wide shot"})

    assert response.status_code == 201, response.json()
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert (job.width, job.height) == (2896, 1448)  # about 4 MP, the same aspect
    assert job.unit_price_usd == Decimal("0.40")


@pytest.mark.django_db
def test_an_uploaded_image_can_be_upscaled_but_not_re_rendered(tenant_a, stored, creator):
    uploaded = upload(tenant_a, 300, 200)

    fast = finalize(creator, uploaded.pk, {"upscale": "fast"})
    premium = finalize(creator, uploaded.pk)
    creative = finalize(creator, uploaded.pk, {"upscale": "creative"})  # no prompt to reuse

    assert fast.status_code == 201, fast.json()
    job = GenerationJob.objects.get(pk=fast.json()["id"])
    assert (job.width, job.height, job.finalizes_id, job.input_assets) == (1200, 800, uploaded.pk,
                                                                          {"image": str(uploaded.pk)})  # fmt: skip
    assert (premium.status_code, list(premium.json()["error"]["fields"])) == (400, ["asset"])
    assert (creative.status_code, list(creative.json()["error"]["fields"])) == (400, ["prompt"])
    assert GenerationJob.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"upscale": "huge"}, "upscale", "fast, conservative, creative"),
        ({"upscale": 4}, "upscale", "Give one of"),
        ({"upscale": "creative", "creativity": 0.9}, "creativity", "between 0.1 and 0.5"),
        ({"upscale": "conservative", "creativity": "lots"}, "creativity", "number"),
        ({"upscale": "fast", "prompt": "sharper"}, "prompt", "takes no prompt"),
        ({"upscale": "fast", "width": 4096}, "width", "sets its own size"),
        ({"prompt": "sharper"}, "prompt", "Only an upscale"),
        ({"upscale": "fast", "strength": 1}, "strength", "not accepted"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field_and_costs_nothing(draft, creator, body, field, words):
    response = finalize(creator, draft.pk, body)

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert words in response.json()["error"]["message"], response.json()
    assert not GenerationJob.objects.filter(finalizes=draft).exists() and LedgerEntry.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upscale", "size", "words"),
    [
        ("fast", (1600, 900), "sides of at most 1536 px"),
        ("fast", (1100, 1000), "takes at most 1,048,576"),
        ("creative", (1100, 1000), "takes at most 1,048,576"),
    ],
)
def test_an_image_too_large_for_the_upscaler_is_a_400_naming_the_asset(tenant_a, stored, creator, upscale, size,
                                                                        words):  # fmt: skip
    large = upload(tenant_a, *size)

    response = finalize(creator, large.pk, {"upscale": upscale, "prompt": "sharper"} if upscale != "fast" else
                        {"upscale": upscale})  # fmt: skip

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["asset"] and words in response.json()["error"]["message"]
    assert GenerationJob.objects.count() == 0 and LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_an_image_whose_bytes_are_gone_is_a_400_naming_the_asset(tenant_a, stored, creator):
    missing = make_asset(tenant_a, kind=Asset.Kind.UPLOAD, width=300, height=200)  # a row, no stored bytes

    response = finalize(creator, missing.pk, {"upscale": "fast"})

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["asset"])
    assert "missing" in response.json()["error"]["message"] and GenerationJob.objects.count() == 0


@pytest.mark.django_db
def test_conservative_takes_what_creative_and_fast_refuse(tenant_a, stored, creator):
    large = upload(tenant_a, 1100, 1000)

    assert finalize(creator, large.pk, {"upscale": "conservative", "prompt": "sharper"}).status_code == 201


@pytest.mark.django_db
def test_an_upscale_over_budget_is_a_402_and_nothing_is_queued(tenant_a, draft, creator):
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.50"), actor=None)

    response = finalize(creator, draft.pk, {"upscale": "creative"})

    assert response.status_code == 402
    assert response.json()["error"]["estimate"] == "0.600000"
    assert not GenerationJob.objects.filter(finalizes=draft).exists() and LedgerEntry.objects.count() == 0
    assert finalize(creator, draft.pk, {"upscale": "fast"}).status_code == 201  # $0.03 fits


@pytest.mark.django_db
def test_an_upscaler_the_tenant_may_not_use_is_refused(tenant_a, draft, creator):
    TenantModelAccess.objects.create(tenant=tenant_a, model=BedrockModel.objects.get(model_id=NOVA))

    response = finalize(creator, draft.pk, {"upscale": "fast"})

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["model"])
    assert not GenerationJob.objects.filter(finalizes=draft).exists()


@pytest.mark.django_db
def test_another_tenants_asset_is_a_404(tenant_b, draft, api_key, client_as):
    with mock.patch("generation.services._enqueue_on_commit"):
        response = finalize(client_as(key=api_key(tenant_b, Role.CREATOR)), draft.pk, {"upscale": "fast"},
                            slug="globex")  # fmt: skip
        across = finalize(client_as(key=api_key(tenant_b, Role.CREATOR)), draft.pk, {"upscale": "fast"})

    assert response.status_code == 404 and across.status_code == 404
    assert GenerationJob.objects.filter(finalizes=draft).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("as_key", [False, True])
def test_a_viewer_may_not_upscale(tenant_a, draft, member, api_key, client_as, as_key):
    viewer = client_as(key=api_key(tenant_a, Role.VIEWER)) if as_key else client_as(member(tenant_a, Role.VIEWER))

    response = finalize(viewer, draft.pk, {"upscale": "fast"})

    assert response.status_code == 403
    assert not GenerationJob.objects.filter(finalizes=draft).exists() and LedgerEntry.objects.count() == 0


@pytest.mark.django_db
def test_an_idempotency_key_replays_the_same_upscale_and_refuses_another(tenant_a, draft, api_key, client_as):
    api = client_as(key=api_key(tenant_a, Role.CREATOR))
    with mock.patch("generation.services._enqueue_on_commit"):
        first = finalize(api, draft.pk, {"upscale": "fast"}, HTTP_IDEMPOTENCY_KEY="up-1")
        again = finalize(api, draft.pk, {"upscale": "fast"}, HTTP_IDEMPOTENCY_KEY="up-1")
        other = finalize(api, draft.pk, {"upscale": "creative"}, HTTP_IDEMPOTENCY_KEY="up-1")

    assert (first.status_code, again.status_code) == (201, 200), first.json()
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert GenerationJob.objects.filter(finalizes=draft).count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESERVE).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_fast_upscale_stores_an_image_four_times_the_size_as_the_drafts_child(pipeline, tenant_a, api_key,
                                                                                client_as):  # fmt: skip
    api = client_as(key=api_key(tenant_a, Role.CREATOR))
    body = {"model": NOVA, "prompt": "a lighthouse at dusk", "width": 320, "height": 384, "seed": 42}
    draft = finished(api, submit(api, body).json()["id"])["assets"][0]

    response = finalize(api, draft["id"], {"upscale": "fast"})

    assert response.status_code == 201, response.json()
    final_job = finished(api, response.json()["id"])
    assert final_job["status"] == "succeeded", final_job
    assert (final_job["model"], final_job["width"], final_job["height"]) == (FAST, 1280, 1536)
    assert final_job["cost"] == "0.030000"
    assert {e.kind: e.amount_usd for e in LedgerEntry.objects.filter(job_id=final_job["id"])} == {
        "reserve": Decimal("0.03"), "charge": Decimal("0.03"), "release": Decimal("0")
    }  # fmt: skip
    final = Asset.objects.get(pk=final_job["assets"][0]["id"])
    assert [str(parent.pk) for parent in final.parents.all()] == [draft["id"]]
    stored = Image.open(io.BytesIO(bucket_bytes(pipeline, final.file_key)))
    assert stored.size == (1280, 1536) == (final.width, final.height)
