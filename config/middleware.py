"""Every request gets an id: the caller's X-Request-ID when it looks like one (a proxy or a client
tracing its call), a new one otherwise. Logs written while the request runs carry it, and the
tenant's slug once the URL names one; the response returns it in X-Request-ID; and one access line
per request is logged on `atelier.request`."""

import logging
import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware

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


class EitherWayMiddleware:
    """A middleware that runs the way the handler runs: a coroutine under ASGI, so a request waiting in an async
    view holds no thread (Django would run a sync-only middleware, and everything below it, on one), and plain
    code under WSGI and the test client. Subclasses write `__call__` for the sync side and `__acall__`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)


class RequestIdMiddleware(EitherWayMiddleware):
    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        started, tokens = self._begin(request)
        try:
            return self._end(request, self.get_response(request), started)
        finally:
            log_context.unbind(tokens)

    async def __acall__(self, request):
        started, tokens = self._begin(request)
        try:
            return self._end(request, await self.get_response(request), started)
        finally:
            log_context.unbind(tokens)

    def _begin(self, request):
        request.request_id = request_id_from(request)
        return time.monotonic(), log_context.bind(request_id=request.request_id, tenant=None)

    def _end(self, request, response, started: float):
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

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("tenant_slug")
        if slug:
            log_context.bind(tenant=slug)  # reset with the rest when the request ends
        return None


class SignInPausedMiddleware(EitherWayMiddleware):
    """A sign-in refused because guessing paused it (tenants.authentication.ThrottledModelBackend)
    answers 429 with Retry-After, whichever door's form it came through; the form says why."""

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return self._paused(request, self.get_response(request))

    async def __acall__(self, request):
        return self._paused(request, await self.get_response(request))

    @staticmethod
    def _paused(request, response):
        seconds = getattr(request, "sign_in_paused_seconds", None)
        if seconds:
            response.status_code = 429
            response["Retry-After"] = str(seconds)
        return response


class StaticFilesMiddleware(EitherWayMiddleware, WhiteNoiseMiddleware):
    """WhiteNoise, which is sync-only, made to run either way: under ASGI a static file is looked up and served
    off the event loop, and every other request passes through as a coroutine (the request does not sit on a
    thread while it waits)."""

    def __init__(self, get_response):
        WhiteNoiseMiddleware.__init__(self, get_response)
        EitherWayMiddleware.__init__(self, get_response)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return WhiteNoiseMiddleware.__call__(self, request)

    async def __acall__(self, request):
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        response = await sync_to_async(self.serve)(static_file, request)
        # The file, read in blocks off the loop (Django would read a sync iterator whole); none for HEAD or a 304.
        response.streaming_content = _blocks(response.file_to_stream)
        return response


async def _blocks(file, size: int = 64 * 1024):
    if file is None:
        return
    read = sync_to_async(file.read, thread_sensitive=False)
    while block := await read(size):
        yield block
