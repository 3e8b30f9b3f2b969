"""Stability bodies (Stable Image Core/Ultra, SD3.5, and the thirteen image services): snake_case,
one image per call. n images are n calls with consecutive seeds, so each image stays reproducible
on its own. An image service's body is its spec's fields under their wire keys (specs.TOOL_SPECS)."""

import base64

from .images import ImageProblem, InputImage, inverted_mask, read_image
from .request import ImageRequest
from .result import BodyInvalid, InvokeResult, expect_object, rename
from .specs import ModelSpec, Task, spec_for_invoked_id

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
    spec = spec_for_invoked_id(request.model_id)
    if spec is not None and spec.is_tool:
        body = _tool_body(request, spec)
    else:
        body = {"prompt": request.prompt, "output_format": request.output_format or "png"}
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        if request.task is Task.IMAGE_TO_IMAGE:
            body |= {"mode": "image-to-image", "image": request.image.b64(), "strength": request.strength}
        else:
            body["aspect_ratio"] = request.aspect_ratio
    seed_max = spec.seed_max if spec is not None else SEED_MAX
    calls = []
    for index in range(request.n):
        call = dict(body)
        if request.seed is not None:
            call["seed"] = _nth_seed(request.seed, index, seed_max)
        calls.append(call)
    return calls


def _tool_body(request: ImageRequest, spec: ModelSpec) -> dict:
    body = {}
    for param in spec.params:
        value = getattr(request, param.name)
        if param.name == "seed" or value in (None, ""):
            continue  # seeds are set per call
        if param.kind == "mask":
            value = inverted_mask(value)
        body[param.key] = value.b64() if isinstance(value, InputImage) else value
    return body


def _nth_seed(seed: int, index: int, seed_max: int = SEED_MAX) -> int:
    """Consecutive seeds that never wrap onto 0, which Stability reads as "pick one at random".
    Seed 0 itself was asked for as random, so every call stays random."""
    if seed == 0:
        return 0
    return 1 + (seed - 1 + index) % seed_max


def read_body(body: dict, spec: ModelSpec | None = None) -> dict:
    if spec is not None and spec.is_tool:
        return _read_tool_body(body, spec)
    raw = rename(expect_object(body, "#"), WIRE_NAMES, "#")
    mode = raw.pop("mode", "text-to-image")
    if mode not in MODES:
        raise BodyInvalid(f"Malformed input request: #/mode: {mode} is not a valid enum value")
    return {"task_type": MODES[mode].value, **raw}


def _read_tool_body(body: dict, spec: ModelSpec) -> dict:
    """An image service's body back into request fields (its mask back into Atelier's sense)."""
    raw = rename(expect_object(body, "#"), {param.key: param.name for param in spec.params}, "#")
    for param in spec.params:
        if param.kind == "mask" and isinstance(raw.get(param.name), str):
            raw[param.name] = _inverted_mask_b64(raw[param.name])
    return {"task_type": spec.tasks[0].value, **raw}


def _inverted_mask_b64(text: str) -> str:
    """Undo _tool_body's inversion; what cannot be read is left for validation to refuse."""
    try:
        return inverted_mask(read_image(text)).b64()
    except (ImageProblem, OSError, ValueError):
        return text


def wire_path(task: Task, field: str, spec: ModelSpec | None = None) -> str:
    if spec is not None and spec.is_tool:
        param = spec.param(field.split(".")[0])
        return f"#/{param.key}" if param else "#"
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
