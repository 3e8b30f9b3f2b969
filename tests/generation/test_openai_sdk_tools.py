"""The official openai Python SDK against a live Atelier, calling the Stability image services by
model id through images.edit: the tool's own fields as extra_body (form fields on the wire), two
images for style transfer as image=[...], OpenAI's alpha mask; what comes back is checked against
the bucket, the job rows and the ledger. Plus a retired model run on the tenant's automatic successor."""

import base64
import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import numpy as np
import openai
import pytest
from django.utils import timezone
from PIL import Image

from assets.models import Asset
from billing.models import LedgerEntry
from generation.models import BedrockModel, GenerationJob, TenantAutoSuccessor
from tenants.models import Role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FAST_UPSCALE = "stability.stable-fast-upscale-v1:0"
INPAINT = "stability.stable-image-inpaint-v1:0"
SEARCH_REPLACE = "stability.stable-image-search-replace-v1:0"
STYLE_TRANSFER = "stability.stable-style-transfer-v1:0"
TITAN_V1 = "amazon.titan-image-generator-v1"
TITAN_V2 = "amazon.titan-image-generator-v2:0"


@pytest.fixture
def sdk(atelier_url, pipeline, tenant_a, api_key):
    return openai.OpenAI(api_key=api_key(tenant_a, Role.CREATOR), base_url=f"{atelier_url}/v1", max_retries=0)


