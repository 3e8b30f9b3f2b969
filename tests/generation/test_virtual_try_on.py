"""Nova Canvas virtual try-on end to end: validation naming each bad field, the exact bodies of the
three mask types against AWS's documented request shape and their round trip, the emulator over HTTP
through real boto3 (pixels outside the garment region untouched, the mask returned), and a REST job
on a real Celery worker that stores the output and the returned mask in S3, charges n × Nova's price
and nothing for the mask.

Request shape: Amazon Nova user guide, "Request and response structure for image generation",
https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html."""

import base64
import hashlib
import io
import json
from decimal import Decimal

import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from assets.models import Asset
from billing.models import LedgerEntry
from generation.bedrock import bodies
from generation.bedrock.client import invoke
from generation.bedrock.request import RequestInvalid, validate_request
from generation.bedrock.result import BodyInvalid
from generation.bedrock.specs import SPECS, TRY_ON_GARMENT_CLASSES, Family, Task
from generation.models import GenerationJob
from tenants.models import Role

from ..processes import ROOT, wait_for

NOVA = "amazon.nova-canvas-v1:0"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
WIDTH, HEIGHT = 600, 400  # coffee.png: the source; the output is its size
BOX = (200, 120, 420, 300)  # the mask's black box (left, top, right, bottom)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pixels(data: bytes, mode: str = "RGB") -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode)).astype(np.int16)


SOURCE = (PHOTOS / "coffee.png").read_bytes()
GARMENT = png(Image.new("RGB", (256, 256), (220, 20, 30)))  # a plain red garment: easy to see where it went


def box_mask(size=(WIDTH, HEIGHT), box=BOX) -> bytes:
    mask = Image.new("L", size, 255)
    mask.paste(0, box)
    return png(mask)


MASK = box_mask()
IMAGE_MASKED = {"task_type": "VIRTUAL_TRY_ON", "image": b64(SOURCE), "reference_image": b64(GARMENT),
                "mask_type": "IMAGE", "mask_image": b64(MASK)}  # fmt: skip
GARMENT_MASKED = {"task_type": "VIRTUAL_TRY_ON", "image": b64(SOURCE), "reference_image": b64(GARMENT),
                  "mask_type": "GARMENT", "garment_class": "UPPER_BODY"}  # fmt: skip
PROMPT_MASKED = {"task_type": "VIRTUAL_TRY_ON", "image": b64(SOURCE), "reference_image": b64(GARMENT),
                 "mask_type": "PROMPT", "mask_prompt": "the cup"}  # fmt: skip


def validate(raw: dict, model_id: str = NOVA):
    return validate_request(SPECS[model_id], raw)


def refused(raw: dict, model_id: str = NOVA) -> dict[str, list[str]]:
    with pytest.raises(RequestInvalid) as caught:
        validate(raw, model_id)
    return caught.value.fields


# --- Validation: each rule is a 400 naming its field, and only that field ---

