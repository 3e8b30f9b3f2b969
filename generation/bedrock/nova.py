"""Nova Canvas bodies. Nova speaks Titan's shape — `taskType`, `<task>Params`,
`imageGenerationConfig` — and adds `style` to `textToImageParams`, which the shared builder
already carries; Nova's own limits (sizes, seeds, styles) live in its spec.

Virtual try-on is Nova's alone and nests its parameters (one object per way of masking, garment
styling, mask exclusions), so it has its own builder and reader here rather than a row in
titan.PARAM_NAMES. Shape: Amazon Nova user guide, "Request and response structure for image
generation" (https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html)."""

import base64

from . import titan
from .request import ImageRequest
from .result import BodyInvalid, InvokeResult, expect_object, rename
from .specs import Task

TRY_ON_KEY = "virtualTryOnParams"
# Request field ← wire key, for each object of virtualTryOnParams.
TRY_ON_NAMES = {
    "sourceImage": "image",
    "referenceImage": "reference_image",
    "maskType": "mask_type",
    "mergeStyle": "merge_style",
    "returnMask": "return_mask",
}
# The mask object each mask type sends, and its fields.
TRY_ON_MASKS = {
    "IMAGE": ("imageBasedMask", {"maskImage": "mask_image"}),
    "GARMENT": ("garmentBasedMask", {"garmentClass": "garment_class", "maskShape": "mask_shape"}),
    "PROMPT": ("promptBasedMask", {"maskPrompt": "mask_prompt", "maskShape": "mask_shape"}),
}
GARMENT_STYLING_NAMES = {
    "longSleeveStyle": "long_sleeve_style",
    "tuckingStyle": "tucking_style",
    "outerLayerStyle": "outer_layer_style",
}
MASK_EXCLUSION_NAMES = {
    "preserveBodyPose": "preserve_body_pose",
    "preserveHands": "preserve_hands",
    "preserveFace": "preserve_face",
}
# VIRTUAL_TRY_ON must not be given width or height: the output is the source image's size.
TRY_ON_CONFIG_NAMES = {"numberOfImages": "n", "quality": "quality", "cfgScale": "cfg_scale", "seed": "seed"}


def build_calls(request: ImageRequest) -> list[dict]:
    if request.task is Task.VIRTUAL_TRY_ON:
        return [try_on_body(request)]
    return titan.build_calls(request)


def read_body(body: dict) -> dict:
    if isinstance(body, dict) and body.get("taskType") == Task.VIRTUAL_TRY_ON.value:
        return try_on_read_body(body)
    return titan.read_body(body)


def wire_path(task: Task, field: str) -> str:
    if task is Task.VIRTUAL_TRY_ON:
        return try_on_wire_path(field)
    return titan.wire_path(task, field)


def parse_response(payload: dict, *, requested: int) -> InvokeResult:
    """Titan's answer, plus `maskImage`: the region virtual try-on changed, when returnMask asked for it."""
    result = titan.parse_response(payload, requested=requested)
    if payload.get("maskImage"):
        result.mask = base64.b64decode(payload["maskImage"])
    return result


def _wire_object(request: ImageRequest, names: dict[str, str]) -> dict:
    """The request's values under their wire keys, leaving out what it does not set."""
    wire = {}
    for key, field in names.items():
        value = getattr(request, field)
        if value in (None, ""):
            continue
        wire[key] = value.b64() if hasattr(value, "b64") else value
    return wire


def try_on_body(request: ImageRequest) -> dict:
    params = _wire_object(request, TRY_ON_NAMES)
    if not request.return_mask:
        params.pop("returnMask", None)  # optional: sent only to ask for the mask
    mask_key, mask_names = TRY_ON_MASKS[request.mask_type]
    params[mask_key] = _wire_object(request, mask_names)
    styling = _wire_object(request, GARMENT_STYLING_NAMES)
    if styling:
        params[mask_key]["garmentStyling"] = styling
    exclusions = _wire_object(request, MASK_EXCLUSION_NAMES)
    if exclusions:
        params["maskExclusions"] = exclusions
    config = _wire_object(request, TRY_ON_CONFIG_NAMES)
    return {"taskType": Task.VIRTUAL_TRY_ON.value, TRY_ON_KEY: params, "imageGenerationConfig": config}


def try_on_read_body(body: dict) -> dict:
    """A try-on body back into request fields (the emulator validates them with validate_request)."""
    rename(body, {"taskType": "", TRY_ON_KEY: "", "imageGenerationConfig": ""}, "#")
    if TRY_ON_KEY not in body:
        raise BodyInvalid(f"Malformed input request: #: required key [{TRY_ON_KEY}] not found")
    path = f"#/{TRY_ON_KEY}"
    params = dict(expect_object(body[TRY_ON_KEY], path))
    nested = {
        key: params.pop(key) for key in (*(k for k, _ in TRY_ON_MASKS.values()), "maskExclusions") if key in params
    }
    raw = {"task_type": Task.VIRTUAL_TRY_ON.value} | rename(params, TRY_ON_NAMES, path)
    for mask_key, names in TRY_ON_MASKS.values():
        if mask_key not in nested:
            continue
        mask = dict(expect_object(nested[mask_key], f"{path}/{mask_key}"))
        styling = mask.pop("garmentStyling", None) if mask_key == "garmentBasedMask" else None
        raw |= rename(mask, names, f"{path}/{mask_key}")
        if styling is not None:
            styling_path = f"{path}/{mask_key}/garmentStyling"
            raw |= rename(expect_object(styling, styling_path), GARMENT_STYLING_NAMES, styling_path)
    if "maskExclusions" in nested:
        exclusions_path = f"{path}/maskExclusions"
        raw |= rename(expect_object(nested["maskExclusions"], exclusions_path), MASK_EXCLUSION_NAMES, exclusions_path)
    if "imageGenerationConfig" in body:
        config = expect_object(body["imageGenerationConfig"], "#/imageGenerationConfig")
        raw |= rename(config, TRY_ON_CONFIG_NAMES, "#/imageGenerationConfig")
    return raw


def try_on_wire_path(field: str) -> str:
    """Where a request field sits in a try-on body, for Bedrock-like error messages."""
    if field == "task_type":
        return "#/taskType"
    path = f"#/{TRY_ON_KEY}"
    for key, name in TRY_ON_NAMES.items():
        if name == field:
            return f"{path}/{key}"
    for mask_key, names in TRY_ON_MASKS.values():
        for key, name in names.items():
            if name == field:
                return f"{path}/{mask_key}/{key}"
    for key, name in GARMENT_STYLING_NAMES.items():
        if name == field:
            return f"{path}/garmentBasedMask/garmentStyling/{key}"
    for key, name in MASK_EXCLUSION_NAMES.items():
        if name == field:
            return f"{path}/maskExclusions/{key}"
    for key, name in TRY_ON_CONFIG_NAMES.items():
        if name == field:
            return f"#/imageGenerationConfig/{key}"
    return "#"
