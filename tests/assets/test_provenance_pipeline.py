"""Provenance end to end on the real pipeline: the REST API, a Celery worker process, the Bedrock emulator over
HTTP and S3 (moto) over HTTP. What lands in the bucket carries Atelier's watermark and a trusted C2PA manifest, is
named by its own sha256, and a provenance check of those bytes traces them back to the asset."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from assets.models import Asset
from assets.provenance import fingerprints, marks
from assets.provenance.manifest import TRAINED_ALGORITHMIC_MEDIA, manifest_read
from tenants.models import Role

from ..generation.test_pipeline import bucket_bytes, finished, submit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOVA = "amazon.nova-canvas-v1:0"
STABILITY = "stability.stable-image-core-v1:1"


@pytest.fixture
def api(pipeline, tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


def test_a_generated_image_in_the_bucket_proves_where_it_came_from(api, pipeline, tenant_a):
    prompt = "a lighthouse at dawn"
    job = finished(
        api, submit(api, {"model": NOVA, "prompt": prompt, "width": 512, "height": 512, "seed": 5}).json()["id"]
    )
    assert job["status"] == "succeeded", job["error"]
    asset = Asset.objects.get(pk=job["assets"][0]["id"])

    data = bucket_bytes(pipeline, asset.file_key)

    image = Image.open(io.BytesIO(data))
    assert hashlib.sha256(data).hexdigest() == asset.sha256 == job["assets"][0]["sha256"]
    assert marks.read(image) == asset.watermark_id is not None
    assert asset.phash == fingerprints.phash(image)
    reading = manifest_read(data=data, image_format="png")
    assert reading.result == "trusted" and reading.signed_by_atelier
    assert [(a["action"], a["digitalSourceType"]) for a in reading.actions] == [
        ("c2pa.created", TRAINED_ALGORITHMIC_MEDIA)
    ]
    assert reading.atelier == {
        "model": NOVA, "task": "TEXT_IMAGE", "tenant": "acme", "watermark_id": asset.watermark_id,
        "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
    }  # fmt: skip
    assert asset.provenance["manifest_label"] == reading.label

    check = api.post(
        "/api/v1/tenants/acme/provenance-checks/",
        {"image": SimpleUploadedFile("download.png", data, content_type="image/png")},
        format="multipart",
    )

    assert check.status_code == 201, check.content
    assert (check.json()["verdict"], check.json()["asset"]) == ("atelier_asset", str(asset.pk))
    assert {d["name"]: d["result"] for d in check.json()["detectors"]}["c2pa"] == "trusted"


def test_a_stability_image_gets_atelier_mark_too(api, pipeline):
    job = finished(api, submit(api, {"model": STABILITY, "prompt": "a city", "aspect_ratio": "1:1", "seed": 9,
                                     "output_format": "jpeg"}).json()["id"])  # fmt: skip
    assert job["status"] == "succeeded", job["error"]
    asset = Asset.objects.get(pk=job["assets"][0]["id"])

    data = bucket_bytes(pipeline, asset.file_key)

    assert Image.open(io.BytesIO(data)).format == "JPEG"
    assert marks.read(Image.open(io.BytesIO(data))) == asset.watermark_id is not None
    reading = manifest_read(data=data, image_format="jpeg")
    assert reading.result == "trusted" and reading.atelier["model"] == STABILITY
