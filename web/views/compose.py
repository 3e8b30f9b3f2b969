"""The composer (ask for images: model, task, inputs, a live price) and the job pages (live progress,
then the results). The views translate the form to job_submit/job_quote's arguments, as the REST
API does from JSON, and show the services' field errors beside the fields they name."""

import base64
import contextlib
import re
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.datastructures import MultiValueDict

from assets import library
from assets.models import Asset, Project, Prompt, Seed
from assets.selectors import job_assets
from assets.services import project_get_default
from billing.models import Budget
from billing.pricing import Quote, price_quote
from billing.selectors import budget_status, job_cost, job_costs
from billing.services import BudgetExceeded, period_start_for
from config.errors import ApplicationError
from generation import services
from generation.bedrock.images import PAINTING_CUT, ImageProblem, mask_from_painting
from generation.bedrock.request import PROMPT_REQUIRED, TASK_FIELDS, default_task, fields_taken, prompt_required
from generation.bedrock.specs import (
    CONTROL_MODES,
    MAX_IMAGES_PER_REQUEST,
    MAX_INPUT_IMAGE_BYTES,
    OUTPAINTING_MODES,
    SPECS,
    STABILITY_ASPECT_SIZES,
    TOOL_SPECS,
    TRY_ON_EXCLUSION_VALUES,
    TRY_ON_EXCLUSIONS,
    TRY_ON_GARMENT_CLASSES,
    TRY_ON_GARMENT_STYLING,
    TRY_ON_MASK_FIELDS,
    TRY_ON_MASK_SHAPES,
    TRY_ON_MASK_TYPES,
    TRY_ON_MERGE_STYLES,
    ModelSpec,
    Task,
)
from generation.catalog import model_list_for_tenant, model_warnings
from generation.job_events import job_watch, released, sse_event
from generation.models import BedrockModel, GenerationJob
from tenants.models import Role
from tenants.selectors import member_still_active

from .base import FORM_ALREADY_SENT, TenantPage, field_errors, form_reuse_said_plainly

# Nova Canvas virtual try-on's own scalar fields (mask_prompt is shared with inpainting).
TRY_ON_FIELDS = (
    "mask_type", "garment_class", "mask_shape", *TRY_ON_GARMENT_STYLING, *TRY_ON_EXCLUSIONS, "merge_style",
    "return_mask",
)  # fmt: skip
# "Conditioned" is text-to-image guided by a layout image; the form offers it as a task of its own.
CONDITIONED = "CONDITIONED"
TASK_CHOICES = [
    ("TEXT_IMAGE", "Text to image", "Describe the image; nothing else needed."),
    (CONDITIONED, "Conditioned", "Text to image that follows the edges or layout of a guide image."),
    ("COLOR_GUIDED_GENERATION", "Colour-guided", "Text to image in a palette (the project's brand colours)."),
    ("IMAGE_VARIATION", "Variation", "New images in the style and content of one or more images."),
    ("INPAINTING", "Inpaint", "Change the part of an image a mask (or a mask prompt) marks."),
    ("OUTPAINTING", "Outpaint", "Extend or replace everything outside the masked part."),
    ("BACKGROUND_REMOVAL", "Remove background", "Cut the subject out onto a transparent background."),
    ("IMAGE_TO_IMAGE", "Image to image", "Re-render an image following the prompt (Stability SD3.5)."),
    ("VIRTUAL_TRY_ON", "Virtual try-on", "Dress the person in the reference image's garment."),
]
# The tasks only a Stability image service does (its model id implies it: the form has no task choice for it).
TOOL_TASK_LABELS = {
    "UPSCALE": "Upscale", "SEARCH_REPLACE": "Search and replace", "SEARCH_RECOLOR": "Search and recolour",
    "ERASE_OBJECT": "Erase object", "CONTROL_SKETCH": "Control: sketch", "CONTROL_STRUCTURE": "Control: structure",
    "STYLE_GUIDE": "Style guide", "STYLE_TRANSFER": "Style transfer",
}  # fmt: skip
TASK_LABELS = {value: label for value, label, _ in TASK_CHOICES} | TOOL_TASK_LABELS
# The request field a task's main upload (or the source asset) fills.
INPUT_SLOT = {
    CONDITIONED: "condition_image",
    "COLOR_GUIDED_GENERATION": "reference_image",
    "IMAGE_VARIATION": "image",
    "INPAINTING": "image",
    "OUTPAINTING": "image",
    "BACKGROUND_REMOVAL": "image",
    "IMAGE_TO_IMAGE": "image",
    "VIRTUAL_TRY_ON": "image",  # the person; the garment is the reference image
    **dict.fromkeys(TOOL_TASK_LABELS, "image"),
}
SCALAR_FIELDS = (
    "prompt", "negative_prompt", "width", "height", "aspect_ratio", "quality", "n", "seed", "cfg_scale", "style",
    "output_format", "mask_prompt", "outpainting_mode", "control_mode", "control_strength", "similarity_strength",
    "strength", *TRY_ON_FIELDS,
)  # fmt: skip
FILE_FIELDS = ("image", "mask_image", "reference_image", "condition_image")
# The tools' own scalar fields (their spec params that are not images), beside the ones above.
TOOL_SCALAR_FIELDS = tuple(
    sorted({p.name for spec in TOOL_SPECS for p in spec.params if p.kind not in ("image", "mask")} - set(SCALAR_FIELDS))
)
TRY_ON_ANY_MASK_FIELDS = frozenset().union(*TRY_ON_MASK_FIELDS.values())
# The mask painter's PNG (a data: URL), used for mask_image when no mask file is uploaded.
PAINTED_MASK_FIELD = "mask_image_painting"
PAINTED_MASK_PREFIX = "data:image/png;base64,"
CONDITION_FIELDS = {"condition_image", "control_mode", "control_strength"}
# Where an error about a request field is shown when the form has no input of that name.
SHOWN_AT = {"size": "width", "images": "image", "prompt_version": "saved_prompt", "task": "task_type"}
FIELD_LABELS = {
    "model": "Model", "task_type": "Task", "project": "Project", "prompt": "Prompt",
    "negative_prompt": "Negative prompt", "saved_prompt": "Saved prompt", "variables": "Prompt variables",
    "image": "Image", "mask_image": "Mask", "mask_prompt": "Mask prompt", "reference_image": "Reference image",
    "condition_image": "Condition image", "control_mode": "Control mode", "control_strength": "Control strength",
    "colors": "Palette", "similarity_strength": "Similarity", "strength": "Strength", "width": "Width",
    "height": "Height", "aspect_ratio": "Aspect ratio", "quality": "Quality", "style": "Style", "n": "Images",
    "seed": "Seed", "saved_seed": "Saved seed", "cfg_scale": "Prompt strength (cfg)", "output_format": "Format",
    "outpainting_mode": "Outpainting mode", "tags": "Tags", "__all__": "Request",
    "style_image": "Style image", "creativity": "Creativity", "grow_mask": "Grow the mask", "left": "Left",
    "right": "Right", "up": "Up", "down": "Down", "search_prompt": "Find", "select_prompt": "Find",
    "fidelity": "Style fidelity", "style_strength": "Style strength", "composition_fidelity": "Keep the composition",
    "change_strength": "Change strength", "mask_type": "Where the garment goes", "garment_class": "Garment class",
    "mask_shape": "Mask shape", "long_sleeve_style": "Sleeves", "tucking_style": "Tucking",
    "outer_layer_style": "Outer layer", "preserve_body_pose": "Keep the body pose", "preserve_hands": "Keep the hands",
    "preserve_face": "Keep the face", "merge_style": "Merge style", "return_mask": "Keep the mask",
}  # fmt: skip
# Parameters of a stored job that prefill the form when an image is regenerated.
REGENERATE_FIELDS = (
    "prompt", "negative_prompt", "width", "height", "aspect_ratio", "quality", "n", "cfg_scale", "style",
    "output_format", "mask_prompt", "outpainting_mode", "control_mode", "control_strength", "similarity_strength",
    "strength", *TOOL_SCALAR_FIELDS, *TRY_ON_FIELDS,
)  # fmt: skip
SIZE_PRESETS = [(1024, 1024), (1280, 720), (720, 1280), (1152, 896), (896, 1152), (768, 768), (512, 512)]


