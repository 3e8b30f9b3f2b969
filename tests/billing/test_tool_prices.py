"""Every Stability image service has a list price in force from the seed, and an estimate prices it by
the size it will return: an upscale by its output, not its input. Bad fields are a 400 naming the field,
with nothing written."""

import base64
import io
from decimal import Decimal

import pytest
from PIL import Image

from billing.models import LedgerEntry, Price
from generation.bedrock.specs import TOOL_SPECS
from generation.models import GenerationJob
from tenants.models import Role

pytestmark = pytest.mark.django_db
ESTIMATE = "/api/v1/tenants/acme/estimate/"
SEEDED = {  # billing/migrations/0008_stability_image_service_prices.py
    "stability.stable-creative-upscale-v1:0": "0.60", "stability.stable-conservative-upscale-v1:0": "0.40",
    "stability.stable-fast-upscale-v1:0": "0.03", "stability.stable-outpaint-v1:0": "0.06",
    "stability.stable-style-transfer-v1:0": "0.08",
}  # fmt: skip


def png_b64(width: int, height: int, *, alpha: bool = False) -> str:
    buffer = io.BytesIO()
    Image.new("RGBA" if alpha else "RGB", (width, height), (30, 120, 200, 0 if alpha else 255)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def minimal_body(spec) -> dict:
    """The least a person sends to this tool: its required fields (and a side for outpaint)."""
    body = {"model": spec.model_id}
    for param in spec.params:
        if param.kind == "image" and param.required:
            body[param.name] = png_b64(320, 240)
        elif param.kind == "text" and param.required:
            body[param.name] = "a lighthouse"
    if spec.param("mask_image"):
        body["image"] = png_b64(320, 240, alpha=True)  # no mask: the transparent pixels say where
    if spec.param("left"):
        body["left"] = 80
    return body


@pytest.fixture
def creator_api(tenant_a, member, client_as):
    return client_as(member(tenant_a, Role.CREATOR))


def test_every_image_service_has_a_list_price_in_force():
    priced = set(Price.objects.filter(tenant=None, quality="standard").values_list("model__model_id", flat=True))
    assert {spec.model_id for spec in TOOL_SPECS} <= priced


@pytest.mark.parametrize("spec", TOOL_SPECS, ids=[spec.model_id for spec in TOOL_SPECS])
def test_an_estimate_prices_each_tool_by_the_size_it_returns(creator_api, spec):
    n = 2 if "seed" in {p.name for p in spec.params} else 1  # a tool with a seed makes several images a job
    body = minimal_body(spec) | ({"n": n} if n > 1 else {})

    response = creator_api.post(ESTIMATE, body, format="json")

    assert response.status_code == 200, response.content
    quote = response.json()
    unit = Decimal(SEEDED.get(spec.model_id, "0.07"))
    assert (Decimal(quote["unit_price"]), quote["n"], Decimal(quote["total"])) == (unit, n, unit * n)
    expected = {
        "times_four": (1280, 960), "upscale": (2365, 1774), "outpaint": (400, 240), "aspect_ratio": (1024, 1024),
    }.get(spec.output_rule, (320, 240))  # fmt: skip
    assert (quote["width"], quote["height"]) == expected
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("model_id", "change", "field"),
    [
        ("stability.stable-creative-upscale-v1:0", {"creativity": 0.9}, "creativity"),
        ("stability.stable-fast-upscale-v1:0", {"image": png_b64(1600, 200)}, "image"),
        ("stability.stable-creative-upscale-v1:0", {"image": png_b64(1100, 1000)}, "image"),
        ("stability.stable-image-search-replace-v1:0", {"search_prompt": ""}, "search_prompt"),
        ("stability.stable-outpaint-v1:0", {"left": 0}, "left"),
        ("stability.stable-outpaint-v1:0", {"up": 2001}, "up"),
        ("stability.stable-image-erase-object-v1:0", {"image": png_b64(320, 240)}, "mask_image"),
        ("stability.stable-image-remove-background-v1:0", {"output_format": "jpeg"}, "output_format"),
        ("stability.stable-image-style-guide-v1:0", {"aspect_ratio": "7:3"}, "aspect_ratio"),
        ("stability.stable-style-transfer-v1:0", {"image": png_b64(600, 200)}, "image"),
        ("stability.stable-image-control-sketch-v1:0", {"cfg_scale": 7}, "cfg_scale"),
        ("stability.stable-image-inpaint-v1:0", {"grow_mask": 21}, "grow_mask"),
    ],
)
def test_a_bad_tool_field_is_a_400_naming_it_and_writes_nothing(creator_api, model_id, change, field):
    spec = next(spec for spec in TOOL_SPECS if spec.model_id == model_id)

    response = creator_api.post(ESTIMATE, minimal_body(spec) | change, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()
