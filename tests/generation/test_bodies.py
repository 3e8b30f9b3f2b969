"""InvokeModel bodies: the exact dict for every model × task it supports, the round trip through
read_body back into validate_request, read_body's refusals, and parse_response."""

import base64
import io
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from generation.bedrock import bodies
from generation.bedrock.request import ImageRequest, validate_request
from generation.bedrock.result import BodyInvalid
from generation.bedrock.specs import SPECS, Family, Task

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
TITAN_V1 = "amazon.titan-image-generator-v1"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
NOVA = "amazon.nova-canvas-v1:0"
ULTRA = "stability.stable-image-ultra-v1:0"
SD35 = "stability.sd3-5-large-v1:0"


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@cache
def astronaut_512() -> bytes:
    with Image.open(PHOTOS / "astronaut.png") as photo:
        return encode(photo.convert("RGB").resize((512, 512)))


@cache
def coffee_512() -> bytes:
    with Image.open(PHOTOS / "coffee.png") as photo:
        return encode(photo.convert("RGB").resize((512, 512)))


@cache
def helmet_mask() -> bytes:
    """512×512, white (keep) with a black (edit) box over the astronaut's helmet."""
    mask = Image.new("L", (512, 512), 255)
    mask.paste(0, (150, 40, 370, 260))
    return encode(mask)


ASTRONAUT = b64(astronaut_512())
COFFEE = b64(coffee_512())
MASK = b64(helmet_mask())

# One valid request per task, with the exact Titan/Nova body and the exact Stability bodies it must give.
RAW = {
    Task.TEXT_IMAGE: {"prompt": "a lighthouse on a cliff", "negative_prompt": "fog", "n": 2, "seed": 42},
    Task.COLOR_GUIDED_GENERATION: {
        "task_type": "COLOR_GUIDED_GENERATION",
        "prompt": "a poster of a fox",
        "colors": ["#ff8800", "#003366"],
        "reference_image": ASTRONAUT,
        "seed": 7,
        "size": "768x768",
    },
    Task.IMAGE_VARIATION: {
        "task_type": "IMAGE_VARIATION",
        "prompt": "an astronaut",
        "images": [ASTRONAUT, COFFEE],
        "similarity_strength": 0.9,
        "quality": "premium",
        "cfg_scale": 8,
    },
    Task.INPAINTING: {
        "task_type": "INPAINTING",
        "prompt": "a red helmet",
        "image": ASTRONAUT,
        "mask_image": MASK,
        "n": 3,
        "seed": 3,
    },
    Task.OUTPAINTING: {
        "task_type": "OUTPAINTING",
        "prompt": "a space station",
        "image": ASTRONAUT,
        "mask_prompt": "the astronaut",
        "outpainting_mode": "PRECISE",
    },
    Task.BACKGROUND_REMOVAL: {"task_type": "BACKGROUND_REMOVAL", "image": ASTRONAUT},
    Task.IMAGE_TO_IMAGE: {
        "task_type": "IMAGE_TO_IMAGE",
        "prompt": "a watercolour astronaut",
        "image": ASTRONAUT,
        "strength": 0.6,
        "seed": 7,
        "output_format": "jpeg",
    },
    # Nova only; each mask type's body is in test_virtual_try_on.py.
    Task.VIRTUAL_TRY_ON: {
        "task_type": "VIRTUAL_TRY_ON",
        "image": ASTRONAUT,
        "reference_image": COFFEE,
        "mask_type": "GARMENT",
        "garment_class": "UPPER_BODY",
        "seed": 5,
    },
}

