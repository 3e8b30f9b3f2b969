"""The asset page's actions in a real browser, against the live server, the worker, S3 (moto) and the
emulator: a creator opens an image, sees each final priced with its output size, clicks Upscale (fast),
follows the job to the new image and downloads it: four times the source on each side, the source's
child, charged the fast upscaler's price. Screenshots of the page at a desktop's and a phone's width."""

import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from assets.models import Asset
from billing.models import LedgerEntry
from generation.models import GenerationJob
from tenants.models import Role

from ..generation.test_pipeline import finished, submit
from .conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOVA = "amazon.nova-canvas-v1:0"
FAST = "stability.stable-fast-upscale-v1:0"


def shoot(page, name: str, screenshot) -> None:
    """The conftest's screenshot, and one under ATELIER_SHOTS (a folder) when it is set, CI or not."""
    screenshot(page, name)
    folder = os.environ.get("ATELIER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_upscale_fast_from_the_asset_page_makes_an_image_four_times_the_size(
    browser_page, person, tenant_a, api_key, client_as, screenshot
):
    api = client_as(key=api_key(tenant_a, Role.CREATOR))
    body = {"model": NOVA, "prompt": "a lighthouse at dusk, wide sky", "width": 512, "height": 384, "seed": 7}
    draft_job = finished(api, submit(api, body).json()["id"])
    assert draft_job["status"] == "succeeded", draft_job
    source = Asset.objects.get(pk=draft_job["assets"][0]["id"])
    creator = person(Role.CREATOR, "cleo@acme.test")
    page = browser_page()
    # Chromium 156 asks before a page loads from another loopback port (Local Network Access), as the
    # images from S3 (moto) here do; production serves them from a public origin.
    page.context.grant_permissions(["local-network-access"])
    sign_in(page, creator)

    page.goto(f"/t/{tenant_a.slug}/assets/{source.pk}/")
    panel = page.locator("#finalize")
    assert panel.locator("[data-offer=fast]").inner_text() == "$0.03 · 2048×1536"  # priced before the click
    assert panel.locator("[data-offer=premium]").inner_text() == "$0.06 · 512×384"
    erase = page.locator("a.button.tool", has_text="Erase")
    assert erase.get_attribute("href") == (
        f"/t/{tenant_a.slug}/compose/?model=stability.stable-image-erase-object-v1%3A0&source_asset={source.pk}"
    )
    hero = page.locator("figure.preview img").element_handle()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=hero)  # the picture, from S3
    page.set_viewport_size({"width": 1440, "height": 900})
    shoot(page, "actions-1440", screenshot)
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "actions-390", screenshot)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing spills sideways
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("button[data-upscale=fast]")

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    job = GenerationJob.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[1])
    assert (job.model.model_id, job.finalizes_id, job.input_assets) == (FAST, source.pk, {"image": str(source.pk)})
    page.locator(".results a.thumb.done").first.wait_for(timeout=60_000)
    page.locator(".results a.thumb.done").first.click()
    page.wait_for_url(re.compile(r"/assets/[0-9a-f-]+/$"))
    final = Asset.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[1])
    assert final.job_id == job.pk and [parent.pk for parent in final.parents.all()] == [source.pk]
    shoot(page, "actions-upscaled", screenshot)

    download = page.request.get(page.locator("a", has_text="Download original").get_attribute("href"))
    assert download.ok
    stored = Image.open(io.BytesIO(download.body()))
    assert stored.size == (source.width * 4, source.height * 4) == (2048, 1536) == (final.width, final.height)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED
    charged = LedgerEntry.objects.get(job=job, kind=LedgerEntry.Kind.CHARGE).amount_usd
    assert charged == Decimal("0.03")
