"""Bad input is a 400 that names the field and the rule, on every endpoint, before anything is written: JSON
nested thousands of levels deep (it was a 500 from the parser's recursion), a NUL or an unpaired surrogate in
any text (PostgreSQL refuses NUL, psycopg cannot encode a surrogate: a 500 after the request was taken), and
numbers that are not finite. The endpoint lists are the cross-tenant matrix's (which every tenant route must
join) and the /v1/ routes found in the URL conf, so a new endpoint cannot escape."""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from billing.models import LedgerEntry
from config.parsers import MAX_JSON_DEPTH, JSONBodyParser
from generation.models import GenerationJob
from tenants.models import Role

from ..factories import public_id
from .endpoints import A_JOB, ENDPOINTS
from .test_cross_tenant import tenant_snapshot

pytestmark = pytest.mark.django_db

WRITES = [endpoint for endpoint in ENDPOINTS if endpoint.method in ("post", "put", "patch")]
READS = [endpoint for endpoint in ENDPOINTS if endpoint.method == "get"]
V1_WRITES = ["/v1/images/generations", "/v1/images/edits", "/v1/images/variations"]
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
DEEP_LIST = "[" * 5000 + "]" * 5000
NUL, SURROGATE = "\\u0000", "\\ud800"  # as JSON escapes: json.loads turns them into the characters
NOT_STORABLE = "a NUL character or an unpaired surrogate"


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def test_every_v1_write_route_is_in_the_list():
    posts = {
        "/" + route
        for route, pattern in _walk(get_resolver().url_patterns)
        if route.startswith("v1/") and hasattr(getattr(pattern.callback, "cls", None), "post")
    }  # fmt: skip

    assert posts, "no /v1/ routes found: the URL walk is broken"
    assert posts == set(V1_WRITES)


def test_every_api_view_reads_json_with_the_bounded_parser():
    views = {
        pattern.callback.cls for _, pattern in _walk(get_resolver().url_patterns) if hasattr(pattern.callback, "cls")
    }
    unbounded = [
        f"{view.__module__}.{view.__name__}"
        for view in views
        for parser in getattr(view, "parser_classes", [])
        if parser.media_type == "application/json" and not issubclass(parser, JSONBodyParser)
    ]

    assert len(views) > 20, "the URL walk found too few API views"
    assert unbounded == []


@pytest.fixture
def admin_client(tenant_a, admin_a, client_as):
    return client_as(admin_a)


@pytest.fixture
def key_client(tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.ADMIN))


def path_of(endpoint, tenant) -> str:
    """The endpoint's path on the tenant, with a fresh object of it when the path names one."""
    target = endpoint.target(tenant) if endpoint.target else None
    return endpoint.path.format(slug=tenant.slug, id=target and public_id(target))


def with_text(body: dict, escaped: str) -> tuple[str, str]:
    """The body as JSON text with `escaped` inside its first text field (or a new `comment`), and that field."""
    field = next((name for name, value in body.items() if isinstance(value, str)), "comment")
    text = json.dumps({**body, field: "left-MARK-right"}).replace("MARK", escaped)
    return text, field


def assert_refused(response, field: str, rule: str) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert rule in error["message"] and error["message"].startswith(f"{field}:"), error
    return error


@pytest.mark.parametrize("deep", [DEEP_OBJECT, DEEP_LIST], ids=["object", "list"])
@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: e.id)
def test_json_nested_too_deep_is_refused_and_changes_nothing(endpoint, deep, admin_client, tenant_a):
    path = path_of(endpoint, tenant_a)
    before = tenant_snapshot(tenant_a)

    response = getattr(admin_client, endpoint.method)(path, deep, content_type="application/json")

    error = assert_refused(response, "body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    assert error["code"] == "invalid" and error["fields"] == {
        "body": [f"JSON nested deeper than {MAX_JSON_DEPTH} levels."]
    }
    assert tenant_snapshot(tenant_a) == before