# The negative-word hint -----------------------------------------------------------------------

NEGATION = re.compile(r"\b(?:no|not|without|never|don'?t|do not)\s+(?P<subject>[^,.;:!?()\n]+)", re.IGNORECASE)
SUBJECT_END = re.compile(r"\s+(?:and|but|with|while|in|on|at|so|because|then)\b.*$", re.IGNORECASE)
SUBJECT_LEAD = re.compile(r"^(?:(?:show|showing|include|including|add|draw|use|have|any|a|an|the)\s+)+", re.IGNORECASE)


@dataclass(frozen=True)
class NegationHint:
    phrase: str  # as written in the prompt: "without people"
    subject: str  # what belongs in the negative prompt: "people"


def negative_hints(prompt: str) -> list[NegationHint]:
    """The negations in a prompt ("no X", "without X", "not X", "don't show X") with what each
    excludes. Bedrock's image models draw what a prompt names, negated or not: the excluded things
    belong in the negative prompt."""
    hints, seen, prompt = [], set(), prompt or ""
    for match in NEGATION.finditer(prompt):
        kept = SUBJECT_END.sub("", match["subject"]).rstrip()  # up to "and", "with", ...
        subject = " ".join(SUBJECT_LEAD.sub("", kept.strip()).split())
        if not subject or subject.lower() in seen:
            continue
        seen.add(subject.lower())
        phrase = prompt[match.start() : match.start("subject") + len(kept)]
        hints.append(NegationHint(phrase=phrase, subject=subject))
    return hints


def negative_with(negative_prompt: str, hints: list[NegationHint]) -> str:
    """The negative prompt with the hints' subjects added (those not already in it)."""
    parts = [negative_prompt.strip()] if negative_prompt and negative_prompt.strip() else []
    present = (negative_prompt or "").lower()
    parts += [hint.subject for hint in hints if hint.subject.lower() not in present]
    return ", ".join(parts)


# The form → job_submit/job_quote's arguments ------------------------------------------------------


@dataclass
class ComposeForm:
    """What the form holds, as text for re-rendering, and the arguments it makes for the services."""

    values: dict
    arguments: dict
    tags: str


def _model_map(tenant) -> dict[str, BedrockModel]:
    return {model.model_id: model for model in model_list_for_tenant(tenant=tenant)}


def tool_spec(model_id) -> ModelSpec | None:
    """The spec of a Stability image service, or None for a model that is not one."""
    spec = SPECS.get(model_id) if isinstance(model_id, str) else None
    return spec if spec is not None and spec.is_tool else None


def form_values(data) -> dict:
    """The form's fields as posted: texts, the palette's colours, and the saved prompt's `var_*` inputs.
    A tool's task is the one its model does (the form offers no task choice for it)."""
    names = (
        *SCALAR_FIELDS, *TOOL_SCALAR_FIELDS, "model", "task_type", "project", "saved_prompt", "saved_seed", "tags",
        "source_asset",
    )  # fmt: skip
    values = {name: data.get(name, "") for name in names}
    tool = tool_spec(values["model"])
    values["task_type"] = default_task(tool).value if tool else values["task_type"] or "TEXT_IMAGE"
    values["colors"] = [color for color in data.getlist("colors") if color.strip()]
    values["variables"] = {key[4:]: value for key, value in data.items() if key.startswith("var_")}
    return values


