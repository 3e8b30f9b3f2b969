"""The composer's Nova Canvas virtual try-on: a task of Nova's like the others, its inputs (the mask
type and each type's own inputs, the styling, the preserve_* and merge selects, return_mask), the
reference image (the garment) stored with the job, and the services' errors beside their fields."""

import base64
import io
import re

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from assets.models import Asset
from assets.services import asset_store_upload, project_get_default
from assets.storage import read_object
from billing.models import LedgerEntry
from generation.bedrock.images import read_image
from generation.bedrock.specs import TRY_ON_GARMENT_CLASSES, TRY_ON_MERGE_STYLES
from generation.models import GenerationJob
from tenants.models import Role

pytestmark = pytest.mark.django_db
COMPOSE = "/t/acme/compose/"
NOVA = "amazon.nova-canvas-v1:0"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png(width=320, height=240, colour=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(data: bytes, name="picture.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def field_block(html: str, name: str) -> str:
    """The generic form's field for one input: from its data-field to the next one."""
    start = html.rindex("<div", 0, html.index(f'data-field="{name}"'))
    following = html.find("data-field=", html.index(">", start))
    return html[start:following]


def nothing_written() -> bool:
    return not GenerationJob.objects.exists() and not LedgerEntry.objects.filter(job__isnull=False).exists()


def test_the_form_offers_try_on_for_nova_with_its_inputs(signed_in):
    client, _ = signed_in(Role.CREATOR)

    html = client.get(f"{COMPOSE}?model={NOVA}&task_type=VIRTUAL_TRY_ON").content.decode()

    assert re.search(rf'value="{re.escape(NOVA)}" id="model-\d+" checked', html)
    option = html[html.index('data-task="VIRTUAL_TRY_ON"') :]
    assert 'value="VIRTUAL_TRY_ON" id="task-VIRTUAL_TRY_ON" checked' in option[:400]
    assert "Virtual try-on" in option[:600] and "Dress the person in the reference image" in option[:600]
    # The reference image is the garment: required, shown.
    reference = field_block(html, "reference_image")
    assert "hidden" not in reference[: reference.index(">")]
    assert re.search(r'data-reference-marker="required"\s*>', reference)
    assert 'aria-required="true"' in reference
    # GARMENT is the mask type shown first: its class and styling; not the painter nor the mask prompt.
    mask_type = field_block(html, "mask_type")
    assert '<option value="GARMENT" selected>' in mask_type and 'value="IMAGE"' in mask_type
    garment = field_block(html, "garment_class")
    assert "hidden" not in garment[: garment.index(">")]
    assert all(f'value="{value}"' in garment for value in TRY_ON_GARMENT_CLASSES)
    for name in ("long_sleeve_style", "tucking_style", "outer_layer_style", "mask_shape", "preserve_body_pose",
                 "preserve_hands", "preserve_face", "merge_style", "return_mask"):  # fmt: skip
        block = field_block(html, name)
        assert "hidden" not in block[: block.index(">")], name
        assert f'name="{name}"' in block
    assert all(f'value="{value}"' in field_block(html, "merge_style") for value in TRY_ON_MERGE_STYLES)
    assert 'type="checkbox" id="id_return_mask" name="return_mask" value="true"' in field_block(html, "return_mask")
    for name in ("mask_image", "mask_prompt", "prompt", "width"):
        block = field_block(html, name)
        assert "hidden" in block[: block.index(">")], name


def test_the_form_drawn_again_with_mask_type_image_shows_the_painter(signed_in):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, {
        "model": NOVA, "task_type": "VIRTUAL_TRY_ON", "image": upload(png()), "mask_type": "IMAGE",
    })  # fmt: skip

    assert response.status_code == 400
    html = response.content.decode()

    painter = field_block(html, "mask_image")
    assert "hidden" not in painter[: painter.index(">")] and 'id="generic-mask"' in painter
    garment = field_block(html, "garment_class")
    assert "hidden" in garment[: garment.index(">")]


def test_a_garment_try_on_makes_the_job_with_its_params_and_the_stored_garment(signed_in, tenant_a):
    client, user = signed_in(Role.CREATOR)
    person, garment = png(320, 240, (20, 40, 200)), png(200, 300, (220, 30, 30))
    painted = "data:image/png;base64,iVBORw0KGgo="  # a stale painting: not IMAGE, so not sent

    response = client.post(COMPOSE, {
        "model": NOVA, "task_type": "VIRTUAL_TRY_ON", "image": upload(person), "reference_image": upload(garment),
        "mask_type": "GARMENT", "garment_class": "UPPER_BODY", "long_sleeve_style": "SLEEVE_UP",
        "tucking_style": "", "outer_layer_style": "OPEN", "mask_shape": "BOUNDING_BOX", "preserve_face": "ON",
        "preserve_hands": "", "merge_style": "SEAMLESS", "return_mask": "true", "mask_prompt": "the jacket",
        "mask_image_painting": painted, "n": "2", "seed": "5", "quality": "standard", "prompt": "ignored",
    })  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert (job.model.model_id, job.task_type, job.requested_by_user, job.images_requested) == (
        NOVA, "VIRTUAL_TRY_ON", user, 2,
    )  # fmt: skip
    assert (job.width, job.height, job.seed) == (320, 240, 5)  # the person's size
    params = job.params
    assert (params["mask_type"], params["garment_class"], params["long_sleeve_style"], params["outer_layer_style"]) == (
        "GARMENT", "UPPER_BODY", "SLEEVE_UP", "OPEN",
    )  # fmt: skip
    assert (params["mask_shape"], params["preserve_face"], params["merge_style"], params["return_mask"]) == (
        "BOUNDING_BOX", "ON", "SEAMLESS", True,
    )  # fmt: skip
    assert not params.get("tucking_style") and not params.get("preserve_hands")
    assert not params.get("mask_prompt") and not params.get("prompt") and "mask_image" not in job.input_assets
    stored_person = Asset.objects.get(pk=job.input_assets["image"])
    stored_garment = Asset.objects.get(pk=job.input_assets["reference_image"])
    assert read_object(stored_person.file_key) == person and read_object(stored_garment.file_key) == garment
    assert LedgerEntry.objects.filter(job=job, kind="reserve").get().amount_usd == job.unit_price_usd * 2


def test_a_painted_mask_is_sent_for_mask_type_image(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    painting = Image.new("RGBA", (320, 240), (0, 0, 0, 0))
    painting.paste((232, 23, 125, 255), (40, 30, 200, 180))
    buffer = io.BytesIO()
    painting.save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    response = client.post(COMPOSE, {
        "model": NOVA, "task_type": "VIRTUAL_TRY_ON", "image": upload(png()), "reference_image": upload(png(100, 100)),
        "mask_type": "IMAGE", "garment_class": "UPPER_BODY", "mask_image_painting": data_url, "n": "1",
    })  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert "garment_class" not in job.params or not job.params["garment_class"]  # another type's input: not sent
    mask = np.asarray(
        Image.open(io.BytesIO(read_object(Asset.objects.get(pk=job.input_assets["mask_image"]).file_key)))
    )
    assert (mask[30:180, 40:200] == 0).all() and (mask == 0).sum() == 160 * 150


def test_the_source_asset_is_the_person(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    person = asset_store_upload(tenant=tenant_a, project=project_get_default(tenant=tenant_a),
                                image=read_image(png(256, 320)))  # fmt: skip

    html = client.get(f"{COMPOSE}?model={NOVA}&task_type=VIRTUAL_TRY_ON&source_asset={person.pk}").content.decode()

    assert 'value="VIRTUAL_TRY_ON" id="task-VIRTUAL_TRY_ON" checked' in html
    assert f'name="source_asset" value="{person.pk}"' in html
    reference = field_block(html, "reference_image")
    assert 'type="file"' in reference and "hidden" not in reference[: reference.index(">")]

    response = client.post(COMPOSE, {
        "model": NOVA, "task_type": "VIRTUAL_TRY_ON", "source_asset": str(person.pk),
        "reference_image": upload(png(100, 100)), "mask_type": "GARMENT", "garment_class": "FOOTWEAR",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert job.input_assets["image"] == str(person.pk) and (job.width, job.height) == (256, 320)


@pytest.mark.parametrize(
    "fields,bad",
    [
        ({"mask_type": "GARMENT"}, "garment_class"),  # GARMENT needs its class
        ({"mask_type": "IMAGE"}, "mask_image"),  # IMAGE needs a mask (painted or uploaded)
        ({"mask_type": "PROMPT"}, "mask_prompt"),
        ({"mask_type": "GARMENT", "garment_class": "UPPER_BODY", "merge_style": "LOUD"}, "merge_style"),
        ({"mask_type": "GARMENT", "garment_class": "HAT"}, "garment_class"),
        ({"mask_type": "SOMEWHERE"}, "mask_type"),
    ],
)
def test_a_bad_combination_is_shown_beside_its_field_and_nothing_is_written(signed_in, fields, bad):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, {
        "model": NOVA, "task_type": "VIRTUAL_TRY_ON", "image": upload(png()), "reference_image": upload(png(90, 90)),
    } | fields)  # fmt: skip

    assert response.status_code == 400
    html = response.content.decode()
    block = field_block(html, bad)
    assert "invalid" in block[: block.index(">")] and '<ul class="errors"' in block
    assert 'id="error-summary"' in html and nothing_written()
    assert 'value="VIRTUAL_TRY_ON" id="task-VIRTUAL_TRY_ON" checked' in html


def test_a_missing_garment_image_is_shown_beside_the_reference_upload(signed_in):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, {
        "model": NOVA, "task_type": "VIRTUAL_TRY_ON", "image": upload(png()), "mask_type": "GARMENT",
        "garment_class": "UPPER_BODY",
    })  # fmt: skip

    assert response.status_code == 400
    block = field_block(response.content.decode(), "reference_image")
    assert "invalid" in block[: block.index(">")] and "required" in block.split('<ul class="errors"')[1]
    assert nothing_written()
