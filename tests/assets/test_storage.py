"""The storage layer on both backends: the local filesystem and S3 (moto's server over HTTP)."""

import base64
import hashlib
import io
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from botocore.config import Config
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from PIL import Image
from storages.backends.s3 import S3Storage

from assets import storage
from assets.models import Asset, Project
from tests.s3 import FaultyProxy, make_bucket, s3_client, s3_settings

PHOTOS = Path(__file__).resolve().parent.parent / "fixtures" / "photos"
COFFEE = (PHOTOS / "coffee.png").read_bytes()
LOGO = (PHOTOS / "logo.png").read_bytes()

pytestmark = pytest.mark.urls("tests.assets.urls")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def moto_server(moto_s3):
    return moto_s3.url


@pytest.fixture
def bucket(moto_server):
    name = f"atelier-{uuid.uuid4().hex[:12]}"
    make_bucket(moto_server, name)
    return name


@dataclass
class Backend:
    name: str
    list_keys: Callable[[str], list[str]]  # every key under a prefix, as the backend itself sees them


@pytest.fixture
def filesystem_backend(settings, tmp_path):
    settings.ATELIER_STORAGE = "filesystem"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    root = settings.MEDIA_ROOT

    def list_keys(prefix: str) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in (root / prefix).rglob("*") if p.is_file())

    return Backend("filesystem", list_keys)


@pytest.fixture
def s3_backend(settings, moto_server, bucket):
    s3_settings(settings, moto_server, bucket)
    client = s3_client(moto_server)

    def list_keys(prefix: str) -> list[str]:
        listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(entry["Key"] for entry in listing.get("Contents", ()))

    return Backend("s3", list_keys)


@pytest.fixture(params=["filesystem", "s3"])
def backend(request) -> Backend:
    return request.getfixturevalue(f"{request.param}_backend")


