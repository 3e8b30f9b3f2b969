"""Real boto3 over HTTP to the emulator process: every task of every model round-trips, errors
arrive as botocore's real exception classes, and each task's pixels keep their meaning."""

import base64
import io
import json
import urllib.request

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from generation import watermark
from generation.bedrock import bodies
from generation.bedrock.client import (
    FINAL_CODES,
    RETRYABLE_CODES,
    FinalBedrockError,
    RetryableBedrockError,
    invoke,
    make_client,
)
from generation.bedrock.request import validate_request
from generation.bedrock.specs import SPECS, STABILITY_ASPECT_SIZES, Family, Task
from generation.emulator.render import WATERMARK_PREFIX
from generation.emulator.server import FAULT_HEADER, FAULTS, FILTER_HEADER, LATENCY_HEADER

from ..processes import ROOT, start_emulator, stop

PHOTOS = ROOT / "tests" / "fixtures" / "photos"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
NOVA = "amazon.nova-canvas-v1:0"


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def pixels(data: bytes, mode: str = "RGB") -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode)).astype(np.int16)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int], *, inside_black: bool = True) -> bytes:
    """A mask: black (edit) inside the box and white elsewhere, or the other way round."""
    outside, inside = ("white", (0, 0, 0)) if inside_black else ("black", (255, 255, 255))
    mask = Image.new("RGB", size, outside)
    mask.paste(inside, box)
    return png_bytes(mask)


def raw_for(model_id: str, task: Task) -> dict:
    """A typical request for each task, on real photos."""
    spec = SPECS[model_id]
    size = {} if spec.family is Family.STABILITY else {"size": "512x512"}
    astronaut = photo("astronaut.png")
    return {
        Task.TEXT_IMAGE: {"prompt": "a lighthouse at dusk", "n": 1 if spec.family is Family.STABILITY else 2,
                          "seed": 11, **size},
        Task.COLOR_GUIDED_GENERATION: {"prompt": "a poster", "colors": ["#D62828", "#003049", "#FCBF49"], **size},
        Task.IMAGE_VARIATION: {"prompt": "a portrait", "images": [astronaut], "similarity_strength": 0.7, **size},
        Task.INPAINTING: {"prompt": "a red helmet", "image": astronaut,
                          "mask_image": box_mask((512, 512), (100, 100, 300, 300))},
        Task.OUTPAINTING: {"prompt": "a beach", "image": astronaut, "outpainting_mode": "PRECISE",
                           "mask_image": box_mask((512, 512), (128, 128, 384, 384), inside_black=False)},
        Task.BACKGROUND_REMOVAL: {"image": photo("coffee.png")},
        Task.IMAGE_TO_IMAGE: {"prompt": "an oil painting", "image": photo("coffee.png"), "strength": 0.5},
        Task.VIRTUAL_TRY_ON: {"image": astronaut, "reference_image": photo("coffee.png"), "mask_type": "GARMENT",
                              "garment_class": "UPPER_BODY"},
    }[task] | {"task_type": task.value}  # fmt: skip


def generate(client, model_id: str, raw: dict, *, headers=None, invoked_id: str | None = None):
    """Validate, build, invoke every call, parse: (request, [image bytes], [InvokeResult])."""
    spec = SPECS[model_id]
    request = validate_request(spec, raw)
    images, results = [], []
    for body in bodies.build_calls(request):
        response = invoke(client, invoked_id or model_id, body, headers=headers)
        result = bodies.parse_response(spec.family, response.payload, requested=bodies.images_per_call(request))
        images += result.images
        results.append(result)
    return request, images, results


def health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
        return json.loads(response.read())


# The image services: tests/generation/test_stability_services.py.
ALL_TASKS = [(model_id, task) for model_id, spec in SPECS.items() if not spec.is_tool for task in spec.tasks]


