"""The role wall: every API endpoint, studio page and /v1/ view × every role (viewer, creator,
approver, admin), on the caller's own tenant. A role below what the view asks for gets 403 and
nothing is written; a role at or above it gets the same answer an admin gets.

The role each call needs is read from the code, not listed here: for the REST API, the
TenantRolePermission the view's get_permissions() returns for that method and action (DRF's
resolver gives the view class and its action map); for studio pages, the TenantPage's
`minimum_role`; for /v1/, the OpenAIView's `minimum_role`. A new endpoint (added to the
cross-tenant lists in endpoints.py and pages/, which their own completeness tests enforce) joins
this matrix with nothing to add. The few rules a service checks on top of the view (a review
stage's role) are named in SERVICE_RULES, each with the service that enforces it."""

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve

from tenants.models import ApiKey, Role
from tenants.permissions import TenantRolePermission

from ..factories import make_api_key, public_id
from .endpoints import ENDPOINTS
from .pages import PAGES
from .test_cross_tenant import tenant_snapshot

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)

# Checked by a service after the view let the caller in: the stage's role (assets.review.DEFAULT_STAGE: approver).
SERVICE_RULES = {
    ("post", "asset-approve"): Role.APPROVER,
    ("post", "asset-reject"): Role.APPROVER,
    ("post", "asset-request-changes"): Role.APPROVER,
}
# Studio form posts whose handler checks a higher role than the page it belongs to (web/views/projects.py
# ProjectPage._admin_only: everyone reads a project, admins change it).
PAGE_HANDLER_RULES = {
    ("post", "project"): Role.ADMIN,
    ("post", "project_stages"): Role.ADMIN,
    ("post", "project_archive"): Role.ADMIN,
}


def _highest(roles) -> str:
    return max(roles, key=Role.rank)


def api_required_role(endpoint, path: str) -> str:
    """The role the view itself demands for this method at this path: its permission classes, as DRF builds them."""
    match = resolve(urlsplit(path).path)
    view = match.func.cls(**match.func.initkwargs)
    actions = getattr(match.func, "actions", None)
    view.action = actions.get(endpoint.method) if actions else None
    view.request = SimpleNamespace(method=endpoint.method.upper())
    view.args, view.kwargs = (), match.kwargs
    roles = [p.minimum_role for p in view.get_permissions() if isinstance(p, TenantRolePermission)]
    assert roles, f"{endpoint.id}: no tenant role permission at all"
    return _highest([*roles, SERVICE_RULES.get((endpoint.method, endpoint.route), Role.VIEWER)])


def page_required_role(page, path: str) -> str:
    view_class = resolve(urlsplit(path).path).func.view_class
    return _highest([view_class.minimum_role, PAGE_HANDLER_RULES.get((page.method, page.route), Role.VIEWER)])


def snapshot_without_key_use(tenant) -> dict:
    """The tenant's rows, less the one column every authenticated call touches (the key's last use)."""
    rows = tenant_snapshot(tenant)
    rows["tenants.apikey.tenant"] = [{**row, "last_used_at": None} for row in rows["tenants.apikey.tenant"]]
    return rows


def as_if_alone(run):
    """run() in a savepoint rolled back after it: each role meets the same fresh rows (a prompt named
    Hero, a project slug) and nothing one role did is seen by the next."""
    with transaction.atomic():
        result = run()
        transaction.set_rollback(True)
    return result


def endpoint_path(endpoint, tenant) -> str:
    target = endpoint.target(tenant) if endpoint.target else None
    return endpoint.path.format(slug=tenant.slug, id=target and public_id(target))


def test_the_derivation_reads_the_views(tenant_a):
    """The matrix is only as good as the roles it derives: spot-check them against the views' code."""

    def api(endpoint_id):
        endpoint = next(e for e in ENDPOINTS if e.id == endpoint_id)
        return as_if_alone(lambda: api_required_role(endpoint, endpoint_path(endpoint, tenant_a)))

    def studio(page_id):
        page = next(p for p in PAGES if p.id == page_id)
        return as_if_alone(lambda: page_required_role(page, endpoint_path(page, tenant_a)))

    assert api("get job-list") == Role.VIEWER
    assert api("post job-list") == Role.CREATOR
    assert api("post asset-archive") == Role.APPROVER
    assert api("post api-key-list") == Role.ADMIN
    assert api("get member-list") == Role.ADMIN  # a read, but admin-only
    assert api("patch tenant-detail") == Role.ADMIN
    assert api("post webhook-replay") == Role.ADMIN  # no entry in action_permissions: a write fails closed
    assert studio("get review_queue") == Role.APPROVER
    assert studio("get compose") == Role.CREATOR
    assert studio("get project") == Role.VIEWER
    assert studio("post project") == Role.ADMIN
    assert studio("post settings_key_revoke") == Role.ADMIN


