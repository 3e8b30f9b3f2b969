"""The job page follows its job over the server-sent event stream in Chromium (no polling), and without
JavaScript it reloads itself until the job has ended."""

import re

import pytest

from generation.models import GenerationJob
from generation.services import job_submit
from tenants.models import Role

from .conftest import sign_in
from .test_studio_flow import compose

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_job_page_shows_the_images_as_the_stream_brings_them(browser_page, person, tenant_a, pipeline):
    creator = person(Role.CREATOR, "cleo@acme.test")
    studio = browser_page()
    asked: list[str] = []
    studio.on("request", lambda request: asked.append(f"{request.resource_type} {request.url}"))
    sign_in(studio, creator)
    pipeline.emulator.configure(latency=[1.0, 1.0])  # the page opens on a running job

    compose(studio, tenant_a, prompt="a ceramic lamp on an oak table", n=2)
    studio.click("#submit")
    studio.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    job = GenerationJob.objects.get(pk=studio.url.rstrip("/").rsplit("/", 1)[1])

    studio.locator(".results a.thumb.done").nth(1).wait_for(timeout=60_000)
    studio.locator("#job-progress .badge.succeeded").wait_for()

    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert studio.locator(".results a.thumb.done").count() == 2
    assert studio.locator("#job-progress[data-events]").count() == 0  # the ended job's part follows nothing
    streams = [url for url in asked if url.endswith(f"/jobs/{job.pk}/events/")]
    assert streams and all(url.startswith("eventsource ") for url in streams)
    assert not [url for url in asked if "/progress/" in url]  # no polling
    for image in studio.locator(".results img").all():
        assert studio.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())


def test_without_javascript_the_job_page_reloads_until_the_job_ends(chromium, atelier_url, person, tenant_a, pipeline):
    creator = person(Role.CREATOR, "cleo@acme.test")
    context = chromium.new_context(base_url=atelier_url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, creator)
        pipeline.emulator.configure(latency=[2.0, 2.0])
        job = job_submit(tenant=tenant_a, actor=creator, model_id="amazon.nova-canvas-v1:0",
                         raw={"prompt": "a lamp without scripts", "width": 512, "height": 512}).job  # fmt: skip
        page.goto(f"/t/{tenant_a.slug}/jobs/{job.pk}/")
        assert page.locator("#job-progress .badge.succeeded").count() == 0  # still running when it opened

        page.locator("#job-progress .badge.succeeded").wait_for(timeout=60_000)  # a reload brought the end
        assert page.locator(".results a.thumb.done").count() == 1
    finally:
        context.close()
