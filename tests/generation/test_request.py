"""validate_request: every limit of every model refused by field name, its edge value accepted,
defaults filled, form-style strings accepted, and params()/fingerprint() stable."""

import base64
import hashlib
import io
import json

import pytest
from PIL import Image

from generation.bedrock.request import ImageRequest, RequestInvalid, validate_request
from generation.bedrock.specs import SPECS, Task

TITAN_V1 = "amazon.titan-image-generator-v1"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
NOVA = "amazon.nova-canvas-v1:0"
CORE = "stability.stable-image-core-v1:0"
ULTRA = "stability.stable-image-ultra-v1:1"
SD35 = "stability.sd3-5-large-v1:0"


def png(width: int = 64, height: int = 64, colour=(40, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def mask_png(width: int = 64, height: int = 64) -> bytes:
    """White (keep) with a black (edit) square in the middle."""
    mask = Image.new("L", (width, height), 255)
    mask.paste(0, (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    return buffer.getvalue()


PHOTO = png()
PHOTO_B64 = b64(PHOTO)
OTHER_PHOTO_B64 = b64(png(colour=(200, 30, 30)))
MASK_B64 = b64(mask_png())

TEXT = {"prompt": "a lighthouse at dusk"}
CONDITIONED = {"prompt": "a lighthouse at dusk", "condition_image": PHOTO_B64}
COLOR = {"task_type": "COLOR_GUIDED_GENERATION", "prompt": "a poster", "colors": ["#FF0000"]}
VARIATION = {"task_type": "IMAGE_VARIATION", "images": [PHOTO_B64]}
INPAINT = {"task_type": "INPAINTING", "image": PHOTO_B64, "mask_prompt": "the sky"}
OUTPAINT = {"task_type": "OUTPAINTING", "image": PHOTO_B64, "mask_image": MASK_B64}
BACKGROUND = {"task_type": "BACKGROUND_REMOVAL", "image": PHOTO_B64}
IMAGE_TO_IMAGE = {"task_type": "IMAGE_TO_IMAGE", "prompt": "a watercolour", "image": PHOTO_B64, "strength": 0.5}
TRY_ON = {"task_type": "VIRTUAL_TRY_ON", "image": PHOTO_B64, "reference_image": PHOTO_B64, "mask_type": "PROMPT",
          "mask_prompt": "the jacket"}  # fmt: skip


def validate(model_id: str, raw: dict) -> ImageRequest:
    return validate_request(SPECS[model_id], raw)


def refused(model_id: str, raw: dict) -> dict[str, list[str]]:
    """The fields RequestInvalid names (the test fails if the request passes)."""
    with pytest.raises(RequestInvalid) as caught:
        validate(model_id, raw)
    return caught.value.fields


def colours(count: int) -> list[str]:
    return [f"#{index:02X}{index:02X}{index:02X}" for index in range(count)]


# --- Every limit: the edge value passes (and lands in the request), one step past it is refused. ---

ACCEPTED_EDGES = [
    # (model, raw, request attribute, expected value)
    pytest.param(TITAN_V2, {"prompt": "x"}, "prompt", "x", id="prompt-1-char"),
    pytest.param(TITAN_V2, {"prompt": "p" * 1024}, "prompt", "p" * 1024, id="prompt-1024-titan-v2"),
    pytest.param(NOVA, {"prompt": "p" * 1024}, "prompt", "p" * 1024, id="prompt-1024-nova"),
    pytest.param(TITAN_V1, {"prompt": "p" * 512}, "prompt", "p" * 512, id="prompt-512-titan-v1"),
    pytest.param(CORE, {"prompt": "p" * 10_000}, "prompt", "p" * 10_000, id="prompt-10000-core"),
    pytest.param(SD35, {"prompt": "p" * 10_000}, "prompt", "p" * 10_000, id="prompt-10000-sd35"),
    pytest.param(TITAN_V2, {**TEXT, "negative_prompt": "n" * 1024}, "negative_prompt", "n" * 1024, id="neg-1024"),
    pytest.param(ULTRA, {**TEXT, "negative_prompt": "n" * 10_000}, "negative_prompt", "n" * 10_000, id="neg-10000"),
    pytest.param(TITAN_V2, {**TEXT, "n": 1}, "n", 1, id="n-1"),
    pytest.param(TITAN_V2, {**TEXT, "n": 5}, "n", 5, id="n-5-titan"),
    pytest.param(NOVA, {**TEXT, "n": 5}, "n", 5, id="n-5-nova"),
    pytest.param(CORE, {**TEXT, "n": 5}, "n", 5, id="n-5-stability"),
    pytest.param(TITAN_V2, {**TEXT, "cfg_scale": 1.1}, "cfg_scale", 1.1, id="cfg-1.1"),
    pytest.param(NOVA, {**TEXT, "cfg_scale": 10}, "cfg_scale", 10.0, id="cfg-10"),
    pytest.param(TITAN_V2, {**VARIATION, "similarity_strength": 0.2}, "similarity_strength", 0.2, id="similar-0.2"),
    pytest.param(NOVA, {**VARIATION, "similarity_strength": 1.0}, "similarity_strength", 1.0, id="similar-1.0"),
    pytest.param(TITAN_V2, {**CONDITIONED, "control_strength": 0}, "control_strength", 0.0, id="control-0"),
    pytest.param(NOVA, {**CONDITIONED, "control_strength": 1}, "control_strength", 1.0, id="control-1"),
    pytest.param(TITAN_V2, {**CONDITIONED, "control_mode": "SEGMENTATION"}, "control_mode", "SEGMENTATION", id="seg"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "strength": 0}, "strength", 0.0, id="strength-0"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "strength": 1}, "strength", 1.0, id="strength-1"),
    pytest.param(TITAN_V2, {**COLOR, "colors": colours(10)}, "colors", tuple(colours(10)), id="10-colours"),
    pytest.param(NOVA, {**COLOR, "colors": ["#fcf2ab"]}, "colors", ("#FCF2AB",), id="lowercase-hex"),
    pytest.param(TITAN_V2, {**VARIATION, "images": [PHOTO_B64] * 5}, "images", 5, id="5-variation-images"),
    pytest.param(TITAN_V1, {**TEXT, "size": "1173x640"}, "output_size", (1173, 640), id="titan-1173x640"),
    pytest.param(TITAN_V2, {**TEXT, "width": 704, "height": 320}, "output_size", (704, 320), id="titan-704x320"),
    pytest.param(NOVA, {**TEXT, "size": "4096x1024"}, "output_size", (4096, 1024), id="nova-4096x1024"),
    pytest.param(NOVA, {**TEXT, "size": "1024x4096"}, "output_size", (1024, 4096), id="nova-1024x4096"),
    pytest.param(NOVA, {**TEXT, "size": "2048x2048"}, "output_size", (2048, 2048), id="nova-2048x2048-max-px"),
    pytest.param(NOVA, {**TEXT, "size": "336x1344"}, "output_size", (336, 1344), id="nova-336x1344-1:4"),
    pytest.param(NOVA, {**TEXT, "width": 320, "height": 320}, "output_size", (320, 320), id="nova-320x320"),
    pytest.param(CORE, {**TEXT, "aspect_ratio": "9:21"}, "output_size", (640, 1536), id="stability-9:21"),
    pytest.param(NOVA, {**TEXT, "style": "PHOTOREALISM"}, "style", "PHOTOREALISM", id="nova-style"),
    pytest.param(TITAN_V2, {**TEXT, "quality": "premium"}, "quality", "premium", id="premium"),
    pytest.param(NOVA, {**OUTPAINT, "outpainting_mode": "PRECISE"}, "outpainting_mode", "PRECISE", id="precise"),
    pytest.param(CORE, {**TEXT, "output_format": "jpeg"}, "output_format", "jpeg", id="stability-jpeg"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "output_format": "jpeg"}, "output_format", "jpeg", id="i2i-jpeg"),
]


@pytest.mark.parametrize(("model_id", "raw", "attribute", "expected"), ACCEPTED_EDGES)
def test_edge_value_is_accepted(model_id, raw, attribute, expected):
    request = validate(model_id, raw)
    value = getattr(request, attribute)
    if attribute == "images":
        assert len(value) == expected
    else:
        assert value == expected


REFUSED = [
    # (model, raw, the field RequestInvalid must name)
    pytest.param(TITAN_V2, {}, "prompt", id="prompt-missing"),
    pytest.param(TITAN_V2, {"prompt": ""}, "prompt", id="prompt-empty"),
    pytest.param(TITAN_V2, {"prompt": 42}, "prompt", id="prompt-not-text"),
    pytest.param(TITAN_V2, {"prompt": "p" * 1025}, "prompt", id="prompt-1025-titan-v2"),
    pytest.param(NOVA, {"prompt": "p" * 1025}, "prompt", id="prompt-1025-nova"),
    pytest.param(TITAN_V1, {"prompt": "p" * 513}, "prompt", id="prompt-513-titan-v1"),
    pytest.param(CORE, {"prompt": "p" * 10_001}, "prompt", id="prompt-10001-core"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "prompt": "p" * 10_001}, "prompt", id="prompt-10001-sd35-i2i"),
    pytest.param(TITAN_V2, {**COLOR, "prompt": None}, "prompt", id="colour-needs-prompt"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "prompt": None}, "prompt", id="i2i-needs-prompt"),
    pytest.param(TITAN_V2, {**TEXT, "negative_prompt": "n" * 1025}, "negative_prompt", id="neg-1025"),
    pytest.param(ULTRA, {**TEXT, "negative_prompt": "n" * 10_001}, "negative_prompt", id="neg-10001"),
    pytest.param(TITAN_V2, {**TEXT, "n": 0}, "n", id="n-0"),
    pytest.param(TITAN_V2, {**TEXT, "n": 6}, "n", id="n-6-titan"),
    pytest.param(NOVA, {**TEXT, "n": 6}, "n", id="n-6-nova"),
    pytest.param(CORE, {**TEXT, "n": 6}, "n", id="n-6-stability"),
    pytest.param(TITAN_V2, {**TEXT, "n": 2.5}, "n", id="n-fraction"),
    pytest.param(TITAN_V2, {**TEXT, "cfg_scale": 1.09}, "cfg_scale", id="cfg-1.09"),
    pytest.param(NOVA, {**TEXT, "cfg_scale": 10.01}, "cfg_scale", id="cfg-10.01"),
    pytest.param(TITAN_V2, {**TEXT, "cfg_scale": "nan"}, "cfg_scale", id="cfg-nan"),
    pytest.param(CORE, {**TEXT, "cfg_scale": 5}, "cfg_scale", id="cfg-on-stability"),
    pytest.param(TITAN_V2, {**VARIATION, "similarity_strength": 0.19}, "similarity_strength", id="similar-0.19"),
    pytest.param(NOVA, {**VARIATION, "similarity_strength": 1.01}, "similarity_strength", id="similar-1.01"),
    pytest.param(TITAN_V2, {**CONDITIONED, "control_strength": -0.01}, "control_strength", id="control-neg"),
    pytest.param(NOVA, {**CONDITIONED, "control_strength": 1.01}, "control_strength", id="control-1.01"),
    pytest.param(TITAN_V2, {**CONDITIONED, "control_mode": "EDGES"}, "control_mode", id="control-mode-unknown"),
    pytest.param(TITAN_V2, {**TEXT, "control_mode": "CANNY_EDGE"}, "control_mode", id="control-mode-no-image"),
    pytest.param(NOVA, {**TEXT, "control_strength": 0.5}, "control_strength", id="control-strength-no-image"),
    pytest.param(TITAN_V1, CONDITIONED, "condition_image", id="titan-v1-no-conditioning"),
    pytest.param(CORE, CONDITIONED, "condition_image", id="stability-no-conditioning"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "strength": None}, "strength", id="strength-required"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "strength": -0.1}, "strength", id="strength-neg"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "strength": 1.1}, "strength", id="strength-1.1"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "image": None}, "image", id="i2i-image-required"),
    pytest.param(TITAN_V2, {**COLOR, "colors": colours(11)}, "colors", id="11-colours"),
    pytest.param(TITAN_V2, {**COLOR, "colors": []}, "colors", id="no-colours"),
    pytest.param(TITAN_V2, {**COLOR, "colors": ["#12345G"]}, "colors", id="bad-hex-digit"),
    pytest.param(NOVA, {**COLOR, "colors": ["#FFF"]}, "colors", id="short-hex"),
    pytest.param(NOVA, {**COLOR, "colors": ["red"]}, "colors", id="colour-name"),
    pytest.param(NOVA, {**COLOR, "colors": ["FF0000"]}, "colors", id="hex-without-hash"),
    pytest.param(TITAN_V2, {**VARIATION, "images": []}, "images", id="0-variation-images"),
    pytest.param(TITAN_V2, {**VARIATION, "images": [PHOTO_B64] * 6}, "images", id="6-variation-images"),
    pytest.param(NOVA, {**VARIATION, "images": [PHOTO_B64, "not base64!"]}, "images.1", id="bad-variation-image"),
    pytest.param(TITAN_V1, {**BACKGROUND}, "task_type", id="bg-removal-titan-v1"),
    pytest.param(CORE, {**BACKGROUND}, "task_type", id="bg-removal-stability-core"),
    pytest.param(SD35, {**BACKGROUND}, "task_type", id="bg-removal-sd35"),
    pytest.param(TITAN_V1, {**COLOR}, "task_type", id="colour-titan-v1"),
    pytest.param(ULTRA, {**INPAINT}, "task_type", id="inpaint-stability"),
    pytest.param(CORE, {**IMAGE_TO_IMAGE}, "task_type", id="i2i-core"),
    pytest.param(NOVA, {**IMAGE_TO_IMAGE}, "task_type", id="i2i-nova"),
    pytest.param(TITAN_V2, {**TEXT, "task_type": "UPSCALE"}, "task_type", id="unknown-task"),
    pytest.param(TITAN_V2, {**TEXT, "task_type": "text_image"}, "task_type", id="task-lowercase"),
    pytest.param(TITAN_V1, {**TEXT, "size": "1000x1000"}, "size", id="titan-v1-1000x1000"),
    pytest.param(TITAN_V2, {**TEXT, "width": 1000, "height": 1000}, "width", id="titan-v2-1000x1000"),
    pytest.param(TITAN_V2, {**TEXT, "size": "640x1173"}, "size", id="titan-transposed-1173"),
    pytest.param(TITAN_V2, {**TEXT, "size": "big"}, "size", id="size-not-WxH"),
    pytest.param(NOVA, {**TEXT, "size": "4096x4096"}, "size", id="nova-4096x4096-pixels"),
    pytest.param(NOVA, {**TEXT, "size": "2048x2064"}, "size", id="nova-just-over-max-px"),
    pytest.param(NOVA, {**TEXT, "size": "320x1600"}, "size", id="nova-320x1600-ratio"),
    pytest.param(NOVA, {**TEXT, "size": "1600x320"}, "size", id="nova-1600x320-ratio"),
    pytest.param(NOVA, {**TEXT, "size": "1000x1000"}, "size", id="nova-not-multiple-of-16"),
    pytest.param(NOVA, {**TEXT, "size": "304x1024"}, "size", id="nova-below-320"),
    pytest.param(NOVA, {**TEXT, "size": "4112x1024"}, "size", id="nova-above-4096"),
    pytest.param(NOVA, {**TEXT, "width": 1008, "height": "a lot"}, "height", id="nova-height-not-number"),
    pytest.param(CORE, {**TEXT, "size": "1024x1024"}, "size", id="size-on-stability"),
    pytest.param(SD35, {**TEXT, "width": 1024}, "width", id="width-on-stability"),
    pytest.param(CORE, {**TEXT, "aspect_ratio": "7:5"}, "aspect_ratio", id="stability-unknown-ratio"),
    pytest.param(TITAN_V2, {**TEXT, "aspect_ratio": "1:1"}, "aspect_ratio", id="aspect-ratio-on-titan"),
    pytest.param(NOVA, {**TEXT, "aspect_ratio": "16:9"}, "aspect_ratio", id="aspect-ratio-on-nova"),
    pytest.param(SD35, {**IMAGE_TO_IMAGE, "aspect_ratio": "16:9"}, "aspect_ratio", id="aspect-ratio-on-i2i"),
    pytest.param(NOVA, {**TEXT, "style": "ANIME"}, "style", id="nova-unknown-style"),
    pytest.param(NOVA, {**TEXT, "style": "photorealism"}, "style", id="nova-style-lowercase"),
    pytest.param(TITAN_V2, {**TEXT, "style": "PHOTOREALISM"}, "style", id="style-on-titan"),
    pytest.param(CORE, {**TEXT, "style": "PHOTOREALISM"}, "style", id="style-on-stability"),
    pytest.param(NOVA, {**COLOR, "style": "PHOTOREALISM"}, "style", id="style-on-colour-guided"),
    pytest.param(TITAN_V2, {**TEXT, "quality": "ultra"}, "quality", id="quality-unknown"),
    pytest.param(CORE, {**TEXT, "quality": "premium"}, "quality", id="premium-on-stability"),
    pytest.param(NOVA, {**OUTPAINT, "outpainting_mode": "LOOSE"}, "outpainting_mode", id="outpainting-mode"),
    pytest.param(CORE, {**TEXT, "output_format": "webp"}, "output_format", id="stability-webp"),
    pytest.param(TITAN_V2, {**TEXT, "temperature": 0.7}, "temperature", id="unknown-field"),
    pytest.param(CORE, {**TEXT, "mode": "text-to-image"}, "mode", id="wire-name-is-unknown"),
    pytest.param(TITAN_V2, {**TEXT, "mask_prompt": "the sky"}, "mask_prompt", id="mask-prompt-on-text-image"),
    pytest.param(NOVA, {**TEXT, "colors": ["#FF0000"]}, "colors", id="colours-on-text-image"),
    pytest.param(SD35, {**TEXT, "strength": 0.5}, "strength", id="strength-on-text-image"),
    pytest.param(TITAN_V2, {**INPAINT, "size": "1024x1024"}, "size", id="size-on-inpainting"),
    pytest.param(NOVA, {**OUTPAINT, "width": 1024}, "width", id="width-on-outpainting"),
    pytest.param(TITAN_V2, {**INPAINT, "outpainting_mode": "PRECISE"}, "outpainting_mode", id="outpaint-mode-inpaint"),
    pytest.param(NOVA, {**INPAINT, "images": [PHOTO_B64]}, "images", id="images-on-inpainting"),
    pytest.param(NOVA, {**BACKGROUND, "prompt": "a cat"}, "prompt", id="prompt-on-bg-removal"),
    pytest.param(TITAN_V2, {**BACKGROUND, "n": 2}, "n", id="n-on-bg-removal"),
    pytest.param(TITAN_V2, {**BACKGROUND, "seed": 1}, "seed", id="seed-on-bg-removal"),
    pytest.param(TITAN_V2, {**VARIATION, "style": "PHOTOREALISM"}, "style", id="style-on-variation"),
]


