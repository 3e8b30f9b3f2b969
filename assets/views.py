"""Serves stored files on storages that cannot presign (the local filesystem). The signed token is
the capability: it names the tenant and the key, and expires after ATELIER_DOWNLOAD_URL_TTL."""

import uuid

from django.conf import settings
from django.core import signing
from django.http import FileResponse, JsonResponse
from django.views.decorators.http import require_safe

from assets import storage
from config.errors import error_body
from tenants.models import Tenant


def _not_found() -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def _signed_object(token: str) -> tuple[str, str | None] | JsonResponse:
    """(key, filename) from a valid token, or the error response to send."""
    ttl = settings.ATELIER_DOWNLOAD_URL_TTL
    try:
        payload = storage.download_signer().unsign_object(token, max_age=ttl)
    except signing.SignatureExpired:
        message = "This download link has expired; ask for a new one."
        return JsonResponse(error_body("link_expired", message), status=410)
    except signing.BadSignature:
        return _not_found()
    if not isinstance(payload, dict):
        return _not_found()
    tenant_uuid, key, filename = payload.get("t"), payload.get("k"), payload.get("f")
    if not (isinstance(tenant_uuid, str) and isinstance(key, str) and isinstance(filename, str | None)):
        return _not_found()
    try:
        tenant_uuid = str(uuid.UUID(tenant_uuid))
    except ValueError:
        return _not_found()
    # Even a correctly signed token only reaches objects under its own, existing tenant.
    if not (key.startswith(storage.tenant_prefix(tenant_uuid)) and storage.is_clean_key(key)):
        return _not_found()
    if not Tenant.objects.filter(uuid=tenant_uuid).exists():
        return _not_found()
    return key, filename


@require_safe
def file_download(request, token: str):
    signed = _signed_object(token)
    if isinstance(signed, JsonResponse):
        return signed
    key, filename = signed
    try:
        handle = storage.open_object(key)
    except FileNotFoundError:
        return _not_found()
    except storage.StorageUnavailable:
        body = error_body("storage_unavailable", "The file store is not reachable; try again shortly.")
        return JsonResponse(body, status=503)
    response = FileResponse(
        handle,
        content_type=storage.content_type_for(key),
        as_attachment=bool(filename),
        filename=filename or "",
    )
    response["Cache-Control"] = f"private, max-age={settings.ATELIER_DOWNLOAD_URL_TTL}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
