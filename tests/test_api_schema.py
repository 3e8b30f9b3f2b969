"""The OpenAPI description: it generates without a warning and validates (as CI runs it), its readers
load nothing from outside Atelier, it documents every error in the one envelope, and the API answers
as it says — schemathesis sends generated requests with an admin API key and checks every answer."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks

from tenants.models import Role

from .factories import make_api_key, make_job, make_project, public_id
from .processes import ROOT
from .security.endpoints import a_generated_asset, a_member, a_provenance_check, a_review, an_api_key


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--fail-on-warn", "--validate", "--file", tmp_path / "api.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert (tmp_path / "api.yaml").read_text().startswith("openapi: 3.")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_readers_load_only_our_own_static_files(client, page):
    response = client.get(page)
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert response.status_code == 200
    assert not re.search(r"https?://", html), "a reader reaches outside Atelier"
    assert assets and all(url.startswith("/static/drf_spectacular_sidecar/") for url in assets), assets
    for url in assets:
        served = client.get(url)
        assert served.status_code == 200 and served.getvalue(), url
    assert '"/api/schema/"' in html


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _operations(openapi: dict):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_schema_names_both_ways_to_authenticate(openapi):
    schemes = openapi["components"]["securitySchemes"]

    assert schemes["apiKeyAuth"]["type"] == "http" and schemes["apiKeyAuth"]["scheme"] == "bearer"
    assert schemes["cookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    jobs = openapi["paths"]["/api/v1/tenants/{tenant_slug}/jobs/"]["post"]
    assert {"apiKeyAuth": []} in jobs["security"] and {"cookieAuth": []} in jobs["security"]


def test_every_error_is_the_one_envelope(openapi):
    error = {"$ref": "#/components/schemas/Error"}
    assert openapi["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, method, operation in _operations(openapi):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and path != "/healthz":
                schemas = [content["schema"] for content in response.get("content", {}).values()]
                assert schemas and all(schema == error for schema in schemas), f"{method} {path} {status}"


def test_every_tenant_operation_documents_who_may_call_it_and_its_limits(openapi):
    tenant_operations = [op for path, _, op in _operations(openapi) if path.startswith("/api/v1/tenants/{tenant_slug}")]

    assert len(tenant_operations) > 50
    for operation in tenant_operations:
        assert {"401", "403", "404", "429"} <= set(operation["responses"]), operation["operationId"]
        assert "Retry-After" in operation["responses"]["429"]["headers"]
        assert any(status.startswith("2") for status in operation["responses"]), operation["operationId"]


def test_creating_posts_document_their_body_and_idempotency_key(openapi):
    paths = openapi["paths"]
    creating = [
        paths["/api/v1/tenants/{tenant_slug}/budgets/"]["post"],
        paths["/api/v1/tenants/{tenant_slug}/members/"]["post"],
        paths["/api/v1/tenants/{tenant_slug}/api-keys/"]["post"],
        paths["/api/v1/tenants/{tenant_slug}/projects/"]["post"],
        paths["/api/v1/tenants/{tenant_slug}/prompts/"]["post"],
        paths["/api/v1/tenants/{tenant_slug}/prompts/{id}/versions/"]["post"],
        paths["/api/v1/tenants/{tenant_slug}/seeds/"]["post"],
        paths["/api/v1/tenants/{tenant_slug}/provenance-checks/"]["post"],
    ]
    for operation in creating:
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, operation["operationId"]
        assert "409" in operation["responses"] and "201" in operation["responses"], operation["operationId"]
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
        assert operation["requestBody"]["content"], operation["operationId"]
    jobs = paths["/api/v1/tenants/{tenant_slug}/jobs/"]["post"]
    assert {"200", "201", "402"} <= set(jobs["responses"])
    assert "prompt" in openapi["components"]["schemas"]["JobRequestRequest"]["properties"]
    for path in ("/api/v1/tenants/{tenant_slug}/assets/bulk/", "/api/v1/tenants/{tenant_slug}/assets/{id}/approve/"):
        assert paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]


def test_growing_lists_are_cursor_pages(openapi):
    for name in ("jobs", "assets", "reviews", "ledger", "provenance-checks", "api-keys"):
        operation = openapi["paths"][f"/api/v1/tenants/{{tenant_slug}}/{name}/"]["get"]
        parameters = {p["name"] for p in operation["parameters"]}
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]

        assert {"cursor", "page_size"} <= parameters, name
        assert set(openapi["components"]["schemas"][page]["properties"]) == {"next", "previous", "results"}, name


# Schemathesis: every operation, with generated paths, queries, headers and bodies (schema-valid ones and
# invalid ones, and the coverage phase's boundary values), sent by an admin API key of a tenant with a
# budget, and with one of each kind of object so that detail paths answer 200, not only 404. Every
# answer must be documented: its status, content type, headers and body; no 5xx. Jobs are created but
# never run (no worker: their enqueueing waits for a commit that a test transaction never makes), so no
# operation needs Bedrock. The OpenAI-compatible /v1/ is outside this schema (OpenAI's reference
# describes it). Derandomized, so CI sees the same requests each run. `make test` runs a bounded smoke
# (4 examples per operation); `make fuzz` runs the same checks with ATELIER_FUZZ_EXAMPLES per operation.
TENANT = "acme"
EXAMPLES_PER_OPERATION = int(os.environ.get("ATELIER_FUZZ_EXAMPLES") or 4)
CALLS = Counter()  # answers by status class over the run, reported at the end of the module
api = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(
        {"parameters": {"path.tenant_slug": TENANT}, "phases": {"coverage": {"unexpected-methods": ["DELETE", "PUT"]}}}
    ),
)


def a_budget(tenant):
    from billing.services import budget_set_monthly

    project = make_project(tenant, name="Budgeted", slug="budgeted")
    return budget_set_monthly(tenant=tenant, project=project, amount_usd=Decimal("5"), actor=None)


def a_prompt(tenant):
    from assets.library import prompt_create
    from assets.services import project_get_default

    project = project_get_default(tenant=tenant)
    return prompt_create(tenant=tenant, actor=None, project=project, name="Hero", text="a {x}")


def a_seed(tenant):
    from assets.library import seed_create
    from assets.services import project_get_default

    return seed_create(tenant=tenant, actor=None, project=project_get_default(tenant=tenant), value=42, label="Dusk")


def a_webhook(tenant):
    from tenants.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(
        tenant=tenant, url="https://hooks.example.test/atelier", events=["job.succeeded"], secret="s" * 32
    )


# The objects whose ids fill `{id}`, by the path's first segment after the tenant.
TARGETS = {
    "members": a_member,
    "api-keys": an_api_key,
    "jobs": make_job,
    "assets": a_generated_asset,
    "reviews": a_review,
    "budgets": a_budget,
    "projects": make_project,
    "prompts": a_prompt,
    "seeds": a_seed,
    "provenance-checks": a_provenance_check,
    "webhooks": a_webhook,
}


@pytest.fixture
def admin_key(tenant_a) -> str:
    return make_api_key(tenant_a, Role.ADMIN, name="schemathesis")[1]


@pytest.fixture
def target_of(tenant_a):
    """target_of(path, name) → the id of an object of the tenant for the path parameter, made on first use."""
    made = {}

    def target(path: str, name: str) -> str:
        segment = path.removeprefix("/api/v1/tenants/{tenant_slug}/").split("/")[0]
        if segment not in TARGETS:
            return "amazon.nova-canvas-v1:0"  # /models/{id}/
        if segment not in made:
            made[segment] = TARGETS[segment](tenant_a)
        if name == "delivery_id":  # a webhook's delivery
            from tenants.models import WebhookDelivery

            endpoint = made[segment]
            delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first() or WebhookDelivery.objects.create(
                tenant=tenant_a, endpoint=endpoint, event="ping", event_id=uuid.uuid4(), payload={"event": "ping"}
            )
            return str(delivery.pk)
        return public_id(made[segment])

    return target


@pytest.fixture
def wsgi_calls_keep_the_test_transaction():
    """Schemathesis calls the WSGI app itself, whose request signals would close the connection that holds the
    test's transaction; Django's test client unhooks them the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def calls_reported(request):
    """At the end of the module, one line: how many generated requests were sent and how they were answered."""
    started = time.monotonic()
    yield
    if CALLS:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(CALLS.items()) if status != "total")
        line = (
            f"schemathesis: {CALLS['total']} requests ({EXAMPLES_PER_OPERATION} examples per operation) "
            f"in {time.monotonic() - started:.0f} s; {answers}"
        )
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.ensure_newline()
                reporter.write_line(line)