def test_json_exactly_at_the_depth_limit_is_read(admin_client, tenant_a):
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    body = '{"name": "Renamed", "x": ' + nested + "}"

    response = admin_client.patch("/api/v1/tenants/acme/", body, content_type="application/json")

    assert response.status_code == 400  # read, then refused for what it says (an unknown field), not its depth
    assert "nested" not in response.json()["error"]["message"]


@pytest.mark.parametrize("escaped", [NUL, SURROGATE, "\\udfff", "a\\udc80b"], ids=["nul", "high", "low", "low-inside"])
@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: e.id)
def test_unstorable_text_in_any_field_is_refused_and_changes_nothing(endpoint, escaped, admin_client, tenant_a):
    text, field = with_text(endpoint.body, escaped)
    path = path_of(endpoint, tenant_a)
    before = tenant_snapshot(tenant_a)

    response = getattr(admin_client, endpoint.method)(path, text, content_type="application/json")

    error = assert_refused(response, field, NOT_STORABLE)
    assert field in error["fields"]
    assert tenant_snapshot(tenant_a) == before


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "tags": ["ok", "sale\\u0000"]}', "tags.1"),
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "tags": ["\\ud83d"]}', "tags.0"),
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a \\ud800 lamp"}', "prompt"),
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "negative_prompt": "\\u0000"}', "negative_prompt"),
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "variables": {"x": "\\u0000"}}', "variables.x"),
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "cfg_scale": 1e999}', "cfg_scale"),
    ],
)
def test_a_job_with_unstorable_text_is_refused_before_anything_is_reserved(key_client, tenant_a, text, field):
    response = key_client.post("/api/v1/tenants/acme/jobs/", text, content_type="application/json")

    error = assert_refused(response, field, "")
    assert field in error["fields"]
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("path", V1_WRITES)
@pytest.mark.parametrize(
    ("text", "param", "rule"),
    [
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a \\u0000 lamp"}', "prompt", NOT_STORABLE),
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "user": "\\udc00"}', "user", NOT_STORABLE),
        ('{"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "n": -1e999}', "n", "finite"),
        (DEEP_OBJECT, "body", "nested deeper"),
    ],
    ids=["nul", "surrogate", "infinite", "deep"],
)
def test_v1_refuses_bad_json_in_openais_envelope_and_charges_nothing(key_client, path, text, param, rule):
    response = key_client.post(path, text, content_type="application/json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and rule in error["message"]
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("path", ["/v1/images/edits", "/v1/images/variations"])
def test_v1_refuses_a_nul_in_a_multipart_field(key_client, path):
    import base64
    import io

    from .endpoints import a_small_png_base64

    upload = io.BytesIO(base64.b64decode(a_small_png_base64()))
    upload.name = "lamp.png"

    body = {"prompt": "a \x00 lamp", "image": upload, "model": "amazon.nova-canvas-v1:0"}

    response = key_client.post(path, body, format="multipart")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "prompt"
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("endpoint", READS, ids=lambda e: e.id)
def test_a_nul_in_the_query_string_is_refused(endpoint, admin_client, tenant_a):
    path = path_of(endpoint, tenant_a)

    response = admin_client.get(path + ("&" if "?" in path else "?") + "search=a%00b")

    error = assert_refused(response, "search", NOT_STORABLE)
    assert error["fields"] == {"search": ["Contains a NUL character or an unpaired surrogate, which cannot be stored."]}


@pytest.mark.parametrize("page", ["/t/acme/gallery/?q=%00", "/t/acme/jobs/?status=x%00", "/t/acme/costs/?start=%00"])
def test_a_studio_page_refuses_a_nul_in_its_query(admin_client, page):
    response = admin_client.get(page)

    assert response.status_code == 400
    assert NOT_STORABLE in response.content.decode()


def test_a_studio_form_refuses_a_nul_and_writes_nothing(admin_client, tenant_a):
    before = tenant_snapshot(tenant_a)

    response = admin_client.post("/t/acme/projects/new/", {"name": "Autumn\x00"}, format="multipart")

    assert response.status_code == 400
    assert response.content.decode().startswith("name: ") and NOT_STORABLE in response.content.decode()
    assert tenant_snapshot(tenant_a) == before


@pytest.mark.parametrize("endpoint", [e for e in WRITES if e.body], ids=lambda e: e.id)
def test_a_field_the_endpoint_does_not_take_is_refused_and_changes_nothing(endpoint, admin_client, tenant_a):
    from assets.services import project_get_default

    project_get_default(tenant=tenant_a)  # made on first use by a job, even a refused one: not what this tests
    path = path_of(endpoint, tenant_a)
    before = tenant_snapshot(tenant_a)

    response = getattr(admin_client, endpoint.method)(path, {**endpoint.body, "colour_sheme": "warm"}, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "colour_sheme" in error["fields"] and "colour_sheme" in error["message"], error
    assert tenant_snapshot(tenant_a) == before


def test_a_misspelt_tenant_setting_is_refused_not_ignored(admin_client, tenant_a):
    response = admin_client.patch("/api/v1/tenants/acme/", {"four_eyes_aproval": True}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"four_eyes_aproval": ["This field is not accepted here."]}
    tenant_a.refresh_from_db()
    assert tenant_a.four_eyes_approval is False


@pytest.mark.parametrize(
    "amount", ["1e30", "1E+12", "1000000000000", "9" * 40, 1e30, "Infinity", "-1", "0.0000001"], ids=str
)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_budget_amount_out_of_bounds_is_a_400_naming_the_rule(admin_client, tenant_a, method, amount):
    from billing.models import Budget

    from .endpoints import a_project

    project = a_project(tenant_a)
    budget = Budget.objects.get(tenant=tenant_a, project=None, api_key=None)
    before = tenant_snapshot(tenant_a)
    if method == "post":
        response = admin_client.post("/api/v1/tenants/acme/budgets/", {"amount": amount, "project": str(project.pk)},
                                     format="json")  # fmt: skip
    else:
        response = admin_client.patch(f"/api/v1/tenants/acme/budgets/{budget.uuid}/", {"amount": amount}, format="json")

    error = assert_refused(response, "amount", "")
    assert list(error["fields"]) == ["amount"]
    assert tenant_snapshot(tenant_a) == before


def test_the_largest_budget_the_column_holds_is_taken(admin_client, tenant_a):
    from billing.models import Budget

    budget = Budget.objects.get(tenant=tenant_a, project=None, api_key=None)

    response = admin_client.patch(
        f"/api/v1/tenants/acme/budgets/{budget.uuid}/", {"amount": "999999999999.999999"}, format="json"
    )
    too_big = admin_client.patch(f"/api/v1/tenants/acme/budgets/{budget.uuid}/", {"amount": "1e12"}, format="json")

    assert response.status_code == 200, response.content
    assert (
        too_big.status_code == 400
        and "at most 12 digits before the decimal point" in too_big.json()["error"]["message"]
    )


@pytest.mark.parametrize("n", [5.5, 2.0, True, False, "2.5", "1e1", [2], {"n": 2}], ids=repr)
def test_n_must_be_a_whole_number(key_client, n):
    response = key_client.post("/api/v1/tenants/acme/jobs/", {**A_JOB, "n": n}, format="json")
    v1 = key_client.post("/v1/images/generations", {"model": A_JOB["model"], "prompt": "a lamp", "n": n}, format="json")

    assert response.status_code == 400, response.content
    assert "n" in response.json()["error"]["fields"]
    assert v1.status_code == 400 and v1.json()["error"]["param"] == "n", v1.content
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


def test_n_as_digits_counts_as_in_a_form(key_client):
    response = key_client.post("/api/v1/tenants/acme/estimate/", {**A_JOB, "n": "3"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["n"] == 3


@pytest.mark.parametrize("path", ["/api/v1/tenants/acme/models/a%00b/", "/v1/models/a%00b"])
def test_a_nul_in_the_path_is_refused(key_client, path):
    response = key_client.get(path)

    assert response.status_code == 400, response.content
    assert NOT_STORABLE in response.json()["error"]["message"] and response.json()["error"]["message"].startswith(
        "path:"
    )
