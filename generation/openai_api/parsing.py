"""OpenAI's image requests → the raw request fields job_submit takes. OpenAI's own fields map to
Atelier's (`size` → width×height, or an aspect ratio on Stability; `quality` hd/high → premium),
Bedrock's own parameters pass through under their Bedrock names (`negativeText`, `taskType`,
`colorGuidedGenerationParams`, `seed`, `cfgScale`, Stability's `negative_prompt` and
`aspect_ratio`, ...), and anything else is refused by name. Every problem is reported at once,
named as the caller named it."""

import re
from dataclasses import dataclass, field
from fractions import Fraction

from config.errors import ApplicationError
from generation.bedrock.images import ImageProblem, read_image
from generation.bedrock.request import TASK_FIELDS, TOOL_IMAGE_FORMATS, TOOL_IMAGE_MAX_SIDE, fields_taken, whole_number
from generation.bedrock.specs import OUTPUT_RULE_TEXT, STABILITY_ASPECT_SIZES, OutputRule, Task
from generation.models import BedrockModel

from . import images

GENERATIONS, EDITS, VARIATIONS = "generations", "edits", "variations"
MAX_N = 10  # OpenAI's limit per request

# OpenAI's quality names (and Bedrock's own) → Bedrock's; "auto" leaves it to the project or model.
QUALITIES = {
    "auto": None, "standard": "standard", "low": "standard", "medium": "standard",
    "hd": "premium", "high": "premium", "premium": "premium",
}  # fmt: skip
RESPONSE_FORMATS = ("url", "b64_json")
MAX_PARTIAL_IMAGES = 3  # OpenAI's most
BACKGROUNDS = ("auto", "opaque", "transparent")
SIZE_PATTERN = re.compile(r"\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*")

# OpenAI fields every endpoint takes (handled below, not passed through as they are).
COMMON_FIELDS = {
    "model", "n", "size", "quality", "response_format", "user", "safety_identifier", "output_format",
    "output_compression", "background", "stream", "partial_images", "moderation",
}  # fmt: skip

# Bedrock's parameters, by the names callers use → Atelier's raw field, per endpoint.
_SHARED_EXTRAS = {
    "negativeText": "negative_prompt", "negative_prompt": "negative_prompt", "seed": "seed",
    "cfgScale": "cfg_scale", "cfg_scale": "cfg_scale", "taskType": "task_type", "task_type": "task_type",
}  # fmt: skip
EXTRAS = {
    GENERATIONS: _SHARED_EXTRAS | {
        "prompt": "prompt", "style": "style", "aspect_ratio": "aspect_ratio", "colors": "colors",
        "referenceImage": "reference_image", "reference_image": "reference_image",
        "conditionImage": "condition_image", "condition_image": "condition_image",
        "controlMode": "control_mode", "control_mode": "control_mode",
        "controlStrength": "control_strength", "control_strength": "control_strength",
    },
    EDITS: _SHARED_EXTRAS | {
        "prompt": "prompt", "maskPrompt": "mask_prompt", "mask_prompt": "mask_prompt",
        "outPaintingMode": "outpainting_mode", "outpainting_mode": "outpainting_mode",
    },
    VARIATIONS: _SHARED_EXTRAS | {
        "prompt": "prompt", "similarityStrength": "similarity_strength", "similarity_strength": "similarity_strength",
    },
}  # fmt: skip
# Nova/Titan's nested parameter groups (JSON bodies), as the gateway page shows them.
NESTED = {
    "textToImageParams": {
        "negativeText": "negative_prompt", "style": "style", "conditionImage": "condition_image",
        "controlMode": "control_mode", "controlStrength": "control_strength",
    },
    "colorGuidedGenerationParams": {
        "colors": "colors", "referenceImage": "reference_image", "negativeText": "negative_prompt",
    },
    "imageGenerationConfig": {"seed": "seed", "cfgScale": "cfg_scale"},
}  # fmt: skip
NESTED_TASK = {"colorGuidedGenerationParams": Task.COLOR_GUIDED_GENERATION}
TASKS = {
    GENERATIONS: (Task.TEXT_IMAGE, Task.COLOR_GUIDED_GENERATION),
    EDITS: (Task.INPAINTING, Task.OUTPAINTING),
    VARIATIONS: (Task.IMAGE_VARIATION,),
}
IMAGE_FIELDS = {EDITS: {"image", "mask"}, VARIATIONS: {"image"}, GENERATIONS: set()}


