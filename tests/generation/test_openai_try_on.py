"""Nova Canvas virtual try-on through /v1/images/edits (Django's test client): taskType VIRTUAL_TRY_ON,
`image` the person, the second `image[]` or `reference_image` the garment, OpenAI's alpha mask for
mask_type IMAGE, the try-on fields passed through to the one validation (a bad one is a 400 naming
it), no prompt and no size; with the real worker, emulator and S3: images of the person's size,
charged Nova's price for each image."""

import io
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image

from assets.models import Asset
from assets.storage import read_object
from generation.models import GenerationJob

from .test_openai_api import error_of, png, submitted, upload
from .test_openai_tools import EDITS, charged, decoded, openai_mask

NOVA = "amazon.nova-canvas-v1:0"
PERSON = (400, 336)  # multiples of 16, within Nova's sides
GARMENT = {"mask_type": "GARMENT", "garment_class": "UPPER_BODY"}


def person() -> bytes:
    return png(*PERSON, color=(30, 60, 200))


def garment() -> bytes:
    return png(160, 200, color=(220, 20, 20))


@pytest.mark.django_db
class TestMappingWithoutAWorker:
    def test_a_garment_try_on_takes_the_second_image_as_the_garment_and_passes_its_fields(self, no_worker, creator):
        job = submitted(
            creator, EDITS,
            {"model": NOVA, "taskType": "VIRTUAL_TRY_ON", "image[]": [upload(person(), "p.png"),
             upload(garment(), "g.png")], "prompt": "", "long_sleeve_style": "SLEEVE_UP", "preserve_face": "ON",
             "merge_style": "DETAILED", "mask_shape": "CONTOUR", "return_mask": "true", "seed": "4", "n": "2",
             **GARMENT},
            multipart=True,
        )  # fmt: skip

        assert (job.model.model_id, job.task_type, job.n, job.seed) == (NOVA, "VIRTUAL_TRY_ON", 2, 4)
        assert (job.width, job.height) == PERSON
        params = job.params
        assert (params["mask_type"], params["garment_class"], params["long_sleeve_style"]) == (
            "GARMENT", "UPPER_BODY", "SLEEVE_UP",
        )  # fmt: skip
        assert (params["preserve_face"], params["merge_style"], params["mask_shape"], params["return_mask"]) == (
            "ON", "DETAILED", "CONTOUR", True,
        )  # fmt: skip
        stored = {name: Asset.objects.get(pk=pk) for name, pk in job.input_assets.items()}
        assert set(stored) == {"image", "reference_image"}
        assert read_object(stored["reference_image"].file_key) == garment()
        assert (stored["image"].width, stored["image"].height) == PERSON

    def test_reference_image_and_an_alpha_mask_for_mask_type_image(self, no_worker, creator):
        box = (40, 32, 200, 240)
        job = submitted(
            creator, EDITS,
            {"model": NOVA, "task_type": "VIRTUAL_TRY_ON", "image": upload(person()),
             "reference_image": upload(garment(), "g.png"), "mask": upload(openai_mask(*PERSON, box), "m.png"),
             "mask_type": "IMAGE", "size": "auto"},
            multipart=True,
        )  # fmt: skip

        assert job.task_type == "VIRTUAL_TRY_ON" and job.params["mask_type"] == "IMAGE"
        mask = np.asarray(
            Image.open(io.BytesIO(read_object(Asset.objects.get(pk=job.input_assets["mask_image"]).file_key))).convert(
                "L"
            )
        )
        inside = np.zeros(PERSON[::-1], dtype=bool)
        inside[box[1] : box[3], box[0] : box[2]] = True
        assert (mask[inside] == 0).all() and (mask[~inside] == 255).all()

    @pytest.mark.parametrize(
        ("fields", "param", "says"),
        [
            ({"prompt": "a red jacket"}, "prompt", "does not take prompt"),
            ({"garment_class": "HAT"}, "garment_class", "not one of"),
            ({"mask_type": "PROMPT"}, "garment_class", "Only with mask_type GARMENT"),
            ({"merge_style": "LOUD"}, "merge_style", "not one of"),
            ({"preserve_hands": "MAYBE"}, "preserve_hands", "not one of"),
            ({"size": "1024x1024"}, "size", "person image's size"),
            ({"negativeText": "blur"}, "negativeText", "Unsupported field; virtual try-on takes"),
            ({"mask": upload(openai_mask(*PERSON, (0, 0, 16, 16)), "m.png")}, "mask", "Only with mask_type IMAGE"),
            ({"reference_image": None}, "reference_image", "required"),
            ({"background": "transparent"}, "background", "transparent"),
        ],
    )
    def test_a_bad_try_on_field_is_a_400_naming_it_and_nothing_is_made(self, no_worker, creator, fields, param, says):
        body = {"model": NOVA, "taskType": "VIRTUAL_TRY_ON", "image": upload(person()),
                "reference_image": upload(garment(), "g.png"), "prompt": "", **GARMENT} | fields  # fmt: skip
        body = {name: value for name, value in body.items() if value is not None}
        response = creator.post(EDITS, body, format="multipart")

        assert response.status_code == 400, response.json()
        error = error_of(response)
        assert (error["param"], error["type"]) == (param, "invalid_request_error")
        assert says in error["message"], error["message"]
        assert not GenerationJob.objects.exists()

    def test_a_model_without_try_on_is_refused(self, no_worker, creator):
        response = creator.post(
            EDITS,
            {"model": "amazon.titan-image-generator-v2:0", "taskType": "VIRTUAL_TRY_ON", "image": upload(person()),
             "reference_image": upload(garment(), "g.png"), **GARMENT},
            format="multipart",
        )  # fmt: skip

        assert response.status_code == 400 and error_of(response)["param"] == "taskType"
        assert "does not do 'VIRTUAL_TRY_ON'" in error_of(response)["message"] and not GenerationJob.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestWithTheWorker:
    def test_a_garment_try_on_answers_images_of_the_persons_size_charged_novas_price_each(
        self, pipeline, creator, tenant_a
    ):
        response = creator.post(
            EDITS,
            {"model": NOVA, "taskType": "VIRTUAL_TRY_ON", "image": upload(person()),
             "reference_image": upload(garment(), "g.png"), "prompt": "", "n": "2", "response_format": "b64_json",
             **GARMENT},
            format="multipart",
        )  # fmt: skip

        assert response.status_code == 200, response.json()
        body = response.json()
        assert [decoded(item).size for item in body["data"]] == [PERSON] * 2
        assert body["size"] == f"{PERSON[0]}x{PERSON[1]}"
        # Nova Canvas standard at ≤1024²: 0.04 an image, two images.
        assert charged(tenant_a) == Decimal("0.08") == Decimal(body["usage"]["cost_usd"])
        assert body["usage"]["images"] == 2 and response["X-Atelier-Model"] == NOVA
        job = GenerationJob.objects.get()
        assert (job.task_type, job.width, job.height) == ("VIRTUAL_TRY_ON", *PERSON)
        assert pipeline.emulator.invocations() == 1
