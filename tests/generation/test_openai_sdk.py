"""The official openai Python SDK against a live Atelier: the web server as its own process on the
test database, with the real Celery worker, Redis, the Bedrock emulator and S3 (moto) behind it.
What the SDK gets back is checked against the bytes in the bucket and the rows in the database."""

import base64
import hashlib
import io
import urllib.request
from decimal import Decimal
from pathlib import Path

import numpy as np
import openai
import pytest
from PIL import Image

from assets.models import Asset
from billing.models import LedgerEntry
from billing.services import budget_set_tenant_monthly
from generation.models import GenerationJob
from tenants.models import Role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
NOVA = "amazon.nova-canvas-v1:0"


@pytest.fixture
def sdk(atelier_url, pipeline, tenant_a, api_key):
    """An openai.OpenAI client with a creator key of tenant acme (no SDK retries: a retry is a new job)."""
    return openai.OpenAI(api_key=api_key(tenant_a, Role.CREATOR), base_url=f"{atelier_url}/v1", max_retries=0)


def bucket_bytes(pipeline, asset: Asset) -> bytes:
    return pipeline.s3.get_object(Bucket=pipeline.bucket, Key=asset.file_key)["Body"].read()


def decoded(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_generations_answer_urls_of_the_stored_images_or_pngs_inline(sdk, pipeline):
    raw = sdk.images.with_raw_response.generate(
        model=NOVA, prompt="a lighthouse at dusk", size="512x512", n=2, response_format="url", quality="standard"
    )
    response = raw.parse()

    job = GenerationJob.objects.get(pk=raw.headers["X-Atelier-Job"])
    assert job.status == GenerationJob.Status.SUCCEEDED and job.requested_by_key is not None
    stored = {hashlib.sha256(bucket_bytes(pipeline, asset)).hexdigest() for asset in Asset.objects.filter(job=job)}
    assert len(response.data) == 2 and all(image.revised_prompt is None for image in response.data)
    for image in response.data:
        with urllib.request.urlopen(image.url, timeout=10) as download:  # an expiring presigned S3 link
            assert hashlib.sha256(download.read()).hexdigest() in stored
    assert raw.headers["X-Atelier-Cost"] == "0.080000" and response.usage.images == 2

    inline = sdk.images.generate(prompt="a red kite over the sea", size="512x768", response_format="b64_json")

    (image,) = inline.data
    picture = decoded(image.b64_json)
    assert (picture.format, picture.size) == ("PNG", (512, 768))
    assert GenerationJob.objects.order_by("-created_at").first().model.model_id == NOVA  # the configured default


def test_an_edit_with_an_openai_mask_changes_what_the_mask_leaves_transparent(sdk, pipeline):
    photo = (PHOTOS / "coffee.png").read_bytes()
    width, height = Image.open(io.BytesIO(photo)).size
    box = (200, 100, 400, 300)
    mask = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), box)  # OpenAI's convention: transparent = edit
    mask_png = io.BytesIO()
    mask.save(mask_png, format="PNG")

    raw = sdk.images.with_raw_response.edit(
        image=("coffee.png", photo, "image/png"), mask=("mask.png", mask_png.getvalue(), "image/png"),
        prompt="a red cup", model=NOVA, response_format="b64_json", extra_body={"seed": 11},
    )  # fmt: skip

    job = GenerationJob.objects.get(pk=raw.headers["X-Atelier-Job"])
    assert (job.task_type, job.seed) == ("INPAINTING", 11)
    sent = Image.open(io.BytesIO(bucket_bytes(pipeline, Asset.objects.get(pk=job.input_assets["mask_image"]))))
    pixels = np.asarray(sent)
    inside = np.zeros((height, width), dtype=bool)
    inside[box[1] : box[3], box[0] : box[2]] = True
    assert sent.mode == "RGB" and (pixels[inside] == 0).all() and (pixels[~inside] == 255).all()  # Bedrock's mask
    edited = np.asarray(decoded(raw.parse().data[0].b64_json).convert("RGB"), dtype=np.int16)
    original = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"), dtype=np.int16)
    change = np.abs(edited - original).mean(axis=2)
    assert change[inside].mean() > 10 * max(change[~inside].mean(), 0.5)


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # OpenAI retired its own variations endpoint
def test_a_variation_of_an_image(sdk, pipeline):
    photo = (PHOTOS / "astronaut.png").read_bytes()

    response = sdk.images.create_variation(
        image=("astronaut.png", photo, "image/png"), model=NOVA, n=1, size="512x512", response_format="b64_json"
    )

    (image,) = response.data
    assert decoded(image.b64_json).size == (512, 512)
    job = GenerationJob.objects.get(task_type="IMAGE_VARIATION")
    assert job.source_assets.get().sha256 == hashlib.sha256(photo).hexdigest()  # the input, kept with lineage


def test_the_sdk_raises_its_own_errors_and_nothing_is_charged(sdk, pipeline, tenant_a, atelier_url):
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.01"), actor=None)

    with pytest.raises(openai.APIStatusError) as over_budget:
        sdk.images.generate(model=NOVA, prompt="a lighthouse", size="512x512")
    with pytest.raises(openai.BadRequestError) as bad_size:
        sdk.images.generate(model=NOVA, prompt="a lighthouse", size="1000x1000")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="atl_00000000_" + "x" * 30, base_url=f"{atelier_url}/v1", max_retries=0).models.list()

    assert over_budget.value.status_code == 402 and over_budget.value.code == "budget_exceeded"
    assert over_budget.value.body["estimate"] == "0.040000"
    assert bad_size.value.status_code == 400 and bad_size.value.param == "size"
    assert "multiples of 16" in bad_size.value.message
    assert NOVA in {model.id for model in sdk.models.list()}
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.filter(kind="charge").exists()
    assert pipeline.emulator.invocations() == 0