TITAN_NOVA_BODIES = {
    Task.TEXT_IMAGE: {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "a lighthouse on a cliff", "negativeText": "fog"},
        "imageGenerationConfig": {
            "numberOfImages": 2,
            "quality": "standard",
            "cfgScale": 6.5,
            "seed": 42,
            "width": 1024,
            "height": 1024,
        },
    },
    Task.COLOR_GUIDED_GENERATION: {
        "taskType": "COLOR_GUIDED_GENERATION",
        "colorGuidedGenerationParams": {
            "text": "a poster of a fox",
            "colors": ["#FF8800", "#003366"],
            "referenceImage": ASTRONAUT,
        },
        "imageGenerationConfig": {
            "numberOfImages": 1,
            "quality": "standard",
            "cfgScale": 6.5,
            "seed": 7,
            "width": 768,
            "height": 768,
        },
    },
    Task.IMAGE_VARIATION: {
        "taskType": "IMAGE_VARIATION",
        "imageVariationParams": {"text": "an astronaut", "images": [ASTRONAUT, COFFEE], "similarityStrength": 0.9},
        "imageGenerationConfig": {
            "numberOfImages": 1,
            "quality": "premium",
            "cfgScale": 8.0,
            "width": 1024,
            "height": 1024,
        },
    },
    Task.INPAINTING: {
        "taskType": "INPAINTING",
        "inPaintingParams": {"text": "a red helmet", "image": ASTRONAUT, "maskImage": MASK},
        "imageGenerationConfig": {"numberOfImages": 3, "quality": "standard", "cfgScale": 6.5, "seed": 3},
    },
    Task.OUTPAINTING: {
        "taskType": "OUTPAINTING",
        "outPaintingParams": {
            "text": "a space station",
            "image": ASTRONAUT,
            "maskPrompt": "the astronaut",
            "outPaintingMode": "PRECISE",
        },
        "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard", "cfgScale": 6.5},
    },
    Task.BACKGROUND_REMOVAL: {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": ASTRONAUT}},
    Task.VIRTUAL_TRY_ON: {
        "taskType": "VIRTUAL_TRY_ON",
        "virtualTryOnParams": {
            "sourceImage": ASTRONAUT,
            "referenceImage": COFFEE,
            "maskType": "GARMENT",
            "garmentBasedMask": {"garmentClass": "UPPER_BODY"},
        },
        "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard", "cfgScale": 6.5, "seed": 5},
    },
}

STABILITY_BODIES = {
    Task.TEXT_IMAGE: [
        {
            "prompt": "a lighthouse on a cliff",
            "negative_prompt": "fog",
            "aspect_ratio": "1:1",
            "output_format": "png",
            "seed": 42,
        },
        {
            "prompt": "a lighthouse on a cliff",
            "negative_prompt": "fog",
            "aspect_ratio": "1:1",
            "output_format": "png",
            "seed": 43,
        },
    ],
    Task.IMAGE_TO_IMAGE: [
        {
            "prompt": "a watercolour astronaut",
            "mode": "image-to-image",
            "image": ASTRONAUT,
            "strength": 0.6,
            "output_format": "jpeg",
            "seed": 7,
        }
    ],
}

# The image services have their own file (test_stability_services.py), against AWS's documented examples.
MODEL_TASKS = [
    pytest.param(m, t, id=f"{m}-{t.value}") for m, spec in SPECS.items() if not spec.is_tool for t in spec.tasks
]


def validate(model_id: str, raw: dict) -> ImageRequest:
    return validate_request(SPECS[model_id], raw)


def expected_bodies(model_id: str, task: Task) -> list[dict]:
    if SPECS[model_id].family is Family.STABILITY:
        return STABILITY_BODIES[task]
    return [TITAN_NOVA_BODIES[task]]


def per_call_request(request: ImageRequest, index: int) -> ImageRequest:
    """What call `index` of request stands for on its own: Stability calls make one image each."""
    if request.family is not Family.STABILITY:
        return request
    seed = None if request.seed is None else request.seed + index
    return replace(request, n=1, seed=seed)


def body_invalid(family: Family, body) -> str:
    with pytest.raises(BodyInvalid) as caught:
        bodies.read_body(family, body)
    return str(caught.value)


# --- Exact bodies: every model × every task it supports ---


def test_every_task_of_every_model_has_an_expected_body():
    for param in MODEL_TASKS:
        assert expected_bodies(*param.values), param.values