def compose_form(*, data, files, models: dict[str, BedrockModel]) -> ComposeForm:
    """The posted form as the services take it: only the chosen task's fields, only those the model
    has, nothing empty; uploads base64-encoded. Raises ApplicationError (by field) for uploads the
    API would refuse before reading them, and for a conditioned task without a guide image."""
    values = form_values(data)
    choice = values["task_type"]
    task = "TEXT_IMAGE" if choice == CONDITIONED else choice
    tool = tool_spec(values["model"])
    if tool is not None:
        takes = fields_taken(tool, Task(task))  # the tool's declared params (and n)
    else:
        takes = TASK_FIELDS[Task(task)] if task in Task.__members__ else set(SCALAR_FIELDS)
        model = models.get(values["model"])
        if model is not None:
            takes = takes - _fields_the_model_lacks(model)
        if choice != CONDITIONED:
            takes = takes - CONDITION_FIELDS
        if task == "VIRTUAL_TRY_ON" and data.get("mask_type") in TRY_ON_MASK_FIELDS:
            # The form holds every mask type's inputs (and the painting); only the chosen type's are sent.
            takes = takes - (TRY_ON_ANY_MASK_FIELDS - TRY_ON_MASK_FIELDS[data["mask_type"]])

    raw: dict = {"task_type": task}
    for name in (*SCALAR_FIELDS, *TOOL_SCALAR_FIELDS):
        value = values[name]
        if name in takes and value.strip():
            raw[name] = value if name in TEXT_FIELDS else value.strip()
    if "colors" in takes and values["colors"]:
        raw["colors"] = values["colors"]

    slot = INPUT_SLOT.get(choice)
    source_asset = values["source_asset"].strip() or None
    if slot is None:
        source_asset = None  # plain text-to-image takes no input image
    problems: dict[str, list[str]] = {}
    for name in (*FILE_FIELDS, "style_image"):
        variation = task == "IMAGE_VARIATION" and name == "image"
        # A variation takes several images (the source asset, if any, comes first); every other slot one.
        uploads = files.getlist(name) if variation else files.getlist(name)[:1]
        if not uploads or not (name in takes or variation) or (name == slot and source_asset and not variation):
            continue
        too_large = [upload for upload in uploads if upload.size > MAX_INPUT_IMAGE_BYTES]
        if too_large:
            size = too_large[0].size
            problems[name] = [f"The file is {size:,} bytes; the most is {MAX_INPUT_IMAGE_BYTES:,} (5 MB)."]
            continue
        encoded = [base64.b64encode(upload.read()).decode("ascii") for upload in uploads]
        if variation:
            raw["images"] = encoded
        else:
            raw[name] = encoded[0]
    painted = data.get(PAINTED_MASK_FIELD, "")
    if "mask_image" in takes and "mask_image" not in raw and "mask_image" not in problems and painted:
        # An uploaded mask file wins; else the painting (a PNG as a data: URL, black where painted).
        try:
            raw["mask_image"] = painted_mask(painted)
        except ImageProblem as problem:
            problems["mask_image"] = [f"The painted mask: {problem} Paint it again or upload a mask file."]
    if (
        choice == CONDITIONED
        and not source_asset
        and "condition_image" not in raw
        and "condition_image" not in problems
    ):
        problems["condition_image"] = ["Upload the guide image whose edges or layout the result should follow."]
    if problems:
        first, reasons = next(iter(problems.items()))
        raise ApplicationError("invalid_request", f"{first}: {reasons[0]}", fields=problems)

    saved_prompt = values["saved_prompt"].strip() or None
    arguments = {
        "model_id": values["model"] or None,
        "raw": raw,
        "project_id": values["project"] or None,
        "source_asset_id": source_asset,
        "saved_prompt_id": saved_prompt,
        "variables": values["variables"] if saved_prompt else None,
        "saved_seed_id": values["saved_seed"].strip() or None,
    }
    if saved_prompt:
        raw.pop("prompt", None)  # the saved prompt is the prompt
    return ComposeForm(values=values, arguments=arguments, tags=values["tags"])


def painted_mask(data_url: str) -> str:
    """The painter's PNG, which the browser sends as a data: URL, as a mask (mask_from_painting), base64."""
    if not data_url.startswith(PAINTED_MASK_PREFIX):
        raise ImageProblem("It did not arrive as a PNG.")
    return mask_from_painting(data_url[len(PAINTED_MASK_PREFIX) :])


TEXT_FIELDS = ("prompt", "negative_prompt", "mask_prompt", "search_prompt", "select_prompt")


def _fields_the_model_lacks(model: BedrockModel) -> set[str]:
    lacks = set()
    if model.size_rule.get("kind") == "aspect_ratio":
        lacks |= {"width", "height", "size"}
    else:
        lacks.add("aspect_ratio")
    if not model.styles:
        lacks.add("style")
    if not model.supports_cfg_scale:
        lacks.add("cfg_scale")
    if len(model.output_formats) < 2:
        lacks.add("output_format")
    if not model.supports_conditioning:
        lacks |= CONDITION_FIELDS
    return lacks


def task_fields() -> dict[str, list[str]]:
    """The form inputs each task choice shows (compose.js hides the rest and leaves them unsent)."""
    shown = {}
    for choice, _, _ in TASK_CHOICES:
        names = set(TASK_FIELDS[Task("TEXT_IMAGE" if choice == CONDITIONED else choice)]) | {"tags"}
        if choice != CONDITIONED:
            names -= CONDITION_FIELDS
        if choice == "IMAGE_VARIATION":
            names.add("image")  # the form's one upload; the request field is `images`
        if choice in INPUT_SLOT:
            names.add("source")
        if "seed" in names:
            names.add("saved_seed")
        if choice == "TEXT_IMAGE":
            names.add("no_inputs")
        shown[choice] = sorted(names)
    return shown


def visible_fields(choice: str, model: BedrockModel | None, mask_type: str = "") -> set[str]:
    names = set(task_fields().get(choice, []))
    if choice == "VIRTUAL_TRY_ON":  # only the chosen mask type's inputs (compose.js keeps this as it changes)
        names -= TRY_ON_ANY_MASK_FIELDS - TRY_ON_MASK_FIELDS[try_on_mask_type(mask_type)]
    return names - _fields_the_model_lacks(model) if model is not None else names


def try_on_mask_type(value: str) -> str:
    """The mask type the try-on inputs show: the form's, else GARMENT (nothing to paint or describe)."""
    return value if value in TRY_ON_MASK_FIELDS else "GARMENT"


def _said(value: str) -> str:
    return value.replace("_", " ").capitalize()  # LONG_SLEEVE_SHIRT → Long sleeve shirt


def try_on_choices() -> dict:
    """The try-on selects' options, from the TRY_ON_* rules."""
    return {
        "mask_types": TRY_ON_MASK_TYPES, "garment_classes": [(value, _said(value)) for value in TRY_ON_GARMENT_CLASSES],
        "mask_shapes": TRY_ON_MASK_SHAPES,
        "styling": [
            {"name": name, "label": FIELD_LABELS[name], "values": [(value, _said(value)) for value in values]}
            for name, values in TRY_ON_GARMENT_STYLING.items()
        ],
        "exclusions": [{"name": name, "label": FIELD_LABELS[name]} for name in TRY_ON_EXCLUSIONS],
        "exclusion_values": TRY_ON_EXCLUSION_VALUES, "merge_styles": TRY_ON_MERGE_STYLES,
        "mask_fields": {kind: sorted(names) for kind, names in TRY_ON_MASK_FIELDS.items()},
    }  # fmt: skip


