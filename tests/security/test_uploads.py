"""Hostile uploads through every door that takes an image — the REST job fields `image`, `images`
and `mask_image` (base64), the composer's multipart upload, the provenance check (REST and studio)
and the OpenAI-compatible edits — are refused with a 400 naming the field, and on refusal nothing
is stored, charged or recorded: no asset, job, ledger entry or provenance check, no object in the
bucket (moto S3). Polyglots (a real image with a ZIP or HTML after its end) are accepted, but what
is stored and sent to Bedrock is the image alone. File names never reach a storage key.

read_image's own refusals (bomb without decoding, 5 MB to the byte, sides, sniffing) are unit-tested
in tests/generation/test_images.py; this is the same rule proven at each door."""

import base64
import hashlib
import io
import zipfile
from functools import cache

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from assets.models import Asset, ProvenanceCheck
from billing.models import LedgerEntry
from generation.bedrock.images import _image_end, read_image
from generation.models import GenerationJob
from tenants.models import Role
from tests.generation.test_images import png_claiming
from tests.s3 import s3_settings

pytestmark = pytest.mark.django_db

NOVA = "amazon.nova-canvas-v1:0"


def png(width=256, height=256, colour=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(**options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (30, 90, 160)).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<script>alert(1)</script>")
    return buffer.getvalue()


@cache
def six_megabyte_png() -> bytes:
    """A real, decodable PNG of noise that is simply too large (6–7 MB)."""
    noise = np.random.default_rng(6).integers(0, 256, (1450, 1450, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


# Titan and Nova doors take JPEG or PNG; the image services and provenance checks WebP too.
HOSTILE = {
    "decompression bomb": (lambda: png_claiming(20_000, 20_000), "claims"),
    "svg named png": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "Must be a JPEG"),
    "html named png": (lambda: b"<!doctype html><script>alert(document.cookie)</script>", "Must be a JPEG"),
    "6 MB png": (six_megabyte_png, "the most is 5,242,880 (5 MB)"),
}
POLYGLOTS = {
    "png + zip": (png, a_zip()),
    "png + html": (png, b"<html><script>alert(1)</script></html>"),
    "jpeg + html": (jpeg, b"<html><script>alert(1)</script></html>"),
}


@pytest.fixture
def bucket(settings, moto_s3, tenant_a):
    """S3 (moto over HTTP) as the store; `bucket()` lists the keys under tenant A's prefix."""
    s3_settings(settings, moto_s3.url, moto_s3.bucket)
    from tests.s3 import s3_client

    client = s3_client(moto_s3.url)

    def keys() -> list[str]:
        listing = client.list_objects_v2(Bucket=moto_s3.bucket, Prefix=f"tenants/{tenant_a.uuid}/")
        return sorted(item["Key"] for item in listing.get("Contents", ()))

    return keys


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (Asset, GenerationJob, LedgerEntry, ProvenanceCheck)}


@pytest.fixture
def creator_key(tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


@pytest.fixture
def browser(tenant_a, member):
    client = Client()
    client.force_login(member(tenant_a, Role.CREATOR))
    return client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Each door: (send(clients, data, filename) → response, the field the 400 names).
def rest_image(clients, data, name):
    body = {"model": NOVA, "task_type": "BACKGROUND_REMOVAL", "image": b64(data)}
    return clients.key.post("/api/v1/tenants/acme/jobs/", body, format="json")


def rest_images(clients, data, name):
    body = {"model": NOVA, "task_type": "IMAGE_VARIATION", "prompt": "a chair", "images": [b64(png()), b64(data)]}
    return clients.key.post("/api/v1/tenants/acme/jobs/", body, format="json")


def rest_mask(clients, data, name):
    body = {"model": NOVA, "task_type": "INPAINTING", "prompt": "a chair", "image": b64(png()), "mask_image": b64(data)}
    return clients.key.post("/api/v1/tenants/acme/jobs/", body, format="json")


def composer(clients, data, name):
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    return clients.browser.post("/t/acme/compose/", {"model": NOVA, "task_type": "BACKGROUND_REMOVAL", "image": upload})


def provenance_rest(clients, data, name):
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    return clients.key.post("/api/v1/tenants/acme/provenance-checks/", {"image": upload}, format="multipart")


def provenance_page(clients, data, name):
    return clients.browser.post("/t/acme/provenance/", {"image": SimpleUploadedFile(name, data, "image/png")})


def openai_edit(clients, data, name):
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    return clients.key.post(
        "/v1/images/edits", {"image": upload, "prompt": "remove the background"}, format="multipart"
    )


DOORS = {
    "rest image": (rest_image, "image"),
    "rest images": (rest_images, "images.1"),
    "rest mask_image": (rest_mask, "mask_image"),
    "composer": (composer, "image"),
    "provenance rest": (provenance_rest, "image"),
    "provenance page": (provenance_page, "image"),
    "openai edits": (openai_edit, "image"),
}


def named_field_message(response, field: str) -> str:
    """The refusal's words for `field`, from the JSON envelope (REST, OpenAI) or beside the form field (studio)."""
    if response["Content-Type"].startswith("application/json"):
        error = response.json()["error"]
        if "fields" in error:
            return " ".join(error["fields"][field])
        assert error.get("param") == field, error  # OpenAI's envelope names the field as `param`
        return error["message"]
    html = response.content.decode()
    assert f'name="{field}"' in html
    return html


@pytest.fixture
def clients(creator_key, browser):
    from types import SimpleNamespace

    return SimpleNamespace(key=creator_key, browser=browser)


@pytest.mark.parametrize("hostile", HOSTILE, ids=str)
@pytest.mark.parametrize("door", DOORS, ids=str)
def test_hostile_uploads_are_refused_naming_the_field_and_nothing_is_kept(door, hostile, clients, bucket):
    send, field = DOORS[door]
    make, reason = HOSTILE[hostile]
    before = counts()

    response = send(clients, make(), "evil.png")

    assert response.status_code == 400, response.content[:500]
    assert reason in named_field_message(response, field)
    assert counts() == before
    assert bucket() == []


def stored_upload_bytes(tenant) -> dict[str, bytes]:
    from assets import storage

    return {a.file_key: storage.read_object(a.file_key) for a in Asset.objects.filter(tenant=tenant, kind="upload")}


@pytest.mark.parametrize("polyglot", POLYGLOTS, ids=str)
@pytest.mark.parametrize("door", ["rest image", "composer"], ids=str)
def test_a_polyglot_is_stored_as_the_image_alone(door, polyglot, clients, bucket, tenant_a):
    make, payload = POLYGLOTS[polyglot]
    image = make()
    send, _ = DOORS[door]

    response = send(clients, image + payload, "poster.png")

    assert response.status_code in (200, 201, 302), response.content[:500]
    (key, data), *others = stored_upload_bytes(tenant_a).items()
    assert not others
    assert data == image  # not a byte of the trailing payload
    digest = hashlib.sha256(image).hexdigest()
    extension = "png" if image.startswith(b"\x89PNG") else "jpeg"
    assert key == f"tenants/{tenant_a.uuid}/{digest[:2]}/{digest}.{extension}"
    assert key in bucket() and not any("poster" in stored for stored in bucket())


def test_the_largest_valid_json_body_fits_under_the_request_size_limit(settings):
    """Five variation images of 5 MB each, base64: the REST and OpenAI JSON bodies must get to read_image,
    which names the field, instead of Django's bare 400 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    from generation.bedrock.specs import MAX_INPUT_IMAGE_BYTES, MAX_VARIATION_IMAGES

    base64_image = 4 * -(-MAX_INPUT_IMAGE_BYTES // 3)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= MAX_VARIATION_IMAGES * (base64_image + 8) + 64 * 1024


def test_an_image_just_under_5_mb_is_taken_through_the_base64_field(clients, bucket, tenant_a):
    noise = np.random.default_rng(5).integers(0, 256, (1300, 1300, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG", compress_level=0)
    image = buffer.getvalue()
    assert 5_000_000 < len(image) <= 5 * 1024 * 1024

    response = rest_image(clients, image, "big.png")

    assert response.status_code == 201, response.content[:500]
    assert list(stored_upload_bytes(tenant_a).values()) == [image]


def test_a_climbing_file_name_never_becomes_a_key(clients, bucket, tenant_a):
    image = png(colour=(1, 2, 3))

    response = composer(clients, image, "../../../etc/passwd.png")

    assert response.status_code == 302, response.content[:500]
    digest = hashlib.sha256(image).hexdigest()
    assert Asset.objects.get(kind="upload").file_key == f"tenants/{tenant_a.uuid}/{digest[:2]}/{digest}.png"
    assert bucket() == [f"tenants/{tenant_a.uuid}/{digest[:2]}/{digest}.png",
                        f"tenants/{tenant_a.uuid}/thumbs/{digest[:2]}/{digest}.webp"]  # fmt: skip


@pytest.mark.parametrize(
    "make",
    [
        lambda: jpeg(progressive=True),
        lambda: jpeg(exif=_exif_with_thumbnail()),
        lambda: jpeg(quality=95, restart_marker_blocks=1),
        lambda: png(),
    ],
    ids=["progressive jpeg", "jpeg with exif thumbnail", "jpeg with restart markers", "png"],
)
def test_the_end_of_a_genuine_image_is_its_last_byte(make):
    """The polyglot cut keeps every byte of real images: several scans, an embedded JPEG's own EOI, restarts."""
    data = make()
    assert _image_end(data, "PNG" if data.startswith(b"\x89PNG") else "JPEG") == len(data)
    assert read_image(data).data == data


def _exif_with_thumbnail() -> bytes:
    thumbnail = jpeg()  # a whole JPEG, EOI and all, inside the APP1 segment
    exif = Image.Exif()
    exif[0x010E] = "a description"
    return exif.tobytes() + thumbnail  # the thumbnail's bytes ride inside the segment


def test_an_image_without_its_end_marker_is_refused():
    truncated = jpeg()[:-2]
    with pytest.raises(ValueError, match="no end marker|cannot be read"):
        read_image(truncated)