@pytest.mark.parametrize(("model_id", "task"), MODEL_TASKS)
def test_build_calls_gives_the_exact_body(model_id, task):
    request = validate(model_id, RAW[task])
    assert bodies.build_calls(request) == expected_bodies(model_id, task)


def test_nova_text_image_with_style_and_size():
    request = validate(
        NOVA,
        {
            "prompt": "a fox in a forest",
            "style": "FLAT_VECTOR_ILLUSTRATION",
            "size": "1280x720",
            "quality": "premium",
            "seed": 858_993_459,
            "cfg_scale": 3,
        },
    )
    assert bodies.build_calls(request) == [
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a fox in a forest", "style": "FLAT_VECTOR_ILLUSTRATION"},
            "imageGenerationConfig": {
                "numberOfImages": 1,
                "quality": "premium",
                "cfgScale": 3.0,
                "seed": 858_993_459,
                "width": 1280,
                "height": 720,
            },
        }
    ]


def test_titan_v2_conditioned_text_image():
    request = validate(
        TITAN_V2,
        {
            "prompt": "a robot in a spacesuit",
            "condition_image": ASTRONAUT,
            "control_mode": "SEGMENTATION",
            "control_strength": 0.4,
            "size": "1173x640",
            "seed": 0,
        },
    )
    assert bodies.build_calls(request) == [
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {
                "text": "a robot in a spacesuit",
                "conditionImage": ASTRONAUT,
                "controlMode": "SEGMENTATION",
                "controlStrength": 0.4,
            },
            "imageGenerationConfig": {
                "numberOfImages": 1,
                "quality": "standard",
                "cfgScale": 6.5,
                "seed": 0,
                "width": 1173,
                "height": 640,
            },
        }
    ]


def test_nova_conditioned_text_image_carries_the_default_control():
    body = bodies.build_calls(validate(NOVA, {"prompt": "a robot", "condition_image": ASTRONAUT}))[0]
    assert body["textToImageParams"] == {
        "text": "a robot",
        "conditionImage": ASTRONAUT,
        "controlMode": "CANNY_EDGE",
        "controlStrength": 0.7,
    }


def test_colour_guided_without_reference_image():
    request = validate(NOVA, {"task_type": "COLOR_GUIDED_GENERATION", "prompt": "a fox", "colors": "#00FF00"})
    assert bodies.build_calls(request) == [
        {
            "taskType": "COLOR_GUIDED_GENERATION",
            "colorGuidedGenerationParams": {"text": "a fox", "colors": ["#00FF00"]},
            "imageGenerationConfig": {
                "numberOfImages": 1,
                "quality": "standard",
                "cfgScale": 6.5,
                "width": 1024,
                "height": 1024,
            },
        }
    ]


def test_image_variation_without_prompt_uses_default_similarity():
    request = validate(TITAN_V1, {"task_type": "IMAGE_VARIATION", "images": [COFFEE], "n": 4, "seed": 11})
    assert bodies.build_calls(request) == [
        {
            "taskType": "IMAGE_VARIATION",
            "imageVariationParams": {"images": [COFFEE], "similarityStrength": 0.7},
            "imageGenerationConfig": {
                "numberOfImages": 4,
                "quality": "standard",
                "cfgScale": 6.5,
                "seed": 11,
                "width": 1024,
                "height": 1024,
            },
        }
    ]


def test_inpainting_with_mask_prompt_has_no_size_in_config():
    request = validate(
        NOVA,
        {"task_type": "INPAINTING", "image": ASTRONAUT, "mask_prompt": "the helmet", "negative_prompt": "blur"},
    )
    assert bodies.build_calls(request) == [
        {
            "taskType": "INPAINTING",
            "inPaintingParams": {"negativeText": "blur", "image": ASTRONAUT, "maskPrompt": "the helmet"},
            "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard", "cfgScale": 6.5},
        }
    ]