def check_role_matrix(required_role_at, make_path, callers: dict, send) -> tuple[dict, str]:
    """Each role's status for one call. The refused roles go first, one after another against one
    snapshot of the tenant (nothing may change); each allowed role then gets its own fresh target in
    a savepoint rolled back after it (a delete or a create works for every one of them)."""
    outcomes = {}
    with transaction.atomic():
        path = make_path()
        required = required_role_at(path)
        refused = [role for role in ROLES if not Role.at_least(role, required)]
        before = snapshot_without_key_use(callers["tenant"])
        for role in refused:
            outcomes[role] = send(callers[role], path)
        assert snapshot_without_key_use(callers["tenant"]) == before, f"a refused call wrote something ({refused})"
        transaction.set_rollback(True)
    for role in ROLES:
        if role not in refused:
            outcomes[role] = as_if_alone(lambda: send(callers[role], make_path()))  # noqa: B023 - called at once
    return outcomes, required


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_every_api_call_is_allowed_exactly_from_its_role_up(endpoint, tenant_a, client_as):
    callers = {role: client_as(key=make_api_key(tenant_a, role, name=f"{role} key")[1]) for role in ROLES}

    def send(client, path):
        response = getattr(client, endpoint.method)(path, endpoint.body, format="json")
        if response.status_code == 403:
            assert response.json()["error"]["code"] == "permission_denied", response.content
        return response.status_code

    outcomes, required = check_role_matrix(
        lambda path: api_required_role(endpoint, path), lambda: endpoint_path(endpoint, tenant_a),
        callers | {"tenant": tenant_a}, send,
    )  # fmt: skip

    expected = {role: endpoint.own_status if Role.at_least(role, required) else 403 for role in ROLES}
    assert outcomes == expected, f"needs {required}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_every_studio_page_is_allowed_exactly_from_its_role_up(page, tenant_a, member):
    callers = {}
    for role in ROLES:
        callers[role] = Client()
        callers[role].force_login(member(tenant_a, role))

    def send(browser, path):
        return getattr(browser, page.method)(path, page.data).status_code

    outcomes, required = check_role_matrix(
        lambda path: page_required_role(page, path), lambda: endpoint_path(page, tenant_a),
        callers | {"tenant": tenant_a}, send,
    )  # fmt: skip

    expected = {role: page.own_status if Role.at_least(role, required) else 403 for role in ROLES}
    assert outcomes == expected, f"needs {required}"


# Writes a viewer may send, each with the reason; any other POST/PUT/PATCH/DELETE needs creator or more.
VIEWER_WRITES = {
    "post estimate": "a quote: nothing is created or reserved",
    "post provenance-check-list": "any member may ask where an image came from",
    "post asset-bulk": "assets.review.asset_bulk_transition checks each move's own role",
    "post gallery_bulk": "the same service as asset-bulk",
    "post gallery_download": "a zip of images the viewer can already see",
    "post asset_comment": "any member may comment on an image",
    "post asset_check": "a provenance check of the tenant's own image",
    "post asset_transition": "assets.review checks the move's role (submit: creator, approve: the stage's)",
    "post provenance": "any member may ask where an image came from",
}


def test_only_named_writes_are_open_to_viewers(tenant_a):
    """The derivation cannot tell a wrong declaration from a right one; this policy can: a new write that
    a viewer may send fails here until it is named, with its reason, in VIEWER_WRITES."""
    open_to_viewers = set()
    for call in [*ENDPOINTS, *PAGES]:
        if call.method == "get":
            continue
        derive = api_required_role if call in ENDPOINTS else page_required_role
        if as_if_alone(lambda: derive(call, endpoint_path(call, tenant_a))) == Role.VIEWER:  # noqa: B023
            open_to_viewers.add(call.id)

    assert open_to_viewers == set(VIEWER_WRITES)


def _openai_views():
    from generation.openai_api import urls

    for pattern in urls.urlpatterns:
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is not None and hasattr(view_class, "minimum_role"):
            yield (
                pattern.name,
                f"/v1/{pattern.pattern}".replace("<str:model_id>", "amazon.nova-canvas-v1:0"),
                view_class,
            )


OPENAI_VIEWS = list(_openai_views())


@pytest.mark.parametrize(("name", "path", "view_class"), OPENAI_VIEWS, ids=[v[0] for v in OPENAI_VIEWS])
def test_every_openai_view_refuses_keys_below_its_role(name, path, view_class, tenant_a, client_as):
    """/v1/: a key below the view's role is refused before the request is read (403, nothing written);
    at or above it, the call gets past the role check (whatever the empty body then earns)."""
    method = "get" if "get" in view_class.http_method_names and hasattr(view_class, "get") else "post"
    for role in ROLES:
        client = client_as(key=make_api_key(tenant_a, role, name=f"{role} key")[1])
        before = snapshot_without_key_use(tenant_a)

        response = getattr(client, method)(path, {}, format="json")

        if Role.at_least(role, view_class.minimum_role):
            assert response.status_code != 403, (role, response.content)
        else:
            assert response.status_code == 403, (role, response.content)
            assert snapshot_without_key_use(tenant_a) == before
    assert ApiKey.objects.filter(tenant=tenant_a).count() == len(ROLES)
