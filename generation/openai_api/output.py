"""How the images go back: `b64_json` inline, or `url` — the storage's own expiring link for the
stored image as it is, or a signed, expiring /v1/images/files/<token> link that converts it to
the output_format and output_compression asked for on the way out."""

import base64

from django.conf import settings
from django.core import signing
from django.urls import reverse

from assets import storage
from assets.models import Asset
from tenants.models import Tenant

from .images import converted
from .parsing import ImageCall

RENDITION_SALT = "atelier.openai.rendition"


def rendition_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=RENDITION_SALT)


def _as_stored(asset: Asset, call: ImageCall) -> bool:
    return asset.format == call.output_format and call.output_compression is None


def _filename(asset: Asset, call: ImageCall) -> str:
    return f"{asset.pk}.{call.output_format}"


def image_data(*, assets: list[Asset], call: ImageCall, absolute) -> list[dict]:
    """OpenAI's `data`: one {"url"} or {"b64_json"} per image. `absolute` makes a path a full URL."""
    return [_one(asset, call, absolute) for asset in assets]


def image_b64(asset: Asset, call: ImageCall) -> str:
    """The image in the output_format (and compression) asked for, base64: `b64_json`, and a stream's events."""
    data = storage.read_object(asset.file_key)
    if not _as_stored(asset, call):
        data = converted(data, output_format=call.output_format, compression=call.output_compression)
    return base64.b64encode(data).decode("ascii")


def _one(asset: Asset, call: ImageCall, absolute) -> dict:
    if call.response_format == "b64_json":
        return {"b64_json": image_b64(asset, call)}
    if _as_stored(asset, call):
        url = storage.download_url(tenant=asset.tenant, key=asset.file_key, filename=_filename(asset, call))
    else:
        token = rendition_signer().sign_object(
            {"t": str(asset.tenant.uuid), "k": asset.file_key, "f": call.output_format,
             "c": call.output_compression, "n": _filename(asset, call)}
        )  # fmt: skip
        url = reverse("openai-image-file", kwargs={"token": token})
    return {"url": absolute(url)}


def rendition_from_token(token: str) -> dict | None:
    """The signed rendition a link names ({t, k, f, c, n}); None when the link is forged or malformed.
    An expired link raises signing.SignatureExpired."""
    try:
        payload = rendition_signer().unsign_object(token, max_age=settings.ATELIER_DOWNLOAD_URL_TTL)
    except signing.SignatureExpired:
        raise
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("t", "k", "f", "n")):
        return None
    if payload.get("c") is not None and not isinstance(payload["c"], int):
        return None
    if not (payload["k"].startswith(storage.tenant_prefix(payload["t"])) and storage.is_clean_key(payload["k"])):
        return None
    # Even a correctly signed link reaches only objects of a tenant that still exists.
    return payload if Tenant.objects.filter(uuid=payload["t"]).exists() else None