def fetch(url: str) -> tuple[int, bytes, dict]:
    """A real HTTP GET: (status, body, case-insensitive headers)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def body_of(response) -> bytes:
    try:
        return b"".join(response.streaming_content)
    finally:
        response.close()


# --- settings switch ----------------------------------------------------------------------------


def test_default_storage_follows_the_settings_fixture(backend, settings):
    expected = FileSystemStorage if backend.name == "filesystem" else S3Storage
    assert isinstance(default_storage, expected)
    if backend.name == "s3":
        assert default_storage.bucket_name == settings.AWS_STORAGE_BUCKET_NAME
        assert default_storage.endpoint_url == settings.AWS_S3_ENDPOINT_URL
    else:
        assert Path(default_storage.location) == settings.MEDIA_ROOT


def test_default_storage_switches_back_when_the_override_ends(filesystem_backend, settings):
    with override_settings(
        STORAGES=settings.STORAGES | {"default": {"BACKEND": "storages.backends.s3.S3Storage"}},
        AWS_STORAGE_BUCKET_NAME="switch-test",
    ):
        assert isinstance(default_storage, S3Storage)
        assert default_storage.bucket_name == "switch-test"
    assert isinstance(default_storage, FileSystemStorage)
    assert Path(default_storage.location) == settings.MEDIA_ROOT


# --- keys and objects ---------------------------------------------------------------------------


def test_keys_are_content_addressed_per_tenant(tenant_a, tenant_b):
    digest = sha(COFFEE)
    key_a = storage.object_key(tenant=tenant_a, sha256=digest, ext="png")
    assert key_a == f"tenants/{tenant_a.uuid}/{digest[:2]}/{digest}.png"
    assert storage.thumbnail_key(tenant=tenant_a, sha256=digest) == (
        f"tenants/{tenant_a.uuid}/thumbs/{digest[:2]}/{digest}.webp"
    )
    key_b = storage.object_key(tenant=tenant_b, sha256=digest, ext=".PNG")
    assert key_b == key_a.replace(str(tenant_a.uuid), str(tenant_b.uuid))
    with pytest.raises(ValueError):
        storage.object_key(tenant=tenant_a, sha256="../../etc", ext="png")


@pytest.mark.django_db
def test_put_then_read_returns_the_same_bytes(backend, tenant_a):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    assert not storage.object_exists(key)
    storage.put_object(key, COFFEE, "image/png")
    assert storage.object_exists(key)
    assert storage.read_object(key) == COFFEE
    with pytest.raises(FileNotFoundError):
        storage.read_object(key.replace(".png", ".jpeg"))


@pytest.mark.django_db
def test_same_bytes_for_two_tenants_are_two_objects(backend, tenant_a, tenant_b):
    keys = [storage.object_key(tenant=t, sha256=sha(COFFEE), ext="png") for t in (tenant_a, tenant_b)]
    for key in keys:
        storage.put_object(key, COFFEE, "image/png")
    assert keys[0] != keys[1]
    assert backend.list_keys("tenants/") == sorted(keys)
    assert all(storage.read_object(key) == COFFEE for key in keys)


@pytest.mark.django_db
def test_putting_a_key_twice_leaves_one_object(backend, tenant_a):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    storage.put_object(key, COFFEE, "image/png")
    storage.put_object(key, COFFEE, "image/png")
    assert backend.list_keys(f"tenants/{tenant_a.uuid}/") == [key]


@pytest.mark.django_db
def test_a_partial_object_is_replaced_in_place(backend, tenant_a):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    storage.put_object(key, COFFEE[:1000], "image/png")  # what an interrupted write leaves
    storage.put_object(key, COFFEE, "image/png")
    assert backend.list_keys(f"tenants/{tenant_a.uuid}/") == [key]
    assert storage.read_object(key) == COFFEE


@pytest.mark.django_db
def test_a_concurrent_writer_of_the_same_key_leaves_no_renamed_copy(filesystem_backend, tenant_a, monkeypatch):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    real_size = storage._size_or_none
    checks = []

    def other_writer_lands_after_our_check(name):
        if not checks:  # our first look finds nothing; then the other writer stores the same bytes
            checks.append(name)
            default_storage.save(key, ContentFile(COFFEE))
            return None
        return real_size(name)

    monkeypatch.setattr(storage, "_size_or_none", other_writer_lands_after_our_check)
    storage.put_object(key, COFFEE, "image/png")  # FileSystemStorage saves ours as <name>_<random>.png
    assert filesystem_backend.list_keys("tenants/") == [key]
    assert storage.read_object(key) == COFFEE


@pytest.mark.django_db
def test_a_renamed_write_that_does_not_match_is_an_error(filesystem_backend, tenant_a, monkeypatch):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    storage.put_object(key, COFFEE[:10], "image/png")
    # Blind to what is stored: the backend renames our write and the key keeps the other bytes.
    monkeypatch.setattr(storage, "_size_or_none", lambda name: None)
    with pytest.raises(storage.StorageUnavailable, match="saved"):
        storage.put_object(key, COFFEE, "image/png")
    assert filesystem_backend.list_keys("tenants/") == [key]  # the stray copy was removed


@pytest.mark.django_db
def test_delete_is_idempotent(backend, tenant_a):
    key = storage.object_key(tenant=tenant_a, sha256=sha(LOGO), ext="png")
    storage.put_object(key, LOGO, "image/png")
    storage.delete_object(key)
    storage.delete_object(key)
    assert not storage.object_exists(key)


# --- download links -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_download_url_serves_the_exact_bytes(backend, tenant_a, client, settings):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    storage.put_object(key, COFFEE, "image/png")
    url = storage.download_url(tenant=tenant_a, key=key, filename="launch poster.png")

    if backend.name == "s3":
        status, body, headers = fetch(url)
    else:
        assert url.startswith("/files/")
        response = client.get(url)
        status, body, headers = response.status_code, body_of(response), response.headers
        assert headers["Cache-Control"] == f"private, max-age={settings.ATELIER_DOWNLOAD_URL_TTL}"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert status == 200
    assert body == COFFEE
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == 'attachment; filename="launch poster.png"'


@pytest.mark.django_db
def test_download_url_refuses_another_tenants_key(backend, tenant_a, tenant_b):
    key_b = storage.object_key(tenant=tenant_b, sha256=sha(COFFEE), ext="png")
    with pytest.raises(ValueError):
        storage.download_url(tenant=tenant_a, key=key_b)


@pytest.mark.django_db
def test_presigned_url_is_private_and_lives_for_the_ttl(s3_backend, tenant_a, settings):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    storage.put_object(key, COFFEE, "image/png")
    url = storage.download_url(tenant=tenant_a, key=key)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == [str(settings.ATELIER_DOWNLOAD_URL_TTL)]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "response-content-disposition" not in query
    # The object is private: without the signature the store refuses it.
    status, _, _ = fetch(urlunsplit(urlsplit(url)._replace(query="")))
    assert status == 403


def sign(payload: dict) -> str:
    return storage.download_signer().sign_object(payload)


def error_code(response) -> str:
    return json.loads(response.content)["error"]["code"]


@pytest.mark.django_db
def test_a_tampered_token_is_not_found(filesystem_backend, tenant_a, client):
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    storage.put_object(key, COFFEE, "image/png")
    url = storage.download_url(tenant=tenant_a, key=key)
    response = client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB"))
    assert response.status_code == 404
    assert error_code(response) == "not_found"


@pytest.mark.django_db
def test_an_expired_token_is_gone(filesystem_backend, tenant_a, client, settings, monkeypatch):
    settings.ATELIER_DOWNLOAD_URL_TTL = 1
    key = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    storage.put_object(key, COFFEE, "image/png")
    signed_at = time.time() - 10
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: signed_at)
        url = storage.download_url(tenant=tenant_a, key=key)
    response = client.get(url)
    assert response.status_code == 410
    assert json.loads(response.content) == {
        "error": {"code": "link_expired", "message": "This download link has expired; ask for a new one.", "fields": {}}
    }


def reencode(token: str, payload: dict) -> str:
    """The token with its payload swapped but the old timestamp and signature kept."""
    _, timestamp, signature = token.rsplit(":", 2)
    data = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{data}:{timestamp}:{signature}"


@pytest.mark.django_db
def test_a_token_cannot_be_pointed_at_another_tenants_object(filesystem_backend, tenant_a, tenant_b, client):
    digest = sha(COFFEE)
    key_a = storage.object_key(tenant=tenant_a, sha256=digest, ext="png")
    key_b = storage.object_key(tenant=tenant_b, sha256=digest, ext="png")
    storage.put_object(key_a, COFFEE, "image/png")
    storage.put_object(key_b, COFFEE, "image/png")
    token = storage.download_url(tenant=tenant_a, key=key_a).removeprefix("/files/")
    assert client.get(f"/files/{token}").status_code == 200

    # Editing the key inside tenant A's token breaks the signature.
    edited = reencode(token, {"t": str(tenant_a.uuid), "k": key_b, "f": None})
    assert client.get(f"/files/{edited}").status_code == 404
    # Editing both the tenant and the key breaks it too.
    edited = reencode(token, {"t": str(tenant_b.uuid), "k": key_b, "f": None})
    assert client.get(f"/files/{edited}").status_code == 404

    # Correctly signed, but the key lies outside the token's tenant: the view's own check refuses it.
    response = client.get(f"/files/{sign({'t': str(tenant_a.uuid), 'k': key_b, 'f': None})}")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    # ...and so is a climb out of the tenant's prefix.
    climb = f"tenants/{tenant_a.uuid}/../{tenant_b.uuid}/{digest[:2]}/{digest}.png"
    assert client.get(f"/files/{sign({'t': str(tenant_a.uuid), 'k': climb, 'f': None})}").status_code == 404


@pytest.mark.django_db
def test_a_token_of_an_unknown_tenant_or_a_missing_object_is_not_found(filesystem_backend, tenant_a, client):
    ghost = uuid.uuid4()
    digest = sha(COFFEE)
    ghost_key = f"tenants/{ghost}/{digest[:2]}/{digest}.png"
    storage.put_object(ghost_key, COFFEE, "image/png")
    assert client.get(f"/files/{sign({'t': str(ghost), 'k': ghost_key, 'f': None})}").status_code == 404

    missing = storage.object_key(tenant=tenant_a, sha256=sha(LOGO), ext="png")
    response = client.get(storage.download_url(tenant=tenant_a, key=missing))
    assert response.status_code == 404
    assert error_code(response) == "not_found"


@pytest.mark.django_db
def test_the_download_view_answers_get_and_head_only(filesystem_backend, tenant_a, client):
    key = storage.object_key(tenant=tenant_a, sha256=sha(LOGO), ext="png")
    storage.put_object(key, LOGO, "image/png")
    url = storage.download_url(tenant=tenant_a, key=key)
    head = client.head(url)
    head.close()
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(LOGO))
    assert "attachment" not in head.get("Content-Disposition", "")
    assert client.post(url).status_code == 405
    assert client.delete(url).status_code == 405


# --- thumbnails ---------------------------------------------------------------------------------


def test_thumbnail_is_a_small_webp_with_the_same_aspect_ratio():
    thumb = Image.open(io.BytesIO(storage.make_thumbnail(COFFEE)))
    assert thumb.format == "WEBP"
    assert thumb.size == (256, 171)  # 600×400 scaled to 256 on the long side
    assert thumb.mode == "RGB"
    assert max(Image.open(io.BytesIO(storage.make_thumbnail(COFFEE, max_side=64))).size) == 64


def test_a_thumbnail_looks_like_the_image_scaled_down_with_lanczos():
    """Averaged down by whole factors before its Lanczos step (assets.storage.thumbnail_of): the pixels stay those
    of a plain Lanczos downscale, within the WebP encoding's own error."""
    import numpy as np

    def pixels(data: bytes):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)

    photo = Image.open(io.BytesIO(COFFEE)).convert("RGB").resize((1200, 800))
    lanczos = photo.resize((256, 171), Image.Resampling.LANCZOS)
    encoded = io.BytesIO()
    lanczos.save(encoded, format="WEBP", quality=80, method=1)  # the thumbnail's own encoding, for its error alone
    thumb, lanczos = pixels(storage.thumbnail_of(photo)), np.asarray(lanczos, dtype=float)
    webp_error = np.abs(pixels(encoded.getvalue()) - lanczos).mean()
    assert thumb.shape == lanczos.shape == (171, 256, 3)
    assert np.abs(thumb - lanczos).mean() < webp_error + 0.5  # of 255
    assert photo.size == (1200, 800)  # the caller's image is left as it was


