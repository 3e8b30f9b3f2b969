"""One function turns what a person asked for into a request Bedrock will accept, or says which
fields are wrong and why. Every limit comes from the model's spec (specs.py), so the catalog,
this check and the emulator agree. Plain Python: the emulator uses it too."""

import hashlib
import json
import re
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from typing import Any

from .images import ImageProblem, InputImage, check_mask, read_image
from .specs import (
    CFG_SCALE_DEFAULT,
    CFG_SCALE_RANGE,
    CONTROL_MODES,
    CONTROL_STRENGTH_DEFAULT,
    CONTROL_STRENGTH_RANGE,
    MAX_COLORS,
    MAX_IMAGES_PER_REQUEST,
    MAX_VARIATION_IMAGES,
    MIN_INPUT_IMAGE_SIDE,
    NEGATION_WORDS,
    OUTPAINTING_MODES,
    SIMILARITY_DEFAULT,
    SIMILARITY_RANGE,
    STABILITY_ASPECT_SIZES,
    STRENGTH_RANGE,
    TOOL_SPECS,
    TRY_ON_EXCLUSION_VALUES,
    TRY_ON_EXCLUSIONS,
    TRY_ON_GARMENT_CLASSES,
    TRY_ON_GARMENT_STYLING,
    TRY_ON_MASK_FIELDS,
    TRY_ON_MASK_SHAPES,
    TRY_ON_MASK_TYPES,
    TRY_ON_MERGE_STYLES,
    UPSCALE_TARGET_PIXELS,
    Family,
    ModelSpec,
    OutputRule,
    Param,
    Task,
)

IMAGE_FIELDS = ("image", "mask_image", "reference_image", "condition_image", "style_image")


