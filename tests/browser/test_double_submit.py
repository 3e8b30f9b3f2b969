"""A double click on Generate, in a real browser against the live server: one job, one reservation on
the ledger. And going Back to the composer prices the form again, and pressing Generate there makes
nothing new."""

import re

import pytest

from billing.models import LedgerEntry
from generation.models import GenerationJob
from tenants.models import Role

from .conftest import sign_in
from .test_studio_flow import compose

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def job_on(page) -> GenerationJob:
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    return GenerationJob.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[1])


def reservations(tenant) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.for_tenant(tenant).filter(kind=LedgerEntry.Kind.RESERVE))


def test_a_double_click_on_generate_makes_one_job_and_one_reservation(browser_page, person, tenant_a, screenshot):
    creator = person(Role.CREATOR, "cleo@acme.test")
    page = browser_page()
    sign_in(page, creator)
    compose(page, tenant_a, prompt="a ceramic lamp on an oak table", n=2)
    page.locator("#estimate").get_by_text(re.compile(r"× 2 images")).wait_for()

    page.dblclick("#submit")

    job = job_on(page)
    screenshot(page, "double-click-job")
    assert list(GenerationJob.objects.filter(tenant=tenant_a, parent=None)) == [job]
    (reserve,) = reservations(tenant_a)
    assert reserve.job_id == job.pk and reserve.amount_usd == job.unit_price_usd * 2


def test_back_to_the_composer_and_generate_again_makes_nothing_new(browser_page, person, tenant_a):
    creator = person(Role.CREATOR, "cleo@acme.test")
    page = browser_page()
    sign_in(page, creator)
    compose(page, tenant_a, prompt="a ceramic lamp on an oak table", n=1)
    page.locator("#estimate").get_by_text(re.compile(r"× 1 image")).wait_for()
    page.click("#submit")
    first = job_on(page)

    with page.expect_request(lambda request: request.url.endswith("/compose/estimate/")):
        page.go_back()  # the composer prices the form again
    page.wait_for_url(re.compile(r"/compose/$"))
    assert page.locator("#submit").is_enabled()  # not left disabled by the first click
    page.click("#submit")

    # The form sent again makes nothing: the first job again, or — where the page was drawn anew and its
    # fields laid out for the composer's default model before the browser put the chosen one back — the
    # message that it was already sent with other values.
    page.locator(".messages, #error-summary").get_by_text(re.compile("already sent")).wait_for()
    assert GenerationJob.objects.filter(tenant=tenant_a).count() == 1 and len(reservations(tenant_a)) == 1
    assert page.url.endswith(f"/jobs/{first.pk}/") or page.url.endswith("/compose/")