@dataclass(frozen=True)
class ImageCall:
    """One OpenAI request, as Atelier will run it."""

    raw: dict  # the image request fields job_submit takes
    names: dict[str, str]  # raw field → the name the caller gave it, for errors
    response_format: str = "url"
    output_format: str = "png"
    output_compression: int | None = None
    background: str = "auto"
    user: str = ""
    size: tuple[int, int] | None = field(default=None, compare=False)
    stream: bool = False  # answer text/event-stream: partial images as they land, then each image completed
    partial_images: int = 0  # at most this many partial_image events

    def client_name(self, raw_field: str) -> str:
        """`images.2` → `image`; a raw field the caller never named → itself."""
        base = raw_field.split(".", 1)[0]
        return self.names.get(raw_field) or self.names.get(base) or raw_field

    def client_fields(self, fields: dict) -> dict:
        renamed: dict[str, list] = {}
        for name, messages in fields.items():
            renamed.setdefault(self.client_name(name), []).extend(messages)
        return renamed


class _Problems:
    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def raise_any(self) -> None:
        if self.fields:
            name, messages = next(iter(self.fields.items()))
            raise ApplicationError("invalid_request", f"{name}: {messages[0]}", fields=self.fields)


def _given(value) -> bool:
    return value not in (None, "", [], {})


def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))


def image_call(*, endpoint: str, model: BedrockModel, fields: dict, files: dict[str, list[bytes]]) -> ImageCall:
    """The request in `fields` (JSON, or a form's text fields) and `files` (uploads by field name),
    for `model`, as an ImageCall; 400 naming every bad field."""
    if model.spec().is_tool:
        return _tool_call(endpoint=endpoint, model=model, fields=fields, files=files)
    if endpoint == EDITS and Task.VIRTUAL_TRY_ON.value in (fields.get("taskType"), fields.get("task_type")):
        return _try_on_call(model=model, fields=fields, files=files)
    problems = _Problems()
    raw: dict = {}
    names: dict[str, str] = {}

    def put(raw_field: str, value, client_name: str) -> None:
        if raw_field in raw:
            problems.add(client_name, f"Given twice: as {names[raw_field]} and as {client_name}.")
            return
        raw[raw_field], names[raw_field] = value, client_name

    extras = EXTRAS[endpoint]
    nested_task = None
    for name, value in fields.items():
        if name in COMMON_FIELDS or name in IMAGE_FIELDS[endpoint]:
            continue
        if name in extras:
            if _given(value):
                put(extras[name], value, name)
        elif endpoint == GENERATIONS and name in NESTED:
            if not isinstance(value, dict):
                problems.add(name, "Must be an object.")
                continue
            nested_task = nested_task or NESTED_TASK.get(name)
            for key, sub in value.items():
                path = f"{name}.{key}"
                if key == "text":
                    problems.add(path, "Give the text as prompt.")
                elif key in NESTED[name]:
                    if _given(sub):
                        put(NESTED[name][key], sub, path)
                else:
                    problems.add(path, f"Unsupported field; {name} takes {', '.join(NESTED[name])}.")
        else:
            problems.add(name, "Unsupported field.")

    _task(endpoint, raw, names, nested_task, problems)
    _n(fields.get("n"), raw, names, problems)
    _quality(fields.get("quality"), model, raw, names, problems)
    size = _size(fields.get("size"), model, endpoint, raw, names, problems)
    options = _options(fields, problems) | _streaming(fields, problems, endpoint)
    if endpoint == EDITS:
        size = _edit_inputs(fields, files, model, raw, names, size, problems)
    elif endpoint == VARIATIONS:
        _variation_inputs(fields, files, model, raw, names, problems)
    problems.raise_any()
    return ImageCall(raw=raw, names=names, size=size, **options)


def _task(endpoint: str, raw: dict, names: dict, nested_task, problems: _Problems) -> None:
    allowed = TASKS[endpoint]
    task = raw.get("task_type")
    if task is None:
        raw["task_type"] = (nested_task or allowed[0]).value
        return
    if task not in allowed:
        message = f"/v1/images/{endpoint} does {', '.join(allowed)}, not {task!r}."
        elsewhere = next((other for other, tasks in TASKS.items() if task in tasks), None)
        if elsewhere:
            message += f" Use /v1/images/{elsewhere} for {task}."
        problems.add(names["task_type"], message)