def shown_errors(error: ApplicationError, choice: str = "") -> dict[str, list[str]]:
    """The service's field errors keyed by the form input they are shown beside."""
    shown: dict[str, list[str]] = {}
    for name, reasons in field_errors(error).items():
        if name == "source_asset":
            where = INPUT_SLOT.get(choice, "image")
        else:
            where = SHOWN_AT.get(name.split(".")[0], name.split(".")[0])
        shown.setdefault(where, []).extend(reasons)
    return shown


def error_summary(errors: dict[str, list[str]]) -> list[str]:
    return [
        reason if name == "__all__" else f"{FIELD_LABELS.get(name, name)}: {reason}"
        for name, reasons in errors.items()
        for reason in reasons
    ]


# The tools (the Stability image services): the picker's groups and each tool's inputs ---------------

TOOL_GROUPS = (
    ("generate", "Generate", "Make images from a prompt, or vary, repaint and extend one."),
    ("edit", "Edit", "Change part of an image, extend it, or cut out its subject."),
    ("upscale", "Upscale", "Make an image larger and sharper."),
    ("control", "Control & style", "Follow a sketch, a structure or a style."),
)
GROUP_OF_TASK = {
    "UPSCALE": "upscale", "CONTROL_SKETCH": "control", "CONTROL_STRUCTURE": "control", "STYLE_GUIDE": "control",
    "STYLE_TRANSFER": "control",
}  # fmt: skip
TOOL_BLURBS = {
    "stability.stable-creative-upscale-v1:0": "To about 4 MP, inventing fine detail; for small or soft images.",
    "stability.stable-conservative-upscale-v1:0": "To about 4 MP, keeping the image as it is.",
    "stability.stable-fast-upscale-v1:0": "Four times each side, quickly; no prompt.",
    "stability.stable-image-inpaint-v1:0": "Paint over a part and say what goes there.",
    "stability.stable-outpaint-v1:0": "Add pixels on any side; the new area is invented to fit.",
    "stability.stable-image-search-replace-v1:0": "Name a thing to find and what replaces it; no mask.",
    "stability.stable-image-search-recolor-v1:0": "Name a thing and its new colours; no mask.",
    "stability.stable-image-erase-object-v1:0": "Paint over what to remove; the background fills in.",
    "stability.stable-image-remove-background-v1:0": "Cut the subject out onto transparency.",
    "stability.stable-image-control-sketch-v1:0": "Turn a sketch into a finished image.",
    "stability.stable-image-control-structure-v1:0": "A new image with the structure of another.",
    "stability.stable-image-style-guide-v1:0": "A new image in the style of a reference.",
    "stability.stable-style-transfer-v1:0": "Restyle an image with the style of another.",
}
TEXTAREA_PARAMS = {"prompt", "negative_prompt"}
OUTPAINT_SIDES = ("left", "right", "up", "down")


def model_group(model: BedrockModel) -> str:
    spec = tool_spec(model.model_id)
    if spec is None:
        return "generate"
    return GROUP_OF_TASK.get(spec.tasks[0].value, "edit")


def tool_slug(model_id: str) -> str:
    """stability.stable-image-inpaint-v1:0 → stable-image-inpaint: the prefix of the tool's input ids."""
    return model_id.split(".", 1)[-1].rsplit("-v", 1)[0]


def tool_inputs(spec: ModelSpec, values: dict, errors: dict, source_asset=None) -> list[dict]:
    """The inputs of one tool, in its spec's order, each from its Param: the widget its kind asks for,
    its limits and default, the value the form holds and the errors beside it. The four outpaint
    sides are one entry (the sides and their preview)."""
    slug = tool_slug(spec.model_id)
    inputs, sides = [], []
    for param in spec.params:
        data = param.as_dict()
        widget = {
            "text": "textarea" if param.name in TEXTAREA_PARAMS else "line", "number": "range", "integer": "number",
            "side": "number", "choice": "select", "image": "image", "mask": "mask",
        }[param.kind]  # fmt: skip
        value = values.get(param.name, "")
        if value in ("", None) and param.default is not None:
            value = param.default
        elif value in ("", None) and param.kind == "side":
            value = 0
        entry = data | {
            "widget": widget, "id": f"{slug}-{param.name}", "label": FIELD_LABELS.get(param.name, param.name),
            "value": value, "errors": errors.get(param.name, []),
            "source_asset": source_asset if param.name == "image" else None,
            "step": "0.01" if param.kind == "number" else "1",
            "optional": not param.required and param.kind not in ("side", "mask"),
        }  # fmt: skip
        if param.kind == "side":
            sides.append(entry)
            if len(sides) == 1:
                inputs.append({"widget": "sides", "sides": sides, "id": f"{slug}-sides", "errors": []})
            continue
        inputs.append(entry)
    if "n" in fields_taken(spec, default_task(spec)):
        inputs.append({
            "widget": "number", "name": "n", "id": f"{slug}-n", "label": "Images", "value": values.get("n") or 1,
            "min": 1, "max": settings.ATELIER_MAX_BATCH_IMAGES, "step": "1", "errors": errors.get("n", []),
            "help": "Each with its own seed.",
        })  # fmt: skip
    return inputs


def tool_forms(catalog: list[dict], values: dict, errors: dict, source_asset) -> list[dict]:
    """Each tool the tenant may use, with its inputs; the chosen one's hold the form's values and errors."""
    forms = []
    for entry in catalog:
        spec = tool_spec(entry["id"])
        if spec is None:
            continue
        chosen = values.get("model") == entry["id"]
        forms.append({
            "model": entry, "chosen": chosen, "takes_mask": bool(spec.param("mask_image")),
            # The painter or the outpaint preview shows the image itself: no thumbnail beside the upload.
            "draws_image": bool(spec.param("mask_image")) or spec.output_rule == "outpaint",
            "inputs": tool_inputs(spec, values if chosen else {}, errors if chosen else {}, source_asset),
        })  # fmt: skip
    return forms