def test_outpainting_with_mask_image_and_default_mode():
    request = validate(TITAN_V2, {"task_type": "OUTPAINTING", "image": ASTRONAUT, "mask_image": MASK, "seed": 9})
    assert bodies.build_calls(request) == [
        {
            "taskType": "OUTPAINTING",
            "outPaintingParams": {"image": ASTRONAUT, "maskImage": MASK, "outPaintingMode": "DEFAULT"},
            "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard", "cfgScale": 6.5, "seed": 9},
        }
    ]


@pytest.mark.parametrize("model_id", [TITAN_V2, NOVA])
def test_background_removal_has_only_the_image(model_id):
    body = bodies.build_calls(validate(model_id, RAW[Task.BACKGROUND_REMOVAL]))
    assert body == [{"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": ASTRONAUT}}]
    assert "imageGenerationConfig" not in body[0]


def test_stability_n3_gives_three_bodies_with_consecutive_seeds():
    request = validate(
        ULTRA, {"prompt": "a harbour", "aspect_ratio": "16:9", "n": 3, "seed": 100, "output_format": "jpeg"}
    )
    calls = bodies.build_calls(request)
    assert calls == [
        {"prompt": "a harbour", "output_format": "jpeg", "aspect_ratio": "16:9", "seed": 100},
        {"prompt": "a harbour", "output_format": "jpeg", "aspect_ratio": "16:9", "seed": 101},
        {"prompt": "a harbour", "output_format": "jpeg", "aspect_ratio": "16:9", "seed": 102},
    ]
    assert bodies.images_per_call(request) == 1
    assert bodies.images_per_call(validate(NOVA, {"prompt": "a harbour", "n": 3})) == 3


def test_stability_without_seed_sends_no_seed():
    calls = bodies.build_calls(validate(SD35, {"prompt": "a harbour", "n": 2}))
    assert calls == [{"prompt": "a harbour", "output_format": "png", "aspect_ratio": "1:1"}] * 2


def test_stability_calls_are_independent_dicts():
    calls = bodies.build_calls(validate(SD35, {"prompt": "a harbour", "n": 2, "seed": 1}))
    calls[0]["prompt"] = "changed"
    assert calls[1]["prompt"] == "a harbour"


def test_sd35_image_to_image_has_mode_image_strength_and_no_aspect_ratio():
    calls = bodies.build_calls(validate(SD35, {**RAW[Task.IMAGE_TO_IMAGE], "strength": 0, "seed": None}))
    assert calls == [
        {
            "prompt": "a watercolour astronaut",
            "mode": "image-to-image",
            "image": ASTRONAUT,
            "strength": 0.0,
            "output_format": "jpeg",
        }
    ]


def test_stability_consecutive_seeds_never_become_zero():
    spec = SPECS[ULTRA]
    calls = bodies.build_calls(validate(ULTRA, {"prompt": "a harbour", "n": 2, "seed": spec.seed_max}))
    seeds = [call["seed"] for call in calls]
    assert len(set(seeds)) == 2
    assert all(1 <= seed <= spec.seed_max for seed in seeds)


# --- Round trip: read_body(body) → validate_request gives the request back ---

EXTRA_ROUND_TRIPS = [
    pytest.param(NOVA, {"prompt": "a fox", "style": "MAXIMALISM", "size": "1024x4096", "seed": 0}, id="nova-style"),
    pytest.param(TITAN_V2, {"prompt": "a robot", "condition_image": COFFEE, "control_strength": 0.2}, id="titan-cond"),
    pytest.param(
        NOVA, {"prompt": "a robot", "condition_image": COFFEE, "control_mode": "SEGMENTATION"}, id="nova-cond"
    ),
    pytest.param(NOVA, {"task_type": "INPAINTING", "image": COFFEE, "mask_prompt": "the cup"}, id="nova-mask-prompt"),
    pytest.param(TITAN_V1, {"task_type": "OUTPAINTING", "image": ASTRONAUT, "mask_image": MASK}, id="outpaint-mask"),
    pytest.param(TITAN_V2, {"task_type": "COLOR_GUIDED_GENERATION", "prompt": "x", "colors": ["#000000"]}, id="colour"),
    pytest.param(ULTRA, {"prompt": "a harbour", "aspect_ratio": "21:9", "n": 3, "seed": 5}, id="stability-n3"),
    pytest.param(SD35, {"prompt": "a harbour", "negative_prompt": "boats", "n": 2}, id="stability-no-seed"),
]