def _n(value, raw: dict, names: dict, problems: _Problems) -> None:
    if not _given(value):
        return
    n = whole_number(value)
    if n is None or not 1 <= n <= MAX_N:
        problems.add("n", f"Must be a whole number between 1 and {MAX_N}.")
        return
    raw["n"], names["n"] = n, "n"


def _quality(value, model: BedrockModel, raw: dict, names: dict, problems: _Problems) -> None:
    if not _given(value):
        return
    if not isinstance(value, str) or value not in QUALITIES:
        problems.add("quality", f"{value!r} is not one of: {', '.join(QUALITIES)}.")
        return
    quality = QUALITIES[value]
    if quality is None:
        return
    if quality not in model.qualities:
        offered = ", ".join(q for q, bedrock in QUALITIES.items() if bedrock in model.qualities)
        problems.add("quality", f"{model.name} has no {value!r} quality ({quality}); it offers: {offered}.")
        return
    raw["quality"], names["quality"] = quality, "quality"


def _size(value, model: BedrockModel, endpoint: str, raw: dict, names: dict, problems) -> tuple[int, int] | None:
    """`WxH` as the model takes it: width and height, or (Stability) the aspect ratio of that size."""
    if not _given(value) or value == "auto":
        return None
    match = SIZE_PATTERN.fullmatch(str(value))
    if not match:
        problems.add("size", "Must look like 1024x1024 (width x height), or auto.")
        return None
    width, height = int(match[1]), int(match[2])
    if endpoint == EDITS:
        return width, height  # checked against the input image's size
    if model.spec().size_rule.kind != "aspect_ratio":
        raw["size"], names["size"], names["width"], names["height"] = value, "size", "size", "size"
        return width, height
    if "aspect_ratio" in raw:
        problems.add("size", "Give size or aspect_ratio, not both.")
        return None
    ratio = _aspect_ratio(width, height)
    if ratio is None:
        ratios = ", ".join(f"{w}x{h} ({name})" for name, (w, h) in STABILITY_ASPECT_SIZES.items())
        problems.add("size", f"{model.name} makes images of one of these aspect ratios: {ratios}.")
        return None
    raw["aspect_ratio"], names["aspect_ratio"] = ratio, "size"
    return STABILITY_ASPECT_SIZES[ratio]


def _aspect_ratio(width: int, height: int) -> str | None:
    if width <= 0 or height <= 0:
        return None
    for name, size in STABILITY_ASPECT_SIZES.items():
        if size == (width, height):
            return name
    for name in STABILITY_ASPECT_SIZES:
        w, h = name.split(":")
        if Fraction(int(w), int(h)) == Fraction(width, height):
            return name
    return None


def _options(fields: dict, problems: _Problems) -> dict:
    """How the images are handed back: response_format, output_format, output_compression, background."""
    options: dict = {}
    response_format = fields.get("response_format") or "url"
    if response_format not in RESPONSE_FORMATS:
        problems.add("response_format", f"{response_format!r} is not one of: {', '.join(RESPONSE_FORMATS)}.")
    options["response_format"] = response_format
    output_format = fields.get("output_format") or "png"
    output_format = "jpeg" if output_format == "jpg" else output_format
    if output_format not in images.OUTPUT_FORMATS:
        problems.add("output_format", f"{output_format!r} is not one of: {', '.join(images.OUTPUT_FORMATS)}.")
    options["output_format"] = output_format
    compression = fields.get("output_compression")
    if _given(compression):
        value = whole_number(compression)
        if value is None or not 0 <= value <= 100:
            problems.add("output_compression", "Must be a whole number between 0 and 100.")
        elif output_format == "png":
            problems.add("output_compression", "Only for jpeg and webp: PNG is lossless.")
        else:
            options["output_compression"] = value
    background = fields.get("background") or "auto"
    if background not in BACKGROUNDS:
        problems.add("background", f"{background!r} is not one of: {', '.join(BACKGROUNDS)}.")
    elif background == "transparent" and output_format == "jpeg":
        problems.add("background", "JPEG has no transparency: ask for png or webp.")
    options["background"] = background
    user = fields.get("safety_identifier") or fields.get("user") or ""
    if not isinstance(user, str):
        problems.add("user", "Must be text.")
        user = ""
    options["user"] = user[:200]
    return options


