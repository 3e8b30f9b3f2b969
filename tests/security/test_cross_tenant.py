"""The tenancy wall. For every tenant-scoped endpoint, an admin of tenant A — signed in, or with
an admin API key — gets 404 for tenant B's URL and for B's object ids under A's URL, and B's data
is byte-for-byte what it was."""

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.models import Role, Tenant

from ..factories import public_id
from .endpoints import ENDPOINTS

pytestmark = pytest.mark.django_db


def tenant_snapshot(tenant: Tenant) -> dict:
    """Every row that belongs to the tenant, in every model with a foreign key to Tenant."""
    rows = {"tenants.tenant": list(Tenant.objects.filter(pk=tenant.pk).values())}
    for model in apps.get_models():
        for model_field in model._meta.fields:
            if model_field.is_relation and model_field.related_model is Tenant:
                key = f"{model._meta.label_lower}.{model_field.name}"
                rows[key] = list(model.objects.filter(**{model_field.name: tenant}).order_by("pk").values())
    return rows


@pytest.fixture(params=["session", "api_key"])
def caller_of_a(request, tenant_a, admin_a, api_key, client_as):
    if request.param == "session":
        return client_as(admin_a)
    return client_as(key=api_key(tenant_a, Role.ADMIN))


def call(client, endpoint, slug, object_id=None):
    path = endpoint.path.format(slug=slug, id=object_id)
    return getattr(client, endpoint.method)(path, endpoint.body, format="json")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_another_tenants_url_is_404_and_changes_nothing(endpoint, caller_of_a, tenant_a, tenant_b, admin_b):
    target_b = endpoint.target(tenant_b) if endpoint.target else None
    before = tenant_snapshot(tenant_b)

    response = call(caller_of_a, endpoint, tenant_b.slug, target_b and public_id(target_b))

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert tenant_snapshot(tenant_b) == before


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.target], ids=lambda e: e.id)
def test_another_tenants_id_under_my_url_is_404_and_changes_nothing(endpoint, caller_of_a, tenant_a, tenant_b, admin_b):
    target_b = endpoint.target(tenant_b)
    before = tenant_snapshot(tenant_b)

    response = call(caller_of_a, endpoint, tenant_a.slug, public_id(target_b))

    assert response.status_code == 404, response.content
    assert tenant_snapshot(tenant_b) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_the_same_call_on_my_own_tenant_works(endpoint, caller_of_a, tenant_a):
    target_a = endpoint.target(tenant_a) if endpoint.target else None

    response = call(caller_of_a, endpoint, tenant_a.slug, target_a and public_id(target_a))

    assert response.status_code == endpoint.own_status, response.content


def _tenant_routes(patterns, prefix=""):
    """The API's tenant routes (the studio's pages have their own matrix: test_cross_tenant_pages.py)."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _tenant_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and "tenant_slug" in route and route.startswith("api/"):
            yield pattern.name


def test_every_tenant_route_is_in_the_matrix():
    routes = set(_tenant_routes(get_resolver().url_patterns))
    covered = {endpoint.route for endpoint in ENDPOINTS}

    assert routes, "no tenant-scoped routes found: the URL walk is broken"
    assert routes <= covered, f"add these routes to tests/security/endpoints.py: {sorted(routes - covered)}"
