"""What a request may carry before any view sees it, for every API (REST and /v1/) and the studio: JSON nested
at most MAX_JSON_DEPTH levels, finite numbers, and text that a database can store — no NUL (PostgreSQL refuses
it in text) and no unpaired surrogate (psycopg cannot encode one; JSON's "\\ud800" makes one). A request that
breaks a rule is a 400 naming the field and the rule, before anything is reserved or written.

JSON bodies are checked by JSONBodyParser (every DRF view's parser, see REST_FRAMEWORK); the query string and
form fields by RequestTextMiddleware (studio forms) and BodyCheckedFirst (API forms), in the envelope of the
API the path belongs to."""

import json
import math
import re
from collections.abc import Iterator

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, JsonResponse, QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from config.errors import ApplicationError, error_body
from config.middleware import EitherWayMiddleware

MAX_JSON_DEPTH = 64
UNSTORABLE_CHARACTERS = "a NUL character or an unpaired surrogate, which cannot be stored"
UNSTORABLE_TEXT = f"contains {UNSTORABLE_CHARACTERS}"
UNSTORABLE_NAME = f"has a field name with {UNSTORABLE_CHARACTERS}"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON string (escapes included) or a bracket; strings are skipped whole, so brackets inside them do not count.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def invalid_input(field: str, rule: str) -> ApplicationError:
    return ApplicationError("invalid", f"{field}: {rule}.", fields={field: [f"{rule[0].upper()}{rule[1:]}."]})


def json_depth_check(text: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, counted on the text so the parser never recurses into it."""
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise invalid_input("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        elif bracket in "]}":
            depth -= 1


def unstorable_fields(data, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(field, rule) for each text that cannot be stored and each number that is not finite, with dotted paths
    (`tags.0`) as the API's field errors name them. Walks without recursion: depth is checked before."""
    pending = [(prefix, data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                yield path or "body", UNSTORABLE_TEXT
        elif isinstance(value, float):
            if not math.isfinite(value):
                yield path or "body", "must be a finite number"
        elif isinstance(value, dict):
            for key, item in value.items():
                field = f"{path}.{key}" if path else str(key)
                if _UNSTORABLE.search(str(key)):
                    yield path or "body", UNSTORABLE_NAME
                    continue
                pending.append((field, item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value))


def storable_check(data) -> None:
    """Raise the 400 for the first field unstorable_fields finds."""
    for field, rule in unstorable_fields(data):
        raise invalid_input(field, rule)


class JSONBodyParser(JSONParser):
    """DRF's JSON parser, bounded: depth first (on the text), then the parse, then every text and number."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"JSON parse error - the body is not {encoding} text.") from error
        json_depth_check(text)
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error
        storable_check(data)
        return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_API_PATHS = ("/api/", "/v1/")


def form_text_problem(*queries) -> tuple[str, str] | None:
    """(field, rule) for the first name or value of these QueryDicts (or {name: [texts]}) that cannot be stored."""
    for query in queries:
        for name, values in query.lists() if hasattr(query, "lists") else query.items():
            if _UNSTORABLE.search(name):
                return "request", UNSTORABLE_NAME
            for value in values:
                if isinstance(value, str) and _UNSTORABLE.search(value):
                    return name, UNSTORABLE_TEXT
    return None


def _upload_names(files) -> dict:
    return {name: [upload.name or "" for upload in files.getlist(name)] for name in files}


class RequestTextMiddleware(EitherWayMiddleware):
    """A path or query-string field that cannot be stored (a model id with %00) answers 400 naming it, on every
    path: the API's envelope under /api/ and /v1/, a plain sentence on studio pages; so do a studio form's fields
    (an API's form body is checked by BodyCheckedFirst, which leaves the stream to DRF's parsers)."""

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return self._refused(request) or self.get_response(request)

    async def __acall__(self, request):
        # The body is in memory (or a spooled file) by now: parsing a form's fields here does not wait on the client.
        return self._refused(request) or await self.get_response(request)

    @staticmethod
    def _refused(request):
        queries = [request.GET]
        api = request.path.startswith(_API_PATHS)
        if not api and request.method == "POST" and request.content_type in _FORM_TYPES:
            queries += [request.POST, _upload_names(request.FILES)]
        problem = ("path", UNSTORABLE_TEXT) if _UNSTORABLE.search(request.path) else form_text_problem(*queries)
        if problem is None:
            return None
        field, rule = problem
        message = f"{field}: {rule}."
        if request.path.startswith("/v1/"):
            from generation.openai_api.errors import error_envelope

            return JsonResponse(error_envelope(400, message, code="invalid", param=field), status=400)
        if api:
            return JsonResponse(error_body("invalid", message, {field: [f"{rule[0].upper()}{rule[1:]}."]}), status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class BodyCheckedFirst:
    """A DRF view mixin: the body is parsed (JSON is checked as it is) once the caller is let in, before any
    action, and a form's fields are checked like the query string; so an action that ignores its body still
    refuses a malformed one instead of acting on the request."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if isinstance(request.data, QueryDict):  # a form or multipart body
            problem = form_text_problem(request.data, _upload_names(request.FILES))
            if problem is not None:
                raise invalid_input(*problem)


class BoundedJSONFormField(forms.JSONField):
    """The admin's JSON field under the API's rules: deep nesting and unstorable text are a form error, not a
    RecursionError (Django's field catches only JSONDecodeError) nor a NUL that PostgreSQL's jsonb refuses."""

    def to_python(self, value):
        if isinstance(value, str):
            try:
                json_depth_check(value)
            except ApplicationError as error:
                raise ValidationError(error.fields["body"][0], code="invalid") from None
        converted = super().to_python(value)
        for field, rule in unstorable_fields(converted):
            raise ValidationError(f"{rule[0].upper()}{rule[1:]} (at {field}).", code="invalid")
        return converted

    def bound_data(self, data, initial):
        if isinstance(data, str):  # shown again as typed when too deep to parse
            try:
                json_depth_check(data)
            except ApplicationError:
                return forms.fields.InvalidJSONInput(data)
        return super().bound_data(data, initial)
