"""Idempotency keys, for every surface: an `Idempotency-Key` header on the APIs, a form's token in the
studio. A key answers again only the request it was first used for, from the same caller (the same
person or the same API key): then the first result comes back and nothing more is made. The same key
on another request, or from another caller, is a 409 `idempotency_key_reused` (idempotency_reuse_check,
the one rule). Jobs keep their key on the job row (generation.services.job_submit); every other
creation keeps it in an IdempotentRequest row (idempotent_once)."""

import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ApplicationError

from .models import ApiKey, IdempotentRequest, Tenant

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 200  # the job row's and IdempotentRequest's column


def idempotency_key_check(key: str | None, *, code: str = "invalid") -> str | None:
    """The key as sent (None for none), refused by name when it is longer than can be kept."""
    key = key or None
    if key and len(key) > KEY_MAX_LENGTH:
        message = f"At most {KEY_MAX_LENGTH} characters."
        raise ApplicationError(code, f"{HEADER}: {message}", fields={HEADER: [message]})
    return key


def payload_sha256(data) -> str:
    """A request's content, canonical (keys sorted, every value of a form's field, files and bytes by
    their sha256): the same request sent again hashes the same, however it was spaced or ordered."""
    encoded = json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _canonical(value):
    if hasattr(value, "lists"):  # a form (QueryDict, MultiValueDict): every value of every field
        return {str(name): [_canonical(item) for item in items] for name, items in value.lists()}
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file_sha256": digest.hexdigest()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes_sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def caller_of(actor) -> tuple[int | None, int | None]:
    """(person's id, API key's id): who sent a request, as a key remembers it."""
    return (
        actor.pk if isinstance(actor, AbstractBaseUser) else None,
        actor.pk if isinstance(actor, ApiKey) else None,
    )


def idempotency_reuse_check(*, first_request, first_caller: tuple, request, actor) -> None:
    """The one rule for a key sent again: the first answer again only for the same request from the
    same caller. Anything else is a 409, and the first answer is not shown."""
    if first_request == request and tuple(first_caller) == caller_of(actor):
        return
    message = "This key was used for another request (body, URL or caller); send a new key for a new request."
    raise ApplicationError(
        "idempotency_key_reused", f"{HEADER}: {message}", fields={HEADER: [message]}, status_code=409
    )


@dataclass(frozen=True)
class Once:
    result: Any = None  # what `run` returned, when this request ran
    earlier: IdempotentRequest | None = None  # the first request's record, when this one repeats it


def idempotent_once(
    *,
    tenant: Tenant,
    actor,
    key: str,
    method: str,
    path: str,
    request_sha256: str,
    run: Callable[[], Any],
    outcome: Callable[[Any], tuple[int, Any] | None],
) -> Once:
    """Run `run` once per key: `outcome(result)` is the (status, body) to keep for a repeat, or None
    for a failure (nothing kept: the key stays free). A repeat runs nothing and gets the first
    request's record; a different request with the key gets the 409."""
    user_id, api_key_id = caller_of(actor)
    path = path[:500]
    expired = timezone.now() - datetime.timedelta(hours=settings.ATELIER_IDEMPOTENCY_KEY_TTL_HOURS)
    # One transaction holds the key's row and everything the request writes: a twin sent meanwhile
    # waits on the unique index, then repeats what this one answered (or runs, if this one failed).
    with transaction.atomic():
        IdempotentRequest.objects.filter(tenant=tenant, created_at__lt=expired).delete()
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    tenant=tenant, key=key, user_id=user_id, api_key_id=api_key_id, method=method, path=path,
                    request_sha256=request_sha256,
                )  # fmt: skip
        except IntegrityError:
            earlier = IdempotentRequest.objects.get(tenant=tenant, key=key)
            idempotency_reuse_check(
                first_request=(earlier.method, earlier.path, earlier.request_sha256),
                first_caller=(earlier.user_id, earlier.api_key_id),
                request=(method, path, request_sha256),
                actor=actor,
            )
            return Once(earlier=earlier)
        result = run()
        kept = outcome(result)
        if kept is None:
            transaction.set_rollback(True)  # nothing to repeat: the key stays free
            return Once(result=result)
        record.response_status, record.response_body = kept
        record.save(update_fields=["response_status", "response_body"])
    return Once(result=result)