@pytest.mark.parametrize(("model_id", "raw", "field"), REFUSED)
def test_limit_is_refused_by_field_name(model_id, raw, field):
    raw = {name: value for name, value in raw.items() if value is not None}
    fields = refused(model_id, raw)
    assert field in fields
    assert all(isinstance(reason, str) and reason for reason in fields[field])


@pytest.mark.parametrize("model_id", [model_id for model_id, spec in SPECS.items() if not spec.is_tool])
def test_seed_range_comes_from_the_model_spec(model_id):
    seed_max = SPECS[model_id].seed_max
    assert validate(model_id, {**TEXT, "seed": 0}).seed == 0
    assert validate(model_id, {**TEXT, "seed": seed_max}).seed == seed_max
    assert "seed" in refused(model_id, {**TEXT, "seed": seed_max + 1})
    assert "seed" in refused(model_id, {**TEXT, "seed": -1})


def test_seed_limits_per_family():
    assert SPECS[NOVA].seed_max == 858_993_459
    assert validate(NOVA, {**TEXT, "seed": 858_993_459}).seed == 858_993_459
    assert "seed" in refused(NOVA, {**TEXT, "seed": 858_993_460})
    assert validate(TITAN_V2, {**TEXT, "seed": 858_993_460}).seed == 858_993_460
    assert validate(CORE, {**TEXT, "seed": 4_294_967_295}).seed == 4_294_967_295


