"""Download links are capabilities: they expire, name exactly one object of one tenant, and cannot
be edited to name another.

Already proven elsewhere, not repeated here (tests/assets/test_storage.py): the /files/<token> link
serves the exact bytes; a tampered signature, an edited key or tenant, a key outside the token's
tenant, a `..` climb, an unknown tenant and a missing object are all 404; an expired token is 410;
download_url refuses another tenant's key; a presigned S3 URL carries X-Amz-Expires = the TTL and
the object is private without it.

Here: the exact expiry boundary; tokens of one kind of link refused by the other (different salts);
the OpenAI-compatible /v1/images/files/<token> rendition link (expiry, edits, foreign keys);
is_clean_key on every climbing shape; and, since moto does not check presigned signatures or expiry
(tests/s3.py), proof that the presigned URL's SigV4 signature covers the key and the expiry, by
checking it the way S3 does."""

import base64
import hashlib
import hmac
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from django.core import signing
from PIL import Image

from assets import storage
from generation.openai_api.output import rendition_signer
from tests.s3 import SECRET_ACCESS_KEY, s3_settings

pytestmark = pytest.mark.django_db


def png_bytes(colour=(10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def on_disk(settings, tmp_path):
    settings.ATELIER_STORAGE = "filesystem"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return settings


def stored(tenant, data: bytes) -> str:
    key = storage.object_key(tenant=tenant, sha256=hashlib.sha256(data).hexdigest(), ext="png")
    storage.put_object(key, data, "image/png")
    return key


def signed_at(monkeypatch, moment: float, make):
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: moment)
        return make()


def get_at(client, monkeypatch, moment: float, url: str):
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: moment)
        return client.get(url)


def test_a_file_link_works_until_its_ttl_and_not_a_second_after(on_disk, tenant_a, client, monkeypatch):
    on_disk.ATELIER_DOWNLOAD_URL_TTL = 300
    key = stored(tenant_a, png_bytes())
    issued = 1_700_000_000.0
    url = signed_at(monkeypatch, issued, lambda: storage.download_url(tenant=tenant_a, key=key))

    assert get_at(client, monkeypatch, issued + 299, url).status_code == 200
    assert get_at(client, monkeypatch, issued + 300, url).status_code == 200
    late = get_at(client, monkeypatch, issued + 301, url)
    assert late.status_code == 410
    assert late.json()["error"]["code"] == "link_expired"


def rendition_url(tenant, key: str, **overrides) -> str:
    payload = {"t": str(tenant.uuid), "k": key, "f": "webp", "c": None, "n": "x.webp"} | overrides
    return f"/v1/images/files/{rendition_signer().sign_object(payload)}"


def test_each_kind_of_link_refuses_the_other_kinds_token(on_disk, tenant_a, client):
    key = stored(tenant_a, png_bytes())
    file_token = storage.download_url(tenant=tenant_a, key=key).removeprefix("/files/")
    rendition_token = rendition_url(tenant_a, key, f="png", n="x.png").removeprefix("/v1/images/files/")
    # The same payload under Django's default salt (what signing.dumps makes for anything else).
    plain_token = signing.TimestampSigner().sign_object({"t": str(tenant_a.uuid), "k": key, "f": None})

    assert client.get(f"/files/{file_token}").status_code == 200
    assert client.get(f"/v1/images/files/{rendition_token}").status_code == 200
    assert client.get(f"/files/{rendition_token}").status_code == 404
    assert client.get(f"/v1/images/files/{file_token}").status_code == 404
    assert client.get(f"/files/{plain_token}").status_code == 404
    assert client.get(f"/v1/images/files/{plain_token}").status_code == 404


def reencode(token: str, payload: dict) -> str:
    """The token with its payload swapped, its timestamp and signature kept."""
    _, timestamp, signature = token.rsplit(":", 2)
    data = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{data}:{timestamp}:{signature}"


