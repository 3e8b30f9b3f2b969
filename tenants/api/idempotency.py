"""Idempotency-Key for the POSTs that create. A client that did not hear the answer sends the same
request again with the same key and gets the first answer (`Idempotent-Replayed: true`) instead of a
second object; the same key on another request or from another caller is a 409 (the rule is
tenants.idempotency's, for every surface). Jobs and finals keep their key on the job row
(generation.services.job_submit); every other creating POST uses `@idempotent`."""

import functools

from rest_framework.response import Response

from config.openapi import idempotent_schema
from tenants.idempotency import HEADER, idempotency_key_check, idempotent_once, payload_sha256

REPLAYED_HEADER = "Idempotent-Replayed"


def idempotency_key(request, *, code: str = "invalid") -> str | None:
    return idempotency_key_check(request.headers.get(HEADER), code=code)


def request_sha256(request) -> str:
    """The parsed body, canonical: the same request sent again hashes the same, however its JSON was
    spaced or its multipart parts ordered."""
    return payload_sha256(request.data)


def idempotent(view_method=None, *, redact: tuple[str, ...] = ()):
    """Decorates a tenant view's creating method. `redact` names response fields never stored (a new
    API key's secret): a replay answers them as null."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = idempotency_key(request)
            if key is None:
                return method(view, request, *args, **kwargs)
            once = idempotent_once(
                tenant=view.tenant, actor=view.actor, key=key, method=request.method, path=request.path,
                request_sha256=request_sha256(request), run=lambda: method(view, request, *args, **kwargs),
                outcome=lambda response: _kept(response, redact),
            )  # fmt: skip
            if once.earlier is not None:
                earlier = once.earlier
                return Response(
                    earlier.response_body, status=earlier.response_status, headers={REPLAYED_HEADER: "true"}
                )
            return once.result

        return idempotent_schema(wrapper)

    return decorate(view_method) if view_method is not None else decorate


def _kept(response: Response, redact: tuple[str, ...]):
    """What a replay answers: the status and body, without the redacted fields; nothing for a failure."""
    if not 200 <= response.status_code < 300:
        return None
    body = response.data
    if redact and isinstance(body, dict):
        body = {**body, **dict.fromkeys(redact)}
    return response.status_code, body