def test_thumbnail_keeps_transparency():
    # logo.png is RGBA but fully opaque; make its white background transparent to have something to keep.
    logo = Image.open(io.BytesIO(LOGO)).convert("RGBA")
    logo.putalpha(Image.eval(logo.convert("L"), lambda level: 0 if level == 255 else 255))
    source = io.BytesIO()
    logo.save(source, format="PNG")

    thumb = Image.open(io.BytesIO(storage.make_thumbnail(source.getvalue())))
    assert thumb.format == "WEBP"
    assert thumb.mode == "RGBA"
    assert thumb.size == (256, 256)
    assert thumb.getpixel((0, 0))[3] == 0  # the corner stays see-through
    assert thumb.getpixel((128, 128))[3] == 255


# --- S3 unavailable -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_put_object_reports_an_unreachable_s3_and_recovers(settings, moto_server, bucket, tenant_a):
    with FaultyProxy(moto_server) as proxy:
        # One attempt and short timeouts: the pipeline, not botocore, decides when to try again.
        fail_fast = Config(
            signature_version="s3v4", retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5
        )
        s3_settings(settings, proxy.url, bucket, AWS_S3_CLIENT_CONFIG=fail_fast)
        first = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
        second = storage.object_key(tenant=tenant_a, sha256=sha(LOGO), ext="png")
        storage.put_object(first, COFFEE, "image/png")

        proxy.down()
        with pytest.raises(storage.StorageUnavailable):
            storage.put_object(second, LOGO, "image/png")
        with pytest.raises(storage.StorageUnavailable):
            storage.read_object(first)

        proxy.up()
        storage.put_object(second, LOGO, "image/png")
        assert storage.read_object(first) == COFFEE
        assert storage.read_object(second) == LOGO