REFUSALS = [
    pytest.param({k: v for k, v in GARMENT_MASKED.items() if k != "mask_type"}, "mask_type", "required",
                 id="no-mask-type"),
    pytest.param(GARMENT_MASKED | {"mask_type": "BRUSH"}, "mask_type", "not one of", id="bad-mask-type"),
    pytest.param(PROMPT_MASKED | {"garment_class": "UPPER_BODY"}, "garment_class", "mask_type GARMENT",
                 id="garment-class-with-prompt"),
    pytest.param(PROMPT_MASKED | {"mask_image": b64(MASK)}, "mask_image", "mask_type IMAGE",
                 id="mask-image-with-prompt"),
    pytest.param(GARMENT_MASKED | {"mask_prompt": "the shirt"}, "mask_prompt", "mask_type PROMPT",
                 id="mask-prompt-with-garment"),
    pytest.param(IMAGE_MASKED | {"mask_shape": "CONTOUR"}, "mask_shape", "GARMENT or PROMPT",
                 id="mask-shape-with-image"),
    pytest.param(PROMPT_MASKED | {"long_sleeve_style": "SLEEVE_UP"}, "long_sleeve_style", "mask_type GARMENT",
                 id="styling-with-prompt"),
    pytest.param(IMAGE_MASKED | {"tucking_style": "TUCKED"}, "tucking_style", "mask_type GARMENT",
                 id="tucking-with-image"),
    pytest.param(IMAGE_MASKED | {"outer_layer_style": "OPEN"}, "outer_layer_style", "mask_type GARMENT",
                 id="outer-layer-with-image"),
    pytest.param({k: v for k, v in GARMENT_MASKED.items() if k != "garment_class"}, "garment_class", "required",
                 id="garment-without-class"),
    pytest.param(GARMENT_MASKED | {"garment_class": "HAT"}, "garment_class", "not one of", id="bad-garment-class"),
    pytest.param(GARMENT_MASKED | {"long_sleeve_style": "ROLLED"}, "long_sleeve_style", "not one of",
                 id="bad-sleeve-style"),
    pytest.param(GARMENT_MASKED | {"mask_shape": "STAR"}, "mask_shape", "not one of", id="bad-mask-shape"),
    pytest.param({k: v for k, v in IMAGE_MASKED.items() if k != "mask_image"}, "mask_image", "required",
                 id="image-without-mask"),
    pytest.param(IMAGE_MASKED | {"mask_image": b64(box_mask(size=(300, 200), box=(10, 10, 50, 50)))}, "mask_image",
                 "same size", id="mask-of-another-size"),
    pytest.param(IMAGE_MASKED | {"mask_image": b64(png(Image.new("L", (WIDTH, HEIGHT), 128)))}, "mask_image",
                 "pure black", id="grey-mask"),
    pytest.param({k: v for k, v in PROMPT_MASKED.items() if k != "mask_prompt"}, "mask_prompt", "required",
                 id="prompt-without-mask-prompt"),
    pytest.param({k: v for k, v in GARMENT_MASKED.items() if k != "image"}, "image", "required", id="no-source"),
    pytest.param({k: v for k, v in GARMENT_MASKED.items() if k != "reference_image"}, "reference_image",
                 "required", id="no-reference"),
    pytest.param(GARMENT_MASKED | {"prompt": "a red shirt"}, "prompt", "does not take", id="prompt"),
    pytest.param(GARMENT_MASKED | {"negative_prompt": "stripes"}, "negative_prompt", "does not take",
                 id="negative-prompt"),
    pytest.param(GARMENT_MASKED | {"width": 512}, "width", "does not take", id="width"),
    pytest.param(GARMENT_MASKED | {"size": "512x512"}, "size", "does not take", id="size"),
    pytest.param(GARMENT_MASKED | {"style": "PHOTOREALISM"}, "style", "does not take", id="style"),
    pytest.param(GARMENT_MASKED | {"preserve_face": "MAYBE"}, "preserve_face", "not one of", id="bad-exclusion"),
    pytest.param(GARMENT_MASKED | {"merge_style": "SMOOTH"}, "merge_style", "not one of", id="bad-merge-style"),
    pytest.param(GARMENT_MASKED | {"return_mask": "please"}, "return_mask", "true or false", id="bad-return-mask"),
    pytest.param(GARMENT_MASKED | {"n": 6}, "n", "between", id="too-many"),
    pytest.param(GARMENT_MASKED | {"cfg_scale": 12}, "cfg_scale", "between", id="cfg-scale"),
    pytest.param(GARMENT_MASKED | {"seed": 858_993_460}, "seed", "between", id="seed"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "field", "reason"), REFUSALS)
def test_each_rule_names_its_field(raw, field, reason):
    fields = refused(raw)

    assert set(fields) == {field}, fields
    assert reason in " ".join(fields[field])


def test_only_nova_canvas_does_virtual_try_on():
    fields = refused(GARMENT_MASKED, TITAN_V2)

    assert list(fields) == ["task_type"] and "VIRTUAL_TRY_ON" in fields["task_type"][0]
    assert [model_id for model_id, spec in SPECS.items() if Task.VIRTUAL_TRY_ON in spec.tasks] == [NOVA]


def test_a_valid_request_is_typed_and_sized_as_its_source():
    request = validate(GARMENT_MASKED | {"mask_shape": "BOUNDING_BOX", "long_sleeve_style": "SLEEVE_UP",
                                         "preserve_hands": "OFF", "merge_style": "DETAILED", "return_mask": "true",
                                         "n": 3, "quality": "premium"})  # fmt: skip

    assert (request.task, request.mask_type, request.garment_class) == (Task.VIRTUAL_TRY_ON, "GARMENT", "UPPER_BODY")
    assert (request.mask_shape, request.long_sleeve_style, request.preserve_hands) == (
        "BOUNDING_BOX",
        "SLEEVE_UP",
        "OFF",
    )
    assert (request.merge_style, request.return_mask, request.n, request.quality) == ("DETAILED", True, 3, "premium")
    assert request.output_size == (WIDTH, HEIGHT)  # what is priced and stored: the source's size
    assert request.cfg_scale == 6.5 and request.prompt == ""
    # Every garment class of AWS's list is accepted.
    for garment_class in TRY_ON_GARMENT_CLASSES:
        assert validate(GARMENT_MASKED | {"garment_class": garment_class}).garment_class == garment_class
    assert len(TRY_ON_GARMENT_CLASSES) == 18


