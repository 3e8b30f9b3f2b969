"""How fast the local Bedrock emulator makes images, through real boto3 over HTTP, and where its
time goes. The emulator must never be the bottleneck of a pipeline benchmark: the target is
≥ 10 images/s at 512² on one core, watermark included.

    .venv/bin/python bench/emulator.py            # figures as a markdown table
"""

import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image

from generation import watermark
from generation.bedrock import bodies
from generation.bedrock.client import invoke, make_client
from generation.bedrock.request import validate_request
from generation.bedrock.specs import SPECS
from generation.emulator import render
from tests.processes import start_emulator, stop

MODEL = "amazon.titan-image-generator-v2:0"
CALLS = {512: 40, 1024: 12}


def best_of(function, repeats: int = 5) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def through_boto3(url: str, side: int, calls: int) -> float:
    client = make_client(endpoint_url=url, read_timeout=60)
    bodies_to_send = [
        bodies.build_calls(validate_request(SPECS[MODEL], {"prompt": "bench", "size": f"{side}x{side}", "seed": seed}))[
            0
        ]
        for seed in range(calls + 2)
    ]
    for body in bodies_to_send[:2]:  # warm up the connection and the emulator
        invoke(client, MODEL, body)
    started = time.perf_counter()
    for body in bodies_to_send[2:]:
        invoke(client, MODEL, body)
    return calls / (time.perf_counter() - started)


def breakdown(side: int) -> dict[str, float]:
    """Seconds per image for each stage, measured in this process."""
    request = validate_request(SPECS[MODEL], {"prompt": "bench", "size": f"{side}x{side}", "seed": 1})
    pixels, _ = render.render_pixels(request, 0)
    image = Image.fromarray(pixels)
    marked = watermark.embed(image, render._payload(request, 0))

    def encode_png():
        marked.save(io.BytesIO(), format="PNG", compress_level=1)

    return {
        "synthesis": best_of(lambda: render.render_pixels(request, 0)),
        "watermark": best_of(lambda: watermark.embed(image, render._payload(request, 0))),
        "png": best_of(encode_png),
        "whole render": best_of(lambda: render.render(request, 0)),
    }


def main() -> None:
    url, process = start_emulator(Path(tempfile.mkdtemp()) / "emulator.log")
    # One core for the emulator, as the target says; the client runs on the other.
    os.sched_setaffinity(process.pid, {0})
    try:
        print("| size | images/s via boto3 | synthesis ms | watermark ms | PNG ms | watermark+PNG share |")
        print("|---|---|---|---|---|---|")
        for side, calls in CALLS.items():
            rate = through_boto3(url, side, calls)
            stages = breakdown(side)
            per_image = 1 / rate
            share = (stages["watermark"] + stages["png"]) / per_image
            print(
                f"| {side}² | {rate:.1f} | {stages['synthesis'] * 1000:.1f} | {stages['watermark'] * 1000:.1f} | "
                f"{stages['png'] * 1000:.1f} | {share:.0%} |"
            )
    finally:
        stop(process)


if __name__ == "__main__":
    main()