def picker_groups(catalog: list[dict]) -> list[dict]:
    groups = []
    for key, label, description in TOOL_GROUPS:
        models = [entry for entry in catalog if entry["group"] == key]
        if models:
            groups.append({"key": key, "label": label, "description": description, "models": models})
    return groups


# Budgets and prices -------------------------------------------------------------------------------


def budgets_left(tenant, project_id=None) -> list[dict]:
    """This month's tenant budget (and the project's, when it has one): its amount and what is left."""
    budgets = Budget.objects.for_tenant(tenant).filter(api_key=None).select_related("project")
    budgets = budgets.filter(project=None) | budgets.filter(project_id=_uuid_or_none(project_id))
    period_start = period_start_for(tenant)
    rows = []
    for budget in budgets.order_by("project_id"):
        status = budget_status(budget, period_start=period_start)
        scope = f"Project {budget.project.name}" if budget.project_id else "This month"
        rows.append({"scope": scope, "amount": budget.amount_usd, "remaining": max(status["remaining"], Decimal(0))})
    return rows


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def model_prices(tenant, model: BedrockModel) -> list[dict]:
    """Per quality, the price of one image at the model's default size, as of now."""
    width, height = _default_size(model)
    prices = []
    for quality in model.qualities:
        try:
            quote = price_quote(model=model, width=width, height=height, quality=quality, n=1, tenant=tenant)
        except ApplicationError:
            continue
        prices.append({"quality": quality, "unit_price": quote.unit_price})
    return prices


def _default_size(model: BedrockModel) -> tuple[int, int]:
    rule = model.size_rule
    if rule.get("kind") == "aspect_ratio":
        return STABILITY_ASPECT_SIZES.get(rule.get("default") or "1:1", (1024, 1024))
    return tuple(model.default_size or (1024, 1024))


def model_catalog(tenant, models: dict[str, BedrockModel]) -> list[dict]:
    """What the model picker shows and compose.js narrows the form by."""
    catalog = []
    for model in models.values():
        tasks = list(model.task_types)
        if model.supports_conditioning and "TEXT_IMAGE" in tasks:
            tasks.insert(tasks.index("TEXT_IMAGE") + 1, CONDITIONED)
        rule = model.size_rule
        if rule.get("kind") == "fixed":
            largest = max(rule.get("sizes") or [[1024, 1024]], key=lambda size: size[0] * size[1])
            size_text = f"{len(rule.get('sizes', []))} fixed sizes, up to {largest[0]}×{largest[1]}"
        elif rule.get("kind") == "range":
            size_text = f"{rule['min_side']}–{rule['max_side']} px, multiples of {rule['multiple_of']}"
        else:
            size_text = f"aspect ratios {', '.join(rule.get('aspect_ratios', []))}"
        prices = model_prices(tenant, model)
        catalog.append(
            {
                "id": model.model_id, "name": model.name, "family": model.family, "tasks": tasks,
                "task_labels": [TASK_LABELS.get(task, task) for task in tasks], "qualities": list(model.qualities),
                "styles": list(model.styles), "size_rule": rule, "size_text": size_text,
                "default_size": list(_default_size(model)), "output_formats": list(model.output_formats),
                "supports_cfg_scale": model.supports_cfg_scale, "prompt_max_chars": model.prompt_max_chars,
                "max_images_per_call": model.max_images_per_call, "legacy": model.lifecycle() == "legacy",
                "lifecycle_warnings": model_warnings(model), "price_rows": prices, "priced": bool(prices),
                "lacks": sorted(_fields_the_model_lacks(model)), "group": model_group(model),
                "index": len(catalog) + 1,
                **_tool_facts(model),
            }
        )  # fmt: skip
    return catalog


def _tool_facts(model: BedrockModel) -> dict:
    spec = tool_spec(model.model_id)
    if spec is None:
        return {"is_tool": False}
    return {
        "is_tool": True, "task": spec.tasks[0].value, "blurb": TOOL_BLURBS.get(model.model_id, ""),
        "params": [param.as_dict() for param in spec.params], "output_rule": spec.output_rule,
    }  # fmt: skip


# Prefill ------------------------------------------------------------------------------------------


def _initial_values(tenant, query, models: dict[str, BedrockModel]) -> tuple[dict, dict]:
    """The form's first values from the query string (?project, ?task_type, ?source_asset,
    ?from_asset) and the project's defaults; and notes for the page (e.g. the seed it may keep)."""
    names = (*SCALAR_FIELDS, *TOOL_SCALAR_FIELDS, "model", "project", "saved_prompt", "saved_seed", "tags")
    values: dict = dict.fromkeys(names, "")
    values |= {"task_type": "TEXT_IMAGE", "n": "1", "colors": [], "variables": {}, "source_asset": ""}
    notes: dict = {}
    project = None
    if query.get("project"):
        project = library.project_get(tenant=tenant, project_id=query["project"])
    if query.get("from_asset"):
        asset = _asset_or_404(tenant, query["from_asset"])
        project = project or asset.project
        job = asset.job.parent if asset.job and asset.job.parent_id else asset.job
        if job is not None:
            params = job.params
            values["model"] = job.model.model_id
            task = params.get("task", job.task_type)
            values["task_type"] = CONDITIONED if task == "TEXT_IMAGE" and params.get("condition_image") else task
            for name in REGENERATE_FIELDS:
                if params.get(name) not in (None, ""):
                    values[name] = str(params[name])
            values["colors"] = list(params.get("colors") or [])
            values["tags"] = ", ".join(job.tags)
            slot = INPUT_SLOT.get(values["task_type"])
            inputs = job.input_assets.get("images" if slot == "image" and task == "IMAGE_VARIATION" else slot or "")
            if isinstance(inputs, list):
                inputs = inputs[0] if inputs else None
            if inputs:
                values["source_asset"] = str(inputs)
            if job.input_assets.get("mask_image"):
                notes["mask_again"] = True
            if asset.seed is not None:
                notes["previous_seed"] = asset.seed
            notes["regenerating"] = asset
    if query.get("source_asset"):
        asset = _asset_or_404(tenant, query["source_asset"])
        values["source_asset"] = str(asset.pk)
        project = project or asset.project
        values["task_type"] = query.get("task_type") or "IMAGE_VARIATION"
        if asset.job is not None and values["task_type"] in asset.job.model.task_types:
            values["model"] = values["model"] or asset.job.model.model_id
    if query.get("task_type") in TASK_LABELS:
        values["task_type"] = query["task_type"]
    if query.get("model") in models:  # ?model= picks the model (a tool: and so its task)
        values["model"] = query["model"]
        tool = tool_spec(values["model"])
        if tool is not None:
            values["task_type"] = default_task(tool).value
        elif values["task_type"] in TOOL_TASK_LABELS:
            values["task_type"] = "TEXT_IMAGE"
    if project is None:
        # Made on first use, as a job would: the form names the project it posts, so the same form drawn
        # again after its job (Back) posts the same request, not "" then the default project's id.
        project = project_get_default(tenant=tenant)
    if project is not None:
        values["project"] = str(project.pk)
        if not query.get("from_asset"):
            if project.default_model_id and project.default_model.model_id in models:
                values["model"] = values["model"] or project.default_model.model_id
            values["negative_prompt"] = project.default_negative_prompt
            values["quality"] = project.default_quality
            if project.default_width and project.default_height:
                values["width"], values["height"] = str(project.default_width), str(project.default_height)
        if not values["colors"]:
            values["colors"] = list(project.brand_palette)
    chosen = models.get(values["model"])
    if chosen is None or not _does(chosen, values["task_type"]) or not model_prices(tenant, chosen):
        values["model"] = _default_model_id(tenant, models, values["task_type"])
    tool = tool_spec(values["model"])
    if tool is not None:  # a tool does one task
        values["task_type"] = default_task(tool).value
    model = models.get(values["model"])
    if model is not None and not values["width"] and model.size_rule.get("kind") != "aspect_ratio":
        values["width"], values["height"] = (str(side) for side in _default_size(model))
    return values, notes