def test_return_mask_is_false_unless_asked_and_absent_from_other_tasks():
    assert validate(PROMPT_MASKED).return_mask is False
    text = validate({"prompt": "a lighthouse"})
    assert text.return_mask is None and "return_mask" not in text.params()  # other fingerprints are unchanged


# --- Bodies: exactly AWS's documented shape, for each mask type ---


def body(raw: dict) -> dict:
    (call,) = bodies.build_calls(validate(raw))
    return call


def test_the_image_mask_body():
    assert body(IMAGE_MASKED | {"merge_style": "BALANCED", "return_mask": True, "seed": 12, "n": 2}) == {
        "taskType": "VIRTUAL_TRY_ON",
        "virtualTryOnParams": {
            "sourceImage": b64(SOURCE),
            "referenceImage": b64(GARMENT),
            "maskType": "IMAGE",
            "imageBasedMask": {"maskImage": b64(MASK)},
            "mergeStyle": "BALANCED",
            "returnMask": True,
        },
        "imageGenerationConfig": {"numberOfImages": 2, "quality": "standard", "cfgScale": 6.5, "seed": 12},
    }


def test_the_garment_mask_body_with_styling_and_exclusions():
    raw = GARMENT_MASKED | {
        "garment_class": "LONG_SLEEVE_SHIRT", "mask_shape": "CONTOUR", "long_sleeve_style": "SLEEVE_DOWN",
        "tucking_style": "TUCKED", "outer_layer_style": "OPEN", "preserve_body_pose": "ON", "preserve_hands": "OFF",
        "preserve_face": "DEFAULT", "merge_style": "SEAMLESS", "quality": "premium", "cfg_scale": 3,
    }  # fmt: skip

    assert body(raw) == {
        "taskType": "VIRTUAL_TRY_ON",
        "virtualTryOnParams": {
            "sourceImage": b64(SOURCE),
            "referenceImage": b64(GARMENT),
            "maskType": "GARMENT",
            "garmentBasedMask": {
                "garmentClass": "LONG_SLEEVE_SHIRT",
                "maskShape": "CONTOUR",
                "garmentStyling": {"longSleeveStyle": "SLEEVE_DOWN", "tuckingStyle": "TUCKED",
                                   "outerLayerStyle": "OPEN"},
            },
            "maskExclusions": {"preserveBodyPose": "ON", "preserveHands": "OFF", "preserveFace": "DEFAULT"},
            "mergeStyle": "SEAMLESS",
        },
        "imageGenerationConfig": {"numberOfImages": 1, "quality": "premium", "cfgScale": 3.0},
    }  # fmt: skip


def test_the_prompt_mask_body():
    assert body(PROMPT_MASKED | {"mask_shape": "BOUNDING_BOX", "merge_style": "DETAILED"}) == {
        "taskType": "VIRTUAL_TRY_ON",
        "virtualTryOnParams": {
            "sourceImage": b64(SOURCE),
            "referenceImage": b64(GARMENT),
            "maskType": "PROMPT",
            "promptBasedMask": {"maskPrompt": "the cup", "maskShape": "BOUNDING_BOX"},
            "mergeStyle": "DETAILED",
        },
        "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard", "cfgScale": 6.5},
    }


def test_no_width_height_prompt_or_other_mask_object_is_ever_sent():
    for raw in (IMAGE_MASKED, GARMENT_MASKED, PROMPT_MASKED):
        call = body(raw | {"seed": 1})
        assert set(call["imageGenerationConfig"]) == {"numberOfImages", "quality", "cfgScale", "seed"}
        masks = {"imageBasedMask", "garmentBasedMask", "promptBasedMask"} & set(call["virtualTryOnParams"])
        assert len(masks) == 1
        assert "text" not in json.dumps(list(call["virtualTryOnParams"]))