@pytest.mark.django_db
@api.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_answers_as_its_schema_says(
    case, admin_key, target_of, wsgi_calls_keep_the_test_transaction, calls_reported
):
    for name in ("id", "delivery_id"):
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = target_of(case.path, name)
    headers = {"Authorization": f"Bearer {admin_key}"}
    response = case.call(headers=headers)
    CALLS.update(["total", f"{response.status_code // 100}xx"])
    case.validate_response(
        response,
        checks=[
            st_checks.not_a_server_error,
            st_checks.status_code_conformance,
            st_checks.content_type_conformance,
            st_checks.response_headers_conformance,
            st_checks.response_schema_conformance,
        ],
        headers=headers,
        transport_kwargs={"headers": headers},
    )


# What `make fuzz` found: a NUL character (which PostgreSQL refuses in text and in JSON) reached a query or a
# save and answered 500. Each is a 400 in the one envelope now.
NUL_BODIES = [
    ("assets", {"title": "Lamp\x00"}, "title"),
    ("assets", {"tags": ["spring", "s\x00"]}, "tags"),
    ("projects", {"default_model": "\x00amazon"}, "default_model"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("segment", "body", "field"), NUL_BODIES, ids=[field for _, _, field in NUL_BODIES])
def test_a_nul_character_is_a_400_not_a_server_error(segment, body, field, tenant_a, admin_key, client_as):
    target = TARGETS[segment](tenant_a)
    response = client_as(key=admin_key).patch(
        f"/api/v1/tenants/{TENANT}/{segment}/{public_id(target)}/", body, format="json"
    )

    assert response.status_code == 400, response.content
    assert any(name.split(".")[0] == field for name in response.json()["error"]["fields"])  # or "tags.1"
    target.refresh_from_db()
    assert "\x00" not in str([getattr(target, name, "") for name in ("title", "tags", "default_model_id")])


# Hostile bodies sent to every JSON operation of the schema (so a new operation joins by existing): JSON nested
# 5,000 levels (a 500 from the parser's recursion once), NUL and unpaired surrogates, numbers past what a column
# or a Decimal holds. `make test` runs them; `make fuzz` runs them beside the long schemathesis run.
DEEP_JSON = '{"a":' * 5000 + "1" + "}" * 5000
HUGE_NUMBERS = [10**30, "-1e30", 1e300, 5.5]


def _json_operations(openapi: dict):
    for path, method, operation in _operations(openapi):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            schema = content["application/json"]["schema"]
            if "$ref" in schema:
                schema = openapi["components"]["schemas"][schema["$ref"].split("/")[-1]]
            yield path, method, sorted(schema.get("properties", {})) or ["body"]


def _hostile_cases(fields: list[str]):
    """(case id, JSON text, the status it must answer: 400, or None for any answer below 500). Text is refused
    whatever the field, so one field shows it; a number reaches the field, so each field gets each number."""
    first = fields[0]
    yield "deep", DEEP_JSON, 400
    yield f"{first}-nul", json.dumps({first: "a\x00b"}), 400
    yield f"{first}-surrogate", json.dumps({first: "a"}).replace('"a"', '"a\\ud800"'), 400
    yield f"{first}-infinite", json.dumps({first: "x"}).replace('"x"', "1e999"), 400
    for field in fields:
        for number in HUGE_NUMBERS:
            yield f"{field}-{number!r:.12}", json.dumps({field: number}), None


@pytest.mark.django_db
def test_the_api_answers_hostile_bodies_with_a_400_and_never_a_5xx(openapi, admin_key, target_of, client_as, settings):
    settings.ATELIER_API_RATE_PER_KEY = "100000/min"  # hundreds of requests from one key, none of them throttled
    client = client_as(key=admin_key)
    operations = list(_json_operations(openapi))
    failures = []

    for path, method, fields in operations:
        url = path.replace("{tenant_slug}", TENANT)
        for name in ("id", "delivery_id"):
            if "{" + name + "}" in url:
                url = url.replace("{" + name + "}", target_of(path, name))
        for case, text, expected in _hostile_cases(fields):
            response = getattr(client, method)(url, text, content_type="application/json")
            status = response.status_code
            if status >= 500 or (expected is not None and status != expected):
                failures.append(f"{method.upper()} {path} [{case}]: {status} {response.content[:200]!r}")

    assert len(operations) > 20, "too few JSON operations found in the schema"
    assert failures == []


def test_the_event_streams_and_their_events_are_described(openapi):
    """The server-sent event streams (/v1's `stream: true`, the job page's) are named with each event they send."""
    streams, schemas = openapi["x-atelier-event-streams"], openapi["components"]["schemas"]

    assert set(streams) == {"/v1/images/generations", "/v1/images/edits", "/t/{tenant_slug}/jobs/{id}/events/"}
    for stream in streams.values():
        assert stream["media_type"] == "text/event-stream"
        for ref in stream["events"].values():
            assert ref["$ref"].removeprefix("#/components/schemas/") in schemas, ref
    events = streams["/v1/images/generations"]["events"]
    assert set(events) == {"image_generation.partial_image", "image_generation.completed", "error"}
    completed = schemas["ImageGenerationCompletedEvent"]
    assert {"type", "b64_json", "background", "created_at", "output_format", "quality", "size", "usage"} <= set(
        completed["required"]
    )
    assert completed["properties"]["type"]["enum"] == ["image_generation.completed"]
    assert "partial_image_index" in schemas["ImageEditPartialImageEvent"]["required"]