def png(width: int, height: int, color=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def decoded(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def charged(tenant) -> Decimal:
    entries = LedgerEntry.objects.filter(tenant=tenant, kind=LedgerEntry.Kind.CHARGE)
    return sum((entry.amount_usd for entry in entries), Decimal(0))


def test_fast_upscale_and_inpaint_by_model_id_sizes_formats_and_money(sdk, pipeline, tenant_a):
    photo = png(96, 64)
    upscaled = sdk.images.with_raw_response.edit(
        model=FAST_UPSCALE, image=("small.png", photo, "image/png"), prompt="", output_format="webp",
        response_format="b64_json",
    )  # fmt: skip
    image = decoded(upscaled.parse().data[0].b64_json)
    assert (image.format, image.size) == ("WEBP", (384, 256))
    job = GenerationJob.objects.get(pk=upscaled.headers["X-Atelier-Job"])
    assert (job.model.model_id, job.task_type) == (FAST_UPSCALE, "UPSCALE")
    assert job.source_assets.get().sha256 == hashlib.sha256(photo).hexdigest()  # the input, kept with lineage

    mask = Image.new("RGBA", (128, 128), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 64, 128))  # OpenAI's convention: transparent = edit
    mask_png = io.BytesIO()
    mask.save(mask_png, format="PNG")
    inpainted = sdk.images.with_raw_response.edit(
        model=INPAINT, image=("photo.png", png(128, 128), "image/png"),
        mask=("mask.png", mask_png.getvalue(), "image/png"), prompt="a red cup", n=2, response_format="b64_json",
        extra_body={"grow_mask": 2, "seed": 7, "negative_prompt": "blur"},
    )  # fmt: skip
    response = inpainted.parse()
    assert [decoded(item.b64_json).size for item in response.data] == [(128, 128)] * 2
    job = GenerationJob.objects.get(pk=inpainted.headers["X-Atelier-Job"])
    assert (job.seed, job.params["grow_mask"], job.params["negative_prompt"]) == (7, 2, "blur")
    sent = np.asarray(
        Image.open(
            io.BytesIO(
                pipeline.s3.get_object(
                    Bucket=pipeline.bucket, Key=Asset.objects.get(pk=job.input_assets["mask_image"]).file_key
                )["Body"].read()
            )
        )
    )
    assert (sent[:, :64] == 0).all() and (sent[:, 64:] == 255).all()  # Atelier's mask: black = change
    assert charged(tenant_a) == Decimal("0.03") + 2 * Decimal("0.07")
    assert response.usage.images == 2


def test_style_transfer_takes_two_images_and_search_replace_its_search_prompt(sdk, pipeline, tenant_a):
    content, style = png(128, 96, (20, 160, 20)), png(64, 64, (160, 20, 20))
    styled = sdk.images.edit(
        model=STYLE_TRANSFER, image=[("content.png", content, "image/png"), ("style.png", style, "image/png")],
        prompt="", response_format="b64_json", extra_body={"style_strength": 0.6},
    )  # fmt: skip
    assert decoded(styled.data[0].b64_json).size == (128, 96)
    job = GenerationJob.objects.get(task_type="STYLE_TRANSFER")
    shas = {name: Asset.objects.get(pk=pk).sha256 for name, pk in job.input_assets.items()}
    assert shas == {"image": hashlib.sha256(content).hexdigest(), "style_image": hashlib.sha256(style).hexdigest()}

    replaced = sdk.images.edit(
        model=SEARCH_REPLACE, image=("photo.png", png(128, 128), "image/png"), prompt="a dog",
        response_format="url", extra_body={"search_prompt": "the cat"},
    )  # fmt: skip
    assert replaced.data[0].url.startswith("http")
    assert GenerationJob.objects.get(task_type="SEARCH_REPLACE").params["search_prompt"] == "the cat"
    assert charged(tenant_a) == Decimal("0.08") + Decimal("0.07")


def test_a_bad_tool_field_raises_bad_request_naming_it_and_nothing_is_charged(sdk, pipeline, tenant_a):
    with pytest.raises(openai.BadRequestError) as too_creative:
        sdk.images.edit(model=SEARCH_REPLACE, image=("p.png", png(128, 128), "image/png"), prompt="a dog",
                        extra_body={"search_prompt": "cat", "grow_mask": 99})  # fmt: skip
    with pytest.raises(openai.BadRequestError) as sized:
        sdk.images.edit(model=FAST_UPSCALE, image=("p.png", png(64, 64), "image/png"), prompt="", size="1024x1024")
    with pytest.raises(openai.BadRequestError) as generated:
        sdk.images.generate(model=FAST_UPSCALE, prompt="a kite")

    assert (too_creative.value.param, sized.value.param, generated.value.param) == ("grow_mask", "size", "model")
    assert "between 0 and 20" in too_creative.value.message
    assert not GenerationJob.objects.exists() and charged(tenant_a) == 0
    assert pipeline.emulator.invocations() == 0


def test_a_retired_model_runs_on_the_automatic_successor_and_the_answer_says_so(sdk, pipeline, tenant_a):
    retired = BedrockModel.objects.get(model_id=TITAN_V1)
    retired.end_of_life_on = timezone.localdate() - timedelta(days=1)
    retired.successor = BedrockModel.objects.get(model_id=TITAN_V2)
    retired.save()
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.images.generate(model=TITAN_V1, prompt="a kite", size="512x512")
    assert refused.value.param == "model" and TITAN_V2 in refused.value.message

    TenantAutoSuccessor.objects.create(tenant=tenant_a)
    raw = sdk.images.with_raw_response.generate(model=TITAN_V1, prompt="a kite", size="512x512",
                                                response_format="b64_json")  # fmt: skip

    assert (raw.headers["X-Atelier-Model"], raw.headers["X-Atelier-Substituted-From"]) == (TITAN_V2, TITAN_V1)
    response = raw.parse()
    assert decoded(response.data[0].b64_json).size == (512, 512)
    assert response.model_extra["model"] == TITAN_V2
    assert any("automatic successor" in warning for warning in response.model_extra["warnings"])
    job = GenerationJob.objects.get(pk=raw.headers["X-Atelier-Job"])
    assert (job.model.model_id, job.substituted_from.model_id) == (TITAN_V2, TITAN_V1)
    assert charged(tenant_a) == Decimal(raw.headers["X-Atelier-Cost"]) > 0
