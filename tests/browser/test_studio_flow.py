"""The studio end to end in a real browser, against the live server, the worker, S3 (moto) and the
emulator: a creator composes, watches the job, sees the images and submits one for review; an
approver approves it from the queue with the keyboard; the dashboard shows the money the ledger
holds. And the two ways a request goes wrong: a bad field, and a budget that is too small."""

import re
from decimal import Decimal

import pytest

from assets.models import Asset, Review
from billing.models import LedgerEntry
from billing.services import budget_set_tenant_monthly
from generation.models import GenerationJob
from tenants.models import Role

from .conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOVA = "amazon.nova-canvas-v1:0"


def compose(page, tenant, *, prompt: str, n: int, width: int = 512, height: int = 512) -> None:
    page.goto(f"/t/{tenant.slug}/compose/")
    page.check(f"input[name=model][value='{NOVA}']")
    page.check("input[name=task_type][value=TEXT_IMAGE]")
    page.fill("#id_prompt", prompt)
    page.fill("#id_width", str(width))
    page.fill("#id_height", str(height))
    page.fill("#id_n", str(n))
    page.locator("#id_n").dispatch_event("change")


def charged(tenant) -> Decimal:
    entries = LedgerEntry.objects.for_tenant(tenant).filter(kind__in=[LedgerEntry.Kind.CHARGE])
    return sum((entry.amount_usd for entry in entries), Decimal(0))


def test_compose_watch_submit_approve_and_see_the_spend(browser_page, person, tenant_a, screenshot):
    creator = person(Role.CREATOR, "cleo@acme.test")
    approver = person(Role.APPROVER, "abe@acme.test")
    studio = browser_page()
    sign_in(studio, creator)

    compose(studio, tenant_a, prompt="a ceramic lamp on an oak table, morning light", n=2)
    estimate = studio.locator("#estimate")
    estimate.get_by_text(re.compile(r"× 2 images")).wait_for()  # the live estimate followed the fields
    screenshot(studio, "flow-1-compose")
    studio.click("#submit")

    studio.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    job = GenerationJob.objects.get(pk=studio.url.rstrip("/").rsplit("/", 1)[1])
    assert job.requested_by_user == creator and job.n == 2 and job.params["prompt"].startswith("a ceramic lamp")
    results = studio.locator(".results a.thumb.done")
    results.nth(1).wait_for(timeout=60_000)  # the progress part polls until both images are in
    assert results.count() == 2
    screenshot(studio, "flow-2-job-done")
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED
    for image in studio.locator(".results img").all():  # the thumbnails are real pictures from S3
        assert studio.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())

    results.first.click()
    studio.wait_for_url(re.compile(r"/assets/[0-9a-f-]+/$"))
    asset = Asset.objects.get(pk=studio.url.rstrip("/").rsplit("/", 1)[1])
    assert asset.job_id == job.pk
    screenshot(studio, "flow-3-asset")
    studio.click("button:has-text('Submit for review')")
    studio.locator(".badge.in_review").first.wait_for()
    asset.refresh_from_db()
    assert asset.status == "in_review"

    queue = browser_page()
    sign_in(queue, approver)
    queue.goto(f"/t/{tenant_a.slug}/review/")
    assert str(asset.pk) in queue.content()
    screenshot(queue, "flow-4-review-queue")
    queue.keyboard.press("a")  # approve, from the keyboard
    queue.wait_for_load_state("networkidle")
    asset.refresh_from_db()
    assert asset.status == "approved"
    assert Review.objects.filter(asset=asset, decision="approved", reviewer=approver).count() == 1

    queue.goto(f"/t/{tenant_a.slug}/costs/")
    spent = charged(tenant_a)
    assert spent == job.unit_price_usd * 2 and spent > 0
    summary = queue.locator("main").inner_text()
    assert f"${spent:,.2f}" in summary  # the dashboard shows what the ledger holds
    screenshot(queue, "flow-5-costs")


def test_a_bad_field_is_shown_beside_it_and_nothing_is_made(browser_page, person, tenant_a, screenshot):
    creator = person(Role.CREATOR, "cleo@acme.test")
    page = browser_page()
    sign_in(page, creator)

    compose(page, tenant_a, prompt="a lamp", n=1, width=500)  # Nova wants multiples of 16
    page.click("#submit")

    field = page.locator("[data-field=width]")
    field.locator(".errors").wait_for()
    assert "invalid" in field.get_attribute("class")
    assert "16" in field.locator(".errors").inner_text()
    screenshot(page, "flow-bad-field")
    assert not GenerationJob.objects.filter(tenant=tenant_a).exists()
    assert not LedgerEntry.objects.filter(tenant=tenant_a).exists()


def test_an_over_budget_request_shows_the_budget_message(browser_page, person, tenant_a, screenshot):
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.05"), actor=None)
    creator = person(Role.CREATOR, "cleo@acme.test")
    page = browser_page()
    sign_in(page, creator)

    compose(page, tenant_a, prompt="a lamp", n=4)
    page.locator("#estimate .budget-warning").wait_for()  # the estimate warns before anything is sent
    page.click("#submit")

    alert = page.locator("#budget-alert")
    alert.wait_for()
    assert "Over budget" in alert.inner_text()
    screenshot(page, "flow-over-budget")
    assert not GenerationJob.objects.filter(tenant=tenant_a).exists()
    assert not LedgerEntry.objects.filter(tenant=tenant_a).exists()