def round_trip_cases():
    for param in MODEL_TASKS:
        model_id, task = param.values
        yield pytest.param(model_id, RAW[task], id=param.id)
    yield from EXTRA_ROUND_TRIPS


@pytest.mark.parametrize(("model_id", "raw"), list(round_trip_cases()))
def test_read_body_fed_back_to_validate_request_gives_the_same_request(model_id, raw):
    spec = SPECS[model_id]
    request = validate(model_id, raw)
    calls = bodies.build_calls(request)
    for index, body in enumerate(calls):
        again = validate_request(spec, bodies.read_body(spec.family, body))
        assert again.params() == per_call_request(request, index).params()
        assert bodies.build_calls(again) == [body]


def test_read_body_gives_request_field_names():
    raw = bodies.read_body(Family.TITAN, TITAN_NOVA_BODIES[Task.INPAINTING])
    assert raw == {
        "task_type": "INPAINTING",
        "prompt": "a red helmet",
        "image": ASTRONAUT,
        "mask_image": MASK,
        "n": 3,
        "quality": "standard",
        "cfg_scale": 6.5,
        "seed": 3,
    }
    assert bodies.read_body(Family.STABILITY, STABILITY_BODIES[Task.IMAGE_TO_IMAGE][0]) == {
        "task_type": "IMAGE_TO_IMAGE",
        "prompt": "a watercolour astronaut",
        "image": ASTRONAUT,
        "strength": 0.6,
        "output_format": "jpeg",
        "seed": 7,
    }


# --- read_body refusals (the emulator's 400s, in Bedrock's words) ---

TEXT_BODY = TITAN_NOVA_BODIES[Task.TEXT_IMAGE]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"textToImageParams": {"text": "x"}}, "#: required key [taskType] not found", id="no-task"),
        pytest.param(
            {"taskType": "UPSCALE", "textToImageParams": {"text": "x"}},
            "#/taskType: UPSCALE is not a valid enum value",
            id="unknown-task",
        ),
        pytest.param(
            {"taskType": "IMAGE_TO_IMAGE", "textToImageParams": {"text": "x"}},
            "#/taskType: IMAGE_TO_IMAGE is not a valid enum value",
            id="stability-task-on-titan",
        ),
        pytest.param({**TEXT_BODY, "steps": 50}, "#: extraneous key [steps] is not permitted", id="extra-top-level"),
        pytest.param(
            {**TEXT_BODY, "textToImageParams": {"text": "x", "prompt": "x"}},
            "#/textToImageParams: extraneous key [prompt] is not permitted",
            id="extra-in-params",
        ),
        pytest.param(
            {**TEXT_BODY, "imageGenerationConfig": {"numberOfImages": 1, "sampler": "ddim"}},
            "#/imageGenerationConfig: extraneous key [sampler] is not permitted",
            id="extra-in-config",
        ),
        pytest.param(
            {"taskType": "TEXT_IMAGE", "inPaintingParams": {"image": ASTRONAUT}},
            "#: extraneous key [inPaintingParams] is not permitted",
            id="params-of-another-task",
        ),
        pytest.param({"taskType": "TEXT_IMAGE"}, "#: required key [textToImageParams] not found", id="no-params"),
        pytest.param(
            {**TITAN_NOVA_BODIES[Task.BACKGROUND_REMOVAL], "imageGenerationConfig": {"numberOfImages": 1}},
            "#: extraneous key [imageGenerationConfig] is not permitted",
            id="config-on-bg-removal",
        ),
        pytest.param(
            {"taskType": "TEXT_IMAGE", "textToImageParams": "a fox"},
            "#/textToImageParams: expected type: JSONObject",
            id="params-not-object",
        ),
        pytest.param([TEXT_BODY], "#: expected type: JSONObject", id="body-not-object"),
    ],
)
@pytest.mark.parametrize("family", [Family.TITAN, Family.NOVA])
def test_titan_and_nova_read_body_refusals(family, body, message):
    refusal = body_invalid(family, body)
    assert refusal.startswith("Malformed input request: ")
    assert message in refusal


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"prompt": "x", "mode": "upscale"}, "#/mode: upscale is not a valid enum value", id="mode"),
        pytest.param({"prompt": "x", "cfg_scale": 7}, "#: extraneous key [cfg_scale] is not permitted", id="cfg"),
        pytest.param(TEXT_BODY, "#: extraneous key [imageGenerationConfig] is not permitted", id="titan-body"),
        pytest.param("prompt=x", "#: expected type: JSONObject", id="not-object"),
    ],
)
def test_stability_read_body_refusals(body, message):
    refusal = body_invalid(Family.STABILITY, body)
    assert refusal.startswith("Malformed input request: ")
    assert message in refusal


