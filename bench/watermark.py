"""Time watermark embed and detect on a real photo at 512² and 1024² (best of several runs, one core).

Run from the project root: `.venv/bin/python bench/watermark.py`. PNG encoding is timed alongside for scale, since
the image emulator pays for it on every image too.
"""

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))  # run as a plain script, not from an installed package

from generation.watermark import detect, embed

PHOTO = PROJECT_ROOT / "tests" / "fixtures" / "photos" / "astronaut.png"
SIZES = [512, 1024]
RUNS = 20
PAYLOAD = bytes.fromhex("0123456789abcdef")


def best_ms(action: Callable[[], object], runs: int = RUNS) -> float:
    # The minimum is the least disturbed run: noise from other processes only ever adds time.
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings) * 1000


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def main() -> None:
    photo = Image.open(PHOTO).convert("RGB")
    print(f"{'size':>11}  {'embed ms':>9}  {'detect ms':>9}  {'png save ms':>11}")
    for side in SIZES:
        image = photo.resize((side, side), Image.Resampling.LANCZOS)
        marked = embed(image, PAYLOAD)
        if detect(marked) != PAYLOAD:
            raise SystemExit(f"watermark did not read back at {side}×{side}")
        embed_ms = best_ms(lambda image=image: embed(image, PAYLOAD))
        detect_ms = best_ms(lambda marked=marked: detect(marked))
        png_ms = best_ms(lambda marked=marked: png_bytes(marked), runs=5)
        print(f"{f'{side}×{side}':>11}  {embed_ms:9.2f}  {detect_ms:9.2f}  {png_ms:11.1f}")


if __name__ == "__main__":
    main()