@pytest.mark.parametrize(("model_id", "task"), ALL_TASKS, ids=[f"{m}-{t}" for m, t in ALL_TASKS])
def test_every_task_of_every_model_round_trips(bedrock_client, model_id, task):
    request, images, results = generate(bedrock_client, model_id, raw_for(model_id, task))

    assert len(images) == request.n if task is not Task.BACKGROUND_REMOVAL else 1
    assert all(result.filtered == 0 for result in results)
    for data in images:
        image = Image.open(io.BytesIO(data))
        assert image.size == request.output_size
        assert image.format == "PNG"
        assert image.info["atelier:emulator"] == "true"
        assert image.info["atelier:model"] == model_id


def test_same_request_same_bytes_and_another_seed_other_bytes(bedrock_client):
    raw = {"prompt": "a teapot", "size": "512x512", "seed": 42}

    first = generate(bedrock_client, NOVA, raw)[1][0]
    again = generate(bedrock_client, NOVA, raw)[1][0]
    other = generate(bedrock_client, NOVA, raw | {"seed": 43})[1][0]

    assert first == again
    assert first != other


def test_the_watermark_survives_png_and_jpeg_q85(bedrock_client):
    data = generate(bedrock_client, TITAN_V2, {"prompt": "a mountain lake", "size": "1024x1024", "seed": 3})[1][0]
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format="JPEG", quality=85)

    from_png = watermark.detect(Image.open(io.BytesIO(data)))
    from_jpeg = watermark.detect(Image.open(buffer))

    assert from_png is not None and from_png.startswith(WATERMARK_PREFIX)
    assert from_jpeg == from_png
    assert watermark.detect(Image.open(PHOTOS / "coffee.png")) is None


def test_inpainting_changes_only_masked_pixels(bedrock_client):
    source = pixels(photo("astronaut.png"))
    edited = pixels(generate(bedrock_client, TITAN_V2, raw_for(TITAN_V2, Task.INPAINTING))[1][0])

    inside = np.zeros(source.shape[:2], bool)
    inside[100:300, 100:300] = True
    assert (edited[~inside] == source[~inside]).all()
    assert (edited[inside] != source[inside]).any(axis=1).mean() > 0.9


def test_inpainting_by_mask_prompt_keeps_the_corners(bedrock_client):
    raw = raw_for(NOVA, Task.INPAINTING) | {"mask_image": None, "mask_prompt": "the helmet"}
    source = pixels(photo("astronaut.png"))

    edited = pixels(generate(bedrock_client, NOVA, raw)[1][0])

    assert (edited[:40, :40] == source[:40, :40]).all()
    assert (edited[236:276, 236:276] != source[236:276, 236:276]).any()


def test_precise_outpainting_keeps_the_unmasked_region(bedrock_client):
    source = pixels(photo("astronaut.png"))

    extended = pixels(generate(bedrock_client, TITAN_V2, raw_for(TITAN_V2, Task.OUTPAINTING))[1][0])

    assert (extended[128:384, 128:384] == source[128:384, 128:384]).all()
    assert (extended[:100] != source[:100]).any(axis=2).mean() > 0.9


def test_default_outpainting_blends_a_seam_but_keeps_the_inside(bedrock_client):
    raw = raw_for(NOVA, Task.OUTPAINTING) | {"outpainting_mode": "DEFAULT"}
    source = pixels(photo("astronaut.png"))

    extended = pixels(generate(bedrock_client, NOVA, raw)[1][0])

    assert (extended[150:362, 150:362] == source[150:362, 150:362]).all()
    seam = (extended[128:134, 128:384] != source[128:134, 128:384]).any(axis=2)
    assert seam.mean() > 0.5
    assert (extended[:100] != source[:100]).any(axis=2).mean() > 0.9


def test_background_removal_returns_rgba_with_a_transparent_background(bedrock_client):
    data = generate(bedrock_client, NOVA, raw_for(NOVA, Task.BACKGROUND_REMOVAL))[1][0]
    image = Image.open(io.BytesIO(data))
    alpha = np.asarray(image)[..., 3]

    assert image.mode == "RGBA"
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    assert 0.05 < (alpha == 255).mean() < 0.95


