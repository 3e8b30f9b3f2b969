"""The one error type for expected failures and the one error envelope every API answers with:
{"error": {"code", "message", "fields"}}. (DRF's handler lives in config/exception_handler.py.)"""

from django.http import JsonResponse
from django.views.defaults import bad_request, page_not_found, server_error
from rest_framework import status


class ApplicationError(Exception):
    """An expected failure a service reports to its caller: a stable code, a sentence for people,
    and the offending fields (name → list of messages)."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, code: str, message: str, *, fields: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def json_server_error(request):
    """500: the envelope under the APIs (the error itself is logged), Django's page elsewhere."""
    if request.path.startswith(("/api/", "/v1/")):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return server_error(request)


def json_not_found(request, exception=None):
    """404 for URLs that match no route: JSON under the APIs, Django's page elsewhere."""
    if request.path.startswith(("/api/", "/v1/")):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def json_bad_request(request, exception=None):
    """400 for requests Django refuses before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad
    host): the envelope under the APIs, Django's page elsewhere."""
    if request.path.startswith(("/api/", "/v1/")):
        message = "The request could not be read: too large (at most 40 MB) or malformed."
        return JsonResponse(error_body("bad_request", message), status=400)
    return bad_request(request, exception)
