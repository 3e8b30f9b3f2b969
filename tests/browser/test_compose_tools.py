"""The composer's tools in a real browser, against the live server, the worker, S3 (moto) and the
emulator: a designer uploads an image, PAINTS a mask on it with the mouse and inpaints with Stable
Image Inpaint (the job's mask is black exactly where the canvas was painted); outpaints with sides
(the result is the input plus the sides); and the picker and the painter at a laptop's and a phone's
width (screenshots under $ATELIER_SHOTS, /tmp/shots by default)."""

import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_dilation

from assets.models import Asset
from assets.storage import read_object
from generation.bedrock.images import PAINTING_CUT
from generation.models import GenerationJob
from tenants.models import Role

from .conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

INPAINT = "stability.stable-image-inpaint-v1:0"
OUTPAINT = "stability.stable-outpaint-v1:0"
SHOTS = Path(os.environ.get("ATELIER_SHOTS") or Path(tempfile.gettempdir()) / "shots")
# The painted stroke, as fractions of the image: from (0.25, 0.5) to (0.6, 0.5), brush 40 screen px.
STROKE = ((0.25, 0.5), (0.45, 0.55), (0.6, 0.5))


def picture(tmp_path, width=320, height=240) -> Path:
    """An input with detail everywhere (a gradient), so a changed pixel shows."""
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    path = tmp_path / f"input-{width}x{height}.png"
    Image.fromarray(np.dstack([x, y, 255 - x]), "RGB").save(path)
    return path


def paint(page, painter) -> None:
    """Paint STROKE on the painter's canvas with the mouse (pointer events, as a person would)."""
    canvas = painter.locator("canvas.painter-canvas")
    canvas.wait_for()
    page.wait_for_load_state("networkidle")  # the estimate has answered: the layout is still
    canvas.scroll_into_view_if_needed()  # the mouse acts on the screen
    box = canvas.bounding_box()
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in STROKE]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=8)
    page.mouse.up()
    page.wait_for_function("(el) => el.dataset.painted === 'true'", arg=painter.element_handle())


def canvas_painted(page, painter) -> np.ndarray:
    """Where the canvas holds paint at least as opaque as the server's cut: what the mask must make black."""
    assert painter.get_attribute("data-cut") == str(PAINTING_CUT)  # the painter is given the server's rule
    alpha = page.evaluate(
        """(root) => { const c = root.querySelector('canvas.painter-canvas');
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             const out = []; for (let i = 3; i < d.length; i += 4) out.push(d[i]);
             return {width: c.width, height: c.height, alpha: out}; }""",
        painter.element_handle(),
    )
    return np.array(alpha["alpha"]).reshape(alpha["height"], alpha["width"]) >= PAINTING_CUT


def finished_job(page) -> GenerationJob:
    page.locator("#error-summary, .results").first.wait_for()
    assert not page.locator("#error-summary").count(), page.locator("#error-summary").inner_text()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    job = GenerationJob.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[1])
    page.locator(".results a.thumb.done, .slot.failed, .slot.filtered").first.wait_for(timeout=60_000)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, (job.status, job.error_code, job.error_message)
    return job


def pixels(asset: Asset) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(read_object(asset.file_key))).convert("RGB"), dtype=np.int16)


def inpaint_with_a_painted_mask(browser_page, person, tmp_path):
    page = browser_page()
    sign_in(page, person(Role.CREATOR, "dora@acme.test"))
    page.goto(f"/t/acme/compose/?model={INPAINT}")
    tool = page.locator(f"fieldset[data-tool='{INPAINT}']")
    tool.wait_for()
    source = picture(tmp_path)
    tool.locator("input[type=file][name=image]").set_input_files(str(source))
    painter = tool.locator(".mask-painter")
    paint(page, painter)
    expected = canvas_painted(page, painter)
    tool.locator("textarea[name=prompt]").fill("a bright blue glass vase")
    page.locator("#estimate .figure").wait_for()  # the tool is priced once its image is in
    page.click("#submit")
    job = finished_job(page)
    return page, job, source, expected


