"""CPU time of the provenance stamp (assets.provenance.stamp.stamp_image), stage by stage, at 512² and 1024².

Run from the project root: `.venv/bin/python bench/stamp.py [--runs 9]`. Each figure is the median of --runs timings
after one warm-up, in CPU milliseconds of the whole process (time.process_time: it counts every thread, so BLAS
threads that spin after a product are charged too). Inputs are what the emulator answers: its own render (PNG,
Titan/Nova's format), and a real photo (tests/fixtures/photos/astronaut.png, 512² as it is and resized to 1024²)
put through the emulator's encoder as PNG, JPEG and WebP, so each carries the emulator's mark and metadata as an
answer does. The total is stamp_image itself; the stages are its parts timed one by one, so they add up to about the
total. Target: ≤ 30 ms for the whole stamp of a 1024² PNG.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))  # run as a plain script, not from an installed package

PHOTO = PROJECT_ROOT / "tests" / "fixtures" / "photos" / "astronaut.png"
SIZES = [512, 1024]
TARGET_MS = 30.0
WATERMARK_ID = "0123456789abcdef"
NOVA = "amazon.nova-canvas-v1:0"
SD35 = "stability.sd3-5-large-v1:0"
STAGES = ["decode", "mark", "encode", "reopen", "phash", "thumbnail", "sign"]


def cpu_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up: key tables, c2pa contexts, caches
    timings = []
    for _ in range(runs):
        started = time.process_time()
        action()
        timings.append(time.process_time() - started)
    return statistics.median(timings) * 1000


def answers(side: int) -> list[tuple[str, str, bytes]]:
    """(what, format, bytes) as the emulator answers them at side × side."""
    import numpy as np
    from PIL import Image

    from generation.bedrock.request import validate_request
    from generation.bedrock.specs import SPECS
    from generation.emulator.render import encode, render

    nova = validate_request(SPECS[NOVA], {"task_type": "TEXT_IMAGE", "prompt": "a harbour", "seed": 7,
                                          "width": side, "height": side})  # fmt: skip
    photo = Image.open(PHOTO).convert("RGB")
    if photo.size != (side, side):
        photo = photo.resize((side, side), Image.Resampling.LANCZOS)
    pixels = np.asarray(photo)
    rows = [("render", "png", render(nova, 0, "png")), ("photo", "png", encode(pixels, None, nova, 0, "png"))]
    for image_format in ("jpeg", "webp"):
        sd35 = validate_request(SPECS[SD35], {"prompt": "a harbour", "aspect_ratio": "1:1", "seed": 7,
                                              "output_format": image_format})  # fmt: skip
        rows.append(("photo", image_format, encode(pixels, None, sd35, 0, image_format)))
    return rows


def stage_timings(data: bytes, runs: int) -> dict[str, float]:
    from PIL import Image

    from assets.provenance import fingerprints, marks
    from assets.provenance.manifest import manifest_definition, manifest_sign
    from assets.provenance.stamp import _encode
    from assets.storage import thumbnail_of

    try:
        from assets.provenance.png import png_read, png_write
    except ImportError:  # the stamp before its PNG codec: every answer went Pillow's way
        png_read = png_write = None

    def decode():
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            return source

    timings = {"reopen": 0.0}
    decoded = png_read(data) if png_read else None
    if decoded is not None:  # the PNG fast path: an array in, marked in place, written by png.py
        image_format = "png"
        pixels = decoded.pixels.copy()
        marks.mark_pixels(pixels, WATERMARK_ID)
        timings["decode"] = cpu_ms(lambda: png_read(data), runs)
        # On a copy, as the stamp marks the decoded array in place: the copy (≈0.2 ms at 1024²) is in the figure.
        timings["mark"] = cpu_ms(lambda: marks.mark_pixels(decoded.pixels.copy(), WATERMARK_ID), runs)
        encoded = png_write(pixels, text=decoded.text, icc_profile=decoded.icc_profile)
        timings["encode"] = cpu_ms(lambda: png_write(pixels, text=decoded.text, icc_profile=decoded.icc_profile), runs)
        final = Image.fromarray(pixels)
    else:
        source = decode()
        image_format = source.format.lower()
        marked = marks.mark(source, WATERMARK_ID)
        encoded = _encode(marked, source, image_format)
        timings["decode"] = cpu_ms(decode, runs)
        timings["mark"] = cpu_ms(lambda: marks.mark(source, WATERMARK_ID), runs)
        timings["encode"] = cpu_ms(lambda: _encode(marked, source, image_format), runs)
        final = marked
        if image_format != "png":
            final = Image.open(io.BytesIO(encoded))
            final.load()
            timings["reopen"] = cpu_ms(lambda: Image.open(io.BytesIO(encoded)).copy(), runs)
    definition = manifest_definition(model_id=NOVA, task="TEXT_IMAGE", tenant_slug="bench", watermark_id=WATERMARK_ID,
                                     prompt_sha256=None, title=f"{WATERMARK_ID}.{image_format}")  # fmt: skip
    timings["phash"] = cpu_ms(lambda: fingerprints.phash(final), runs)
    timings["thumbnail"] = cpu_ms(lambda: thumbnail_of(final), runs)
    timings["sign"] = cpu_ms(lambda: manifest_sign(data=encoded, image_format=image_format, definition=definition),
                             runs)  # fmt: skip
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("ATELIER_VAR_DIR", tempfile.mkdtemp(prefix="atelier-bench-stamp-"))  # its own dev CA
    import django

    django.setup()
    from assets.provenance.stamp import stamp_image

    header = ["size", "input", "format", "bytes in", *STAGES, "total", "vs 30 ms"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for side in SIZES:
        for what, image_format, data in answers(side):
            stages = stage_timings(data, arguments.runs)
            total = cpu_ms(lambda data=data: stamp_image(
                data=data, watermark_id=WATERMARK_ID, model_id=NOVA, task="TEXT_IMAGE", tenant_slug="bench",
                prompt_sha256=None, fallback_title="bench",
            ), arguments.runs)  # fmt: skip
            cells = [f"{side}²", what, image_format, f"{len(data) // 1024} KiB"]
            cells += [f"{stages[name]:.1f}" if name != "reopen" or image_format != "png" else "–" for name in STAGES]
            cells += [f"**{total:.1f}**", f"{total / TARGET_MS:.2f}×"]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