def _streaming(fields: dict, problems: _Problems, endpoint: str) -> dict:
    """`stream` and `partial_images` (0-3) as OpenAI's generations and edits take them; variations do not stream."""
    stream = fields.get("stream")
    if (
        _given(stream)
        and not isinstance(stream, bool)
        and not (isinstance(stream, str) and stream.strip().lower() in ("true", "false", "1", "0", "yes", "no"))
    ):
        problems.add("stream", "Must be true or false.")
    stream = _truthy(stream)
    if stream and endpoint == VARIATIONS:
        problems.add("stream", "/v1/images/variations does not stream (as OpenAI's does not): leave stream out.")
    partial_images = 0
    if _given(fields.get("partial_images")):
        partial_images = whole_number(fields.get("partial_images"))
        if partial_images is None or not 0 <= partial_images <= MAX_PARTIAL_IMAGES:
            problems.add("partial_images", f"Must be a whole number between 0 and {MAX_PARTIAL_IMAGES}.")
            partial_images = 0
    if fields.get("moderation") not in (None, "", "auto"):
        problems.add("moderation", "Only auto: Bedrock's content filter cannot be turned down.")
    return {"stream": stream, "partial_images": partial_images}


def _uploads(name: str, fields: dict, files: dict[str, list[bytes]]) -> list:
    """An image field's values: uploaded files (`image` or the SDK's `image[]`), or base64 text."""
    values = [*files.get(name, []), *files.get(f"{name}[]", [])]
    given = fields.get(name)
    if _given(given):
        values.extend(given if isinstance(given, list) else [given])
    return values


def _edit_inputs(fields, files, model: BedrockModel, raw: dict, names: dict, size, problems: _Problems):
    """The image to edit (flattened), and the mask in Bedrock's convention: the mask converted,
    or the image's own transparent pixels, or a mask_prompt."""
    values = _uploads("image", fields, files)
    if len(values) != 1:
        problems.add("image", "Give one image to edit." if values else "This field is required.")
        return size
    max_side = model.edit_max_side
    try:
        image = read_image(values[0], max_side=max_side)
    except ImageProblem as problem:
        problems.add("image", str(problem))
        return size
    if size is not None and size != (image.width, image.height):
        problems.add("size", f"An edit keeps its image's size, {image.width}x{image.height}.")
    raw["image"], names["image"] = images.flattened(image), "image"
    masks = _uploads("mask", fields, files)
    if len(masks) > 1:
        problems.add("mask", "Give one mask.")
    elif masks:
        if "mask_prompt" in raw:
            problems.add("mask", f"Give a mask or {names['mask_prompt']}, not both.")
            return size
        try:
            raw["mask_image"] = images.bedrock_mask(masks[0], max_side=max_side)
        except ImageProblem as problem:
            problems.add("mask", str(problem))
        names["mask_image"] = "mask"
    elif "mask_prompt" not in raw:
        derived = images.mask_from_transparency(image)
        if derived is None:
            message = "Give a mask (transparent where the image should change), an image with transparent areas, "
            problems.add("mask", message + "or mask_prompt.")
        else:
            raw["mask_image"], names["mask_image"] = derived, "image"
    return (image.width, image.height)


def _variation_inputs(fields, files, model: BedrockModel, raw: dict, names: dict, problems: _Problems) -> None:
    values = _uploads("image", fields, files)
    if not values:
        problems.add("image", "This field is required.")
        return
    flattened = []
    for value in values:
        try:
            flattened.append(images.flattened(read_image(value, max_side=model.variation_max_side)))
        except ImageProblem as problem:
            problems.add("image", str(problem))
    raw["images"], names["images"] = flattened, "image"


# --- The Stability image services (one task each, every field declared in its spec): /v1/images/edits only ---

# OpenAI's fields a tool call reads itself; every other field must be one of the tool's own.
TOOL_OPENAI_FIELDS = COMMON_FIELDS | {"image", "image[]", "mask", "style_image", "task_type", "taskType"}