# --- sweep_orphans ------------------------------------------------------------------------------


def sweep(*args: str) -> str:
    out = io.StringIO()
    call_command("sweep_orphans", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_sweep_orphans_deletes_only_old_unreferenced_objects(backend, tenant_a, tenant_b, monkeypatch):
    kept_file = storage.object_key(tenant=tenant_a, sha256=sha(COFFEE), ext="png")
    kept_thumb = storage.thumbnail_key(tenant=tenant_a, sha256=sha(COFFEE))
    orphan = storage.object_key(tenant=tenant_b, sha256=sha(LOGO), ext="png")
    storage.put_object(kept_file, COFFEE, "image/png")
    storage.put_object(kept_thumb, storage.make_thumbnail(COFFEE), "image/webp")
    storage.put_object(orphan, LOGO, "image/png")
    project = Project.objects.create(tenant=tenant_a, name="Launch", slug="launch")
    Asset.objects.create(
        tenant=tenant_a, project=project, file_key=kept_file, thumbnail_key=kept_thumb,
        width=600, height=400, format="png", bytes=len(COFFEE), sha256=sha(COFFEE),
    )  # fmt: skip
    everything = sorted([kept_file, kept_thumb, orphan])

    # Just written: younger than the threshold, so even the orphan stays.
    assert "0 orphaned object(s) deleted." in sweep("--older-than-minutes", "60")
    assert backend.list_keys("tenants/") == everything

    # Two hours later the orphan is old enough.
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    output = sweep("--older-than-minutes", "60", "--dry-run")
    assert f"would delete {orphan}" in output
    assert "1 orphaned object(s) would be deleted (dry run)." in output
    assert backend.list_keys("tenants/") == everything

    output = sweep("--older-than-minutes", "60")
    assert f"deleted {orphan}" in output
    assert kept_file not in output and kept_thumb not in output
    assert "1 orphaned object(s) deleted." in output
    assert backend.list_keys("tenants/") == sorted([kept_file, kept_thumb])


# --- threads --------------------------------------------------------------------------------------


def test_threads_writing_at_once_each_store_their_bytes_through_one_boto3_session(s3_backend):
    """A worker's threads store images at once: each thread its own boto3 resource (they are not thread-safe),
    all made from the storage's one Session (config/storages.py), and every object holds its own bytes."""
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from assets import storage

    payloads = {f"threads/{index}.bin": os.urandom(64 * 1024 + index) for index in range(8)}
    all_started = threading.Barrier(8)  # eight threads, each with one object: they write at once

    def put(key: str):
        all_started.wait(timeout=30)
        storage.put_object(key, payloads[key], "application/octet-stream")
        return default_storage.connection, default_storage._create_session()

    with ThreadPoolExecutor(8) as threads:
        made = list(threads.map(put, payloads))

    assert s3_backend.list_keys("threads/") == sorted(payloads)
    assert all(storage.read_object(key) == data for key, data in payloads.items())
    resources, sessions = {id(resource) for resource, _ in made}, {id(session) for _, session in made}
    assert len(resources) == 8 and len(sessions) == 1
