"""The /v1/ views: authenticate the API key (it alone names the tenant), check its role, hand the
request to the services, and answer in OpenAI's shapes and error envelope."""

from django.conf import settings
from django.core import signing
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from assets import storage
from config.errors import ApplicationError
from config.parsers import BodyCheckedFirst, JSONBodyParser
from generation.bedrock.specs import MAX_INPUT_IMAGE_BYTES
from tenants.api.idempotency import idempotency_key
from tenants.authentication import ApiKeyAuthentication
from tenants.models import Role

from . import output, parsing, services
from .errors import error_envelope, openai_exception_handler
from .images import CONTENT_TYPES, converted


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


class ImagesView(OpenAIView):
    endpoint = parsing.GENERATIONS
    parser_classes = [JSONBodyParser]

    def post(self, request):
        fields, files = _fields_and_files(request)
        result = services.openai_images_create(
            tenant=self.tenant, actor=request.auth, endpoint=self.endpoint, fields=fields, files=files,
            project_reference=request.headers.get(services.PROJECT_HEADER),
            idempotency_key=idempotency_key(request, code="invalid_request"),
        )  # fmt: skip
        call = result.call
        try:
            data = output.image_data(assets=result.assets, call=call, absolute=request.build_absolute_uri)
        except storage.StorageUnavailable as error:
            jobs = ", ".join(str(job.pk) for job in result.jobs)
            message = f"The images are made (job {jobs}) but the file store is not reachable; fetch them later."
            raise ApplicationError("images_unavailable", message, status_code=503) from error
        body = {
            "created": result.created,
            "data": data,
            "background": "transparent" if call.background == "transparent" else "opaque",
            "output_format": call.output_format,
            "size": f"{result.assets[0].width}x{result.assets[0].height}" if result.assets else None,
            "usage": {
                "images": result.images_billed,
                "cost_usd": f"{result.cost:.6f}",
                # Bedrock bills images, not tokens; the token counts are there for clients that expect them.
                "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
                "input_tokens_details": {"text_tokens": 0, "image_tokens": 0},
            },
        }  # fmt: skip
        response = Response(body)
        response["X-Atelier-Cost"] = f"{result.cost:.6f}"
        response["X-Atelier-Job"] = ", ".join(str(job.pk) for job in result.jobs)
        return response


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