def _default_model_id(tenant, models: dict[str, BedrockModel], choice: str) -> str:
    """The model the form starts on: ATELIER_DEFAULT_MODEL where it does the task, else the first one
    that does, an Active one before a Legacy one; never one with no price in force (it cannot be used)."""
    priced = [model for model in models.values() if model_prices(tenant, model)]
    able = [model for model in priced if _does(model, choice)] or priced
    # A task a general model does starts on it, not on a tool that does the same (Nova inpaints; so does a tool).
    able.sort(
        key=lambda model: (
            model.model_id != settings.ATELIER_DEFAULT_MODEL, tool_spec(model.model_id) is not None,
            model.lifecycle() != "active",
        )
    )  # fmt: skip
    return able[0].model_id if able else ""


def _does(model: BedrockModel, choice: str) -> bool:
    if choice == CONDITIONED:
        return model.supports_conditioning and "TEXT_IMAGE" in model.task_types
    return choice in model.task_types


def _asset_or_404(tenant, asset_id) -> Asset:
    asset = (
        Asset.objects.for_tenant(tenant).select_related("job__model", "job__parent", "project")
        .filter(pk=_uuid_or_none(asset_id)).first()
    )  # fmt: skip
    if asset is None:
        raise Http404("No such asset.")
    return asset


# Pages --------------------------------------------------------------------------------------------


class ComposePage(TenantPage):
    """GET: the form, prefilled. POST: submit the job; field errors beside their fields (400), the
    budget message when the budget would be passed (402)."""

    template_name = "web/compose/compose.html"
    minimum_role = Role.CREATOR
    nav = "compose"

    def get(self, request, *args, **kwargs):
        models = _model_map(self.tenant)
        values, notes = _initial_values(self.tenant, request.GET, models)
        return self.render_to_response(self.form_context(models, values, notes=notes, estimate=True))

    def post(self, request, *args, **kwargs):
        models = _model_map(self.tenant)
        choice = request.POST.get("task_type", "")
        try:
            form = compose_form(data=request.POST, files=request.FILES, models=models)
            with form_reuse_said_plainly():
                submission = _with_source(
                    services.job_submit, tenant=self.tenant, actor=self.actor, tags=form.tags or None,
                    idempotency_key=self.form_token(), **form.arguments,
                )  # fmt: skip
        except BudgetExceeded as error:
            values = form_values(request.POST)
            context = self.form_context(models, values, budget_error=error.message, estimate=True)
            return self.render_to_response(context, status=402)
        except ApplicationError as error:
            values = form_values(request.POST)
            context = self.form_context(models, values, errors=shown_errors(error, choice), estimate=True)
            status = error.status_code if error.status_code == 409 or error.status_code >= 500 else 400
            return self.render_to_response(context, status=status)
        job = submission.job
        if not submission.created:
            messages.info(request, FORM_ALREADY_SENT)
        else:
            images = "image" if job.images_requested == 1 else "images"
            messages.success(request, f"Job submitted: {job.images_requested} {images} on {job.model.name}.")
        return redirect("web:job", tenant_slug=self.tenant.slug, pk=job.pk)

    def form_context(self, models, values, *, errors=None, notes=None, budget_error=None, estimate=False) -> dict:
        tenant = self.tenant
        catalog = model_catalog(tenant, models)
        projects = list(Project.objects.for_tenant(tenant).filter(archived=False).select_related("default_model"))
        source_asset = None
        if values.get("source_asset"):
            source_asset = Asset.objects.for_tenant(tenant).filter(pk=_uuid_or_none(values["source_asset"])).first()
        saved_prompt = None
        if values.get("saved_prompt"):
            saved_prompt = library.prompt_get(tenant=tenant, prompt_id=values["saved_prompt"])
        mask_type = values.get("mask_type", "")
        context = self.get_context_data(
            values=values, errors=errors or {}, notes=notes or {}, budget_error=budget_error,
            catalog=catalog, catalog_json={m["id"]: {k: v for k, v in m.items() if k != "price_rows"} for m in catalog},
            projects=projects, projects_json=_projects_json(projects), task_choices=TASK_CHOICES,
            source_asset=source_asset, prompts=Prompt.objects.for_tenant(tenant).select_related("project"),
            seeds=Seed.objects.for_tenant(tenant).select_related("project"),
            prompt_fields=_prompt_fields(tenant, saved_prompt, values.get("variables") or {}),
            hints=negative_hints(values.get("prompt", "")), max_images=settings.ATELIER_MAX_BATCH_IMAGES,
            per_call=MAX_IMAGES_PER_REQUEST, max_upload_mb=MAX_INPUT_IMAGE_BYTES // (1024 * 1024),
            outpainting_modes=OUTPAINTING_MODES, control_modes=CONTROL_MODES, size_presets=SIZE_PRESETS,
            aspect_ratios=list(STABILITY_ASPECT_SIZES), summary=error_summary(errors or {}),
            task_fields=task_fields(), try_on=try_on_choices(), try_on_mask_type=try_on_mask_type(mask_type),
            visible=visible_fields(values.get("task_type", ""), models.get(values["model"]), mask_type),
            prompt_fields_url=reverse("web:compose_prompt_fields", args=[tenant.slug]),
            picker_groups=picker_groups(catalog), chosen_tool=tool_spec(values.get("model")) is not None,
            tool_forms=tool_forms(catalog, values, errors or {}, source_asset), painted_mask_field=PAINTED_MASK_FIELD,
            painting_cut=PAINTING_CUT,
        )  # fmt: skip
        if estimate:
            context["estimate"] = _estimate_for_values(tenant, models, values)
        return context


