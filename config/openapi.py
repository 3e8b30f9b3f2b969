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


def add_shared_components(result, generator, request, public):
    """Postprocessing hook: the one error envelope as a reusable component, and the plain Django paths."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_COMPONENT
    schemas["Health"] = HEALTH_COMPONENT
    result["paths"] = {**PLAIN_PATHS, **result.get("paths", {})}
    return result
