"""OpenAI's error envelope, {"error": {"message", "type", "param", "code"}}, for every failure under
/v1/: Atelier's ApplicationError (a 402 keeps its estimate and remaining amounts), DRF's
authentication, permission and parse errors, and Django's 404 and ValidationError."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from config.errors import ApplicationError

# OpenAI's error types by HTTP status; what is not here is a server_error.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
}

# Failures a client's automatic retry would only repeat (or pay for twice): the openai SDKs obey
# `x-should-retry: false` and otherwise retry 408, 409, 429 and 5xx.
NOT_RETRYABLE = {
    "job_timeout", "job_failed", "job_cancelled", "content_policy_violation", "images_unavailable",
    "idempotency_key_reused",
}  # fmt: skip


class OpenAIError(ApplicationError):
    """An expected failure of the OpenAI surface with a type of its own (e.g. a timeout)."""

    def __init__(self, code: str, message: str, *, status_code: int, param: str | None = None, extra=None):
        super().__init__(code, message, status_code=status_code, fields={param: [message]} if param else None)
        self.extra = extra or {}


def error_envelope(status: int, message: str, *, code: str | None, param: str | None = None, **extra) -> dict:
    error = {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": param, "code": code}
    return {"error": error | extra}


def application_error_body(error: ApplicationError) -> dict:
    """The envelope for an ApplicationError: `param` names the first bad field, `fields` all of them."""
    param = next(iter(error.fields), None)
    extra = dict(getattr(error, "extra", {}))
    if len(error.fields) > 1:
        extra["fields"] = error.fields
    return error_envelope(error.status_code, error.message, code=error.code, param=param, **extra)


def openai_exception_handler(exc, context):
    """DRF's exception handler for the /v1/ views."""
    if isinstance(exc, ApplicationError):
        response = Response(application_error_body(exc), status=exc.status_code)
        if exc.code in NOT_RETRYABLE:
            response["x-should-retry"] = "false"
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # unexpected: Django logs it and answers 500
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        message = (
            "You didn't provide an API key: send 'Authorization: Bearer <Atelier API key>'."
            if isinstance(exc, exceptions.NotAuthenticated)
            else str(exc.detail)
        )
        code = "invalid_api_key"
    elif isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        message = "; ".join(str(m) for m in detail) if isinstance(detail, list) else str(detail)
        code = "invalid_request"
    else:
        message, code = str(exc.detail), exc.default_code
    response = Response(error_envelope(exc.status_code, message, code=code), status=exc.status_code)
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        response["Retry-After"] = str(int(exc.wait))
    return response


def not_found(request, *args, **kwargs):
    """Any other path under /v1/."""
    body = error_envelope(404, f"Unknown endpoint: {request.method} {request.path}.", code="unknown_url")
    return JsonResponse(body, status=404)