class RequestInvalid(ValueError):
    """Field name → list of reasons. Raised with every problem found, not just the first."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields
        first_field, reasons = next(iter(fields.items()))
        super().__init__(f"{first_field}: {reasons[0]}")


@dataclass(frozen=True)
class ImageRequest:
    """A request that passed every check, typed, with defaults filled in."""

    model_id: str
    family: Family
    task: Task
    prompt: str = ""
    negative_prompt: str = ""
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None
    quality: str | None = None
    n: int = 1
    cfg_scale: float | None = None
    seed: int | None = None  # None: the pipeline draws one and stores it
    style: str | None = None
    colors: tuple[str, ...] = ()
    image: InputImage | None = None
    images: tuple[InputImage, ...] = ()
    reference_image: InputImage | None = None
    condition_image: InputImage | None = None
    control_mode: str | None = None
    control_strength: float | None = None
    mask_image: InputImage | None = None
    mask_prompt: str | None = None
    outpainting_mode: str | None = None
    similarity_strength: float | None = None
    strength: float | None = None
    output_format: str | None = None
    # The Stability image services' own fields (specs.TOOL_SPECS declares which tool takes which).
    style_image: InputImage | None = None
    creativity: float | None = None
    grow_mask: int | None = None
    left: int | None = None
    right: int | None = None
    up: int | None = None
    down: int | None = None
    search_prompt: str | None = None
    select_prompt: str | None = None
    fidelity: float | None = None
    style_strength: float | None = None
    composition_fidelity: float | None = None
    change_strength: float | None = None
    # Nova Canvas virtual try-on: `image` is the source, `reference_image` the garment (TRY_ON_* in specs).
    mask_type: str | None = None
    garment_class: str | None = None
    mask_shape: str | None = None
    long_sleeve_style: str | None = None
    tucking_style: str | None = None
    outer_layer_style: str | None = None
    preserve_body_pose: str | None = None
    preserve_hands: str | None = None
    preserve_face: str | None = None
    merge_style: str | None = None
    return_mask: bool | None = None  # None for every other task, so their fingerprints stay as they were
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def output_size(self) -> tuple[int, int]:
        """Width and height of each image Bedrock will return: what prices and storage go by."""
        if self.width and self.height:
            return self.width, self.height
        if self.aspect_ratio:
            return STABILITY_ASPECT_SIZES[self.aspect_ratio]
        source = self.image or (self.images[0] if self.images else None)
        return (source.width, source.height) if source else (1024, 1024)

    def with_seed(self, seed: int) -> "ImageRequest":
        return replace(self, seed=seed)

    def params(self) -> dict[str, Any]:
        """Every parameter as plain JSON, images by their sha256: what a job stores and what
        makes its fingerprint."""
        result: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "warnings" or value in (None, "", ()):
                continue
            if isinstance(value, InputImage):
                value = {"sha256": value.sha256, "width": value.width, "height": value.height}
            elif item.name == "images":
                value = [{"sha256": i.sha256, "width": i.width, "height": i.height} for i in value]
            elif isinstance(value, tuple):
                value = list(value)
            result[item.name] = str(value) if isinstance(value, Family | Task) else value
        return result

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.params(), sort_keys=True).encode()).hexdigest()


# Which optional inputs each task takes. Anything else sent with the task is refused, by name.
TASK_FIELDS: dict[Task, set[str]] = {
    Task.TEXT_IMAGE: {"prompt", "negative_prompt", "size", "width", "height", "aspect_ratio", "quality", "n",
                      "cfg_scale", "seed", "style", "condition_image", "control_mode", "control_strength",
                      "output_format"},
    Task.COLOR_GUIDED_GENERATION: {"prompt", "negative_prompt", "size", "width", "height", "quality", "n",
                                   "cfg_scale", "seed", "colors", "reference_image"},
    Task.IMAGE_VARIATION: {"prompt", "negative_prompt", "size", "width", "height", "quality", "n", "cfg_scale",
                           "seed", "images", "similarity_strength"},
    Task.INPAINTING: {"prompt", "negative_prompt", "quality", "n", "cfg_scale", "seed", "image", "mask_image",
                      "mask_prompt"},
    Task.OUTPAINTING: {"prompt", "negative_prompt", "quality", "n", "cfg_scale", "seed", "image", "mask_image",
                       "mask_prompt", "outpainting_mode"},
    Task.BACKGROUND_REMOVAL: {"image"},
    Task.IMAGE_TO_IMAGE: {"prompt", "negative_prompt", "n", "seed", "image", "strength", "output_format"},
    # No prompt and no size: the garment comes from reference_image, the size from the source image.
    Task.VIRTUAL_TRY_ON: {"quality", "n", "cfg_scale", "seed", "image", "reference_image", "mask_type", "mask_image",
                          "garment_class", "mask_shape", "mask_prompt", *TRY_ON_GARMENT_STYLING, *TRY_ON_EXCLUSIONS,
                          "merge_style", "return_mask"},
}  # fmt: skip
PROMPT_REQUIRED = {Task.TEXT_IMAGE, Task.COLOR_GUIDED_GENERATION, Task.IMAGE_TO_IMAGE}


def tool_fields(spec: ModelSpec) -> set[str]:
    """What a Stability image service takes: its declared fields, and `n` where a seed makes each image its own."""
    names = {param.name for param in spec.params}
    return names | ({"n"} if "seed" in names else set())


def default_task(spec: ModelSpec | None) -> Task:
    """The task a request without task_type asks for: an image service does one, so its model id says
    which; every other model makes an image from text."""
    return spec.tasks[0] if spec is not None and spec.is_tool else Task.TEXT_IMAGE


def fields_taken(spec: ModelSpec, task: Task) -> set[str]:
    """The request fields a model takes for a task (the one rule every surface asks)."""
    return tool_fields(spec) if spec.is_tool else TASK_FIELDS[task]


def prompt_required(spec: ModelSpec, task: Task) -> bool:
    if spec.is_tool:
        return bool(spec.param("prompt") and spec.param("prompt").required)
    return task in PROMPT_REQUIRED


KNOWN_FIELDS = (
    {"task_type", "model"} | set().union(*TASK_FIELDS.values()) | set().union(*(tool_fields(s) for s in TOOL_SPECS))
)
SIZE_FIELDS = {"size", "width", "height"}
NEGATION_PATTERN = re.compile(r"\b(" + "|".join(re.escape(w) for w in NEGATION_WORDS) + r")\b", re.IGNORECASE)


def whole_number(value) -> int | None:
    """An integer as a request gives it: a JSON integer, or digits as a form field sends them (not a bool, not a
    float: 5.5 is no count of images, and neither is 5.0)."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Checker:
    """Collects every problem with a request, field by field."""

    def __init__(self, spec: ModelSpec, raw: dict[str, Any]):
        self.spec = spec
        self.raw = raw
        self.problems: dict[str, list[str]] = {}

    def fail(self, name: str, reason: str) -> None:
        self.problems.setdefault(name, []).append(reason)

    def given(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def text(self, name: str, max_chars: int, *, required: bool) -> str:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                self.fail(name, "This field is required.")
            return ""
        if not isinstance(value, str):
            self.fail(name, "Must be text.")
            return ""
        if not 1 <= len(value) <= max_chars:
            self.fail(name, f"Must be 1–{max_chars:,} characters; it is {len(value):,}.")
            return ""
        return value

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        value = whole_number(value)
        if value is None:
            self.fail(name, "Must be a whole number.")
            return default
        if not low <= value <= high:
            self.fail(name, f"Must be between {low:,} and {high:,}.")
            return default
        return value

    def number(self, name: str, bounds: tuple[float, float], default: float | None = None) -> float | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            self.fail(name, "Must be a number.")
            return default
        low, high = bounds
        if not low <= value <= high:
            self.fail(name, f"Must be between {low:g} and {high:g}.")
            return default
        return float(value)

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        if value not in options:
            self.fail(name, f"{value!r} is not one of: {', '.join(options)}.")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        """true/false as JSON sends it, or as a form field does (true, false, on, 1, 0)."""
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, str) and value.strip().lower() in ("true", "on", "1", "false", "off", "0"):
            return value.strip().lower() in ("true", "on", "1")
        if not isinstance(value, bool):
            self.fail(name, "Must be true or false.")
            return default
        return value

    def image(self, name: str, *, max_side: int, required: bool = False) -> InputImage | None:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                self.fail(name, "This field is required.")
            return None
        try:
            return read_image(value, max_side=max_side)
        except ImageProblem as problem:
            self.fail(name, str(problem))
            return None