def test_task_refusal_names_the_tasks_the_model_does():
    fields = refused(TITAN_V1, BACKGROUND)
    assert list(fields) == ["task_type"]
    assert "BACKGROUND_REMOVAL" in fields["task_type"][0]
    assert "IMAGE_VARIATION" in fields["task_type"][0]  # what Titan v1 does instead


@pytest.mark.parametrize(
    ("model_id", "task"), [(m, t) for m, spec in SPECS.items() if not spec.is_tool for t in Task if t in spec.tasks]
)
def test_every_task_a_model_lists_is_accepted(model_id, task):
    raw = {
        Task.TEXT_IMAGE: TEXT,
        Task.COLOR_GUIDED_GENERATION: COLOR,
        Task.IMAGE_VARIATION: VARIATION,
        Task.INPAINTING: INPAINT,
        Task.OUTPAINTING: OUTPAINT,
        Task.BACKGROUND_REMOVAL: BACKGROUND,
        Task.IMAGE_TO_IMAGE: IMAGE_TO_IMAGE,
        Task.VIRTUAL_TRY_ON: TRY_ON,
    }[task]
    request = validate(model_id, {**raw, "task_type": task.value})
    assert (request.task, request.model_id, request.family) == (task, model_id, SPECS[model_id].family)


def test_nova_size_refusals_say_which_rule():
    assert "multiples of 16" in refused(NOVA, {**TEXT, "size": "1000x1000"})["size"][0]
    assert "aspect ratio" in refused(NOVA, {**TEXT, "size": "320x1600"})["size"][0]
    assert "4,194,304" in refused(NOVA, {**TEXT, "size": "4096x4096"})["size"][0]
    assert "320–4096" in refused(NOVA, {**TEXT, "size": "4112x1024"})["size"][0]


