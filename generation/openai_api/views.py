"""The /v1/ views: authenticate the API key (it alone names the tenant), check its role, hand the
request to the services, and answer in OpenAI's shapes and error envelope."""

import contextlib
import logging
import time

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core import signing
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from assets import storage
from config.errors import ApplicationError
from config.parsers import BodyCheckedFirst, JSONBodyParser
from generation.bedrock.specs import MAX_INPUT_IMAGE_BYTES, Task
from generation.job_events import released
from generation.job_events import sse_event as sse
from tenants.api.idempotency import idempotency_key
from tenants.authentication import ApiKeyAuthentication
from tenants.models import Role

from . import output, parsing, services
from .errors import application_error_body, error_envelope, openai_exception_handler
from .images import CONTENT_TYPES, converted

logger = logging.getLogger(__name__)


class KeyRole(BasePermission):
    """The API key's role is at least the view's `minimum_role`."""

    def has_permission(self, request, view) -> bool:
        self.message = f"This API key's role may not do this: it needs the {view.minimum_role} role or higher."
        return Role.at_least(getattr(request.auth, "role", None), view.minimum_role)


class OpenAIView(BodyCheckedFirst, APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [KeyRole]
    renderer_classes = [JSONRenderer]
    minimum_role = Role.CREATOR
    schema = None  # OpenAI's own API reference describes /v1/; Atelier's OpenAPI document is for /api/v1/

    def get_exception_handler(self):
        return openai_exception_handler

    @property
    def tenant(self):
        return self.request.auth.tenant


def _model_object(model) -> dict:
    return {
        "id": model.model_id,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": model.model_id.split(".", 1)[0],
    }


class ModelListView(OpenAIView):
    minimum_role = Role.VIEWER

    def get(self, request):
        models = services.openai_model_list(tenant=self.tenant)
        return Response({"object": "list", "data": [_model_object(model) for model in models]})


class ModelDetailView(OpenAIView):
    minimum_role = Role.VIEWER

    def get(self, request, model_id: str):
        model = services.openai_model_list(tenant=self.tenant).filter(model_id=model_id).first()
        if model is None:
            message = f"The model {model_id!r} does not exist or this tenant may not use it."
            body = error_envelope(404, message, code="model_not_found", param="model")
            return Response(body, status=404)
        return Response(_model_object(model))


def _fields_and_files(request) -> tuple[dict, dict[str, list[bytes]]]:
    """The request's fields (JSON object, or a form's text fields) and its uploads' bytes by field."""
    data = request.data
    if hasattr(data, "getlist"):  # a form: `image[]` and friends may repeat
        texts = [name for name in data if name not in request.FILES]
        fields = {name: data.getlist(name) if name.endswith("[]") else data.get(name) for name in texts}
    elif isinstance(data, dict):
        fields = dict(data)
    else:
        raise ApplicationError("invalid_request", "Send a JSON object.")
    files: dict[str, list[bytes]] = {}
    for name in request.FILES:
        for upload in request.FILES.getlist(name):
            if upload.size > MAX_INPUT_IMAGE_BYTES:
                field = name.removesuffix("[]")
                message = f"The image is {upload.size:,} bytes; the most is {MAX_INPUT_IMAGE_BYTES:,} (5 MB)."
                raise ApplicationError("invalid_request", f"{field}: {message}", fields={field: [message]})
            files.setdefault(name, []).append(upload.read())
    return fields, files


class AsyncOpenAIView(OpenAIView):
    """An OpenAI view whose handler is a coroutine: DRF's dispatch with its sync steps (authentication,
    permissions, parsing the body) on the request's thread, and the handler on the event loop, so a request that
    waits for its images holds no thread and no database connection (generation.job_events.released)."""

    async def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            await released(self.initial)(request, *args, **kwargs)
            name = request.method.lower()
            handler = getattr(self, name, None) if name in self.http_method_names else None
            handler = handler or self.http_method_not_allowed
            if iscoroutinefunction(handler):
                response = await handler(request, *args, **kwargs)
            else:
                response = await released(handler)(request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 — DRF's dispatch: handle_exception answers it or raises it again
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


class ImagesView(AsyncOpenAIView):
    endpoint = parsing.GENERATIONS
    parser_classes = [JSONBodyParser]

    async def post(self, request):
        submission, headers = await released(self._submission)(request)
        if submission.call.stream:
            return self._stream(submission, headers)
        result = await services.openai_images_create(submission)
        return await released(self._answer)(request, result)

    def _submission(self, request) -> tuple[services.ImagesSubmission, dict]:
        fields, files = _fields_and_files(request)
        submission = services.openai_images_submit(
            tenant=self.tenant, actor=request.auth, endpoint=self.endpoint, fields=fields, files=files,
            project_reference=request.headers.get(services.PROJECT_HEADER),
            idempotency_key=idempotency_key(request, code="invalid_request"),
        )  # fmt: skip
        return submission, _model_headers(submission.job)

    def _answer(self, request, result: services.ImagesResult) -> Response:
        call, made = result.call, result.jobs[0]
        try:
            data = output.image_data(assets=result.assets, call=call, absolute=request.build_absolute_uri)
        except storage.StorageUnavailable as error:
            raise _images_unavailable(result.jobs) from error
        body = {
            "created": result.created,
            "data": data,
            "background": _background(result),
            "output_format": call.output_format,
            "size": f"{result.assets[0].width}x{result.assets[0].height}" if result.assets else None,
            "usage": _usage(result),
            # Atelier's own: the model that ran (a retired model's automatic successor, say) and why.
            "model": made.model.model_id,
            "warnings": list(made.warnings),
        }  # fmt: skip
        response = Response(body, headers=_model_headers(made))
        response["X-Atelier-Cost"] = f"{result.cost:.6f}"
        response["X-Atelier-Job"] = ", ".join(str(job.pk) for job in result.jobs)
        return response

    def _stream(self, submission: services.ImagesSubmission, headers: dict) -> StreamingHttpResponse:
        """text/event-stream, as OpenAI streams images: `<prefix>.partial_image` events for images stored before
        the answer, then one `<prefix>.completed` event per image (or one `error` event, OpenAI's envelope)."""
        response = StreamingHttpResponse(self._events(submission), content_type="text/event-stream", headers=headers)
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # a proxy passes each event on as it comes
        response["X-Atelier-Job"] = str(submission.job.pk)
        return response

    async def _events(self, submission: services.ImagesSubmission):
        prefix = "image_edit" if self.endpoint == parsing.EDITS else "image_generation"
        call = submission.call
        try:
            stages = services.openai_images_stream(submission, partials=call.partial_images)
            async with contextlib.aclosing(stages) as happenings:
                index = 0
                async for kind, value in happenings:
                    if kind == "image":
                        event = await released(_image_event)(value, call, submission.job, f"{prefix}.partial_image")
                        yield sse(event["type"], event | {"partial_image_index": index})
                        index += 1
                    else:
                        for event in await released(_completed_events)(value, f"{prefix}.completed"):
                            yield sse(event["type"], event)
        except ApplicationError as error:
            yield sse("error", application_error_body(error))
        except storage.StorageUnavailable:
            yield sse("error", application_error_body(_images_unavailable([submission.job])))
        except Exception:  # the answer has begun: a bug ends it with an error event, not a cut connection
            logger.exception("stream of job %s failed", submission.job.pk)
            message = f"Streaming job {submission.job.pk} failed on the server; the job itself may still end."
            yield sse("error", error_envelope(500, message, code="server_error", job=str(submission.job.pk)))


def _model_headers(job) -> dict:
    """The model that ran, and the retired one it stands in for."""
    headers = {"X-Atelier-Model": job.model.model_id}
    if job.substituted_from_id:
        headers["X-Atelier-Substituted-From"] = job.substituted_from.model_id
    return headers


def _images_unavailable(jobs) -> ApplicationError:
    names = ", ".join(str(job.pk) for job in jobs)
    message = f"The images are made (job {names}) but the file store is not reachable; fetch them later."
    return ApplicationError("images_unavailable", message, status_code=503)


def _background(result: services.ImagesResult) -> str:
    return "transparent" if result.jobs[-1].task_type == Task.BACKGROUND_REMOVAL else "opaque"


def _usage(result: services.ImagesResult) -> dict:
    return {
        "images": result.images_billed,
        "cost_usd": f"{result.cost:.6f}",
        # Bedrock bills images, not tokens; the token counts are there for clients that expect them.
        "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
        "input_tokens_details": {"text_tokens": 0, "image_tokens": 0},
    }  # fmt: skip


# OpenAI's quality words for a job's Bedrock quality.
STREAM_QUALITY = {"premium": "high", "standard": "medium"}


def _image_event(asset, call, job, kind: str, *, background: str = "opaque") -> dict:
    return {
        "type": kind, "b64_json": output.image_b64(asset, call), "background": background,
        "created_at": int(time.time()), "output_format": call.output_format,
        "quality": STREAM_QUALITY.get(job.quality, "auto"), "size": f"{asset.width}x{asset.height}",
    }  # fmt: skip


def _completed_events(result: services.ImagesResult, kind: str) -> list[dict]:
    """One completed event per image; each carries the whole call's usage, and Atelier's image index and job."""
    made = result.jobs[0]
    return [
        _image_event(asset, result.call, made, kind, background=_background(result))
        | {"usage": _usage(result), "image_index": index, "model": made.model.model_id, "job": str(asset.job_id)}
        for index, asset in enumerate(result.assets)
    ]


class ImageEditsView(ImagesView):
    endpoint = parsing.EDITS
    parser_classes = [MultiPartParser, FormParser, JSONBodyParser]


class ImageVariationsView(ImagesView):
    endpoint = parsing.VARIATIONS
    parser_classes = [MultiPartParser, FormParser, JSONBodyParser]


def _file_error(status: int, message: str, code: str) -> JsonResponse:
    return JsonResponse(error_envelope(status, message, code=code), status=status)


@require_safe
def image_file(request, token: str):
    """A stored image converted on the way out; the signed, expiring token is the capability."""
    try:
        rendition = output.rendition_from_token(token)
    except signing.SignatureExpired:
        return _file_error(410, "This image link has expired; ask for the image again.", "link_expired")
    if rendition is None or rendition["f"] not in CONTENT_TYPES:
        return _file_error(404, "Not found.", "not_found")
    try:
        data = storage.read_object(rendition["k"])
    except FileNotFoundError:
        return _file_error(404, "Not found.", "not_found")
    except storage.StorageUnavailable:
        return _file_error(503, "The file store is not reachable; try again shortly.", "storage_unavailable")
    response = HttpResponse(
        converted(data, output_format=rendition["f"], compression=rendition.get("c")),
        content_type=CONTENT_TYPES[rendition["f"]],
    )
    response["Content-Disposition"] = f'inline; filename="{rendition["n"]}"'
    response["Cache-Control"] = f"private, max-age={settings.ATELIER_DOWNLOAD_URL_TTL}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