def validate_request(spec: ModelSpec, raw: dict[str, Any]) -> ImageRequest:
    """The one check between a person's request and Bedrock. Raises RequestInvalid naming every
    bad field; returns a typed ImageRequest (with warnings, e.g. about negation words)."""
    check = _Checker(spec, raw)
    for name in sorted(set(raw) - KNOWN_FIELDS):
        check.fail(name, "Unknown field.")

    task_name = raw.get("task_type") or default_task(spec)
    if not isinstance(task_name, str) or task_name not in Task.__members__ or Task(task_name) not in spec.tasks:
        check.fail("task_type", f"{spec.name} does not do {task_name!r}; it does: {', '.join(spec.tasks)}.")
        raise RequestInvalid(check.problems)
    task = Task(task_name)
    if spec.is_tool:
        return _validate_tool(check, task)
    allowed = TASK_FIELDS[task]
    for name in sorted(set(raw) & (KNOWN_FIELDS - allowed - {"task_type", "model"})):
        if check.given(name):
            check.fail(name, f"{task.value} does not take {name}.")

    values: dict[str, Any] = {"model_id": spec.model_id, "family": spec.family, "task": task}
    values["prompt"] = check.text("prompt", spec.prompt_max_chars, required=task in PROMPT_REQUIRED)
    values["negative_prompt"] = check.text("negative_prompt", spec.negative_max_chars, required=False)
    if task is not Task.BACKGROUND_REMOVAL:
        values["n"] = check.integer("n", 1, MAX_IMAGES_PER_REQUEST, default=1)
        values["seed"] = check.integer("seed", 0, spec.seed_max)
    if "quality" in allowed:
        values["quality"] = check.choice("quality", spec.qualities, default=spec.qualities[0])
    if "cfg_scale" in allowed and spec.supports_cfg_scale:
        values["cfg_scale"] = check.number("cfg_scale", CFG_SCALE_RANGE, default=CFG_SCALE_DEFAULT)
    elif "cfg_scale" in allowed and check.given("cfg_scale"):
        check.fail("cfg_scale", f"{spec.name} does not take cfg_scale.")

    _check_size(check, task, allowed, values)
    _check_task_inputs(check, task, values)

    if check.problems:
        raise RequestInvalid(check.problems)
    return ImageRequest(**values, warnings=_prompt_warnings(values["prompt"]))


