"""The composer's tools (the Stability image services): the picker's groups, each tool's inputs drawn
from its spec's params, the painted mask (a PNG data: URL) as the job's mask, the outpaint sides,
the source asset filling a tool's image, the field errors beside the tool's fields, the estimate."""

import base64
import io
import re

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from assets.models import Asset
from assets.services import asset_store_upload, project_get_default
from assets.storage import read_object
from billing.models import LedgerEntry
from generation.bedrock.images import read_image
from generation.bedrock.specs import TOOL_SPECS
from generation.models import GenerationJob
from generation.services import job_quote
from tenants.models import Role
from web.templatetags.studio import usd
from web.views.compose import tool_slug

from ..factories import make_asset

pytestmark = pytest.mark.django_db
COMPOSE = "/t/acme/compose/"
ESTIMATE = "/t/acme/compose/estimate/"
INPAINT = "stability.stable-image-inpaint-v1:0"
OUTPAINT = "stability.stable-outpaint-v1:0"
SEARCH_REPLACE = "stability.stable-image-search-replace-v1:0"
NOVA = "amazon.nova-canvas-v1:0"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png(width=320, height=240, colour=(200, 40, 40), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(data: bytes, name="picture.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def tool_block(html: str, model_id: str) -> str:
    """The markup of one tool's fieldset."""
    start = html.rindex("<fieldset", 0, html.index(f'data-tool="{model_id}"'))
    return html[start : html.index("</fieldset>", start)]


def param_block(html: str, name: str) -> str:
    """Within a tool's markup, the field for one param: from its data-param to the next one."""
    start = html.rindex("<", 0, html.index(f'data-param="{name}"'))
    following = html.find("data-param=", html.index(">", start))
    return html[start : following if following != -1 else len(html)]


def painting(width: int, height: int, box: tuple[int, int, int, int]) -> tuple[str, np.ndarray]:
    """A canvas-like painting (RGBA, transparent but for an ellipse with soft edges) as the painter's
    data: URL, and where it is painted (alpha of at least half)."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse(box, fill=(232, 23, 125, 255))
    pixels = np.asarray(image).copy()
    pixels[box[1], :, 3] = np.where(pixels[box[1], :, 3] > 0, 90, 0)  # a soft edge: under half opaque
    image = Image.fromarray(pixels, "RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), pixels[:, :, 3] >= 128


def nothing_written() -> bool:
    return not GenerationJob.objects.exists() and not LedgerEntry.objects.filter(job__isnull=False).exists()


# The picker and each tool's inputs


def test_the_picker_groups_every_tool_and_the_general_models(signed_in):
    client, _ = signed_in(Role.CREATOR)

    html = client.get(COMPOSE).content.decode()

    groups = re.findall(r'data-group="(\w+)"', html)
    assert groups == ["generate", "edit", "upscale", "control"]
    for spec in TOOL_SPECS:
        before = html[: html.index(f'name="model" value="{spec.model_id}"')]
        group = re.findall(r'data-tool-group="(\w+)"', before)[-1]  # the card the radio is in
        expected = {"UPSCALE": "upscale", "CONTROL_SKETCH": "control", "CONTROL_STRUCTURE": "control",
                    "STYLE_GUIDE": "control", "STYLE_TRANSFER": "control"}.get(spec.tasks[0].value, "edit")  # fmt: skip
        assert group == expected, spec.model_id
    nova = html[: html.index(f'name="model" value="{NOVA}"')]
    assert nova.rindex('data-tool-group="generate"') > nova.rindex("data-group=")


@pytest.mark.parametrize("spec", TOOL_SPECS, ids=lambda spec: tool_slug(spec.model_id))
def test_each_tools_form_has_exactly_its_params_inputs(signed_in, spec):
    client, _ = signed_in(Role.CREATOR)

    html = client.get(f"{COMPOSE}?model={spec.model_id}").content.decode()

    block = tool_block(html, spec.model_id)
    assert "disabled" not in block[: block.index(">")]  # the chosen tool's inputs are sent
    assert re.search(r'id="generic-fields"\s+disabled hidden', html)  # the general ones are not
    assert re.search(rf'value="{re.escape(spec.model_id)}" id="model-\d+" checked', html)
    names = set(re.findall(r'name="([a-z_]+)"', block)) - {"mask_image_painting"}
    expected = {param.name for param in spec.params} | ({"n"} if spec.param("seed") else set())
    assert names == expected
    for param in spec.params:
        field = param_block(block, param.name)
        if param.kind == "number":  # a slider and a box, within the param's limits, at its default
            assert f'type="range" id="{tool_slug(spec.model_id)}-{param.name}" name="{param.name}"' in field
            assert f'min="{param.low}" max="{param.high}"' in field and f'value="{param.default}"' in field
            assert 'class="range-number"' in field
        elif param.kind == "side":
            assert f'name="{param.name}" value="0" min="0" max="2000"' in field
        elif param.kind == "integer":
            assert 'type="number"' in field and f'max="{int(param.high)}"' in field
        elif param.kind == "choice":
            assert f'<select id="{tool_slug(spec.model_id)}-{param.name}" name="{param.name}">' in field
            assert all(f'<option value="{choice}"' in field for choice in param.choices)
            if param.default:
                assert f'<option value="{param.default}" selected>' in field
        elif param.kind == "image":
            assert f'type="file" id="{tool_slug(spec.model_id)}-{param.name}" name="{param.name}"' in field
            assert "image/webp" in field
        elif param.kind == "mask":  # the painter, and a file as the other way
            assert 'class="mask-painter"' in field and 'name="mask_image_painting"' in field
            assert 'name="mask_image" accept="image/png"' in field
        elif param.name in ("prompt", "negative_prompt"):
            assert f'<textarea id="{tool_slug(spec.model_id)}-{param.name}" name="{param.name}"' in field
        else:
            assert f'<input id="{tool_slug(spec.model_id)}-{param.name}" name="{param.name}"' in field
    others = [other for other in TOOL_SPECS if other is not spec]
    assert all(re.search(r"<fieldset[^>]*disabled hidden", tool_block(html, other.model_id)) for other in others)


def test_the_general_models_keep_their_task_choice(signed_in):
    client, _ = signed_in(Role.CREATOR)

    html = client.get(f"{COMPOSE}?task_type=INPAINTING").content.decode()

    # A task a general model does starts on a general model, with the task chosen and its mask painter.
    assert re.search(rf'value="{re.escape(NOVA)}" id="model-\d+" checked', html)
    assert 'value="INPAINTING" id="task-INPAINTING" checked' in html
    assert re.search(r'id="generic-fields"\s+>', html)
    generic = html[html.index('id="generic-fields"') : html.index('data-tool="')]
    assert 'id="generic-mask"' in generic and 'data-image-input="id_image"' in generic


# Submitting a tool


def test_inpaint_with_a_painted_mask_makes_the_job_with_the_mask_black_where_painted(signed_in, tenant_a):
    client, user = signed_in(Role.CREATOR)
    painted, where = painting(320, 240, (60, 40, 180, 160))

    response = client.post(COMPOSE, {
        "model": INPAINT, "image": upload(png()), "mask_image_painting": painted, "prompt": "a blue vase",
        "grow_mask": "3", "output_format": "webp", "n": "1", "seed": "11", "style": "",
    })  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert (job.model.model_id, job.task_type, job.requested_by_user) == (INPAINT, "INPAINTING", user)
    assert (job.params["prompt"], job.params["grow_mask"], job.params["output_format"], job.seed) == (
        "a blue vase", 3, "webp", 11,
    )  # fmt: skip
    assert (job.width, job.height) == (320, 240)
    mask = Asset.objects.get(pk=job.input_assets["mask_image"])
    stored = Image.open(io.BytesIO(read_object(mask.file_key)))
    assert stored.mode == "L" and stored.size == (320, 240)
    pixels = np.asarray(stored)
    assert set(np.unique(pixels)) == {0, 255}
    assert ((pixels == 0) == where).all()  # black exactly where painted (the soft edge under half is not)


def test_an_uploaded_mask_file_is_used_instead_of_the_painting(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    painted, _ = painting(320, 240, (10, 10, 50, 50))
    mask = Image.new("L", (320, 240), 255)
    ImageDraw.Draw(mask).rectangle((200, 100, 300, 200), fill=0)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")

    response = client.post(COMPOSE, {
        "model": INPAINT, "image": upload(png()), "mask_image": upload(buffer.getvalue(), "mask.png"),
        "mask_image_painting": painted, "prompt": "a blue vase",
    })  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    stored = Asset.objects.get(pk=GenerationJob.objects.get().input_assets["mask_image"])
    assert read_object(stored.file_key) == buffer.getvalue()


def test_outpaint_sides_make_the_output_the_input_plus_the_sides(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, {
        "model": OUTPAINT, "image": upload(png(300, 200)), "left": "128", "right": "0", "up": "0", "down": "64",
        "creativity": "0.4", "prompt": "", "output_format": "png",
    })  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert (job.task_type, job.width, job.height) == ("OUTPAINTING", 428, 264)
    assert (job.params["left"], job.params["down"], job.params["creativity"]) == (128, 64, 0.4)
    assert "prompt" not in job.params


def test_a_source_asset_fills_the_tools_image(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    source = asset_store_upload(tenant=tenant_a, project=project_get_default(tenant=tenant_a),
                                image=read_image(png(256, 256, mode="RGBA", colour=(0, 0, 0, 0))))  # fmt: skip

    html = client.get(f"{COMPOSE}?model={INPAINT}&source_asset={source.pk}").content.decode()

    block = tool_block(html, INPAINT)
    assert "disabled" not in block[: block.index(">")]
    image = param_block(block, "image")
    assert f'name="source_asset" value="{source.pk}"' in image and 'type="file"' not in image
    painter = param_block(block, "mask_image")
    assert 'data-image-url="' in painter and 'data-image-url=""' not in painter  # paints on the asset itself

    # Its transparent pixels mark the region: no mask needed.
    response = client.post(COMPOSE, {"model": INPAINT, "source_asset": str(source.pk), "prompt": "a cat"})
    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert job.input_assets == {"image": str(source.pk)} and job.task_type == "INPAINTING"


def test_another_tenants_source_asset_is_not_found(signed_in, tenant_b):
    client, _ = signed_in(Role.CREATOR)
    theirs = make_asset(tenant_b)

    assert client.get(f"{COMPOSE}?model={INPAINT}&source_asset={theirs.pk}").status_code == 404
    response = client.post(COMPOSE, {"model": INPAINT, "source_asset": str(theirs.pk), "prompt": "a cat"})
    assert response.status_code == 400 and nothing_written()
    assert "No such asset." in param_block(tool_block(response.content.decode(), INPAINT), "image")


# Errors beside the tool's fields


@pytest.mark.parametrize(
    "model,fields,bad",
    [
        (OUTPAINT, {"left": "0", "right": "0", "up": "0", "down": "0"}, "left"),
        (OUTPAINT, {"left": "2500"}, "left"),
        (OUTPAINT, {"left": "10", "creativity": "5"}, "creativity"),
        (SEARCH_REPLACE, {"prompt": "a red chair"}, "search_prompt"),
        (INPAINT, {"prompt": "a vase", "mask_image_painting": "data:image/jpeg;base64,AAAA"}, "mask_image"),
        (INPAINT, {"prompt": "a vase"}, "mask_image"),  # an opaque image needs a mask
    ],
)
def test_a_bad_tool_field_is_shown_beside_it_and_nothing_is_made(signed_in, model, fields, bad):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, {"model": model, "image": upload(png())} | fields)

    assert response.status_code == 400
    html = response.content.decode()
    block = tool_block(html, model)
    assert "disabled" not in block[: block.index(">")]  # the same tool is drawn again, with its values
    field = param_block(block, bad)
    assert "invalid" in field[: field.index(">")] and '<ul class="errors"' in field
    assert 'id="error-summary"' in html and nothing_written()
    for name, value in fields.items():  # what was sent is in its own field again, to be corrected
        if name in ("left", "creativity", "prompt"):
            kept = f">{value}</textarea>" if name == "prompt" else f'value="{value}"'
            assert kept in param_block(block, name), (name, param_block(block, name))


# The estimate


def test_a_tools_estimate_is_its_price_by_output_size(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    raw = {"image": base64.b64encode(png(300, 200)).decode(), "left": "128", "down": "64"}
    quote = job_quote(tenant=tenant_a, model_id=OUTPAINT, raw=raw)

    html = client.post(
        ESTIMATE, {"model": OUTPAINT, "image": upload(png(300, 200)), "left": "128", "down": "64"},
        headers={"HX-Request": "true"},
    ).content.decode()  # fmt: skip

    assert quote.total > 0 and f'data-total="{quote.total}"' in html and usd(quote.total) in html
    assert nothing_written()


def test_a_tools_estimate_without_its_image_says_what_is_needed(signed_in):
    client, _ = signed_in(Role.CREATOR)

    html = client.post(ESTIMATE, {"model": INPAINT, "prompt": "a vase"}, headers={"HX-Request": "true"}).content
    assert "Image: This field is required." in html.decode()