ROUND_TRIPS = [
    pytest.param(IMAGE_MASKED | {"return_mask": True, "seed": 4}, id="image"),
    pytest.param(
        GARMENT_MASKED
        | {
            "mask_shape": "DEFAULT",
            "tucking_style": "UNTUCKED",
            "preserve_face": "ON",
            "merge_style": "BALANCED",
            "n": 5,
        },
        id="garment",
    ),  # fmt: skip
    pytest.param(PROMPT_MASKED | {"mask_shape": "CONTOUR", "preserve_body_pose": "OFF", "cfg_scale": 9.5}, id="prompt"),
]


@pytest.mark.parametrize("raw", ROUND_TRIPS)
def test_read_body_gives_the_request_back(raw):
    request = validate(raw)
    (call,) = bodies.build_calls(request)

    again = validate_request(SPECS[NOVA], bodies.read_body(Family.NOVA, json.loads(json.dumps(call)), SPECS[NOVA]))

    assert again.params() == request.params()
    assert bodies.build_calls(again) == [call]


def test_read_body_refuses_what_bedrock_would():
    call = body(GARMENT_MASKED)
    with_size = call | {"imageGenerationConfig": call["imageGenerationConfig"] | {"width": 512}}
    with pytest.raises(BodyInvalid, match=r"#/imageGenerationConfig: extraneous key \[width\]"):
        bodies.read_body(Family.NOVA, with_size)
    with_text = call | {"virtualTryOnParams": call["virtualTryOnParams"] | {"text": "a shirt"}}
    with pytest.raises(BodyInvalid, match=r"#/virtualTryOnParams: extraneous key \[text\]"):
        bodies.read_body(Family.NOVA, with_text)
    with pytest.raises(BodyInvalid, match=r"required key \[virtualTryOnParams\]"):
        bodies.read_body(Family.NOVA, {"taskType": "VIRTUAL_TRY_ON"})


def test_parse_response_reads_the_returned_mask():
    result = bodies.parse_response(Family.NOVA, {"images": [b64(SOURCE)], "maskImage": b64(MASK)}, requested=1)

    assert (result.images, result.mask, result.filtered) == ([SOURCE], MASK, 0)
    assert bodies.parse_response(Family.NOVA, {"images": [b64(SOURCE)]}, requested=1).mask is None


# --- The emulator over HTTP, through real boto3 ---


def try_on(client, raw: dict) -> tuple[list[bytes], bytes | None, dict]:
    request = validate(raw)
    (call,) = bodies.build_calls(request)
    payload = invoke(client, NOVA, call).payload
    result = bodies.parse_response(Family.NOVA, payload, requested=request.n)
    return result.images, result.mask, payload


def test_balanced_keeps_every_pixel_outside_the_mask_and_returns_the_mask(bedrock_client):
    images, mask, _ = try_on(bedrock_client, IMAGE_MASKED | {"merge_style": "BALANCED", "return_mask": True, "n": 2})

    source, region = pixels(SOURCE), pixels(MASK, "L") == 0
    assert len(images) == 2 and images[0] != images[1]  # each image its own take
    for data in images:
        out = pixels(data)
        assert out.shape == source.shape  # the source's size
        assert (out[~region] == source[~region]).all()  # byte-identical outside the garment region
        inside = out[region]
        assert (inside[:, 0] > inside[:, 1] + 60).mean() > 0.9  # the red garment went into the region
    assert Image.open(io.BytesIO(mask)).size == (WIDTH, HEIGHT)
    assert ((pixels(mask, "L") == 0) == region).all()  # the mask returned is the region changed: black = changed
    assert set(np.unique(pixels(mask, "L"))) == {0, 255}