def test_stability_read_body_takes_explicit_text_to_image_mode():
    assert bodies.read_body(Family.STABILITY, {"prompt": "x", "mode": "text-to-image", "seed": 1}) == {
        "task_type": "TEXT_IMAGE",
        "prompt": "x",
        "seed": 1,
    }


# --- parse_response ---


@cache
def tiles() -> list[bytes]:
    """Three distinct 64×64 PNGs cut from the astronaut photo."""
    with Image.open(io.BytesIO(astronaut_512())) as photo:
        return [encode(photo.crop((x, x, x + 64, x + 64))) for x in (0, 200, 400)]


@pytest.mark.parametrize("family", [Family.TITAN, Family.NOVA])
def test_titan_nova_response_with_a_filtered_image(family):
    first, second, _ = tiles()
    error = "1 out of 3 images were filtered out due to content moderation."
    payload = {"images": [b64(first), b64(second)], "error": error}
    result = bodies.parse_response(family, payload, requested=3)
    assert result.images == [first, second]
    assert [Image.open(io.BytesIO(image)).size for image in result.images] == [(64, 64), (64, 64)]
    assert (result.filtered, result.filter_reasons, result.seeds) == (1, [error], [])


def test_titan_response_with_every_image():
    payload = {"images": [b64(image) for image in tiles()]}
    result = bodies.parse_response(Family.TITAN, payload, requested=3)
    assert result.images == tiles()
    assert (result.filtered, result.filter_reasons) == (0, [])


def test_titan_response_with_every_image_filtered():
    result = bodies.parse_response(Family.NOVA, {"images": [], "error": "filtered"}, requested=2)
    assert (result.images, result.filtered, result.filter_reasons) == ([], 2, ["filtered"])


def test_stability_response_filtered_output_image_is_dropped():
    placeholder = tiles()[0]
    payload = {"seeds": [1234], "finish_reasons": ["Filter reason: output image"], "images": [b64(placeholder)]}
    result = bodies.parse_response(Family.STABILITY, payload, requested=1)
    assert result.images == []
    assert (result.filtered, result.filter_reasons, result.seeds) == (1, ["Filter reason: output image"], [])


def test_stability_response_keeps_image_and_its_seed():
    image = tiles()[1]
    payload = {"seeds": [4_294_967_295], "finish_reasons": [None], "images": [b64(image)]}
    result = bodies.parse_response(Family.STABILITY, payload, requested=1)
    assert result.images == [image]
    assert Image.open(io.BytesIO(result.images[0])).size == (64, 64)
    assert (result.filtered, result.filter_reasons, result.seeds) == (0, [], [4_294_967_295])


def test_stability_response_seeds_follow_the_images_kept():
    first, second, third = tiles()
    payload = {
        "seeds": [10, 11, 12],
        "finish_reasons": [None, "Filter reason: output image", None],
        "images": [b64(first), b64(second), b64(third)],
    }
    result = bodies.parse_response(Family.STABILITY, payload, requested=3)
    assert result.images == [first, third]
    assert result.seeds == [10, 12]
    assert (result.filtered, result.filter_reasons) == (1, ["Filter reason: output image"])