def test_a_rendition_link_names_one_object_of_one_tenant(on_disk, tenant_a, tenant_b, client):
    key_a, key_b = stored(tenant_a, png_bytes()), stored(tenant_b, png_bytes((200, 10, 10)))
    url = rendition_url(tenant_a, key_a)
    assert client.get(url).status_code == 200
    token = url.removeprefix("/v1/images/files/")

    edited = reencode(token, {"t": str(tenant_b.uuid), "k": key_b, "f": "webp", "c": None, "n": "x.webp"})
    assert client.get(f"/v1/images/files/{edited}").status_code == 404
    # Correctly signed, but the key is outside the link's tenant, or climbs out of it.
    assert client.get(rendition_url(tenant_a, key_b)).status_code == 404
    climb = f"{storage.tenant_prefix(tenant_a.uuid)}../{key_b.removeprefix('tenants/')}"
    assert client.get(rendition_url(tenant_a, climb)).status_code == 404
    # Only the formats the API answers in: no text/html rendition of an image.
    assert client.get(rendition_url(tenant_a, key_a, f="html", n="x.html")).status_code == 404


def test_a_rendition_link_expires_like_a_file_link(on_disk, tenant_a, client, monkeypatch):
    on_disk.ATELIER_DOWNLOAD_URL_TTL = 60
    key = stored(tenant_a, png_bytes())
    issued = 1_700_000_000.0
    url = signed_at(monkeypatch, issued, lambda: rendition_url(tenant_a, key))

    assert get_at(client, monkeypatch, issued + 60, url).status_code == 200
    late = get_at(client, monkeypatch, issued + 61, url)
    assert late.status_code == 410
    assert late.json()["error"]["code"] == "link_expired"


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "tenants/x/../../etc/passwd", "tenants/x/./a.png", "tenants/x//a.png", "tenants/x/..",
     "../tenants/x/a.png", "tenants/x/a.png/"],
)  # fmt: skip
def test_keys_that_could_climb_are_not_clean(key):
    assert not storage.is_clean_key(key)


def test_download_url_refuses_a_climbing_key_of_its_own_tenant(tenant_a, tenant_b):
    climb = f"{storage.tenant_prefix(tenant_a.uuid)}../{tenant_b.uuid}/ab/{'ab' * 32}.png"
    with pytest.raises(ValueError):
        storage.download_url(tenant=tenant_a, key=climb)


# --- presigned S3 URLs --------------------------------------------------------------------------


def sigv4_query_signature_ok(url: str, secret_key: str) -> bool:
    """Does the URL's X-Amz-Signature match its path, host and query, as S3 checks it (SigV4, query auth)?"""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = dict(query)["X-Amz-Signature"]
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query) if k != "X-Amz-Signature"
    )
    canonical_request = "\n".join(
        [
            "GET",
            quote(parts.path, safe="/-_.~"),
            canonical_query,
            f"host:{parts.netloc}",
            "",
            "host",
            "UNSIGNED-PAYLOAD",
        ]
    )
    amz_date = dict(query)["X-Amz-Date"]
    scope = dict(query)["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = f"AWS4{secret_key}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), given)


def test_a_presigned_url_is_signed_over_its_key_and_its_expiry(settings, moto_s3, tenant_a, tenant_b):
    """moto serves any signature (tests/s3.py), so this checks the signature itself: it verifies for
    the URL as issued, and no longer once the key is re-pointed or the expiry stretched."""
    s3_settings(settings, moto_s3.url, moto_s3.bucket)
    key_a, key_b = stored(tenant_a, png_bytes()), stored(tenant_b, png_bytes((1, 2, 3)))
    before = datetime.now(UTC).replace(microsecond=0)
    url = storage.download_url(tenant=tenant_a, key=key_a, filename="poster.png")
    query = dict(parse_qsl(urlsplit(url).query))

    assert sigv4_query_signature_ok(url, SECRET_ACCESS_KEY)
    signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed <= before + timedelta(seconds=5)
    assert int(query["X-Amz-Expires"]) == settings.ATELIER_DOWNLOAD_URL_TTL
    assert not sigv4_query_signature_ok(url.replace(key_a, key_b), SECRET_ACCESS_KEY)
    stretched = url.replace(f"X-Amz-Expires={query['X-Amz-Expires']}", "X-Amz-Expires=604800")
    assert stretched != url
    assert not sigv4_query_signature_ok(stretched, SECRET_ACCESS_KEY)
    assert not sigv4_query_signature_ok(url.replace("poster.png", "poster.html"), SECRET_ACCESS_KEY)
