"""Output formats end to end: a job that asks a Stability model for JPEG or WebP gets that format all the way — the
emulator over HTTP answers in it, the Celery worker stores it in S3 (moto over HTTP) under its own extension and
content type with Atelier's watermark and a signed C2PA manifest in that same format, the thumbnail is made, the
REST and studio downloads name it, and a provenance check of the downloaded bytes traces it back. PNG is unchanged;
Titan and Nova stay PNG."""

import base64
import hashlib
import io
import re
import urllib.request

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from assets.models import Asset
from assets.provenance import fingerprints, marks
from assets.provenance.manifest import manifest_read
from assets.provenance.stamp import provenance_stamp
from generation.models import BedrockModel
from tenants.models import Role

from ..generation.test_pipeline import bucket_bytes, finished, submit
from ..processes import ROOT

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SD35 = "stability.sd3-5-large-v1:0"
CORE = "stability.stable-image-core-v1:1"
REMOVE_BACKGROUND = "stability.stable-image-remove-background-v1:0"
MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpeg": (b"\xff\xd8\xff",), "webp": (b"RIFF", b"WEBP")}
PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def is_format(data: bytes, image_format: str) -> bool:
    if image_format == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return data.startswith(MAGIC[image_format][0])


@pytest.fixture
def api(pipeline, tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


@pytest.fixture
def studio(pipeline, tenant_a, member):
    client = Client()
    client.force_login(member(tenant_a, Role.CREATOR))
    return client


def coffee_b64() -> str:
    return base64.b64encode((ROOT / "tests/fixtures/photos/coffee.png").read_bytes()).decode()


def generated(api, body: dict) -> tuple[dict, Asset]:
    response = submit(api, body)
    assert response.status_code == 201, response.json()
    job = finished(api, response.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    return job, Asset.objects.get(pk=job["assets"][0]["id"])


def fetch(url: str) -> tuple[bytes, dict]:
    with urllib.request.urlopen(url, timeout=10) as download:
        return download.read(), {name.lower(): value for name, value in download.headers.items()}


def assert_stored_in_format(pipeline, tenant, asset: Asset, image_format: str) -> bytes:
    """The object in the bucket is `image_format` under its own extension and content type, and carries every layer
    of provenance in that format. Returns its bytes."""
    data = bucket_bytes(pipeline, asset.file_key)
    assert is_format(data, image_format), data[:16]
    assert (asset.format, asset.content_type) == (image_format, f"image/{image_format}")
    assert asset.file_key == f"tenants/{tenant.uuid}/{asset.sha256[:2]}/{asset.sha256}.{image_format}"
    assert hashlib.sha256(data).hexdigest() == asset.sha256 and asset.bytes == len(data)
    head = pipeline.s3.head_object(Bucket=pipeline.bucket, Key=asset.file_key)
    assert head["ContentType"] == f"image/{image_format}"

    image = Image.open(io.BytesIO(data))
    assert image.format == PIL_NAMES[image_format] and (image.width, image.height) == (asset.width, asset.height)
    assert marks.read(image) == asset.watermark_id is not None
    assert asset.phash == fingerprints.phash(image)
    reading = manifest_read(data=data, image_format=image_format)
    assert reading.result == "trusted" and reading.signed_by_atelier and reading.failures == []
    assert reading.atelier["watermark_id"] == asset.watermark_id and reading.label == asset.provenance["manifest_label"]

    thumbnail = bucket_bytes(pipeline, asset.thumbnail_key)
    assert is_format(thumbnail, "webp") and max(Image.open(io.BytesIO(thumbnail)).size) == 256
    return data


def assert_downloads_name_it(api, studio, asset: Asset, data: bytes, image_format: str) -> None:
    filename = f"{asset.pk}.{image_format}"
    rest = api.get(f"/api/v1/tenants/acme/assets/{asset.pk}/").json()
    assert rest["format"] == image_format
    body, headers = fetch(rest["download_url"])
    assert body == data
    assert headers["content-type"] == f"image/{image_format}"
    assert filename in headers["content-disposition"] and "attachment" in headers["content-disposition"]

    page = studio.get(f"/t/acme/assets/{asset.pk}/")
    assert page.status_code == 200
    link = re.search(r'href="([^"]+)"[^>]*download>Download original', page.content.decode()).group(1)
    body, headers = fetch(link.replace("&amp;", "&"))
    assert body == data
    assert headers["content-type"] == f"image/{image_format}" and filename in headers["content-disposition"]


def assert_checks_trace_it(api, studio, asset: Asset, data: bytes, image_format: str) -> None:
    upload = SimpleUploadedFile(f"download.{image_format}", data, content_type=f"image/{image_format}")
    check = api.post("/api/v1/tenants/acme/provenance-checks/", {"image": upload}, format="multipart")
    assert check.status_code == 201, check.content
    assert (check.json()["verdict"], check.json()["asset"]) == ("atelier_asset", str(asset.pk))
    results = {d["name"]: d["result"] for d in check.json()["detectors"]}
    assert results["exact_hash"] == "match" and results["atelier_watermark"] == "match"
    assert results["c2pa"] == "trusted" and results["bedrock_watermark"] == "detected"

    by_asset = api.post("/api/v1/tenants/acme/provenance-checks/", {"asset": str(asset.pk)}, format="json")
    assert by_asset.status_code == 201 and by_asset.json()["verdict"] == "atelier_asset"

    upload = SimpleUploadedFile(f"download.{image_format}", data, content_type=f"image/{image_format}")
    page = studio.post("/t/acme/provenance/", {"image": upload})
    assert page.status_code == 302, page.content.decode()[:2000]
    result = studio.get(page["Location"]).content.decode()
    assert f"/t/acme/assets/{asset.pk}/" in result and "trusted" in result


@pytest.mark.parametrize("image_format", ["jpeg", "webp", "png"])
def test_sd35_stores_serves_and_proves_the_format_it_was_asked_for(api, studio, pipeline, tenant_a, image_format):
    job, asset = generated(
        api, {"model": SD35, "prompt": "a harbour", "aspect_ratio": "1:1", "seed": 11, "output_format": image_format}
    )

    assert job["params"]["output_format"] == image_format
    data = assert_stored_in_format(pipeline, tenant_a, asset, image_format)
    if image_format == "png":  # as before: the emulator's text chunks are carried over
        assert Image.open(io.BytesIO(data)).info["atelier:emulator"] == "true"
    else:  # the emulator says so in EXIF (WebP) or a comment (JPEG), and the stamp keeps it
        image = Image.open(io.BytesIO(data))
        said = image.getexif().get(0x0131) if image_format == "webp" else image.info["comment"].decode()
        assert "emulator" in said
    assert_downloads_name_it(api, studio, asset, data, image_format)
    assert_checks_trace_it(api, studio, asset, data, image_format)


def test_stable_image_core_stores_jpeg_as_jpeg(api, pipeline, tenant_a):
    _, asset = generated(api, {"model": CORE, "prompt": "a city", "aspect_ratio": "1:1", "seed": 3,
                               "output_format": "jpeg"})  # fmt: skip

    assert_stored_in_format(pipeline, tenant_a, asset, "jpeg")


def test_remove_background_in_webp_keeps_its_transparency_through_the_stamp(api, studio, pipeline, tenant_a):
    _, asset = generated(api, {"model": REMOVE_BACKGROUND, "image": coffee_b64(), "output_format": "webp"})

    data = assert_stored_in_format(pipeline, tenant_a, asset, "webp")
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGBA" and (asset.width, asset.height) == (600, 400)
    alpha = np.asarray(image.getchannel("A"))
    assert alpha.min() == 0 and alpha.max() == 255  # a cut-out: transparent background, opaque subject
    thumbnail = Image.open(io.BytesIO(bucket_bytes(pipeline, asset.thumbnail_key)))
    assert thumbnail.mode == "RGBA" and np.asarray(thumbnail.getchannel("A")).min() == 0
    assert_downloads_name_it(api, studio, asset, data, "webp")
    assert_checks_trace_it(api, studio, asset, data, "webp")


@pytest.mark.parametrize(
    ("body", "allowed"),
    [
        ({"model": "amazon.nova-canvas-v1:0", "prompt": "a cat", "output_format": "jpeg"}, "PNG"),
        ({"model": "amazon.titan-image-generator-v2:0", "prompt": "a cat", "output_format": "webp"}, "PNG"),
        ({"model": CORE, "prompt": "a cat", "aspect_ratio": "1:1", "output_format": "webp"}, "png, jpeg"),
        ({"model": SD35, "prompt": "a cat", "aspect_ratio": "1:1", "output_format": "gif"}, "png, jpeg, webp"),
        ({"model": REMOVE_BACKGROUND, "output_format": "jpeg"}, "png, webp"),
    ],
    ids=["nova-jpeg", "titan-webp", "core-webp", "sd35-gif", "remove-background-jpeg"],
)
def test_a_format_the_model_does_not_offer_is_a_400_naming_output_format(api, pipeline, body, allowed):
    if body["model"] == REMOVE_BACKGROUND:
        body = body | {"image": coffee_b64()}

    response = submit(api, body)

    assert response.status_code == 400, response.json()
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["output_format"] and allowed in fields["output_format"][0]
    assert Asset.objects.count() == 0 and pipeline.emulator.invocations() == 0


def test_the_catalog_says_which_formats_each_model_offers(api):
    rows = {row["id"]: row for row in api.get("/api/v1/tenants/acme/models/").json()}

    assert rows[SD35]["output_formats"] == ["png", "jpeg", "webp"]
    assert rows[CORE]["output_formats"] == ["png", "jpeg"]
    assert rows[REMOVE_BACKGROUND]["output_formats"] == ["png", "webp"]
    assert rows["amazon.nova-canvas-v1:0"]["output_formats"] == ["png"]
    assert BedrockModel.objects.get(model_id=SD35).output_formats == ["png", "jpeg", "webp"]


@pytest.mark.parametrize("photo", ["chelsea.png", "rocket.jpg"])
def test_a_mostly_transparent_webp_cut_out_keeps_both_watermarks_through_the_stamp(photo):
    """WebP drops the colour under fully transparent pixels unless told to keep it: on these cut-outs (73 % and 66 %
    transparent) that loses Atelier's mark and the emulator's."""
    from types import SimpleNamespace

    from generation import watermark
    from generation.bedrock.request import validate_request
    from generation.bedrock.specs import SPECS
    from generation.emulator.render import _payload, render

    source = base64.b64encode((ROOT / "tests/fixtures/photos" / photo).read_bytes()).decode()
    request = validate_request(SPECS[REMOVE_BACKGROUND], {"image": source, "output_format": "webp"})
    answer = render(request, 0, "webp")
    job = SimpleNamespace(pk="job", model=SimpleNamespace(model_id=REMOVE_BACKGROUND), task_type="BACKGROUND_REMOVAL",
                          tenant=SimpleNamespace(slug="acme"), params={})  # fmt: skip

    stamped = provenance_stamp(job=job, watermark_id="0123456789abcdef", data=answer)

    image = Image.open(io.BytesIO(stamped.data))
    assert is_format(stamped.data, "webp") and image.mode == "RGBA"
    assert (np.asarray(image.getchannel("A")) == 0).mean() > 0.6
    assert marks.read(image) == "0123456789abcdef"
    assert watermark.detect(image) == _payload(request, 0)
    assert manifest_read(data=stamped.data, image_format="webp").result == "trusted"


@pytest.mark.parametrize("image_format", ["jpeg", "webp"])
def test_the_filesystem_download_serves_the_format_under_its_name(settings, tmp_path, tenant_a, client, image_format):
    from assets import storage

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(buffer, format=PIL_NAMES[image_format])
    data = buffer.getvalue()
    key = storage.object_key(tenant=tenant_a, sha256=hashlib.sha256(data).hexdigest(), ext=image_format)
    storage.put_object(key, data, f"image/{image_format}")

    response = client.get(storage.download_url(tenant=tenant_a, key=key, filename=f"asset.{image_format}"))

    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert response["Content-Type"] == f"image/{image_format}"
    assert response["Content-Disposition"] == f'attachment; filename="asset.{image_format}"'