def test_titan_size_refusal_lists_the_supported_sizes():
    reason = refused(TITAN_V2, {**TEXT, "size": "1000x1000"})["size"][0]
    assert "1000x1000" in reason and "1173x640" in reason and "1024x1024" in reason


def test_size_on_stability_says_to_use_aspect_ratio():
    reason = refused(CORE, {**TEXT, "size": "1024x1024"})["size"][0]
    assert "aspect_ratio" in reason and "16:9" in reason


def test_several_bad_fields_are_reported_together():
    fields = refused(
        TITAN_V2,
        {"prompt": "p" * 2000, "n": 9, "cfg_scale": 20, "seed": -1, "size": "1000x1000", "style": "X", "bogus": 1},
    )
    assert set(fields) == {"prompt", "n", "cfg_scale", "seed", "size", "style", "bogus"}


def test_unknown_fields_are_reported_even_with_a_bad_task():
    fields = refused(TITAN_V1, {**BACKGROUND, "colour": "red", "temperature": 1})
    assert set(fields) == {"colour", "temperature", "task_type"}


def test_field_a_task_does_not_take_is_named_in_the_reason():
    reason = refused(TITAN_V2, {**TEXT, "mask_prompt": "the sky"})["mask_prompt"][0]
    assert "TEXT_IMAGE" in reason and "mask_prompt" in reason