def test_a_garment_class_changes_its_band_and_a_prompt_the_centre(bedrock_client):
    _, mask, _ = try_on(bedrock_client, GARMENT_MASKED | {"return_mask": True, "mask_shape": "BOUNDING_BOX"})
    changed = pixels(mask, "L") == 0
    rows = np.nonzero(changed.any(axis=1))[0]
    # UPPER_BODY: the middle third of the height.
    assert (rows.min(), rows.max() + 1) == (round(HEIGHT / 3), round(2 * HEIGHT / 3))
    images, _, _ = try_on(bedrock_client, GARMENT_MASKED)
    assert (pixels(images[0])[~changed] == pixels(SOURCE)[~changed]).all()

    footwear = pixels(try_on(bedrock_client, GARMENT_MASKED | {"garment_class": "SHOES", "return_mask": True})[1], "L")
    assert (footwear[: int(HEIGHT * 0.85)] == 255).all() and (footwear[-5:] == 0).any()

    _, prompt_mask, _ = try_on(bedrock_client, PROMPT_MASKED | {"return_mask": True})
    centre = pixels(prompt_mask, "L")
    assert centre[HEIGHT // 2, WIDTH // 2] == 0 and centre[0, 0] == centre[-1, -1] == 255


def test_seamless_touches_every_pixel_a_little(bedrock_client):
    images, _, _ = try_on(bedrock_client, IMAGE_MASKED | {"merge_style": "SEAMLESS"})

    out, source, region = pixels(images[0]), pixels(SOURCE), pixels(MASK, "L") == 0
    outside = np.abs(out[~region] - source[~region])
    assert outside.any() and outside.mean() < 10


def test_no_mask_in_the_response_unless_asked(bedrock_client):
    _, mask, payload = try_on(bedrock_client, PROMPT_MASKED)

    assert mask is None and "maskImage" not in payload


def test_the_emulator_refuses_a_size_as_bedrock_does(bedrock_client):
    call = body(GARMENT_MASKED)
    call["imageGenerationConfig"] |= {"width": 512}

    with pytest.raises(ClientError) as caught:
        bedrock_client.invoke_model(modelId=NOVA, body=json.dumps(call))

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "extraneous key [width]" in caught.value.response["Error"]["Message"]


# --- A REST job on a real Celery worker: output and mask in S3, money on the ledger ---

JOBS, ESTIMATE = "/api/v1/tenants/acme/jobs/", "/api/v1/tenants/acme/estimate/"


@pytest.fixture
def api(pipeline, tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


def finished(api, job_id: str, timeout: float = 60) -> dict:
    def ended():
        job = api.get(f"{JOBS}{job_id}/").json()
        return job if job["status"] in {s.value for s in GenerationJob.TERMINAL} else None

    return wait_for(ended, timeout, f"job {job_id} to end", interval=0.2)


def bucket_bytes(pipeline, key: str) -> bytes:
    return pipeline.s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"].read()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_try_on_job_stores_its_images_and_the_free_mask(api, pipeline, tenant_a, admin_a, client_as):
    job_body = {"model": NOVA, **IMAGE_MASKED, "return_mask": True, "n": 2, "seed": 9, "tags": ["fw26"]}
    estimate = api.post(ESTIMATE, job_body, format="json")
    assert estimate.status_code == 200, estimate.json()
    # Nova Canvas at the source's size (600×400: the ≤1024² tier), standard: 0.04 an image.
    assert (estimate.json()["unit_price"], estimate.json()["n"], estimate.json()["total"]) == (
        "0.040000",
        2,
        "0.080000",
    )

    response = api.post(JOBS, job_body, format="json")
    assert response.status_code == 201, response.json()
    job = finished(api, response.json()["id"])

    assert job["status"] == "succeeded", job
    assert (job["task_type"], job["width"], job["height"], job["unit_price"]) == ("VIRTUAL_TRY_ON", WIDTH, HEIGHT,
                                                                                "0.040000")  # fmt: skip
    assert len(job["assets"]) == 2 and job["images_returned"] == 2
    # Charged the two images at Nova's price; the mask is free.
    ledger = {entry.kind: entry.amount_usd for entry in LedgerEntry.objects.filter(job_id=job["id"])}
    assert ledger == {"reserve": Decimal("0.08"), "charge": Decimal("0.08"), "release": Decimal("0")}
    assert job["cost"] == "0.080000"
    assert pipeline.emulator.invocations() == 1

    for item in job["assets"]:
        row = Asset.objects.get(pk=item["id"])
        stored = bucket_bytes(pipeline, row.file_key)
        assert (row.kind, row.width, row.height, row.seed) == (Asset.Kind.GENERATED, WIDTH, HEIGHT, 9)
        assert hashlib.sha256(stored).hexdigest() == row.sha256
        assert (pixels(stored)[pixels(MASK, "L") == 0][:, 0] > 150).mean() > 0.9  # red where the mask was black

    mask = Asset.objects.get(pk=job["mask_asset"])
    stored_mask = bucket_bytes(pipeline, mask.file_key)
    assert (mask.kind, mask.job_id, mask.project_id, mask.tenant_id) == (Asset.Kind.MASK, None,
                                                                         GenerationJob.objects.get(pk=job["id"]).project_id,
                                                                         tenant_a.pk)  # fmt: skip
    assert hashlib.sha256(stored_mask).hexdigest() == mask.sha256 and mask.bytes == len(stored_mask)
    assert ((pixels(stored_mask, "L") == 0) == (pixels(MASK, "L") == 0)).all()
    source_asset = GenerationJob.objects.get(pk=job["id"]).input_assets["image"]
    assert [str(pk) for pk in mask.parents.values_list("pk", flat=True)] == [source_asset]  # lineage: from the source
    assert mask.pk not in {item["id"] for item in job["assets"]}

    # The asset page of an output links to its mask; the mask's page links back to the job.
    page = client_as(admin_a).get(f"/t/acme/assets/{job['assets'][0]['id']}/")
    assert page.status_code == 200
    assert f'id="mask-link" href="/t/acme/assets/{mask.pk}/"' in page.content.decode()
    mask_page = client_as(admin_a).get(f"/t/acme/assets/{mask.pk}/").content.decode()
    assert f'id="mask-job-link" class="mono" href="/t/acme/jobs/{job["id"]}/"' in mask_page
    # The outputs are images to work on; the mask is evidence: no tools, no finals, and not in the library.
    assert 'class="button tool"' in page.content.decode() and 'id="finalize"' in page.content.decode()
    assert 'class="button tool"' not in mask_page and 'id="finalize"' not in mask_page
    library = client_as(admin_a).get("/t/acme/gallery/").content.decode()
    assert all(f"/t/acme/assets/{item['id']}/" in library for item in job["assets"])
    assert f"/t/acme/assets/{mask.pk}/" not in library


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_return_mask_no_mask_is_stored(api, pipeline):
    response = api.post(JOBS, {"model": NOVA, **GARMENT_MASKED, "seed": 3}, format="json")
    job = finished(api, response.json()["id"])

    assert (job["status"], len(job["assets"]), job["mask_asset"]) == ("succeeded", 1, None)
    assert not Asset.objects.filter(kind=Asset.Kind.MASK).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bad_try_on_job_is_a_400_naming_the_field_and_creates_nothing(api, pipeline):
    for extra, field in (({"garment_class": "UPPER_BODY"}, "garment_class"), ({"mask_image": b64(MASK)}, "mask_image"),
                         ({"prompt": "a red jacket"}, "prompt")):  # fmt: skip
        response = api.post(JOBS, {"model": NOVA, **PROMPT_MASKED, **extra}, format="json")
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == {field}
    estimate = api.post(ESTIMATE, {"model": NOVA, **GARMENT_MASKED, "mask_type": "PROMPT"}, format="json")
    assert estimate.status_code == 400 and set(estimate.json()["error"]["fields"]) == {"garment_class", "mask_prompt"}
    assert GenerationJob.objects.count() == 0 and Asset.objects.count() == 0
    assert pipeline.emulator.invocations() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_deliveries_recording_the_mask_at_once_keep_one_mask(tenant_a, settings, tmp_path, monkeypatch):
    """The second waits on the job's row while the first stores its mask, then finds it kept: one mask row."""
    import threading

    from django.db import connection

    from assets import services as asset_services
    from generation import services

    from ..assets.provenance_helpers import use_local_storage
    from ..factories import make_job

    use_local_storage(settings, tmp_path)
    job = make_job(tenant_a, task_type="VIRTUAL_TRY_ON", width=WIDTH, height=HEIGHT)
    first_is_storing, store = threading.Event(), asset_services.asset_store_mask
    stored_by = []

    def slow_store(*, job, data):
        stored_by.append(threading.current_thread().name)
        first_is_storing.set()
        threading.Event().wait(0.5)  # long enough for the second delivery to arrive meanwhile
        return store(job=job, data=data)

    monkeypatch.setattr(services, "asset_store_mask", slow_store)

    def deliver():
        try:
            services.job_record_mask(job=job, data=MASK)
        finally:
            connection.close()

    first = threading.Thread(target=deliver, name="first")
    second = threading.Thread(target=deliver, name="second")
    first.start()
    assert first_is_storing.wait(10)
    second.start()
    first.join(10), second.join(10)

    assert stored_by == ["first"]
    masks = Asset.objects.filter(tenant=tenant_a, kind=Asset.Kind.MASK)
    assert masks.count() == 1
    assert GenerationJob.objects.get(pk=job.pk).mask_asset_id == masks.get().pk