def test_colour_guided_images_are_dominated_by_the_palette(bedrock_client):
    raw = raw_for(TITAN_V2, Task.COLOR_GUIDED_GENERATION)
    palette = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in raw["colors"]])

    image = pixels(generate(bedrock_client, TITAN_V2, raw)[1][0])

    distance = np.linalg.norm(image[:, :, None, :] - palette[None, None], axis=3).min(axis=2)
    assert (distance < 30).mean() > 0.8


def test_variations_stay_near_their_source_in_proportion_to_similarity(bedrock_client):
    source = pixels(photo("astronaut.png"))

    def distance(similarity: float) -> float:
        raw = raw_for(NOVA, Task.IMAGE_VARIATION) | {"similarity_strength": similarity, "seed": 5}
        return float(np.abs(pixels(generate(bedrock_client, NOVA, raw)[1][0]) - source).mean())

    loose, middle, close = distance(0.2), distance(0.6), distance(1.0)
    assert loose > middle > close
    assert close < 3


def edge_map(image: np.ndarray) -> np.ndarray:
    grey = image.mean(axis=2)
    return np.hypot(np.diff(grey, axis=1)[:-1], np.diff(grey, axis=0)[:, :-1])


def test_conditioned_images_follow_the_condition_images_edges(bedrock_client):
    condition = Image.open(PHOTOS / "coffee.png").convert("RGB").resize((512, 512))
    unrelated = Image.open(PHOTOS / "chelsea.png").convert("RGB").resize((512, 512))
    raw = {"prompt": "a cup", "size": "512x512", "seed": 1, "condition_image": png_bytes(condition)}

    output = edge_map(pixels(generate(bedrock_client, TITAN_V2, raw)[1][0]))

    follows = np.corrcoef(output.ravel(), edge_map(np.asarray(condition, float)).ravel())[0, 1]
    unrelated_match = np.corrcoef(output.ravel(), edge_map(np.asarray(unrelated, float)).ravel())[0, 1]
    assert follows > 0.5
    assert follows > unrelated_match + 0.3


@pytest.mark.parametrize("aspect_ratio", ["16:9", "1:1", "9:21"])
def test_stability_honours_the_aspect_ratio(bedrock_client, aspect_ratio):
    raw = {"prompt": "a city", "aspect_ratio": aspect_ratio, "seed": 9}

    data = generate(bedrock_client, "stability.stable-image-core-v1:1", raw)[1][0]

    assert Image.open(io.BytesIO(data)).size == STABILITY_ASPECT_SIZES[aspect_ratio]


def test_stability_jpeg_output_and_image_to_image_keeps_the_input_size(bedrock_client):
    raw = raw_for("stability.sd3-5-large-v1:0", Task.IMAGE_TO_IMAGE) | {"output_format": "jpeg"}

    data = generate(bedrock_client, "stability.sd3-5-large-v1:0", raw)[1][0]

    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("JPEG", (600, 400))


def test_stability_makes_one_call_per_image_with_consecutive_seeds(bedrock_client):
    request, images, results = generate(
        bedrock_client, "stability.stable-image-ultra-v1:0", {"prompt": "a", "n": 3, "seed": 100}
    )

    assert len(images) == 3
    assert [result.seeds for result in results] == [[100], [101], [102]]


def test_a_blocked_word_withholds_images_and_says_why(bedrock_client):
    request, images, results = generate(
        bedrock_client, TITAN_V2, {"prompt": "forbidden fruit", "n": 4, "size": "512x512"}
    )

    assert len(images) == 2
    assert results[0].filtered == 2
    assert "content filters" in results[0].filter_reasons[0]


def test_the_filter_header_withholds_a_given_number(bedrock_client):
    _, images, results = generate(
        bedrock_client, NOVA, {"prompt": "a kite", "n": 3, "size": "512x512"}, headers={FILTER_HEADER: "1"}
    )

    assert len(images) == 2 and results[0].filtered == 1