def test_paint_a_mask_and_inpaint_only_the_painted_area(browser_page, person, tenant_a, tmp_path):
    page, job, source, expected = inpaint_with_a_painted_mask(browser_page, person, tmp_path)

    assert (job.model.model_id, job.task_type) == (INPAINT, "INPAINTING")
    assert job.params["prompt"] == "a bright blue glass vase"
    # The mask stored as the job's input: the image's size, pure black exactly where the canvas was painted.
    mask = Asset.objects.get(pk=job.input_assets["mask_image"])
    stored = np.asarray(Image.open(io.BytesIO(read_object(mask.file_key))).convert("L"))
    assert stored.shape == (240, 320) and set(np.unique(stored)) == {0, 255}
    assert ((stored == 0) == expected).all()
    # ...and that is where the stroke went: along its path black, far from it white.
    assert stored[120, 80] == 0 and stored[120, 190] == 0 and stored[130, 144] == 0
    assert stored[10, 10] == 255 and stored[230, 310] == 255 and stored[40, 160] == 255
    assert 0.02 < expected.mean() < 0.3  # a 40-px brush on a canvas shown ~1.8x: a stroke ~22 px wide
    made = Asset.objects.get(job=job)
    assert (made.width, made.height) == (320, 240) and (job.width, job.height) == (320, 240)
    # The result: outside the painted area (grown by grow_mask, 5 px each way) the input's pixels,
    # inside new ones. (A small tolerance for the invisible provenance mark.)
    before = np.asarray(Image.open(source).convert("RGB"), dtype=np.int16)
    changed = np.abs(pixels(made) - before).max(axis=2) > 12
    grown = binary_dilation(expected, structure=np.ones((3, 3), dtype=bool), iterations=job.params["grow_mask"])
    assert not changed[~grown].any()
    assert changed[expected].mean() > 0.5


def test_outpaint_with_sides(browser_page, person, tenant_a, tmp_path):
    page = browser_page()
    sign_in(page, person(Role.CREATOR, "otto@acme.test"))
    page.goto("/t/acme/compose/")
    page.check(f"input[name=model][value='{OUTPAINT}']")  # picked from the picker, not the URL
    tool = page.locator(f"fieldset[data-tool='{OUTPAINT}']")
    tool.wait_for()
    assert page.locator("#generic-fields").is_hidden()
    tool.locator("input[type=file][name=image]").set_input_files(str(picture(tmp_path, 300, 200)))
    preview = tool.locator(".outpaint")
    preview.locator(".outpaint-image").wait_for()

    # A handle drags a side out; the numbers and the size follow.
    handle = preview.locator(".outpaint-handle[data-handle=right]")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    dragged = int(tool.locator("input[name=right]").input_value())
    assert dragged > 0
    assert f"Will be {300 + dragged:,} × 200 px" in preview.locator(".outpaint-size").inner_text()

    tool.locator("input[name=right]").fill("0")
    tool.locator("input[name=left]").fill("128")
    tool.locator("input[name=down]").fill("64")
    preview.get_by_text("Will be 428 × 264 px").wait_for()
    tool.locator("input[name=down]").dispatch_event("change")
    page.locator("#estimate .figure").wait_for()
    page.click("#submit")
    job = finished_job(page)

    # The sides asked for, the size priced, and the image made: the input plus the sides.
    assert (job.task_type, job.params["left"], job.params["down"], job.width, job.height) == (
        "OUTPAINTING", 128, 64, 428, 264,
    )  # fmt: skip
    assert "right" not in job.params or job.params["right"] == 0
    made = Asset.objects.get(job=job)
    assert (made.width, made.height) == (428, 264) and pixels(made).shape == (264, 428, 3)


@pytest.mark.parametrize("width", [1440, 390])
def test_the_picker_and_the_painter_fit_the_screen(browser_page, person, tenant_a, tmp_path, width):
    page = browser_page()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, person(Role.CREATOR, f"sam{width}@acme.test"))
    page.goto(f"/t/acme/compose/?model={INPAINT}")
    tool = page.locator(f"fieldset[data-tool='{INPAINT}']")
    tool.locator("input[type=file][name=image]").set_input_files(str(picture(tmp_path)))
    painter = tool.locator(".mask-painter")
    paint(page, painter)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".picker").screenshot(path=str(SHOTS / f"compose-picker-{width}.png"))
    tool.screenshot(path=str(SHOTS / f"compose-mask-painter-{width}.png"))
    page.screenshot(path=str(SHOTS / f"compose-inpaint-{width}.png"), full_page=True)

    canvas = painter.locator("canvas").bounding_box()
    assert canvas["width"] <= width - 20 and canvas["height"] > 50  # fits the screen, keeps its aspect
    assert abs(canvas["width"] / canvas["height"] - 320 / 240) < 0.02
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter((el) =>
        el.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5)
        .map((el) => el.tagName + '.' + el.className + '#' + el.id)""")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px: {wide}"
    page.check(f"input[name=model][value='{OUTPAINT}']")
    outpaint = page.locator(f"fieldset[data-tool='{OUTPAINT}']")
    outpaint.locator("input[type=file][name=image]").set_input_files(str(picture(tmp_path)))
    outpaint.locator("input[name=left]").fill("128")
    outpaint.locator("input[name=down]").fill("64")
    outpaint.get_by_text("Will be 448 × 304 px").wait_for()
    outpaint.screenshot(path=str(SHOTS / f"compose-outpaint-{width}.png"))