def _tool_call(*, endpoint: str, model: BedrockModel, fields: dict, files: dict[str, list[bytes]]) -> ImageCall:
    """An image service's request: `image` (and style transfer's second image) and OpenAI's mask
    (converted to Atelier's) as the tool's inputs, its own fields under their names (or wire keys),
    `output_format` as the tool's. The fields' values are checked by validate_request, the one check."""
    spec = model.spec()
    task = spec.tasks[0]
    if endpoint != EDITS:
        message = f"{model.model_id} works on an image ({task}): send it to /v1/images/edits."
        raise ApplicationError("invalid_model", f"model: {message}", fields={"model": [message]})
    problems = _Problems()
    raw: dict = {"task_type": task.value}
    names: dict[str, str] = {}
    own = {param.name: param.name for param in spec.params if param.kind not in ("image", "mask")}
    own |= {param.key: param.name for param in spec.params if param.kind not in ("image", "mask")}
    own.pop("output_format")  # OpenAI's own field, read with the response options below
    own.setdefault("prompt", "prompt")  # OpenAI's too: a tool without one refuses it unless it is empty
    for name, value in fields.items():
        if name in ("task_type", "taskType"):
            if _given(value) and value != task.value:
                problems.add(name, f"{spec.name} does {task.value} only, not {value!r}.")
        elif name in own:
            if not _given(value):
                continue
            if own[name] in raw:
                problems.add(name, f"Given twice: as {names[own[name]]} and as {name}.")
                continue
            raw[own[name]], names[own[name]] = value, name
        elif name not in TOOL_OPENAI_FIELDS:
            takes = sorted({p.name for p in spec.params if p.kind not in ("image", "mask")} - {"output_format"})
            problems.add(name, f"Unsupported field; {spec.name} takes: {', '.join(takes) or 'no fields of its own'}.")

    _n(fields.get("n"), raw, names, problems)
    if raw.get("n") == 1 and "n" not in fields_taken(spec, task):
        del raw["n"]  # one image is all such a tool makes: n=1 asks for nothing else
    _quality(fields.get("quality"), model, raw, names, problems)
    rule = OUTPUT_RULE_TEXT[OutputRule(spec.output_rule)]
    if _given(fields.get("size")) and fields.get("size") != "auto":
        problems.add("size", f"{spec.name} decides its output size ({rule}): leave size out or send auto.")
    options = _options(fields, problems)
    if _given(fields.get("output_format")) and "output_format" not in problems.fields:
        raw["output_format"], names["output_format"] = options["output_format"], "output_format"
    background = options["background"]
    if task is Task.BACKGROUND_REMOVAL and background == "opaque":
        problems.add("background", f"{spec.name} cuts the subject out: its images are transparent.")
    elif task is not Task.BACKGROUND_REMOVAL and background == "transparent":
        problems.add("background", f"{spec.name} does not make transparent images; cut the result out with "
                     "stability.stable-image-remove-background-v1:0.")  # fmt: skip
    options |= _streaming(fields, problems, endpoint)
    _tool_inputs(spec, fields, files, raw, names, problems)
    problems.raise_any()
    return ImageCall(raw=raw, names=names, **options)


def _tool_inputs(spec, fields: dict, files: dict[str, list[bytes]], raw: dict, names: dict, problems) -> None:
    """`image` as the tool takes it (PNG, JPEG or WebP, alpha kept: a tool reads transparency as a
    mask); style transfer's style image as the second `image[]` or `style_image`; OpenAI's mask
    (transparent = edit) as Atelier's (black = change)."""
    values = _uploads("image", fields, files)
    styles = _uploads("style_image", fields, files)
    takes_style = spec.param("style_image") is not None
    if takes_style and len(values) == 2 and not styles:
        values, styles, style_name = values[:1], values[1:], "image"
    else:
        style_name = "style_image"
    if not values:
        problems.add("image", "This field is required.")
    elif len(values) > 1:
        what = "the image to restyle, then the style image" if takes_style else "one image"
        problems.add("image", f"{spec.name} takes {what}; {len(values)} were given.")
    else:
        raw["image"], names["image"] = values[0], "image"
    if takes_style:
        if len(styles) > 1:
            problems.add("style_image", "Give one style image.")
        elif styles:
            raw["style_image"], names["style_image"] = styles[0], style_name
        else:
            problems.add("style_image", "Give the style image: as a second image[] or as style_image.")
    elif styles:
        problems.add("style_image", f"{spec.name} takes no style image.")
    masks = _uploads("mask", fields, files)
    if not masks:
        names["mask_image"] = "mask"  # a missing mask is the caller's `mask` to give
        return
    if spec.param("mask_image") is None:
        problems.add("mask", f"{spec.name} takes no mask.")
    elif len(masks) > 1:
        problems.add("mask", "Give one mask.")
    else:
        try:
            raw["mask_image"] = images.bedrock_mask(masks[0], max_side=TOOL_IMAGE_MAX_SIDE, formats=TOOL_IMAGE_FORMATS)
        except ImageProblem as problem:
            problems.add("mask", str(problem))
        names["mask_image"] = "mask"