def _prompt_warnings(prompt: str) -> tuple[str, ...]:
    negations = sorted({word.lower() for word in NEGATION_PATTERN.findall(prompt)})
    if not negations:
        return ()
    return (
        f"The prompt contains {', '.join(repr(w) for w in negations)}: image models tend to draw what is "
        "named. Put what you do not want in negative_prompt instead.",
    )


# --- The Stability image services: every field is declared in the tool's spec (specs.TOOL_SPECS) ---

TOOL_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
TOOL_IMAGE_MAX_SIDE = 16_384  # the pixel counts bound a tool's inputs; read_image also refuses bombs


def _validate_tool(check: _Checker, task: Task) -> ImageRequest:
    spec = check.spec
    taken = tool_fields(spec)
    for name in sorted((set(check.raw) & KNOWN_FIELDS) - taken - {"task_type", "model"}):
        if check.given(name):
            check.fail(name, f"{spec.name} does not take {name}.")
    values: dict[str, Any] = {"model_id": spec.model_id, "family": spec.family, "task": task}
    for param in spec.params:
        value = _tool_value(check, param, values)
        if value not in (None, ""):
            values[param.name] = value
    if "n" in taken:
        values["n"] = check.integer("n", 1, MAX_IMAGES_PER_REQUEST, default=1)
    if spec.output_rule == OutputRule.OUTPAINT and not any(values.get(side) for side in OUTPAINT_SIDES):
        check.fail("left", "Give at least one side (left, right, up, down) more than 0 px.")
    if check.problems:
        raise RequestInvalid(check.problems)
    values["width"], values["height"] = _tool_output_size(spec, values)
    return ImageRequest(**values, warnings=_prompt_warnings(values.get("prompt", "")))


OUTPAINT_SIDES = ("left", "right", "up", "down")


def _tool_value(check: _Checker, param: Param, values: dict) -> Any:
    name, spec = param.name, check.spec
    if param.kind == "text":
        limit = spec.negative_max_chars if name == "negative_prompt" else spec.prompt_max_chars
        return check.text(name, limit, required=param.required)
    if param.kind == "number":
        return check.number(name, (param.low, param.high), default=param.default)
    if param.kind in ("integer", "side"):
        return check.integer(name, int(param.low), int(param.high), default=param.default)
    if param.kind == "choice":
        return check.choice(name, param.choices, default=param.default)
    if param.kind == "image":
        return _tool_image(check, param)
    return _tool_mask(check, param, values.get("image"))


def _tool_image(check: _Checker, param: Param) -> InputImage | None:
    value = check.raw.get(param.name)
    if value in (None, ""):
        if param.required:
            check.fail(param.name, "This field is required.")
        return None
    try:
        image = read_image(value, max_side=TOOL_IMAGE_MAX_SIDE, min_side=param.min_side, formats=TOOL_IMAGE_FORMATS)
    except ImageProblem as problem:
        check.fail(param.name, str(problem))
        return None
    problem = tool_input_problem(check.spec, param, image.width, image.height)
    if problem:
        check.fail(param.name, problem)
        return None
    return image


def tool_input_problem(spec: ModelSpec, param: Param, width: int, height: int) -> str | None:
    """Why an input image of width×height does not fit a tool's field (its sides, pixels, aspect), or None."""
    name = spec.name
    if param.max_side and max(width, height) > param.max_side:
        return f"The image is {width}x{height} px; {name} takes sides of at most {param.max_side} px."
    if param.max_pixels and width * height > param.max_pixels:
        return f"The image has {width * height:,} px; {name} takes at most {param.max_pixels:,}."
    if param.max_aspect and not 1 / param.max_aspect <= Fraction(width, height) <= param.max_aspect:
        return f"The image is {width}x{height} px; {name} takes aspect ratios from 1:2.5 to 2.5:1."
    return None