def test_negation_words_are_a_warning_not_an_error():
    request = validate(TITAN_V2, {"prompt": "a beach without people, not crowded, No umbrellas"})
    assert request.prompt == "a beach without people, not crowded, No umbrellas"
    assert len(request.warnings) == 1
    warning = request.warnings[0]
    assert "'no'" in warning and "'not'" in warning and "'without'" in warning
    assert "negative_prompt" in warning


def test_words_that_merely_contain_no_are_not_flagged():
    assert validate(NOVA, {"prompt": "a knotted rope, nothing else, on snow"}).warnings == ()


def test_warnings_do_not_change_equality_or_params():
    flagged = validate(NOVA, {"prompt": "no cars", "seed": 3})
    assert flagged.warnings
    assert flagged == validate(NOVA, {"prompt": "no cars", "seed": 3})
    assert "warnings" not in flagged.params()


# --- Defaults ---


def test_titan_text_image_defaults():
    request = validate(TITAN_V2, TEXT)
    assert (request.task, request.n, request.quality, request.cfg_scale) == (Task.TEXT_IMAGE, 1, "standard", 6.5)
    assert (request.width, request.height, request.seed) == (1024, 1024, None)
    assert request.output_size == (1024, 1024)


def test_nova_defaults_to_1024_square_and_no_style():
    request = validate(NOVA, TEXT)
    assert (request.width, request.height, request.style, request.n) == (1024, 1024, None, 1)


