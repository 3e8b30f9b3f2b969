"""The thirteen Stability AI Image Services: the body Atelier sends is AWS's documented example body (plus the
defaults Atelier fills); real boto3 over HTTP to the emulator gets images that keep each tool's meaning; and a job
through the REST API and a real Celery worker ends as a stored, marked, signed and priced asset."""

import base64
import hashlib
import importlib
import io
import json
from decimal import Decimal
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from assets.models import Asset
from assets.provenance import marks
from assets.provenance.manifest import manifest_read
from generation import watermark
from generation.bedrock import bodies
from generation.bedrock.request import validate_request
from generation.bedrock.specs import SPECS, STABILITY_ASPECT_SIZES, TOOL_SPECS
from generation.emulator.render import WATERMARK_PREFIX
from generation.emulator.server import FILTER_HEADER
from tenants.models import Role

from .test_emulator import PHOTOS, edge_map, generate, pixels, png_bytes
from .test_pipeline import bucket_bytes, finished, ledger, submit

CREATIVE = "stability.stable-creative-upscale-v1:0"
CONSERVATIVE = "stability.stable-conservative-upscale-v1:0"
FAST = "stability.stable-fast-upscale-v1:0"
INPAINT = "stability.stable-image-inpaint-v1:0"
OUTPAINT = "stability.stable-outpaint-v1:0"
SEARCH_REPLACE = "stability.stable-image-search-replace-v1:0"
SEARCH_RECOLOR = "stability.stable-image-search-recolor-v1:0"
ERASE = "stability.stable-image-erase-object-v1:0"
REMOVE_BACKGROUND = "stability.stable-image-remove-background-v1:0"
CONTROL_SKETCH = "stability.stable-image-control-sketch-v1:0"
CONTROL_STRUCTURE = "stability.stable-image-control-structure-v1:0"
STYLE_GUIDE = "stability.stable-image-style-guide-v1:0"
STYLE_TRANSFER = "stability.stable-style-transfer-v1:0"
TOOLS = [spec.model_id for spec in TOOL_SPECS]
TOOL_PRICES = importlib.import_module("billing.migrations.0008_stability_image_service_prices").TOOL_PRICES