def _tool_mask(check: _Checker, param: Param, image: InputImage | None) -> InputImage | None:
    """A mask in Atelier's sense (black: change); with none, the image's transparent pixels say where."""
    if not check.given(param.name):
        if image is not None and not image.has_alpha:
            check.fail(param.name, "Give a mask, or an image whose transparent pixels mark what to change.")
        return None
    mask = check.image(param.name, max_side=TOOL_IMAGE_MAX_SIDE)
    if mask is None or image is None:
        return None
    try:
        check_mask(mask, image)
    except ImageProblem as problem:
        check.fail(param.name, str(problem))
        return None
    return mask


def _tool_output_size(spec: ModelSpec, values: dict) -> tuple[int, int]:
    """The size of each image the tool returns (OutputRule): what prices and storage go by."""
    image = values.get("image")
    return tool_output_size(spec, image.width if image else 0, image.height if image else 0, values)


def tool_output_size(spec: ModelSpec, width: int, height: int, values: dict | None = None) -> tuple[int, int]:
    """The output size of a tool given its input image's size (and, for outpaint, the sides in `values`)."""
    rule, values = OutputRule(spec.output_rule), values or {}
    if rule is OutputRule.ASPECT_RATIO:
        return STABILITY_ASPECT_SIZES[values.get("aspect_ratio") or "1:1"]
    if rule is OutputRule.TIMES_FOUR:
        return width * 4, height * 4
    if rule is OutputRule.UPSCALE:
        scale = (UPSCALE_TARGET_PIXELS / (width * height)) ** 0.5
        return max(width, round(width * scale)), max(height, round(height * scale))
    if rule is OutputRule.OUTPAINT:
        added = {side: values.get(side) or 0 for side in OUTPAINT_SIDES}
        return width + added["left"] + added["right"], height + added["up"] + added["down"]
    return width, height


def _check_size(check: _Checker, task: Task, allowed: set[str], values: dict) -> None:
    spec, rule = check.spec, check.spec.size_rule
    if rule.kind == "aspect_ratio":
        for name in sorted(SIZE_FIELDS & set(check.raw)):
            if check.given(name):
                check.fail(name, f"{spec.name} takes aspect_ratio ({', '.join(rule.aspect_ratios)}), not a size.")
        if "aspect_ratio" in allowed and task is Task.TEXT_IMAGE:
            values["aspect_ratio"] = check.choice("aspect_ratio", rule.aspect_ratios, default=rule.default)
        return
    if check.given("aspect_ratio"):
        check.fail("aspect_ratio", f"{spec.name} takes a size (width and height), not an aspect ratio.")
    if not allowed & SIZE_FIELDS:
        return  # edits keep their input's size
    width, height = _requested_size(check)
    if width is None:
        return
    problem = rule.problem(width, height)
    if problem:
        for name in _size_fields_at_fault(check, rule, width, height):
            check.fail(name, problem)
        return
    values["width"], values["height"] = width, height


def _size_fields_at_fault(check: _Checker, rule, width: int, height: int) -> list[str]:
    """The field(s) to name: `size` when it was given, else the side that breaks a per-side rule,
    else both (a size that is not in a list, or a bad ratio or pixel count, is both sides' doing)."""
    if check.given("size"):
        return ["size"]
    sides = [name for name, value in (("width", width), ("height", height)) if rule.side_problem(value)]
    return sides or ["width", "height"]


def _requested_size(check: _Checker) -> tuple[int | None, int | None]:
    default_width, default_height = check.spec.default_size
    if check.given("size"):
        match = re.fullmatch(r"\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*", str(check.raw["size"]))
        if not match:
            check.fail("size", "Must look like 1024x1024 (width x height).")
            return None, None
        return int(match[1]), int(match[2])
    width = check.integer("width", 1, 100_000, default=default_width)
    height = check.integer("height", 1, 100_000, default=default_height)
    if "width" in check.problems or "height" in check.problems:
        return None, None
    return width, height