def test_stability_reports_filtered_images_in_finish_reasons(bedrock_client):
    _, images, results = generate(bedrock_client, "stability.stable-image-core-v1:0", {"prompt": "forbidden"})

    assert images == []
    assert results[0].filtered == 1
    assert results[0].filter_reasons == ["Filter reason: output image"]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_arrives_as_botocores_exception_class(bedrock_client, fault, bedrock_emulator):
    status, code, _ = FAULTS[fault]
    body = bodies.build_calls(validate_request(SPECS[NOVA], {"prompt": "x", "size": "512x512"}))[0]
    before = health(bedrock_emulator)["invocations"]

    def add_fault(request, **kwargs):
        request.headers[FAULT_HEADER] = fault

    bedrock_client.meta.events.register_first("before-sign.bedrock-runtime.InvokeModel", add_fault)
    with pytest.raises(getattr(bedrock_client.exceptions, code)) as raised:
        bedrock_client.invoke_model(modelId=NOVA, body=json.dumps(body))
    bedrock_client.meta.events.unregister("before-sign.bedrock-runtime.InvokeModel", add_fault)

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert health(bedrock_emulator)["invocations"] == before + 1  # the SDK did not retry
    expected = RetryableBedrockError if code in RETRYABLE_CODES else FinalBedrockError
    assert code in RETRYABLE_CODES | FINAL_CODES
    with pytest.raises(expected) as classified:
        invoke(bedrock_client, NOVA, body, headers={FAULT_HEADER: fault})
    assert classified.value.code == code


def test_a_read_timeout_is_retryable(bedrock_emulator):
    client = make_client(endpoint_url=bedrock_emulator, read_timeout=1)
    body = bodies.build_calls(validate_request(SPECS[NOVA], {"prompt": "x", "size": "512x512"}))[0]

    with pytest.raises(RetryableBedrockError) as raised:
        invoke(client, NOVA, body, headers={LATENCY_HEADER: "2.5"})

    assert raised.value.code == "ReadTimeoutError"


def test_fault_rates_from_flags(tmp_path):
    url, process = start_emulator(tmp_path / "emulator.log", "--throttle-rate", "1.0")
    try:
        client = make_client(endpoint_url=url, read_timeout=10)
        body = bodies.build_calls(validate_request(SPECS[NOVA], {"prompt": "x", "size": "512x512"}))[0]
        for _ in range(3):
            with pytest.raises(RetryableBedrockError) as raised:
                invoke(client, NOVA, body)
            assert raised.value.code == "ThrottlingException"
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"},
          "imageGenerationConfig": {"width": 1000, "height": 1000}}, "#/imageGenerationConfig/width"),
        ({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x" * 600}}, "#/textToImageParams/text"),
        ({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x", "colour": "red"}}, "extraneous key [colour]"),
        ({"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": "x"}}, "#/taskType"),
        ({"textToImageParams": {"text": "x"}}, "required key [taskType]"),
    ],
)  # fmt: skip
def test_the_emulator_refuses_what_bedrock_would(bedrock_client, body, expected):
    with pytest.raises(bedrock_client.exceptions.ValidationException) as raised:
        bedrock_client.invoke_model(modelId="amazon.titan-image-generator-v1", body=json.dumps(body))

    assert expected in raised.value.response["Error"]["Message"]


def test_unknown_models_are_refused_and_inference_profiles_resolve(bedrock_client):
    body = bodies.build_calls(validate_request(SPECS[NOVA], {"prompt": "x", "size": "512x512"}))[0]

    with pytest.raises(ClientError) as raised:
        bedrock_client.invoke_model(modelId="amazon.nothing-v9", body=json.dumps(body))
    assert raised.value.response["Error"]["Code"] == "ValidationException"

    for invoked_id in (
        "us.amazon.nova-canvas-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0",
    ):
        payload = invoke(bedrock_client, invoked_id, body).payload
        assert len(payload["images"]) == 1
        assert Image.open(io.BytesIO(base64.b64decode(payload["images"][0]))).size == (512, 512)
