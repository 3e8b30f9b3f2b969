"""The OpenAPI description (drf-spectacular): served at /api/schema/, shown at /api/docs/ (Swagger UI)
and /api/redoc/ from our own static files. Every operation lists the errors it can answer, all in the
one envelope (the `Error` component); views add the ones only they have with `error_responses(...)`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions

ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_COMPONENT = {
    "type": "object",
    "description": "Every error the API answers, whatever its status.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable and machine-readable, e.g. `invalid`, `not_found`, `budget_exceeded`.",
                },
                "message": {"type": "string", "description": "A sentence for people."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Each bad field (dotted for nested ones) with its messages; empty otherwise.",
                },
                "estimate": {"type": "string", "description": "402: what the request would cost (USD)."},
                "remaining": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "402: what is left in each budget the request falls under (USD).",
                },
                "status": {"type": "string", "description": "409 `invalid_transition`: the asset's current status."},
                "errors": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": True},
                    "description": "`bulk_failed`: why each asset could not move (`id`, `status`, `code`, `message`).",
                },
                "missing": {"type": "array", "items": {"type": "string"}, "description": "Prompt variables not given."},
                "unknown": {"type": "array", "items": {"type": "string"}, "description": "Variables the prompt lacks."},
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

ERROR_DESCRIPTIONS = {
    400: "Bad input: `fields` names each bad field and why.",
    401: "Not authenticated: no credentials, or an unknown, revoked or expired API key.",
    402: "Over budget (`budget_exceeded`): `estimate` and what is `remaining` in each budget it falls under.",
    403: "Your role in this tenant may not do this (or a session write came without its CSRF token).",
    404: "Not there, or not yours: another tenant's URL or object reads the same as a missing one.",
    409: "Conflict with the object's current state.",
    415: "The body is not JSON (nor, where an upload is taken, multipart/form-data).",
    429: "Too many requests for this API key or person: wait `Retry-After` seconds.",
    503: "File storage is unavailable right now: try again shortly.",
}

RETRY_AFTER_HEADER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds until a request will be accepted."}
}

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 200 characters naming this request. Sent again with the same body (by the same caller, to the same "
        "URL) within the key's lifetime, it answers the first response again, with `Idempotent-Replayed: true`; "
        "with another body, 409 naming `Idempotency-Key`."
    ),
)
IDEMPOTENT_REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 202],
    description="`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
)
IDEMPOTENCY_CONFLICT = (
    "`idempotency_key_reused`: the Idempotency-Key was used for another request (another body, URL or caller)."
)


def error_responses(*codes: int, descriptions: dict[int, str] | None = None) -> dict:
    """{status: the Error envelope} for `extend_schema(responses=...)`, beside the success response."""
    descriptions = descriptions or {}
    return {
        code: OpenApiResponse(ERROR_REF, description=descriptions.get(code, ERROR_DESCRIPTIONS[code])) for code in codes
    }


def idempotent_schema(view_method):
    """Documents the Idempotency-Key header (and the replay header) on a creating view method."""
    view_method.idempotent_replays = True
    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENT_REPLAYED_HEADER])(view_method)


class AtelierAutoSchema(AutoSchema):
    """Adds the errors every operation of its kind can answer, unless the view described them itself."""

    def get_tags(self) -> list[str]:
        if self.path.startswith("/v1/"):
            return ["openai-compatible"]
        return [tag.split(".")[0] for tag in super().get_tags()] or ["tenants"]  # spend.csv is spend

    def _handler(self):
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def _error_statuses(self) -> dict[int, str]:
        public = any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        has_path_variables = "{" in self.path
        writes = self.method in ("POST", "PUT", "PATCH")
        paginated = self._is_list_view() and self._get_paginator() is not None
        statuses = {}
        if writes or (self.method == "GET" and self.get_filter_backends()):
            statuses[400] = ERROR_DESCRIPTIONS[400]
        if not public:
            statuses[401] = ERROR_DESCRIPTIONS[401]
            if "{tenant_slug}" in self.path or self.method not in permissions.SAFE_METHODS:
                statuses[403] = ERROR_DESCRIPTIONS[403]
        if has_path_variables or paginated:
            statuses[404] = ERROR_DESCRIPTIONS[404] + (" An unknown `cursor` answers 404 too." if paginated else "")
        idempotent = getattr(self._handler(), "idempotent_replays", False)
        if writes and (idempotent or self.get_request_serializer() is not None):  # only a body that is read
            statuses[415] = ERROR_DESCRIPTIONS[415]
        if idempotent:
            statuses[409] = IDEMPOTENCY_CONFLICT
        if not public:
            statuses[429] = ERROR_DESCRIPTIONS[429]
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status, description in self._error_statuses().items():
            code = str(status)
            if code in responses:
                if status == 409 and description not in responses[code].get("description", ""):
                    responses[code]["description"] = f"{responses[code]['description']} {description}".strip()
                continue
            responses[code] = self._get_response_for_code(OpenApiResponse(ERROR_REF, description), code)
            if status == 429:
                responses[code]["headers"] = RETRY_AFTER_HEADER
        return dict(sorted(responses.items()))


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "atl_<prefix>_<secret>",
            "description": "An API key of the tenant: `Authorization: Bearer atl_…`. It acts with its own role.",
        }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


HEALTH_COMPONENT = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {
            "type": "object",
            "description": "`database`, `broker` and `storage`: whether each answered, how fast, and why not.",
            "additionalProperties": {
                "type": "object",
                "properties": {"ok": {"type": "boolean"}, "ms": {"type": "number"}, "error": {"type": "string"}},
                "required": ["ok", "ms"],
            },
        },
    },
    "required": ["status", "checks"],
}

# The two plain Django views clients meet: the health check and local-disk downloads (download_url).
PLAIN_PATHS = {
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "Can this process reach its database, broker and file storage?",
            "tags": ["health"],
            "security": [{}],
            "responses": {
                "200": _json({"$ref": "#/components/schemas/Health"}, "All three answered."),
                "503": _json({"$ref": "#/components/schemas/Health"}, "At least one did not; `checks` says which."),
            },
        }
    },
    "/files/{token}": {
        "get": {
            "operationId": "files_download",
            "summary": "A stored file on local-disk storage (an asset's `download_url`; S3 presigns instead).",
            "description": "The signed token names the tenant and the file; it expires (ATELIER_DOWNLOAD_URL_TTL).",
            "tags": ["files"],
            "security": [{}],
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "The file's bytes.",
                    "content": {
                        media_type: {"schema": {"type": "string", "format": "binary"}}
                        for media_type in ("image/png", "image/jpeg", "image/webp", "application/octet-stream")
                    },
                },
                "404": _json(ERROR_REF, "No such file, or a token that is not ours."),
                "410": _json(ERROR_REF, "The link has expired (`link_expired`): ask for a new one."),
                "503": _json(ERROR_REF, ERROR_DESCRIPTIONS[503]),
            },
        }
    },
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _image_event(event_type: str, description: str, *, completed: bool) -> dict:
    quality = "Bedrock's quality in OpenAI's words: standard is medium, premium is high."
    properties = {
        "type": {"type": "string", "enum": [event_type]},
        "b64_json": {"type": "string", "description": "The image, base64, in `output_format`."},
        "background": {"type": "string", "enum": ["opaque", "transparent"]},
        "created_at": {"type": "integer", "description": "Unix time of the event."},
        "output_format": {"type": "string", "enum": ["png", "jpeg", "webp"]},
        "quality": {"type": "string", "enum": ["medium", "high", "auto"], "description": quality},
        "size": {"type": "string", "description": "`WIDTHxHEIGHT` of this image.", "example": "1024x1024"},
    }
    required = ["type", "b64_json", "background", "created_at", "output_format", "quality", "size"]
    if completed:
        properties |= {
            "usage": _ref("ImageStreamUsage"),
            "image_index": {"type": "integer", "description": "Atelier's: which of the call's images (0-based)."},
            "model": {"type": "string", "description": "Atelier's: the model that ran."},
            "job": {"type": "string", "format": "uuid", "description": "Atelier's: the job that made this image."},
        }
        required += ["usage", "image_index", "model", "job"]
    else:
        properties["partial_image_index"] = {"type": "integer", "description": "0-based, at most `partial_images` − 1."}
        required.append("partial_image_index")
    return {"type": "object", "description": description, "properties": properties, "required": required}


_PARTIAL = (
    "An image stored before the answer: one of a multi-image job's images as it lands while the job runs, or, with "
    "`background: transparent`, an image before its background is removed. Bedrock renders no previews of its own, "
    "so a call gets at most `partial_images` of these and may get none."
)
_COMPLETED = "One finished image of the call, once every job has ended; one such event per image, in order."
STREAM_COMPONENTS = {
    "ImageStreamUsage": {
        "type": "object",
        "description": "The whole call's usage (the same on each completed event): Bedrock bills images, not tokens.",
        "properties": {
            "images": {"type": "integer", "description": "Images billed."},
            "cost_usd": {"type": "string", "description": "The settled cost of the call, USD."},
            "input_tokens": {"type": "integer", "enum": [0]},
            "output_tokens": {"type": "integer", "enum": [0]},
            "total_tokens": {"type": "integer", "enum": [0]},
            "input_tokens_details": {
                "type": "object",
                "properties": {"text_tokens": {"type": "integer"}, "image_tokens": {"type": "integer"}},
            },
        },
        "required": ["images", "cost_usd", "input_tokens", "output_tokens", "total_tokens", "input_tokens_details"],
    },
    "ImageGenerationPartialImageEvent": _image_event("image_generation.partial_image", _PARTIAL, completed=False),
    "ImageGenerationCompletedEvent": _image_event("image_generation.completed", _COMPLETED, completed=True),
    "ImageEditPartialImageEvent": _image_event("image_edit.partial_image", _PARTIAL, completed=False),
    "ImageEditCompletedEvent": _image_event("image_edit.completed", _COMPLETED, completed=True),
    "ImageStreamErrorEvent": {
        "type": "object",
        "description": (
            "A failure after the stream began (`job_failed`, `job_cancelled`, `content_policy_violation`, "
            "`job_timeout`, `images_unavailable`), in OpenAI's error envelope; the stream ends after it."
        ),
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"}, "type": {"type": "string"},
                    "param": {"type": "string", "nullable": True}, "code": {"type": "string"},
                    "job": {"type": "string", "format": "uuid"},
                },
                "required": ["message", "type", "code"],
            }
        },
        "required": ["error"],
    },
    "JobProgressEvent": {
        "type": "object",
        "description": "The studio job page's stream: the job changed (an image landed, it ended).",
        "properties": {
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "partially_filtered", "failed",
                                                  "cancelled"]},
            "terminal": {"type": "boolean", "description": "It has ended: an `end` event follows, then nothing."},
            "html": {"type": "string", "description": "The page's progress part (#job-progress), rendered anew."},
        },
        "required": ["status", "terminal", "html"],
    },
    "JobEndEvent": {
        "type": "object",
        "properties": {"status": {"type": "string"}},
        "required": ["status"],
    },
}  # fmt: skip


def _openai_stream(prefix: str) -> dict:
    kind = "ImageEdit" if prefix == "image_edit" else "ImageGeneration"
    return {
        "when": "The request's body has `stream: true` (with `partial_images`, 0-3). A refusal before the stream "
        "starts (a bad field, the budget, the key) is the usual JSON error, not a stream.",
        "media_type": "text/event-stream",
        "authentication": "apiKeyAuth",
        "events": {
            f"{prefix}.partial_image": _ref(f"{kind}PartialImageEvent"),
            f"{prefix}.completed": _ref(f"{kind}CompletedEvent"),
            "error": _ref("ImageStreamErrorEvent"),
        },
    }


# Server-sent event streams: the operations that send them are not in `paths` (/v1 is OpenAI's API, described by
# OpenAI's reference; the job page's stream is the studio's), so this extension says where each is and what it sends.
EVENT_STREAMS = {
    "/v1/images/generations": _openai_stream("image_generation"),
    "/v1/images/edits": _openai_stream("image_edit"),
    "/t/{tenant_slug}/jobs/{id}/events/": {
        "when": "GET, by the studio's job page (EventSource): each time the job changes, until it ends or for 300 s "
        "(the browser then reconnects, `retry: 3000`).",
        "media_type": "text/event-stream",
        "authentication": "the studio session (a member of the tenant); another tenant's job is a 404",
        "events": {"progress": _ref("JobProgressEvent"), "end": _ref("JobEndEvent")},
    },
}


def add_shared_components(result, generator, request, public):
    """Postprocessing hook: the one error envelope as a reusable component, the plain Django paths, and the
    server-sent event streams with their events."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_COMPONENT
    schemas["Health"] = HEALTH_COMPONENT
    schemas.update(STREAM_COMPONENTS)
    result["paths"] = {**PLAIN_PATHS, **result.get("paths", {})}
    result["x-atelier-event-streams"] = EVENT_STREAMS
    return result
