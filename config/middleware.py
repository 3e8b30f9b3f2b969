"""Every request gets an id: the caller's X-Request-ID when it looks like one (a proxy or a client
tracing its call), a new one otherwise. Logs written while the request runs carry it, and the
tenant's slug once the URL names one; the response returns it in X-Request-ID; and one access line
per request is logged on `atelier.request`."""

import logging
import re
import time
import uuid

from config import logging as log_context

logger = logging.getLogger("atelier.request")
REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators, at most 128: anything else is not written into our logs.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def request_id_from(request) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex


def _route(request) -> str | None:
    """The URL pattern that answered, e.g. /api/v1/tenants/<slug:tenant_slug>/jobs/ (routers' regex anchors dropped)."""
    match = getattr(request, "resolver_match", None)
    if not match or not match.route:
        return None
    return "/" + re.sub(r"(^|/)\^", r"\1", match.route).removesuffix("$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        request.request_id = request_id_from(request)
        tokens = log_context.bind(request_id=request.request_id, tenant=None)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request.request_id
            route = _route(request)
            logger.info(
                "%s %s %s",
                request.method,
                route or request.path[:200],  # a route names no secret (a download path holds a token)
                response.status_code,
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            log_context.unbind(tokens)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("tenant_slug")
        if slug:
            log_context.bind(tenant=slug)  # reset with the rest when the request ends
        return None


class SignInPausedMiddleware:
    """A sign-in refused because guessing paused it (tenants.authentication.ThrottledModelBackend)
    answers 429 with Retry-After, whichever door's form it came through; the form says why."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        seconds = getattr(request, "sign_in_paused_seconds", None)
        if seconds:
            response.status_code = 429
            response["Retry-After"] = str(seconds)
        return response
