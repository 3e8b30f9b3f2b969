"""Stability bodies (Stable Image Core/Ultra, SD3.5): snake_case, one image per call. n images
are n calls with consecutive seeds, so each image stays reproducible on its own."""

import base64

from .request import ImageRequest
from .result import BodyInvalid, InvokeResult, expect_object, rename
from .specs import Task

WIRE_NAMES = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "aspect_ratio": "aspect_ratio",
    "seed": "seed",
    "output_format": "output_format",
    "mode": "mode",
    "image": "image",
    "strength": "strength",
}
SEED_MAX = 4_294_967_295
MODES = {"text-to-image": Task.TEXT_IMAGE, "image-to-image": Task.IMAGE_TO_IMAGE}


def build_calls(request: ImageRequest) -> list[dict]:
    body: dict = {"prompt": request.prompt, "output_format": request.output_format or "png"}
    if request.negative_prompt:
        body["negative_prompt"] = request.negative_prompt
    if request.task is Task.IMAGE_TO_IMAGE:
        body |= {"mode": "image-to-image", "image": request.image.b64(), "strength": request.strength}
    else:
        body["aspect_ratio"] = request.aspect_ratio
    calls = []
    for index in range(request.n):
        call = dict(body)
        if request.seed is not None:
            call["seed"] = _nth_seed(request.seed, index)
        calls.append(call)
    return calls


def _nth_seed(seed: int, index: int) -> int:
    """Consecutive seeds that never wrap onto 0, which Stability reads as "pick one at random".
    Seed 0 itself was asked for as random, so every call stays random."""
    if seed == 0:
        return 0
    return 1 + (seed - 1 + index) % SEED_MAX


def read_body(body: dict) -> dict:
    raw = rename(expect_object(body, "#"), WIRE_NAMES, "#")
    mode = raw.pop("mode", "text-to-image")
    if mode not in MODES:
        raise BodyInvalid(f"Malformed input request: #/mode: {mode} is not a valid enum value")
    return {"task_type": MODES[mode].value, **raw}


def wire_path(task: Task, field: str) -> str:
    if field == "task_type":
        return "#/mode"
    return f"#/{field}" if field in WIRE_NAMES else "#"


def parse_response(payload: dict, *, requested: int = 1) -> InvokeResult:
    """A finish reason other than null means the image was withheld (the bytes, if any, are a
    placeholder and are dropped)."""
    images = payload.get("images") or []
    reasons = payload.get("finish_reasons") or [None] * len(images)
    seeds = payload.get("seeds") or [None] * len(images)
    kept, kept_seeds, withheld = [], [], []
    for image, reason, seed in zip(images, reasons, seeds, strict=False):
        if reason:
            withheld.append(reason)
        else:
            kept.append(base64.b64decode(image))
            kept_seeds.append(seed)
    filtered = len(withheld) + max(0, requested - len(images))
    return InvokeResult(images=kept, filtered=filtered, filter_reasons=withheld, seeds=kept_seeds)
