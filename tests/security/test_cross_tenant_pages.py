"""The tenancy wall in the studio. For every page and form under /t/{slug}/, an admin of tenant A
gets the same 404 page for tenant B's URL, for B's object ids under A's URL, and for a tenant that
does not exist; B's rows stay as they were."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from ..factories import public_id
from .pages import PAGES
from .test_cross_tenant import tenant_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_of_a(admin_a):
    client = Client()
    client.force_login(admin_a)
    return client


def visit(client, page, slug, object_id=None):
    path = page.path.format(slug=slug, id=object_id)
    return getattr(client, page.method)(path, page.data)


def assert_not_found_page(response):
    assert response.status_code == 404, response.content[:500]
    assert b"Not found" in response.content


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_another_tenants_page_is_404_and_changes_nothing(page, browser_of_a, tenant_a, tenant_b, admin_b):
    target_b = page.target(tenant_b) if page.target else None
    before = tenant_snapshot(tenant_b)

    assert_not_found_page(visit(browser_of_a, page, tenant_b.slug, target_b and public_id(target_b)))
    assert tenant_snapshot(tenant_b) == before


@pytest.mark.parametrize("page", [p for p in PAGES if p.target], ids=lambda p: p.id)
def test_another_tenants_id_under_my_url_is_404_and_changes_nothing(page, browser_of_a, tenant_a, tenant_b, admin_b):
    target_b = page.target(tenant_b)
    before = tenant_snapshot(tenant_b)

    assert_not_found_page(visit(browser_of_a, page, tenant_a.slug, public_id(target_b)))
    assert tenant_snapshot(tenant_b) == before


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_a_tenant_that_does_not_exist_looks_the_same(page, browser_of_a, tenant_a):
    target_a = page.target(tenant_a) if page.target else None

    assert_not_found_page(visit(browser_of_a, page, "no-such-tenant", target_a and public_id(target_a)))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_the_same_page_on_my_own_tenant_works(page, browser_of_a, tenant_a):
    target_a = page.target(tenant_a) if page.target else None

    response = visit(browser_of_a, page, tenant_a.slug, target_a and public_id(target_a))

    assert response.status_code == page.own_status, response.content[:2000]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_signed_out_visitors_are_sent_to_sign_in_before_anything_else(page, tenant_a, tenant_b):
    target_b = page.target(tenant_b) if page.target else None
    before = tenant_snapshot(tenant_b)

    response = visit(Client(), page, tenant_b.slug, target_b and public_id(target_b))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert tenant_snapshot(tenant_b) == before


def _page_routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _page_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("t/<slug:tenant_slug>/"):
            yield pattern.name


def test_every_page_is_in_the_matrix():
    routes = set(_page_routes(get_resolver().url_patterns))
    covered = {page.route for page in PAGES}

    assert "home" in routes, "no studio pages found: the URL walk is broken"
    assert routes <= covered, f"add these pages to tests/security/pages/: {sorted(routes - covered)}"
