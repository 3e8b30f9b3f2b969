"""Idempotency-Key for the POSTs that create. A client that did not hear the answer sends the same
request again with the same key and gets the first answer (`Idempotent-Replayed: true`) instead of a
second object; the same key on a different request is a 409. Jobs and finals keep their own key on the
job row (generation.services.job_submit); every other creating POST uses `@idempotent`."""

import datetime
import functools
import hashlib
import json

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from config.errors import ApplicationError
from config.openapi import idempotent_schema
from tenants.models import ApiKey, IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 200


def idempotency_key(request) -> str | None:
    key = request.headers.get(HEADER) or None
    if key and len(key) > KEY_MAX_LENGTH:
        message = f"At most {KEY_MAX_LENGTH} characters."
        raise ApplicationError("invalid", f"{HEADER}: {message}", fields={HEADER: [message]})
    return key


def request_sha256(request) -> str:
    """The parsed body, canonical (keys sorted; uploaded files by their sha256): the same request sent
    again hashes the same, however its JSON was spaced or its multipart parts ordered."""
    data = request.data
    if hasattr(data, "lists"):  # a form: every value of every field
        data = {name: [_canonical(value) for value in values] for name, values in data.lists()}
    encoded = json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _canonical(value):
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file_sha256": digest.hexdigest()}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def idempotent(view_method=None, *, redact: tuple[str, ...] = ()):
    """Decorates a tenant view's creating method. `redact` names response fields never stored (a new
    API key's secret): a replay answers them as null."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = idempotency_key(request)
            if key is None:
                return method(view, request, *args, **kwargs)
            return _run_once(view, request, key, lambda: method(view, request, *args, **kwargs), redact)

        return idempotent_schema(wrapper)

    return decorate(view_method) if view_method is not None else decorate


def _run_once(view, request, key: str, handler, redact: tuple[str, ...]) -> Response:
    actor = view.actor
    this = {
        "method": request.method,
        "path": request.path[:500],
        "request_sha256": request_sha256(request),
        "user": actor if isinstance(actor, AbstractBaseUser) else None,
        "api_key": actor if isinstance(actor, ApiKey) else None,
    }
    expired = timezone.now() - datetime.timedelta(hours=settings.ATELIER_IDEMPOTENCY_KEY_TTL_HOURS)
    # One transaction holds the key's row and everything the request writes: a twin sent meanwhile
    # waits on the unique index, then replays what this one answered (or runs, if this one failed).
    with transaction.atomic():
        IdempotentRequest.objects.filter(tenant=view.tenant, created_at__lt=expired).delete()
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(tenant=view.tenant, key=key, **this)
        except IntegrityError:
            return _replay(IdempotentRequest.objects.get(tenant=view.tenant, key=key), this)
        response = handler()
        if not 200 <= response.status_code < 300:
            transaction.set_rollback(True)  # nothing to replay: the key stays free
            return response
        record.response_status = response.status_code
        stored = response.data
        if redact and isinstance(stored, dict):
            stored = {**stored, **dict.fromkeys(redact)}
        record.response_body = stored
        record.save(update_fields=["response_status", "response_body"])
    return response


def _replay(earlier: IdempotentRequest, this: dict) -> Response:
    same = (
        earlier.method == this["method"]
        and earlier.path == this["path"]
        and earlier.request_sha256 == this["request_sha256"]
        and earlier.user_id == (this["user"].pk if this["user"] else None)
        and earlier.api_key_id == (this["api_key"].pk if this["api_key"] else None)
    )
    if not same:
        message = "This key was used for another request (body, URL or caller); send a new key for a new request."
        raise ApplicationError(
            "idempotency_key_reused", f"{HEADER}: {message}", fields={HEADER: [message]}, status_code=409
        )
    return Response(earlier.response_body, status=earlier.response_status, headers={REPLAYED_HEADER: "true"})