def test_conditioning_defaults():
    request = validate(NOVA, CONDITIONED)
    assert (request.control_mode, request.control_strength) == ("CANNY_EDGE", 0.7)
    assert request.condition_image.sha256 == hashlib.sha256(PHOTO).hexdigest()


def test_variation_similarity_default():
    assert validate(TITAN_V1, VARIATION).similarity_strength == 0.7


def test_outpainting_mode_default():
    assert validate(TITAN_V2, OUTPAINT).outpainting_mode == "DEFAULT"


def test_edits_have_no_size_and_keep_the_input_size():
    request = validate(NOVA, {**INPAINT, "image": b64(png(96, 80)), "mask_prompt": "the cat"})
    assert (request.width, request.height) == (None, None)
    assert request.output_size == (96, 80)


@pytest.mark.parametrize(
    ("aspect_ratio", "output_size"), [(None, (1024, 1024)), ("1:1", (1024, 1024)), ("16:9", (1344, 768))]
)
def test_stability_aspect_ratio_default_and_output_size(aspect_ratio, output_size):
    raw = {**TEXT, "aspect_ratio": aspect_ratio} if aspect_ratio else TEXT
    request = validate(CORE, raw)
    assert request.aspect_ratio == (aspect_ratio or "1:1")
    assert request.output_size == output_size
    assert (request.width, request.height, request.cfg_scale, request.output_format) == (None, None, None, "png")