def _projects_json(projects) -> dict:
    return {
        str(project.pk): {
            "name": project.name, "palette": list(project.brand_palette),
            "model": project.default_model.model_id if project.default_model_id else "",
            "negative_prompt": project.default_negative_prompt, "quality": project.default_quality,
            "width": project.default_width, "height": project.default_height,
        }
        for project in projects
    }  # fmt: skip


def _prompt_fields(tenant, prompt, variables: dict) -> dict | None:
    if prompt is None:
        return None
    version = library.prompt_latest_version(prompt=prompt)
    if version is None:
        return None
    names = library.prompt_variables(version.text, version.negative_text)
    return {
        "prompt": prompt, "version": version,
        "variables": [{"name": name, "value": variables.get(name, "")} for name in names],
    }  # fmt: skip


@dataclass(frozen=True)
class Estimate:
    quote: Quote | None
    errors: list[str]
    budgets: list[dict]
    over_budget: bool
    calls: int


def _with_source(service, **arguments):
    """Call a job service; a source asset whose file has gone is a field error, not a 500."""
    try:
        return service(**arguments)
    except FileNotFoundError:
        message = "The source image's file is missing from storage; upload the image instead."
        raise ApplicationError("source_missing", message, fields={"source_asset": [message]}) from None


def _estimate(tenant, arguments: dict) -> Estimate:
    """The quote for the form so far. The prompt's words do not change the price, so a form whose
    prompt is still empty is priced with a stand-in rather than answered with an error."""
    budgets = budgets_left(tenant, arguments.get("project_id"))
    raw = arguments["raw"]
    tool = tool_spec(arguments.get("model_id"))
    needs_prompt = prompt_required(tool, default_task(tool)) if tool else raw.get("task_type") in PROMPT_REQUIRED
    if not arguments.get("saved_prompt_id") and not raw.get("prompt") and needs_prompt:
        arguments = arguments | {"raw": raw | {"prompt": "…"}}
    try:
        quote = _with_source(services.job_quote, tenant=tenant, **arguments)
    except ApplicationError as error:
        return Estimate(None, error_summary(shown_errors(error)), budgets, False, 0)
    over = any(quote.total > budget["remaining"] for budget in budgets) or not budgets
    calls = -(-quote.n // MAX_IMAGES_PER_REQUEST)
    return Estimate(quote, [], budgets, over, calls)


def _estimate_for_values(tenant, models, values: dict) -> Estimate:
    """The estimate for a form's values without uploads (the first render)."""
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for name, value in values.items():
        if name == "colors":
            data.setlist("colors", value)
        elif name == "variables":
            for key, text in value.items():
                data[f"var_{key}"] = text
        else:
            data[name] = value
    try:
        form = compose_form(data=data, files=MultiValueDict(), models=models)
    except ApplicationError as error:
        return Estimate(None, error_summary(shown_errors(error)), budgets_left(tenant, values.get("project")), False, 0)
    return _estimate(tenant, form.arguments)


class ComposeEstimate(TenantPage):
    """htmx: the price of what the form asks for, the budget left, and the negative-word hint."""

    template_name = "web/compose/_estimate.html"
    minimum_role = Role.CREATOR
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        models = _model_map(self.tenant)
        try:
            form = compose_form(data=request.POST, files=request.FILES, models=models)
        except ApplicationError as error:
            estimate = Estimate(None, error_summary(shown_errors(error)), budgets_left(self.tenant), False, 0)
        else:
            estimate = _estimate(self.tenant, form.arguments)
        prompt = request.POST.get("prompt", "")
        context = self.get_context_data(
            estimate=estimate, hints=negative_hints(prompt), oob=True,
            suggested_negative=negative_with(request.POST.get("negative_prompt", ""), negative_hints(prompt)),
        )  # fmt: skip
        return self.render_to_response(context)


class ComposePromptFields(TenantPage):
    """htmx: an input for each `{variable}` of a saved prompt's latest version."""

    template_name = "web/compose/_prompt_fields.html"
    minimum_role = Role.CREATOR

    def get(self, request, *args, **kwargs):
        prompt = None
        if request.GET.get("saved_prompt"):
            prompt = library.prompt_get(tenant=self.tenant, prompt_id=request.GET["saved_prompt"])
            if prompt is None:
                raise Http404("No such prompt.")
        variables = {key[4:]: value for key, value in request.GET.items() if key.startswith("var_")}
        context = self.get_context_data(prompt_fields=_prompt_fields(self.tenant, prompt, variables), errors={})
        return self.render_to_response(context)


# Jobs ---------------------------------------------------------------------------------------------


def _job_or_404(tenant, pk) -> GenerationJob:
    queryset = GenerationJob.objects.for_tenant(tenant).select_related("model", "project", "requested_by_user")
    return get_object_or_404(queryset, pk=pk)


def job_progress(job: GenerationJob) -> dict:
    """Everything the progress fragment shows: counts, each image's state, a batch's parts."""
    leaves = list(job.children.order_by("created_at")) if job.is_batch else [job]
    assets = list(job_assets(job).select_related("tenant", "job"))
    by_job: dict = {}
    for asset in assets:
        by_job.setdefault(asset.job_id, []).append(asset)
    slots = []
    for leaf in leaves:
        made = by_job.get(leaf.deduplicated_from_id or leaf.pk, [])
        slots += [{"state": "done", "asset": asset} for asset in made]
        missing = max(leaf.images_requested - len(made), 0)
        filtered = min(leaf.images_filtered, missing) if leaf.is_terminal else 0
        slots += [{"state": "filtered", "asset": None}] * filtered
        pending = {"queued": "queued", "running": "rendering"}.get(leaf.status, leaf.status)
        slots += [{"state": pending, "asset": None}] * (missing - filtered)
    total = job.images_requested
    done = len(assets)
    children = [
        {"job": child, "done": len(by_job.get(child.pk, []))} for child in leaves
    ] if job.is_batch else []  # fmt: skip
    failed_parts = sum(1 for child in leaves if child.status == GenerationJob.Status.FAILED) if job.is_batch else 0
    return {
        "job": job, "slots": slots, "assets": assets, "done": done, "total": total,
        "percent": int(100 * done / total) if total else 100, "children": children, "failed_parts": failed_parts,
        "filtered": sum(leaf.images_filtered for leaf in leaves),
        "terminal": job.is_terminal, "cost": job_cost(job),
        "reserved": (job.unit_price_usd or Decimal(0)) * job.images_requested,
    }  # fmt: skip


class JobPage(TenantPage):
    template_name = "web/compose/job.html"
    nav = "compose"

    def get_context_data(self, **kwargs):
        job = _job_or_404(self.tenant, self.kwargs["pk"])
        context = super().get_context_data(**kwargs)
        context.update(job_progress(job), prompt=job.params.get("prompt", ""), task_label=_task_label(job))
        return context


def _task_label(job: GenerationJob) -> str:
    if job.task_type == "TEXT_IMAGE" and job.params.get("condition_image"):
        return TASK_LABELS[CONDITIONED]
    return TASK_LABELS.get(job.task_type, job.task_type)


class JobProgress(TenantPage):
    """The progress fragment: what the job page shows without JavaScript's stream (JobEvents), fetched every few
    seconds by its fallback when the stream cannot be had."""

    template_name = "web/compose/_job_progress.html"

    def get_context_data(self, **kwargs):
        job = _job_or_404(self.tenant, self.kwargs["pk"])
        context = super().get_context_data(**kwargs)
        context.update(job_progress(job))
        return context


# A job page's stream ends after this long; the browser's EventSource opens the next one (after `retry`).
JOB_EVENTS_STREAM_SECONDS = 300
JOB_EVENTS_RETRY_MS = 3000


class JobEvents(TenantPage):
    """The job page's live progress, instead of polling: server-sent events on the page's session, each a
    `progress` event holding the progress fragment rendered anew when the job changes (its images land, it ends;
    generation.job_events), then `end`. The stream waits on the event loop, holding no thread. Another tenant's
    job is a 404, as everywhere."""

    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        job = _job_or_404(self.tenant, self.kwargs["pk"])
        response = StreamingHttpResponse(self._events(job.pk), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # a proxy passes each event on as it comes
        return response

    async def _events(self, job_id):
        yield f"retry: {JOB_EVENTS_RETRY_MS}\n\n".encode()
        deadline = time.monotonic() + JOB_EVENTS_STREAM_SECONDS
        async with contextlib.aclosing(job_watch(job_id, deadline=deadline)) as rows:
            async for job in rows:
                if not await released(self._still_allowed)():
                    return  # the browser's next try is the 404 anyone outside the tenant gets
                html = await released(self._fragment)(job_id)
                yield sse_event("progress", {"status": job.status, "terminal": job.is_terminal, "html": html})
                if job.is_terminal:
                    yield sse_event("end", {"status": job.status})

    def _still_allowed(self) -> bool:
        # Asked before each event: a person removed or deactivated meanwhile sees nothing more of the tenant's jobs.
        return member_still_active(tenant=self.tenant, user=self.request.user)

    def _fragment(self, job_id) -> str:
        context = self.get_context_data() | job_progress(_job_or_404(self.tenant, job_id))
        return render_to_string("web/compose/_job_progress.html", context, request=self.request)


class JobCancel(TenantPage):
    minimum_role = Role.CREATOR
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        job = _job_or_404(self.tenant, self.kwargs["pk"])
        try:
            services.job_cancel(tenant=self.tenant, job=job, actor=self.actor)
        except ApplicationError as error:  # back to the job page, not to this post-only URL
            messages.error(request, error.message)
        else:
            messages.success(
                request, "The job was cancelled: the images made are charged, the rest is released from the budget."
            )
        return redirect("web:job", tenant_slug=self.tenant.slug, pk=job.pk)


JOBS_PER_PAGE = 25


class JobsPage(TenantPage):
    template_name = "web/compose/jobs.html"
    nav = "compose"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        jobs = (
            GenerationJob.objects.for_tenant(self.tenant).filter(parent=None)
            .select_related("model", "project", "requested_by_user").order_by("-created_at")
        )  # fmt: skip
        status = self.request.GET.get("status", "")
        if status in GenerationJob.Status.values:
            jobs = jobs.filter(status=status)
        page = Paginator(jobs, JOBS_PER_PAGE).get_page(self.request.GET.get("page"))
        jobs = list(page.object_list)
        costs = job_costs(jobs)  # the page's in one query
        rows = [
            {"job": job, "prompt": job.params.get("prompt", ""), "cost": costs[job.pk], "task": _task_label(job)}
            for job in jobs
        ]
        context.update(page=page, rows=rows, status=status, statuses=GenerationJob.Status.choices)
        return context


urlpatterns = [
    path("compose/", ComposePage.as_view(), name="compose"),
    path("compose/estimate/", ComposeEstimate.as_view(), name="compose_estimate"),
    path("compose/prompt-fields/", ComposePromptFields.as_view(), name="compose_prompt_fields"),
    path("jobs/", JobsPage.as_view(), name="jobs"),
    path("jobs/<uuid:pk>/", JobPage.as_view(), name="job"),
    path("jobs/<uuid:pk>/progress/", JobProgress.as_view(), name="job_progress"),
    path("jobs/<uuid:pk>/events/", JobEvents.as_view(), name="job_events"),
    path("jobs/<uuid:pk>/cancel/", JobCancel.as_view(), name="job_cancel"),
]
