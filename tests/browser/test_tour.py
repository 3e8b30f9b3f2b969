"""Every page of the studio in a real browser, as an admin: it loads, runs its scripts without an
error, asks nothing of any host but Atelier's own, and fits a phone's width as well as a laptop's."""

from urllib.parse import urlparse

import pytest

from tenants.models import Role

from .conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAGES = {
    "home": "",
    "projects": "projects/",
    "compose": "compose/",
    "jobs": "jobs/",
    "gallery": "gallery/",
    "review": "review/",
    "costs": "costs/",
    "provenance": "provenance/",
    "settings": "settings/",
    "settings-members": "settings/members/",
    "settings-keys": "settings/keys/",
    "settings-budgets": "settings/budgets/",
    "settings-webhooks": "settings/webhooks/",
}


def test_every_page_loads_cleanly_offline_on_a_laptop_and_a_phone(
    browser_page, atelier_url, person, tenant_a, screenshot
):
    admin = person(Role.ADMIN, "ada@acme.test")
    page = browser_page()
    errors, foreign = [], []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"{page.url}: {message.text}"))
    own_host = urlparse(atelier_url).hostname

    def note_request(request):
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")) or host == own_host:
            return
        foreign.append(request.url)

    page.on("request", note_request)
    sign_in(page, admin)

    for name, path in PAGES.items():
        response = page.goto(f"/t/{tenant_a.slug}/{path}")
        assert response.status == 200, f"{name}: {response.status}"
        assert "script-src 'self'" in response.headers["content-security-policy"]  # production's policy applies
        assert page.locator("main h1").count() >= 1, f"{name} has no heading"
        page.wait_for_load_state("networkidle")
        screenshot(page, f"page-{name}")

    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("home", "compose", "gallery", "costs"):
        page.goto(f"/t/{tenant_a.slug}/{PAGES[name]}")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways on a phone by {overflow}px"
        screenshot(page, f"phone-{name}")

    assert errors == []
    assert foreign == []