def test_image_to_image_has_no_aspect_ratio_and_keeps_input_size():
    request = validate(SD35, {**IMAGE_TO_IMAGE, "image": b64(png(128, 96))})
    assert request.aspect_ratio is None
    assert request.output_size == (128, 96)
    assert request.strength == 0.5


# --- Values as a multipart form sends them ---


def test_numbers_given_as_strings_are_accepted():
    request = validate(
        TITAN_V2, {**TEXT, "n": "3", "seed": " 42 ", "cfg_scale": "7.5", "width": "1152", "height": "640"}
    )
    assert (request.n, request.seed, request.cfg_scale, request.width, request.height) == (3, 42, 7.5, 1152, 640)
    assert validate(NOVA, {**VARIATION, "similarity_strength": "0.35"}).similarity_strength == 0.35
    assert validate(NOVA, {**CONDITIONED, "control_strength": "0.25"}).control_strength == 0.25
    assert validate(SD35, {**IMAGE_TO_IMAGE, "strength": "0.8"}).strength == 0.8


def test_form_strings_give_the_same_request_as_json_numbers():
    from_form = validate(NOVA, {**TEXT, "n": "2", "seed": "7", "cfg_scale": "8"})
    from_json = validate(NOVA, {**TEXT, "n": 2, "seed": 7, "cfg_scale": 8.0})
    assert from_form.params() == from_json.params()


def test_empty_form_fields_count_as_not_given():
    request = validate(TITAN_V2, {**TEXT, "n": "", "seed": "", "cfg_scale": "", "quality": "", "style": ""})
    assert (request.n, request.seed, request.cfg_scale, request.quality) == (1, None, 6.5, "standard")


def test_colours_as_a_comma_separated_form_field():
    assert validate(TITAN_V2, {**COLOR, "colors": "#ff0000, #00Ff00"}).colors == ("#FF0000", "#00FF00")


def test_non_numeric_strings_are_refused():
    fields = refused(TITAN_V2, {**TEXT, "n": "two", "seed": "4.2", "cfg_scale": "high"})
    assert set(fields) == {"n", "seed", "cfg_scale"}


@pytest.mark.parametrize(
    ("model_id", "raw", "field"),
    [
        pytest.param(TITAN_V2, {**TEXT, "n": True}, "n", id="n"),
        pytest.param(TITAN_V2, {**TEXT, "seed": False}, "seed", id="seed"),
        pytest.param(NOVA, {**TEXT, "cfg_scale": True}, "cfg_scale", id="cfg_scale"),
        pytest.param(NOVA, {**VARIATION, "similarity_strength": True}, "similarity_strength", id="similarity"),
        pytest.param(NOVA, {**CONDITIONED, "control_strength": False}, "control_strength", id="control_strength"),
        pytest.param(SD35, {**IMAGE_TO_IMAGE, "strength": True}, "strength", id="strength"),
        pytest.param(NOVA, {**TEXT, "width": True, "height": 1024}, "width", id="width"),
    ],
)
def test_booleans_are_refused_as_numbers(model_id, raw, field):
    reason = refused(model_id, raw)[field][0]
    assert reason in ("Must be a whole number.", "Must be a number.")


# --- params() and fingerprint() ---


