"""Titan Image Generator bodies: camelCase, `taskType` + `<task>Params` + `imageGenerationConfig`.
Nova Canvas speaks the same shape (plus `style`), so nova.py reuses these functions."""

import base64

from .request import ImageRequest
from .result import BodyInvalid, InvokeResult, expect_object, rename
from .specs import Task

PARAMS_KEY = {
    Task.TEXT_IMAGE: "textToImageParams",
    Task.COLOR_GUIDED_GENERATION: "colorGuidedGenerationParams",
    Task.IMAGE_VARIATION: "imageVariationParams",
    Task.INPAINTING: "inPaintingParams",
    Task.OUTPAINTING: "outPaintingParams",
    Task.BACKGROUND_REMOVAL: "backgroundRemovalParams",
}
# Request field ← wire key, per params object.
PARAM_NAMES = {
    Task.TEXT_IMAGE: {"text": "prompt", "negativeText": "negative_prompt", "conditionImage": "condition_image",
                      "controlMode": "control_mode", "controlStrength": "control_strength", "style": "style"},
    Task.COLOR_GUIDED_GENERATION: {"text": "prompt", "negativeText": "negative_prompt", "colors": "colors",
                                   "referenceImage": "reference_image"},
    Task.IMAGE_VARIATION: {"text": "prompt", "negativeText": "negative_prompt", "images": "images",
                           "similarityStrength": "similarity_strength"},
    Task.INPAINTING: {"text": "prompt", "negativeText": "negative_prompt", "image": "image",
                      "maskImage": "mask_image", "maskPrompt": "mask_prompt"},
    Task.OUTPAINTING: {"text": "prompt", "negativeText": "negative_prompt", "image": "image",
                       "maskImage": "mask_image", "maskPrompt": "mask_prompt", "outPaintingMode": "outpainting_mode"},
    Task.BACKGROUND_REMOVAL: {"image": "image"},
}  # fmt: skip
CONFIG_NAMES = {
    "numberOfImages": "n",
    "quality": "quality",
    "cfgScale": "cfg_scale",
    "seed": "seed",
    "width": "width",
    "height": "height",
}


def build_calls(request: ImageRequest) -> list[dict]:
    """The InvokeModel body: one call returns up to numberOfImages images."""
    wire_names = {field: key for key, field in PARAM_NAMES[request.task].items()}
    params = {}
    for field, key in wire_names.items():
        value = getattr(request, field)
        if value in (None, "", ()):
            continue
        if field == "images":
            value = [image.b64() for image in value]
        elif hasattr(value, "b64"):
            value = value.b64()
        elif isinstance(value, tuple):
            value = list(value)
        params[key] = value
    body = {"taskType": request.task.value, PARAMS_KEY[request.task]: params}
    if request.task is not Task.BACKGROUND_REMOVAL:
        config = {"numberOfImages": request.n, "quality": request.quality, "cfgScale": request.cfg_scale}
        if request.seed is not None:
            config["seed"] = request.seed
        if request.width and request.height:
            config["width"], config["height"] = request.width, request.height
        body["imageGenerationConfig"] = config
    return [body]


def read_body(body: dict) -> dict:
    """A wire body back into request fields (the emulator validates with validate_request)."""
    expect_object(body, "#")
    task_name = body.get("taskType")
    if task_name is None:
        raise BodyInvalid("Malformed input request: #: required key [taskType] not found")
    if task_name not in PARAMS_KEY:
        raise BodyInvalid(f"Malformed input request: #/taskType: {task_name} is not a valid enum value")
    task = Task(task_name)
    params_key = PARAMS_KEY[task]
    rename(body, {"taskType": "", params_key: "", "imageGenerationConfig": ""}, "#")
    if params_key not in body:
        raise BodyInvalid(f"Malformed input request: #: required key [{params_key}] not found")
    raw = {"task_type": task.value}
    raw |= rename(expect_object(body[params_key], f"#/{params_key}"), PARAM_NAMES[task], f"#/{params_key}")
    if "imageGenerationConfig" in body:
        if task is Task.BACKGROUND_REMOVAL:
            raise BodyInvalid("Malformed input request: #: extraneous key [imageGenerationConfig] is not permitted")
        config = expect_object(body["imageGenerationConfig"], "#/imageGenerationConfig")
        raw |= rename(config, CONFIG_NAMES, "#/imageGenerationConfig")
    return raw


def wire_path(task: Task, field: str) -> str:
    """Where a request field sits in the body, for Bedrock-like error messages."""
    if field == "task_type":
        return "#/taskType"
    for key, name in PARAM_NAMES.get(task, {}).items():
        if name == field.split(".")[0]:
            return f"#/{PARAMS_KEY[task]}/{key}"
    for key, name in CONFIG_NAMES.items():
        if name == field or (field == "size" and key == "width"):
            return f"#/imageGenerationConfig/{key}"
    return "#"


def parse_response(payload: dict, *, requested: int) -> InvokeResult:
    images = [base64.b64decode(item) for item in payload.get("images") or []]
    error = payload.get("error")
    # Fewer images than asked means the content filter withheld the rest; `error` says why.
    return InvokeResult(
        images=images, filtered=max(0, requested - len(images)), filter_reasons=[error] if error else []
    )