def _check_task_inputs(check: _Checker, task: Task, values: dict) -> None:
    spec = check.spec
    if task is Task.TEXT_IMAGE:
        if check.given("style"):
            if spec.styles:
                values["style"] = check.choice("style", spec.styles)
            else:
                check.fail("style", f"{spec.name} has no style presets.")
        control_given = check.given("control_mode") or check.given("control_strength")
        if check.given("condition_image"):
            if not spec.supports_conditioning:
                check.fail("condition_image", f"{spec.name} does not take a condition image.")
            else:
                values["condition_image"] = check.image("condition_image", max_side=spec.variation_max_side)
                values["control_mode"] = check.choice("control_mode", CONTROL_MODES, default=CONTROL_MODES[0])
                values["control_strength"] = check.number(
                    "control_strength", CONTROL_STRENGTH_RANGE, default=CONTROL_STRENGTH_DEFAULT
                )
        elif control_given:
            name = "control_mode" if check.given("control_mode") else "control_strength"
            check.fail(name, "Only used with condition_image.")
        if spec.family is Family.STABILITY:
            values["output_format"] = check.choice("output_format", spec.output_formats, default="png")
        elif check.given("output_format"):
            check.fail("output_format", f"{spec.name} always returns PNG; output_format is for Stability models.")
    elif task is Task.COLOR_GUIDED_GENERATION:
        values["colors"] = _check_colors(check)
        values["reference_image"] = check.image("reference_image", max_side=spec.variation_max_side)
    elif task is Task.IMAGE_VARIATION:
        values["images"] = _check_variation_images(check)
        values["similarity_strength"] = check.number("similarity_strength", SIMILARITY_RANGE, SIMILARITY_DEFAULT)
    elif task in (Task.INPAINTING, Task.OUTPAINTING):
        image = values["image"] = check.image("image", max_side=spec.edit_max_side, required=True)
        _check_pixels(check, "image", image)
        _check_mask(check, image, values)
        if task is Task.OUTPAINTING:
            values["outpainting_mode"] = check.choice("outpainting_mode", OUTPAINTING_MODES, OUTPAINTING_MODES[0])
    elif task is Task.BACKGROUND_REMOVAL:
        values["image"] = check.image("image", max_side=spec.edit_max_side, required=True)
        _check_pixels(check, "image", values["image"])
    elif task is Task.IMAGE_TO_IMAGE:
        values["image"] = check.image("image", max_side=spec.variation_max_side, required=True)
        if not check.given("strength"):
            check.fail("strength", "This field is required for image-to-image (0 keeps the image, 1 ignores it).")
        values["strength"] = check.number("strength", STRENGTH_RANGE)
        values["output_format"] = check.choice("output_format", spec.output_formats, default="png")
    elif task is Task.VIRTUAL_TRY_ON:
        _check_try_on(check, values)


def _check_try_on(check: _Checker, values: dict) -> None:
    """Nova's virtual try-on: a source and a reference image, and one way to say where the garment goes
    (mask_type), with only that way's fields. The output is the source's size (ImageRequest.output_size)."""
    spec = check.spec
    for name in ("image", "reference_image"):
        values[name] = check.image(name, max_side=spec.edit_max_side, required=True)
        _check_pixels(check, name, values[name])
    mask_type = values["mask_type"] = check.choice("mask_type", TRY_ON_MASK_TYPES)
    if mask_type is None and not check.given("mask_type"):
        check.fail("mask_type", f"This field is required: one of {', '.join(TRY_ON_MASK_TYPES)}.")
    # Another mask type's fields are refused by name.
    takes = TRY_ON_MASK_FIELDS
    # Without a valid mask type the fault is mask_type's alone.
    for name in sorted(set().union(*takes.values()) - takes[mask_type]) if mask_type else ():
        if check.given(name):
            needs = " or ".join(kind for kind, names in takes.items() if name in names)
            check.fail(name, f"Only with mask_type {needs}.")
    if mask_type == "IMAGE":
        if not check.given("mask_image"):
            check.fail("mask_image", "This field is required with mask_type IMAGE (black where the garment goes).")
        else:
            mask = check.image("mask_image", max_side=spec.edit_max_side)
            if mask is not None and values["image"] is not None:
                try:
                    check_mask(mask, values["image"])
                    values["mask_image"] = mask
                except ImageProblem as problem:
                    check.fail("mask_image", str(problem))
    elif mask_type == "GARMENT":
        if not check.given("garment_class"):
            check.fail("garment_class", f"This field is required with mask_type GARMENT: one of "
                                        f"{', '.join(TRY_ON_GARMENT_CLASSES)}.")  # fmt: skip
        values["garment_class"] = check.choice("garment_class", TRY_ON_GARMENT_CLASSES)
        for name, choices in TRY_ON_GARMENT_STYLING.items():
            values[name] = check.choice(name, choices)
    elif mask_type == "PROMPT":
        values["mask_prompt"] = check.text("mask_prompt", spec.prompt_max_chars, required=True) or None
    if mask_type in ("GARMENT", "PROMPT"):
        values["mask_shape"] = check.choice("mask_shape", TRY_ON_MASK_SHAPES)
    for name in TRY_ON_EXCLUSIONS:
        values[name] = check.choice(name, TRY_ON_EXCLUSION_VALUES)
    values["merge_style"] = check.choice("merge_style", TRY_ON_MERGE_STYLES)
    values["return_mask"] = check.boolean("return_mask", default=False)


