"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium; .ci/run installs it when
missing; Playwright never downloads a browser) against the live web server, the real worker, S3
(moto) and the emulator. Run locally, each test saves screenshots under var/screenshots/."""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

# Playwright's sync API runs an event loop on this thread; the tests' own ORM calls are still plain
# synchronous code, which Django would otherwise refuse inside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long test passphrase"


@pytest.fixture
def chromium():
    """Chromium for one test. Not for the session: while Playwright's sync API runs, Django's
    connections live in another context, and a serialized-rollback test set up then would start
    without the seeded catalog."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        # Like PostgreSQL and Redis, a missing browser is said loudly, never skipped.
        pytest.fail("Chromium is missing: `apt-get install chromium` (Debian's package; .ci/run installs it).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            # The test's own queries opened a connection in Playwright's context: close it here,
            # or it would outlive the test and hold the test database open.
            connections.close_all()
            browser.close()


@pytest.fixture(scope="session")
def production_csp(moto_s3) -> str:
    """The Content-Security-Policy production sends, with the S3 store the browser tests' images come from."""
    from ..security.test_production_settings import probe

    s3 = {"ATELIER_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": moto_s3.bucket, "AWS_S3_ENDPOINT_URL": moto_s3.proxy.url}
    return probe(**s3)["headers"]["Content-Security-Policy"]


@pytest.fixture
def browser_page(chromium, atelier_url, pipeline, production_csp):
    """new_page() → a fresh browser tab (its own cookies) on the live server, at a laptop's size. Every page
    is served under production's Content-Security-Policy; a violation fails the test."""
    contexts, violations = [], []

    def under_production_policy(route):
        # A form post goes on untouched: an intercepted request is handed over without its file uploads'
        # bytes, so fetching it again here would send the form without its images.
        if route.request.resource_type != "document" or route.request.method != "GET":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        route.fulfill(response=response, headers=response.headers | {"content-security-policy": production_csp})

    def note_violation(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(message.text)

    def new_page():
        context = chromium.new_context(base_url=atelier_url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        context.route(f"{atelier_url}/**", under_production_policy)
        contexts.append(context)
        page = context.new_page()
        page.on("console", note_violation)
        return page

    yield new_page
    for context in contexts:
        context.close()
    assert violations == [], violations


@pytest.fixture
def screenshot(request):
    """screenshot(page, name): a full-page PNG under var/screenshots/ when run locally (not in CI)."""

    def take(page, name: str) -> None:
        if os.environ.get("CI") == "true":
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def person(tenant_a, member):
    """person(role, email) → a member of tenant A who can sign in with PASSWORD."""

    def make(role, email):
        user = member(tenant_a, role, email=email, username=email)
        user.set_password(PASSWORD)
        user.save()
        return user

    return make


def sign_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/t/*/")