# --- Nova Canvas virtual try-on (taskType VIRTUAL_TRY_ON): /v1/images/edits only ---

# Its fields under Atelier's names, and the Nova request's keys for the shared ones; the images are read below.
TRY_ON_IMAGE_FIELDS = {"image", "image[]", "reference_image", "referenceImage", "mask", "task_type", "taskType"}
# n and quality are OpenAI's own fields, read as every call reads them.
TRY_ON_EXTRAS = {
    name: name for name in TASK_FIELDS[Task.VIRTUAL_TRY_ON] - {"image", "reference_image", "mask_image", "n", "quality"}
} | {"maskPrompt": "mask_prompt", "cfgScale": "cfg_scale"}


def _try_on_call(*, model: BedrockModel, fields: dict, files: dict[str, list[bytes]]) -> ImageCall:
    """A virtual try-on: `image` the person (or scene), the second `image[]` or `reference_image` the
    garment, OpenAI's mask (transparent = where the garment goes) for mask_type IMAGE, the try-on
    fields passed through. Their values, and which go with which mask type, are validate_request's
    to check (the one check); a non-empty prompt reaches it too, and is refused there by name."""
    problems = _Problems()
    raw: dict = {"task_type": Task.VIRTUAL_TRY_ON.value}
    names: dict[str, str] = {"task_type": "taskType" if _given(fields.get("taskType")) else "task_type"}
    for name, value in fields.items():
        if name in COMMON_FIELDS or name in TRY_ON_IMAGE_FIELDS:
            continue
        target = "prompt" if name == "prompt" else TRY_ON_EXTRAS.get(name)
        if target is None:
            takes = ", ".join(sorted(set(TRY_ON_EXTRAS.values())))
            problems.add(name, f"Unsupported field; virtual try-on takes: {takes}.")
        elif not _given(value):
            continue  # OpenAI's SDKs send prompt="" for an edit that needs none
        elif target in raw:
            problems.add(name, f"Given twice: as {names[target]} and as {name}.")
        else:
            raw[target], names[target] = value, name
    _n(fields.get("n"), raw, names, problems)
    _quality(fields.get("quality"), model, raw, names, problems)
    if _given(fields.get("size")) and fields.get("size") != "auto":
        problems.add("size", "A try-on's images are its person image's size: leave size out or send auto.")
    options = _options(fields, problems)
    if options["background"] == "transparent":
        problems.add("background", f"{model.name} does not make transparent try-on images.")
    options |= _streaming(fields, problems, EDITS)
    _try_on_inputs(model, fields, files, raw, names, problems)
    problems.raise_any()
    return ImageCall(raw=raw, names=names, **options)


def _try_on_inputs(model: BedrockModel, fields: dict, files, raw: dict, names: dict, problems: _Problems) -> None:
    values = _uploads("image", fields, files)
    garments = [*_uploads("reference_image", fields, files), *_uploads("referenceImage", fields, files)]
    garment_name = "referenceImage" if _uploads("referenceImage", fields, files) else "reference_image"
    if len(values) == 2 and not garments:
        values, garments, garment_name = values[:1], values[1:], "image"
    if not values:
        problems.add("image", "This field is required: the person (or scene) to dress.")
    elif len(values) > 1:
        problems.add("image", f"A try-on takes the person, then the garment; {len(values)} images were given.")
    else:
        _put_image(values[0], model, "image", "image", raw, names, problems)
    if len(garments) > 1:
        problems.add(garment_name, "Give one garment image.")
    elif garments:
        _put_image(garments[0], model, "reference_image", garment_name, raw, names, problems)
    else:
        names["reference_image"] = "reference_image"  # a missing garment is reference_image's to give
    masks = _uploads("mask", fields, files)
    names["mask_image"] = "mask"
    if len(masks) > 1:
        problems.add("mask", "Give one mask.")
    elif masks:
        try:
            raw["mask_image"] = images.bedrock_mask(masks[0], max_side=model.edit_max_side)
        except ImageProblem as problem:
            problems.add("mask", str(problem))


def _put_image(value, model: BedrockModel, raw_field: str, client_name: str, raw, names, problems) -> None:
    """An input image flattened (Bedrock takes no alpha) into raw, or the problem under the caller's name."""
    names[raw_field] = client_name
    try:
        raw[raw_field] = images.flattened(read_image(value, max_side=model.edit_max_side))
    except ImageProblem as problem:
        problems.add(client_name, str(problem))