def photo_bytes(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def small(name: str, side: int = 256, mode: str = "RGB") -> bytes:
    """A photo shrunk to at most `side` px, as PNG: tests stay fast."""
    image = Image.open(PHOTOS / name).convert(mode)
    image.thumbnail((side, side))
    return png_bytes(image)


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def box_region(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    width, height = size
    region = np.zeros((height, width), bool)
    region[box[1] : box[3], box[0] : box[2]] = True
    return region


def atelier_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """Atelier's convention: black where to change, white to keep."""
    mask = Image.new("L", size, 255)
    mask.paste(0, box)
    return png_bytes(mask)


# --- (a) The body Atelier builds is AWS's documented example body ---------------------------------------------

COFFEE, CAT = photo_bytes("coffee.png"), photo_bytes("chelsea.png")
BIG_BOX = (200, 100, 400, 300)  # on coffee.png, 600x400

BIG_BEN = "This dreamlike digital art captures a vibrant, kaleidoscopic Big Ben in London"
# model → (the request a person makes, AWS's Python example body from the user guide "Stability AI Image
# Services" with its images as the photos, the defaults Atelier fills in). Source: /work/notes/stability-services.md.
DOCUMENTED = {
    CREATIVE: (
        {"image": COFFEE, "prompt": BIG_BEN, "creativity": 0.30},
        {"image": b64(COFFEE), "prompt": BIG_BEN, "creativity": 0.30},
        {"output_format": "png"},
    ),
    CONSERVATIVE: (
        {"image": COFFEE, "prompt": BIG_BEN, "creativity": 0.30},
        {"image": b64(COFFEE), "prompt": BIG_BEN, "creativity": 0.30},
        {"output_format": "png"},
    ),
    FAST: ({"image": COFFEE}, {"image": b64(COFFEE)}, {"output_format": "png"}),
    INPAINT: (
        {"image": COFFEE, "mask_image": atelier_mask((600, 400), BIG_BOX), "prompt": "artificer of time and space"},
        {"image": b64(COFFEE), "mask": mock.ANY, "prompt": "artificer of time and space"},
        {"grow_mask": 5, "output_format": "png"},
    ),
    OUTPAINT: (
        {"image": COFFEE, "left": 512, "right": 512, "up": 200, "down": 100},
        {"image": b64(COFFEE), "left": 512, "right": 512, "up": 200, "down": 100},
        {"creativity": 0.5, "output_format": "png"},
    ),
    SEARCH_REPLACE: (
        {"image": COFFEE, "prompt": "jacket", "search_prompt": "sweater"},
        {"image": b64(COFFEE), "prompt": "jacket", "search_prompt": "sweater"},
        {"grow_mask": 5, "output_format": "png"},
    ),
    SEARCH_RECOLOR: (
        {"image": COFFEE, "prompt": "pink jacket", "select_prompt": "jacket"},
        {"image": b64(COFFEE), "prompt": "pink jacket", "select_prompt": "jacket"},
        {"grow_mask": 5, "output_format": "png"},
    ),
    ERASE: (
        {"image": COFFEE, "mask_image": atelier_mask((600, 400), BIG_BOX)},
        {"image": b64(COFFEE), "mask": mock.ANY},
        {"grow_mask": 5, "output_format": "png"},
    ),
    REMOVE_BACKGROUND: ({"image": COFFEE}, {"image": b64(COFFEE)}, {"output_format": "png"}),
    CONTROL_SKETCH: (
        {"image": COFFEE, "prompt": "a house with background of mountains and river flowing nearby"},
        {"image": b64(COFFEE), "prompt": "a house with background of mountains and river flowing nearby"},
        {"control_strength": 0.7, "output_format": "png"},
    ),
    CONTROL_STRUCTURE: (
        {"image": COFFEE, "prompt": "surreal structure with motion generated sparks lighting the scene"},
        {"image": b64(COFFEE), "prompt": "surreal structure with motion generated sparks lighting the scene"},
        {"control_strength": 0.7, "output_format": "png"},
    ),
    STYLE_GUIDE: (
        {"image": COFFEE, "prompt": "wide shot of modern metropolis"},
        {"image": b64(COFFEE), "prompt": "wide shot of modern metropolis"},
        {"fidelity": 0.5, "aspect_ratio": "1:1", "output_format": "png"},
    ),
    STYLE_TRANSFER: (
        {"image": COFFEE, "style_image": CAT, "prompt": "statue"},
        {"init_image": b64(COFFEE), "style_image": b64(CAT), "prompt": "statue"},
        {"style_strength": 1.0, "composition_fidelity": 0.9, "change_strength": 0.9, "output_format": "png"},
    ),
}  # fmt: skip


def test_every_tool_is_documented_here():
    assert set(DOCUMENTED) == set(TOOLS) and len(TOOLS) == 13


@pytest.mark.parametrize("model_id", TOOLS)
def test_the_body_is_awss_example_plus_atelier_defaults(model_id):
    raw, example, defaults = DOCUMENTED[model_id]
    request = validate_request(SPECS[model_id], raw)  # no task_type: the model id implies it

    calls = bodies.build_calls(request)

    assert calls == [example | defaults]  # one call, no seed asked for so none sent (Stability picks one)


@pytest.mark.parametrize("model_id", [INPAINT, ERASE])
def test_the_mask_goes_out_inverted_white_where_to_change(model_id):
    raw, _, _ = DOCUMENTED[model_id]

    wire = bodies.build_calls(validate_request(SPECS[model_id], raw))[0]["mask"]

    mask = np.asarray(Image.open(io.BytesIO(base64.b64decode(wire))).convert("L"))
    inside = box_region((600, 400), BIG_BOX)
    assert mask.shape == (400, 600)
    assert (mask[inside] == 255).all() and (mask[~inside] == 0).all()


def test_a_seed_and_n_make_calls_with_consecutive_seeds():
    request = validate_request(SPECS[SEARCH_RECOLOR], DOCUMENTED[SEARCH_RECOLOR][0] | {"seed": 7, "n": 3})

    assert [call["seed"] for call in bodies.build_calls(request)] == [7, 8, 9]


# --- (b) Over HTTP to the emulator through real boto3: every tool keeps its meaning ---------------------------

SMALL_COFFEE = small("coffee.png")  # 256x171
SIZE = size_of(SMALL_COFFEE)
BOX = (90, 40, 170, 130)  # over the cup


def http_raw(model_id: str) -> dict:
    """A typical request for each tool on a small photo, seeded."""
    cat = small("chelsea.png")
    return {
        CREATIVE: {"image": SMALL_COFFEE, "prompt": "a cup of coffee", "seed": 3},
        CONSERVATIVE: {"image": SMALL_COFFEE, "prompt": "a cup of coffee", "seed": 3},
        FAST: {"image": SMALL_COFFEE},
        INPAINT: {"image": SMALL_COFFEE, "mask_image": atelier_mask(SIZE, BOX), "prompt": "a teapot", "seed": 3,
                  "grow_mask": 0},
        OUTPAINT: {"image": SMALL_COFFEE, "left": 40, "right": 8, "up": 16, "down": 24, "seed": 3},
        SEARCH_REPLACE: {"image": SMALL_COFFEE, "prompt": "a teapot", "search_prompt": "cup", "seed": 3,
                         "grow_mask": 0},
        SEARCH_RECOLOR: {"image": SMALL_COFFEE, "prompt": "a blue cup", "select_prompt": "cup", "seed": 3,
                         "grow_mask": 0},
        ERASE: {"image": SMALL_COFFEE, "mask_image": atelier_mask(SIZE, BOX), "seed": 3, "grow_mask": 0},
        REMOVE_BACKGROUND: {"image": SMALL_COFFEE},
        CONTROL_SKETCH: {"image": SMALL_COFFEE, "prompt": "a cup", "seed": 3},
        CONTROL_STRUCTURE: {"image": SMALL_COFFEE, "prompt": "a cup", "seed": 3},
        STYLE_GUIDE: {"image": SMALL_COFFEE, "prompt": "a city", "aspect_ratio": "16:9", "seed": 3},
        STYLE_TRANSFER: {"image": SMALL_COFFEE, "style_image": cat, "seed": 3},
    }[model_id]  # fmt: skip


def one_image(bedrock_client, model_id: str, raw: dict, **kwargs) -> tuple:
    request, images, results = generate(bedrock_client, model_id, raw, **kwargs)
    assert len(images) == 1 and results[0].filtered == 0
    return request, images[0]


@pytest.mark.parametrize("model_id", TOOLS)
@pytest.mark.parametrize("output_format", ["png", "webp"])
def test_every_tool_answers_at_its_output_size_in_the_asked_format(bedrock_client, model_id, output_format):
    raw = http_raw(model_id) | {"output_format": output_format}
    request, data = one_image(bedrock_client, model_id, raw)

    image = Image.open(io.BytesIO(data))
    assert image.size == request.output_size
    assert image.format == output_format.upper()
    if output_format == "png":
        assert (image.info["atelier:emulator"], image.info["atelier:model"]) == ("true", model_id)
    assert (image.mode == "RGBA") is (model_id == REMOVE_BACKGROUND)


def test_jpeg_output(bedrock_client):
    _, data = one_image(bedrock_client, SEARCH_REPLACE, http_raw(SEARCH_REPLACE) | {"output_format": "jpeg"})

    assert Image.open(io.BytesIO(data)).format == "JPEG"


def test_same_request_same_bytes_another_seed_other_bytes(bedrock_client):
    raw = http_raw(SEARCH_REPLACE)

    first, again = one_image(bedrock_client, SEARCH_REPLACE, raw)[1], one_image(bedrock_client, SEARCH_REPLACE, raw)[1]
    other = one_image(bedrock_client, SEARCH_REPLACE, raw | {"seed": 4})[1]

    assert first == again != other


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def shrunk(data: bytes, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize(size, Image.Resampling.BOX)).astype(np.int16)


@pytest.mark.parametrize("model_id", [CREATIVE, CONSERVATIVE, FAST])
def test_an_upscale_is_bigger_and_shrinks_back_to_the_input(bedrock_client, model_id):
    request, data = one_image(bedrock_client, model_id, http_raw(model_id))
    source = pixels(SMALL_COFFEE)
    unrelated = np.asarray(Image.open(PHOTOS / "chelsea.png").convert("RGB").resize(SIZE)).astype(np.int16)

    width, height = size_of(data)
    if model_id == FAST:
        assert (width, height) == (4 * SIZE[0], 4 * SIZE[1])
    else:
        assert width * height >= 4_000_000 and abs(width / height - SIZE[0] / SIZE[1]) < 0.01
    back = shrunk(data, SIZE)
    assert mean_abs(back, source) < 4
    assert mean_abs(back, unrelated) > 10 * mean_abs(back, source)


def test_creative_invents_more_detail_than_conservative_and_fast_almost_none(bedrock_client):
    def invented(model_id: str) -> float:
        request, data = one_image(bedrock_client, model_id, http_raw(model_id))
        smooth = Image.open(io.BytesIO(SMALL_COFFEE)).convert("RGB").resize(size_of(data), Image.Resampling.BICUBIC)
        return mean_abs(pixels(data), np.asarray(smooth))

    creative, conservative, fast = invented(CREATIVE), invented(CONSERVATIVE), invented(FAST)
    assert creative > 1.5 * conservative > 1.5 * fast
    assert fast < 1.5


def test_more_creativity_more_detail(bedrock_client):
    def invented(creativity: float) -> float:
        raw = http_raw(CONSERVATIVE) | {"creativity": creativity}
        data = one_image(bedrock_client, CONSERVATIVE, raw)[1]
        smooth = Image.open(io.BytesIO(SMALL_COFFEE)).convert("RGB").resize(size_of(data), Image.Resampling.BICUBIC)
        return mean_abs(pixels(data), np.asarray(smooth))

    assert invented(0.5) > 1.5 * invented(0.1)


@pytest.mark.parametrize("model_id", [INPAINT, ERASE])
def test_inpaint_and_erase_change_only_the_masked_pixels(bedrock_client, model_id):
    source = pixels(SMALL_COFFEE)
    inside = box_region(SIZE, BOX)

    edited = pixels(one_image(bedrock_client, model_id, http_raw(model_id))[1])

    assert (edited[~inside] == source[~inside]).all()
    assert (edited[inside] != source[inside]).any(axis=1).mean() > 0.9


@pytest.mark.parametrize("model_id", [INPAINT, SEARCH_RECOLOR])
def test_webp_output_is_lossless_so_the_kept_pixels_stay_byte_identical(bedrock_client, model_id):
    source = pixels(SMALL_COFFEE)
    kept = ~box_region(SIZE, BOX) if model_id == INPAINT else ~central(0.62)

    webp = one_image(bedrock_client, model_id, http_raw(model_id) | {"output_format": "webp"})[1]

    assert Image.open(io.BytesIO(webp)).format == "WEBP"
    assert (pixels(webp)[kept] == source[kept]).all()
    assert (pixels(webp)[~kept] != source[~kept]).any(axis=1).mean() > 0.5


@pytest.mark.parametrize("model_id", [FAST, REMOVE_BACKGROUND, CONTROL_STRUCTURE, STYLE_GUIDE, STYLE_TRANSFER])
def test_the_emulators_watermark_is_in_what_a_tool_makes(bedrock_client, model_id):
    data = one_image(bedrock_client, model_id, http_raw(model_id))[1]

    mark = watermark.detect(Image.open(io.BytesIO(data)))

    assert mark is not None and mark.startswith(WATERMARK_PREFIX)


@pytest.mark.parametrize("model_id", [INPAINT, ERASE])
def test_grow_mask_widens_the_region_by_that_many_pixels(bedrock_client, model_id):
    source = pixels(SMALL_COFFEE)
    x0, y0, x1, y1 = BOX
    grown = box_region(SIZE, (x0 - 6, y0 - 6, x1 + 6, y1 + 6))
    ring = grown & ~box_region(SIZE, BOX)

    edited = pixels(one_image(bedrock_client, model_id, http_raw(model_id) | {"grow_mask": 6})[1])

    assert (edited[~grown] == source[~grown]).all()
    assert (edited[ring] != source[ring]).any(axis=1).mean() > 0.5


@pytest.mark.parametrize("model_id", [INPAINT, ERASE])
def test_without_a_mask_the_transparent_pixels_are_the_region(bedrock_client, model_id):
    image = Image.open(io.BytesIO(SMALL_COFFEE)).convert("RGBA")
    image.paste((0, 0, 0, 0), BOX)
    raw = {key: value for key, value in http_raw(model_id).items() if key != "mask_image"} | {"image": png_bytes(image)}
    source, inside = pixels(SMALL_COFFEE), box_region(SIZE, BOX)

    edited = pixels(one_image(bedrock_client, model_id, raw)[1])

    assert (edited[~inside] == source[~inside]).all()
    assert (edited[inside] != 0).any(axis=1).mean() > 0.9  # the transparent black became something


def test_erase_fills_the_region_with_the_surrounding_colours(bedrock_client):
    source = pixels(SMALL_COFFEE)
    x0, y0, x1, y1 = BOX
    inside = box_region(SIZE, BOX)
    ring = box_region(SIZE, (x0 - 8, y0 - 8, x1 + 8, y1 + 8)) & ~inside

    erased = pixels(one_image(bedrock_client, ERASE, http_raw(ERASE))[1])

    surroundings = source[ring].mean(axis=0)
    assert np.abs(erased[inside].mean(axis=0) - surroundings).max() < 20

    # The object's edges are gone: what flowed in is smooth.
    def texture(image: np.ndarray) -> float:
        return float(np.abs(np.diff(image[y0:y1, x0:x1].astype(float), axis=1)).mean())

    assert texture(erased) < 4 and texture(erased) < texture(source) / 2


def test_outpaint_keeps_the_original_at_its_offset(bedrock_client):
    request, data = one_image(bedrock_client, OUTPAINT, http_raw(OUTPAINT))
    source = pixels(SMALL_COFFEE)
    width, height = SIZE

    canvas = pixels(data)

    assert size_of(data) == (width + 40 + 8, height + 16 + 24) == request.output_size
    assert (canvas[16 : 16 + height, 40 : 40 + width] == source).all()
    new = np.ones(canvas.shape[:2], bool)
    new[16 : 16 + height, 40 : 40 + width] = False
    assert canvas[new].std(axis=0).min() > 5  # new pixels, not a flat fill
    # Next to the original the new area carries its colours outwards (creativity 0.5).
    assert mean_abs(canvas[16 : 16 + height, 30:40], source[:, :1]) < 60


def central(fraction: float) -> np.ndarray:
    """A box around the centre, `fraction` of each side: inside the selected ellipse (radii 0.3) or containing it."""
    width, height = SIZE
    half_w, half_h = int(width * fraction / 2), int(height * fraction / 2)
    return box_region(SIZE, (width // 2 - half_w, height // 2 - half_h, width // 2 + half_w, height // 2 + half_h))


def test_search_and_replace_changes_the_found_region_only(bedrock_client):
    source = pixels(SMALL_COFFEE)

    replaced = pixels(one_image(bedrock_client, SEARCH_REPLACE, http_raw(SEARCH_REPLACE))[1])

    outside, inside = ~central(0.62), central(0.3)
    assert (replaced[outside] == source[outside]).all()
    assert (replaced[inside] != source[inside]).any(axis=1).mean() > 0.9


def hue_and_luma(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hsv = np.asarray(Image.fromarray(image.astype(np.uint8)).convert("HSV")).astype(np.float32)
    luma = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return hsv[..., 0] * 360 / 256, hsv[..., 1], luma


def test_search_and_recolor_turns_the_hue_and_keeps_the_structure(bedrock_client):
    source = pixels(SMALL_COFFEE)

    recoloured = pixels(one_image(bedrock_client, SEARCH_RECOLOR, http_raw(SEARCH_RECOLOR))[1])

    outside, inside = ~central(0.62), central(0.3)
    assert (recoloured[outside] == source[outside]).all()
    hue_before, saturation_before, luma_before = hue_and_luma(source)
    hue_after, saturation_after, luma_after = hue_and_luma(recoloured)
    coloured = inside & (saturation_before > 40) & (saturation_after > 40)
    turn = np.abs((hue_after[coloured] - hue_before[coloured] + 180) % 360 - 180)
    assert coloured.sum() > 500 and np.median(turn) > 45
    assert np.corrcoef(luma_before[inside], luma_after[inside])[0, 1] > 0.95
    assert np.abs(luma_after[inside] - luma_before[inside]).mean() < 8


@pytest.mark.parametrize("output_format", ["png", "webp"])
def test_remove_background_is_transparent_outside_the_subject(bedrock_client, output_format):
    raw = http_raw(REMOVE_BACKGROUND) | {"output_format": output_format}

    image = Image.open(io.BytesIO(one_image(bedrock_client, REMOVE_BACKGROUND, raw)[1]))

    alpha = np.asarray(image)[..., 3]
    assert (image.mode, image.format) == ("RGBA", output_format.upper())
    assert (alpha[0] == 0).all() and (alpha[-1] == 0).all() and (alpha[:, 0] == 0).all() and (alpha[:, -1] == 0).all()
    assert (alpha[central(0.3)] == 255).mean() > 0.5
    assert set(np.unique(alpha)) == {0, 255}


@pytest.mark.parametrize("model_id", [CONTROL_SKETCH, CONTROL_STRUCTURE])
def test_control_follows_the_inputs_edges_as_strongly_as_asked(bedrock_client, model_id):
    def follows(control_strength: float, condition: bytes = SMALL_COFFEE) -> float:
        raw = http_raw(model_id) | {"control_strength": control_strength}
        output = edge_map(pixels(one_image(bedrock_client, model_id, raw)[1]))
        return np.corrcoef(output.ravel(), edge_map(pixels(condition)).ravel())[0, 1]

    unrelated = png_bytes(Image.open(PHOTOS / "chelsea.png").convert("RGB").resize(SIZE))
    strong = follows(1.0)
    assert strong > 0.5
    assert strong > follows(1.0, unrelated) + 0.3
    assert strong > follows(0.0) + 0.3  # at strength 0 the scene owes the input nothing


def mean_colour(data: bytes) -> np.ndarray:
    return pixels(data).reshape(-1, 3).mean(axis=0)


def test_style_guide_takes_the_references_colours_at_the_aspect_ratios_size(bedrock_client):
    reference, other = SMALL_COFFEE, small("astronaut.png")
    raw = http_raw(STYLE_GUIDE) | {"fidelity": 1.0}

    from_coffee = one_image(bedrock_client, STYLE_GUIDE, raw)[1]
    from_astronaut = one_image(bedrock_client, STYLE_GUIDE, raw | {"image": other})[1]

    assert size_of(from_coffee) == STABILITY_ASPECT_SIZES["16:9"]
    for output, own, unrelated in ((from_coffee, reference, other), (from_astronaut, other, reference)):
        assert (
            np.abs(mean_colour(output) - mean_colour(own)).mean()
            < 0.5 * np.abs(mean_colour(output) - mean_colour(unrelated)).mean()
        )


def test_style_transfer_keeps_the_init_images_structure_in_the_style_images_colours(bedrock_client):
    init, other_init = SMALL_COFFEE, png_bytes(Image.open(PHOTOS / "astronaut.png").convert("RGB").resize(SIZE))
    style, other_style = small("chelsea.png"), png_bytes(Image.open(PHOTOS / "rocket.jpg").convert("RGB").resize(SIZE))
    raw = http_raw(STYLE_TRANSFER) | {"image": init, "style_image": style}

    base = one_image(bedrock_client, STYLE_TRANSFER, raw)[1]
    new_style = one_image(bedrock_client, STYLE_TRANSFER, raw | {"style_image": other_style})[1]
    new_init = one_image(bedrock_client, STYLE_TRANSFER, raw | {"image": other_init})[1]

    assert base != new_style and base != new_init
    structure = edge_map(pixels(base)).ravel()
    assert np.corrcoef(structure, edge_map(pixels(init)).ravel())[0, 1] > 0.6
    assert np.corrcoef(edge_map(pixels(new_init)).ravel(), edge_map(pixels(other_init)).ravel())[0, 1] > 0.6
    assert np.abs(mean_colour(base) - mean_colour(style)).max() < 15
    assert np.abs(mean_colour(new_style) - mean_colour(other_style)).max() < 15
    assert np.abs(mean_colour(base) - mean_colour(init)).max() > 15


def test_style_transfer_weights_move_the_result(bedrock_client):
    raw = http_raw(STYLE_TRANSFER)
    init = pixels(SMALL_COFFEE)

    def distance_from_init(**weights) -> float:
        return mean_abs(pixels(one_image(bedrock_client, STYLE_TRANSFER, raw | weights)[1]), init)

    assert distance_from_init(change_strength=0.1) < 0.5 * distance_from_init(change_strength=1.0)
    assert distance_from_init(style_strength=0.0, composition_fidelity=1.0) < distance_from_init(style_strength=1.0)


def test_a_blocked_word_in_a_tools_prompt_withholds_the_image(bedrock_client):
    for model_id, raw in (
        (SEARCH_REPLACE, http_raw(SEARCH_REPLACE) | {"prompt": "a forbidden teapot"}),
        (SEARCH_RECOLOR, http_raw(SEARCH_RECOLOR) | {"select_prompt": "the forbidden cup"}),
        (STYLE_TRANSFER, http_raw(STYLE_TRANSFER) | {"negative_prompt": "forbidden"}),
    ):
        _, images, results = generate(bedrock_client, model_id, raw)

        assert images == [], model_id
        assert results[0].filtered == 1 and results[0].filter_reasons == ["Filter reason: output image"]


def test_the_filter_header_withholds_a_tools_image_even_without_a_prompt(bedrock_client):
    _, images, results = generate(bedrock_client, ERASE, http_raw(ERASE), headers={FILTER_HEADER: "1"})

    assert images == [] and results[0].filter_reasons == ["Filter reason: output image"]


def wire_body(model_id: str, **changes) -> dict:
    body = bodies.build_calls(validate_request(SPECS[model_id], http_raw(model_id)))[0]
    return {key: value for key, value in (body | changes).items() if value is not None}


@pytest.mark.parametrize(
    ("model_id", "changes", "expected"),
    [
        (CREATIVE, {"creativity": 0.9}, "#/creativity"),
        (CONSERVATIVE, {"prompt": None}, "#/prompt"),
        (INPAINT, {"grow_mask": 30}, "#/grow_mask"),
        (OUTPAINT, {"left": 2500}, "#/left"),
        (SEARCH_REPLACE, {"search_prompt": None}, "#/search_prompt"),
        (CONTROL_SKETCH, {"control_strength": 1.5}, "#/control_strength"),
        (STYLE_GUIDE, {"aspect_ratio": "7:3"}, "#/aspect_ratio"),
        (STYLE_TRANSFER, {"style_image": None}, "#/style_image"),
        (STYLE_TRANSFER, {"init_image": "bm90IGFuIGltYWdl"}, "#/init_image"),
        (ERASE, {"mask": b64(png_bytes(Image.new("L", (10, 10), 255)))}, "#/mask"),
        (FAST, {"prompt": "sharper"}, "extraneous key [prompt]"),
        (REMOVE_BACKGROUND, {"output_format": "gif"}, "#/output_format"),
        (SEARCH_RECOLOR, {"seed": 4_294_967_295}, "#/seed"),
    ],
)  # fmt: skip
def test_bad_fields_are_a_validation_exception_naming_the_wire_key(bedrock_client, model_id, changes, expected):
    with pytest.raises(bedrock_client.exceptions.ValidationException) as raised:
        bedrock_client.invoke_model(modelId=f"us.{model_id}", body=json.dumps(wire_body(model_id, **changes)))

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert expected in raised.value.response["Error"]["Message"]


# --- (c) Through the REST API with a real Celery worker: stored, marked, signed, priced ------------------------


def api_body(model_id: str) -> dict:
    """What a person posts: the tool's fields, images as base64, no task_type (the model says it)."""
    raw = http_raw(model_id)
    return {"model": model_id} | {key: b64(value) if isinstance(value, bytes) else value for key, value in raw.items()}


@pytest.fixture
def api(pipeline, tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("model_id", TOOLS)
def test_a_tool_job_ends_as_a_stored_marked_signed_and_priced_asset(api, pipeline, model_id):
    expected_size = validate_request(SPECS[model_id], http_raw(model_id)).output_size
    price = Decimal(TOOL_PRICES[model_id])

    response = submit(api, api_body(model_id))
    assert response.status_code == 201, response.json()
    job = finished(api, response.json()["id"], timeout=120)

    assert job["status"] == "succeeded", job["error"]
    assert len(job["assets"]) == 1
    asset = Asset.objects.get(pk=job["assets"][0]["id"])
    data = bucket_bytes(pipeline, asset.file_key)
    image = Image.open(io.BytesIO(data))
    assert image.size == (asset.width, asset.height) == expected_size
    assert (image.format, asset.bytes) == ("PNG", len(data))
    assert (image.mode == "RGBA") is (model_id == REMOVE_BACKGROUND)
    assert marks.read(image) == asset.watermark_id is not None
    reading = manifest_read(data=data, image_format="png")
    assert reading.result == "trusted" and reading.signed_by_atelier
    assert reading.atelier["model"] == model_id and reading.atelier["task"] == SPECS[model_id].tasks[0].value
    assert ledger(job["id"]) == {"reserve": price, "charge": price, "release": Decimal("0")}
    assert Decimal(job["cost"]) == price
    # The inputs it was made from are stored as uploads and are its parents (a mask is an input, not a parent).
    inputs = [http_raw(model_id)[name] for name in ("image", "style_image") if name in http_raw(model_id)]
    parents = Asset.objects.filter(
        kind=Asset.Kind.UPLOAD, sha256__in=[hashlib.sha256(data).hexdigest() for data in inputs]
    )
    assert parents.count() == len(inputs)
    assert set(job["assets"][0]["parents"]) == {str(parent.pk) for parent in parents}
    assert pipeline.emulator.invocations() == 1