def _check_pixels(check: _Checker, name: str, image: InputImage | None) -> None:
    problem = image and edit_input_problem(check.spec, image.width, image.height)
    if problem:
        check.fail(name, problem)


def edit_input_problem(spec: ModelSpec, width: int, height: int) -> str | None:
    """Why an image of width×height cannot be the input of a general model's edit (in/outpainting, background
    removal, try-on): its sides, then its pixels; or None. The pages that offer an edit ask this too."""
    name, limit = spec.name, spec.size_rule.max_pixels
    if max(width, height) > spec.edit_max_side:
        return f"The image is {width}x{height} px; {name} takes sides of at most {spec.edit_max_side} px."
    if min(width, height) < MIN_INPUT_IMAGE_SIDE:
        return f"The image is {width}x{height} px; {name} takes sides of at least {MIN_INPUT_IMAGE_SIDE} px."
    if limit and width * height > limit:
        return f"The image has {width * height:,} px; {name} takes at most {limit:,}."
    return None


def _check_colors(check: _Checker) -> tuple[str, ...]:
    colors = check.raw.get("colors")
    if colors in (None, "", []):
        check.fail("colors", "Give 1–10 colours as #RRGGBB.")
        return ()
    if isinstance(colors, str):
        colors = [c.strip() for c in colors.split(",")]
    if not isinstance(colors, list | tuple) or not 1 <= len(colors) <= MAX_COLORS:
        check.fail("colors", f"Give 1–{MAX_COLORS} colours as #RRGGBB.")
        return ()
    bad = [c for c in colors if not (isinstance(c, str) and re.fullmatch(r"#[0-9A-Fa-f]{6}", c))]
    if bad:
        check.fail("colors", f"Not #RRGGBB: {', '.join(map(str, bad))}.")
        return ()
    return tuple(c.upper() for c in colors)


def _check_variation_images(check: _Checker) -> tuple[InputImage, ...]:
    images = check.raw.get("images")
    if isinstance(images, bytes | str):
        images = [images]
    if not isinstance(images, list | tuple) or not 1 <= len(images) <= MAX_VARIATION_IMAGES:
        check.fail("images", f"Give 1–{MAX_VARIATION_IMAGES} images.")
        return ()
    result = []
    for index, value in enumerate(images):
        try:
            result.append(read_image(value, max_side=check.spec.variation_max_side))
        except ImageProblem as problem:
            check.fail(f"images.{index}", str(problem))
    return tuple(result)


def _check_mask(check: _Checker, image: InputImage | None, values: dict) -> None:
    has_image, has_prompt = check.given("mask_image"), check.given("mask_prompt")
    if has_image == has_prompt:
        check.fail("mask_image", "Give exactly one of mask_image and mask_prompt.")
        return
    if has_prompt:
        values["mask_prompt"] = check.text("mask_prompt", check.spec.prompt_max_chars, required=True) or None
        return
    mask = check.image("mask_image", max_side=check.spec.edit_max_side)
    if mask is None:
        return
    try:
        check_mask(mask, image)
    except ImageProblem as problem:
        check.fail("mask_image", str(problem))
        return
    values["mask_image"] = mask