def test_params_hold_images_by_sha256_never_bytes():
    other = png(64, 64, colour=(200, 30, 30))
    request = validate(TITAN_V2, {**VARIATION, "images": [PHOTO, b64(other)], "prompt": "a tile", "seed": 5})
    params = request.params()
    assert params["images"] == [
        {"sha256": hashlib.sha256(PHOTO).hexdigest(), "width": 64, "height": 64},
        {"sha256": hashlib.sha256(other).hexdigest(), "width": 64, "height": 64},
    ]
    assert params == {
        "model_id": TITAN_V2,
        "family": "titan",
        "task": "IMAGE_VARIATION",
        "prompt": "a tile",
        "width": 1024,
        "height": 1024,
        "quality": "standard",
        "n": 1,
        "cfg_scale": 6.5,
        "seed": 5,
        "images": params["images"],
        "similarity_strength": 0.7,
    }
    text = json.dumps(params)
    assert PHOTO_B64[:40] not in text and b64(other)[:40] not in text


def test_params_of_an_edit_hold_image_and_mask_by_sha256():
    request = validate(NOVA, OUTPAINT)
    params = request.params()
    assert params["image"] == {"sha256": hashlib.sha256(PHOTO).hexdigest(), "width": 64, "height": 64}
    assert params["mask_image"] == {"sha256": hashlib.sha256(mask_png()).hexdigest(), "width": 64, "height": 64}
    assert json.loads(json.dumps(params)) == params  # plain JSON throughout, nothing lost


def test_params_keep_a_zero_seed():
    assert validate(NOVA, {**TEXT, "seed": 0}).params()["seed"] == 0


def test_fingerprint_is_stable_for_the_same_request():
    first = validate(NOVA, {**INPAINT, "image": PHOTO, "seed": 9})
    again = validate(NOVA, {**INPAINT, "image": PHOTO_B64, "seed": "9"})
    as_data_url = validate(NOVA, {**INPAINT, "image": "data:image/png;base64," + PHOTO_B64, "seed": 9})
    assert first.fingerprint() == again.fingerprint() == as_data_url.fingerprint()
    assert len(first.fingerprint()) == 64


def test_fingerprint_ignores_defaults_given_explicitly_and_warnings():
    implicit = validate(TITAN_V2, {"prompt": "no clouds", "seed": 1})
    explicit = validate(TITAN_V2, {"prompt": "no clouds", "seed": 1, "n": 1, "cfg_scale": 6.5, "size": "1024x1024"})
    assert implicit.warnings
    assert implicit.fingerprint() == explicit.fingerprint()


def test_fingerprint_changes_with_seed_or_prompt():
    base = validate(TITAN_V2, {**TEXT, "seed": 1})
    assert base.with_seed(2).fingerprint() != base.fingerprint()
    assert validate(TITAN_V2, {**TEXT, "seed": 2}).fingerprint() != base.fingerprint()
    assert validate(TITAN_V2, {"prompt": "a lighthouse at dawn", "seed": 1}).fingerprint() != base.fingerprint()
    assert base.with_seed(1).fingerprint() == base.fingerprint()


def test_fingerprint_changes_with_the_input_image():
    first = validate(NOVA, {**BACKGROUND, "image": PHOTO_B64})
    second = validate(NOVA, {**BACKGROUND, "image": OTHER_PHOTO_B64})
    assert first.fingerprint() != second.fingerprint()


# --- Regressions: bugs found and fixed ---


@pytest.mark.parametrize("model_id", [TITAN_V2, NOVA])
def test_output_format_on_titan_and_nova_is_refused(model_id):
    assert "output_format" in refused(model_id, {**TEXT, "output_format": "gif"})


def test_task_type_that_is_a_list_is_refused_not_a_crash():
    assert "task_type" in refused(TITAN_V2, {**TEXT, "task_type": ["TEXT_IMAGE"]})


def test_empty_optional_text_from_a_form_counts_as_not_given():
    assert validate(TITAN_V2, {**TEXT, "negative_prompt": ""}).negative_prompt == ""
    assert validate(TITAN_V2, {**INPAINT, "prompt": ""}).prompt == ""


def test_bad_height_is_reported_on_height():
    assert "height" in refused(NOVA, {**TEXT, "width": 1024, "height": 4112})


def test_cfg_scale_on_background_removal_has_one_true_reason():
    assert refused(TITAN_V2, {**BACKGROUND, "cfg_scale": 5})["cfg_scale"] == [
        "BACKGROUND_REMOVAL does not take cfg_scale."
    ]
