"""The static facts of every Bedrock image model: tasks, sizes, limits. Plain Python (no Django),
read by the catalog (its seed migration), by request validation and by the local emulator, so
no limit is written twice. Source: ../shared/bedrock/REFERENCE.md."""

from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction


class Family(StrEnum):
    TITAN = "titan"
    NOVA = "nova"
    STABILITY = "stability"


class Task(StrEnum):
    TEXT_IMAGE = "TEXT_IMAGE"  # with condition_image: conditioned generation
    COLOR_GUIDED_GENERATION = "COLOR_GUIDED_GENERATION"
    IMAGE_VARIATION = "IMAGE_VARIATION"
    INPAINTING = "INPAINTING"
    OUTPAINTING = "OUTPAINTING"
    BACKGROUND_REMOVAL = "BACKGROUND_REMOVAL"
    IMAGE_TO_IMAGE = "IMAGE_TO_IMAGE"  # Stability SD3.5 `mode: image-to-image`
    # The Stability AI Image Services (each its own model id; INPAINTING, OUTPAINTING and
    # BACKGROUND_REMOVAL above have a Stability tool each too).
    UPSCALE = "UPSCALE"
    SEARCH_REPLACE = "SEARCH_REPLACE"
    SEARCH_RECOLOR = "SEARCH_RECOLOR"
    ERASE_OBJECT = "ERASE_OBJECT"
    CONTROL_SKETCH = "CONTROL_SKETCH"
    CONTROL_STRUCTURE = "CONTROL_STRUCTURE"
    STYLE_GUIDE = "STYLE_GUIDE"
    STYLE_TRANSFER = "STYLE_TRANSFER"
    VIRTUAL_TRY_ON = "VIRTUAL_TRY_ON"  # Nova Canvas: dress the source image in the reference image's garment


EDIT_TASKS = {
    Task.INPAINTING, Task.OUTPAINTING, Task.BACKGROUND_REMOVAL, Task.IMAGE_TO_IMAGE, Task.UPSCALE,
    Task.SEARCH_REPLACE, Task.SEARCH_RECOLOR, Task.ERASE_OBJECT, Task.STYLE_TRANSFER, Task.VIRTUAL_TRY_ON,
}  # fmt: skip

# Limits shared by every model (REFERENCE.md, "Common limits").
MAX_IMAGES_PER_REQUEST = 5
MAX_INPUT_IMAGE_BYTES = 5 * 1024 * 1024
MIN_INPUT_IMAGE_SIDE = 64  # Atelier's floor: smaller inputs are mistakes, not images
MAX_DECODED_PIXELS = 4096 * 4096  # anything larger is refused before it is decoded (bomb guard)
MAX_COLORS = 10
MAX_VARIATION_IMAGES = 5
CFG_SCALE_RANGE = (1.1, 10.0)
CFG_SCALE_DEFAULT = 6.5
SIMILARITY_RANGE = (0.2, 1.0)
SIMILARITY_DEFAULT = 0.7
CONTROL_STRENGTH_RANGE = (0.0, 1.0)
CONTROL_STRENGTH_DEFAULT = 0.7
STRENGTH_RANGE = (0.0, 1.0)  # Stability image-to-image
CONTROL_MODES = ("CANNY_EDGE", "SEGMENTATION")
OUTPAINTING_MODES = ("DEFAULT", "PRECISE")
NEGATION_WORDS = ("no", "not", "without", "never", "don't", "dont", "none")

TITAN_SIZES = (
    (1024, 1024), (768, 768), (512, 512), (768, 1152), (384, 576), (1152, 768), (576, 384),
    (768, 1280), (384, 640), (1280, 768), (640, 384), (896, 1152), (448, 576), (1152, 896),
    (576, 448), (768, 1408), (384, 704), (1408, 768), (704, 384), (640, 1408), (320, 704),
    (1408, 640), (704, 320), (1152, 640), (1173, 640),
)  # fmt: skip

NOVA_STYLES = (
    "3D_ANIMATED_FAMILY_FILM", "DESIGN_SKETCH", "FLAT_VECTOR_ILLUSTRATION", "GRAPHIC_NOVEL_ILLUSTRATION",
    "MAXIMALISM", "MIDCENTURY_RETRO", "PHOTOREALISM", "SOFT_DIGITAL_PAINTING",
)  # fmt: skip

# Nova Canvas virtual try-on (Amazon Nova user guide, "Request and response structure for image
# generation": https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html).
# The mask says where the garment goes: a mask image (black = change), a garment class Nova detects,
# or a mask prompt; outside it BALANCED keeps every pixel.
TRY_ON_MASK_TYPES = ("IMAGE", "GARMENT", "PROMPT")
TRY_ON_GARMENT_CLASSES = (
    "UPPER_BODY", "LOWER_BODY", "FULL_BODY", "FOOTWEAR", "LONG_SLEEVE_SHIRT", "SHORT_SLEEVE_SHIRT", "NO_SLEEVE_SHIRT",
    "OTHER_UPPER_BODY", "LONG_PANTS", "SHORT_PANTS", "OTHER_LOWER_BODY", "LONG_DRESS", "SHORT_DRESS",
    "FULL_BODY_OUTFIT", "OTHER_FULL_BODY", "SHOES", "BOOTS", "OTHER_FOOTWEAR",
)  # fmt: skip
TRY_ON_MASK_SHAPES = ("CONTOUR", "BOUNDING_BOX", "DEFAULT")
TRY_ON_GARMENT_STYLING = {  # request field → its values (garmentBasedMask.garmentStyling)
    "long_sleeve_style": ("SLEEVE_DOWN", "SLEEVE_UP"),
    "tucking_style": ("UNTUCKED", "TUCKED"),
    "outer_layer_style": ("CLOSED", "OPEN"),
}
TRY_ON_EXCLUSIONS = ("preserve_body_pose", "preserve_hands", "preserve_face")  # maskExclusions, each:
TRY_ON_EXCLUSION_VALUES = ("ON", "OFF", "DEFAULT")
TRY_ON_MERGE_STYLES = ("BALANCED", "SEAMLESS", "DETAILED")
# The fields each mask type takes; another mask type's fields are refused by name.
TRY_ON_MASK_FIELDS = {
    "IMAGE": frozenset({"mask_image"}),
    "GARMENT": frozenset({"garment_class", "mask_shape", *TRY_ON_GARMENT_STYLING}),
    "PROMPT": frozenset({"mask_prompt", "mask_shape"}),
}

# Stability output sizes per aspect ratio (about one megapixel, the sizes the models render).
STABILITY_ASPECT_SIZES = {
    "16:9": (1344, 768), "1:1": (1024, 1024), "21:9": (1536, 640), "2:3": (832, 1248), "3:2": (1248, 832),
    "4:5": (896, 1120), "5:4": (1120, 896), "9:16": (768, 1344), "9:21": (640, 1536),
}  # fmt: skip


@dataclass(frozen=True)
class SizeRule:
    """How a model's output size is chosen and checked. kind: "fixed" (a list of sizes), "range"
    (free width/height within bounds), "aspect_ratio" (named ratios)."""

    kind: str
    sizes: tuple[tuple[int, int], ...] = ()
    min_side: int = 0
    max_side: int = 0
    multiple_of: int = 1
    max_pixels: int = 0
    min_ratio: Fraction = Fraction(0)
    max_ratio: Fraction = Fraction(0)
    aspect_ratios: tuple[str, ...] = ()
    default: str = ""

    def problem(self, width: int, height: int) -> str | None:
        """Why width×height is not allowed, or None."""
        if self.kind == "fixed":
            if (width, height) not in self.sizes:
                allowed = ", ".join(f"{w}x{h}" for w, h in self.sizes)
                return f"{width}x{height} is not a supported size; use one of {allowed}."
            return None
        if self.kind == "range":
            if not (self.min_side <= width <= self.max_side and self.min_side <= height <= self.max_side):
                return f"Width and height must each be {self.min_side}–{self.max_side} px."
            if width % self.multiple_of or height % self.multiple_of:
                return f"Width and height must be multiples of {self.multiple_of}."
            if not (self.min_ratio <= Fraction(width, height) <= self.max_ratio):
                return f"The aspect ratio must be between {_ratio(self.min_ratio)} and {_ratio(self.max_ratio)}."
            if width * height > self.max_pixels:
                return f"{width}x{height} is {width * height:,} px; the most is {self.max_pixels:,}."
            return None
        return "This model takes an aspect ratio, not a size."

    def side_problem(self, side: int) -> bool:
        """Whether one side alone breaks the rule (range rules only: bounds and multiple)."""
        if self.kind != "range":
            return False
        return not self.min_side <= side <= self.max_side or side % self.multiple_of != 0

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "sizes": [list(size) for size in self.sizes],
            "min_side": self.min_side,
            "max_side": self.max_side,
            "multiple_of": self.multiple_of,
            "max_pixels": self.max_pixels,
            "min_ratio": str(self.min_ratio),
            "max_ratio": str(self.max_ratio),
            "aspect_ratios": list(self.aspect_ratios),
            "default": self.default,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SizeRule":
        return cls(
            kind=data["kind"],
            sizes=tuple(tuple(size) for size in data.get("sizes", ())),
            min_side=data.get("min_side", 0),
            max_side=data.get("max_side", 0),
            multiple_of=data.get("multiple_of", 1),
            max_pixels=data.get("max_pixels", 0),
            min_ratio=Fraction(data.get("min_ratio", "0")),
            max_ratio=Fraction(data.get("max_ratio", "0")),
            aspect_ratios=tuple(data.get("aspect_ratios", ())),
            default=data.get("default", ""),
        )


@dataclass(frozen=True)
class Param:
    """One field a Stability image service takes: how it is checked, and its key in the body.
    A tool's spec lists all of its fields, so validation, the body, the emulator, the composer and
    the README table read the same declaration."""

    name: str  # the request field, as Atelier's API names it
    kind: str  # text | number | integer | choice | image | mask | side
    required: bool = False
    low: float = 0
    high: float = 0
    default: float | int | str | None = None
    choices: tuple[str, ...] = ()
    wire: str = ""  # the body's key, where it differs from name
    help: str = ""
    # Input images: the smallest and largest side, the most pixels, the widest aspect ratio the tool takes.
    min_side: int = MIN_INPUT_IMAGE_SIDE
    max_side: int = 0
    max_pixels: int = 0
    max_aspect: Fraction = Fraction(0)

    @property
    def key(self) -> str:
        return self.wire or self.name

    def as_dict(self) -> dict:
        """For the catalog API and the composer: what a person may send, and its limits."""
        data = {"name": self.name, "kind": self.kind, "required": self.required, "help": self.help}
        if self.kind in ("number", "integer", "side"):
            data |= {"min": self.low, "max": self.high, "default": self.default}
        elif self.kind == "choice":
            data |= {"choices": list(self.choices), "default": self.default}
        elif self.kind in ("image", "mask"):
            data |= {"min_side": self.min_side, "max_side": self.max_side, "max_pixels": self.max_pixels}
            data["max_aspect"] = str(self.max_aspect) if self.max_aspect else None
        return data


def _ratio(value: Fraction) -> str:
    return f"{value.numerator}:{value.denominator}"


TITAN_SIZE_RULE = SizeRule(kind="fixed", sizes=TITAN_SIZES)
NOVA_SIZE_RULE = SizeRule(
    kind="range", min_side=320, max_side=4096, multiple_of=16, max_pixels=4_194_304,
    min_ratio=Fraction(1, 4), max_ratio=Fraction(4, 1),
)  # fmt: skip
STABILITY_SIZE_RULE = SizeRule(kind="aspect_ratio", aspect_ratios=tuple(STABILITY_ASPECT_SIZES), default="1:1")


@dataclass(frozen=True)
class ModelSpec:
    """What one model accepts. The catalog row carries the same fields (seeded from here) so an
    operator can narrow them; validation takes whichever spec it is given."""

    model_id: str
    name: str
    family: Family
    tasks: tuple[Task, ...]
    size_rule: SizeRule
    max_images_per_call: int
    qualities: tuple[str, ...]
    prompt_max_chars: int
    negative_max_chars: int
    seed_max: int
    styles: tuple[str, ...] = ()
    supports_conditioning: bool = False  # TEXT_IMAGE with condition_image
    supports_cfg_scale: bool = True
    output_formats: tuple[str, ...] = ("png",)
    edit_max_side: int = 4096  # largest input side for edits (Titan in/outpainting: 1408)
    variation_max_side: int = 4096
    default_size: tuple[int, int] = (1024, 1024)
    # A Stability image service's own fields, and how its output size follows from its input
    # (OutputRule). Code facts, not catalog data: from_row takes them from SPECS.
    params: tuple[Param, ...] = ()
    output_rule: str = ""

    @property
    def is_tool(self) -> bool:
        return bool(self.params)

    def param(self, name: str) -> Param | None:
        return next((param for param in self.params if param.name == name), None)

    def as_row(self) -> dict:
        """The catalog row's fields (generation.models.BedrockModel), as the seed migration writes them."""
        return {
            "model_id": self.model_id,
            "name": self.name,
            "family": self.family.value,
            "task_types": [task.value for task in self.tasks],
            "size_rule": self.size_rule.as_dict(),
            "max_images_per_call": self.max_images_per_call,
            "qualities": list(self.qualities),
            "prompt_max_chars": self.prompt_max_chars,
            "negative_max_chars": self.negative_max_chars,
            "seed_max": self.seed_max,
            "styles": list(self.styles),
            "supports_conditioning": self.supports_conditioning,
            "supports_cfg_scale": self.supports_cfg_scale,
            "output_formats": list(self.output_formats),
            "edit_max_side": self.edit_max_side,
            "variation_max_side": self.variation_max_side,
            "default_size": list(self.default_size),
        }

    @classmethod
    def from_row(cls, row: dict) -> "ModelSpec":
        return cls(
            model_id=row["model_id"],
            name=row["name"],
            family=Family(row["family"]),
            tasks=tuple(Task(task) for task in row["task_types"]),
            size_rule=SizeRule.from_dict(row["size_rule"]),
            max_images_per_call=row["max_images_per_call"],
            qualities=tuple(row["qualities"]),
            prompt_max_chars=row["prompt_max_chars"],
            negative_max_chars=row["negative_max_chars"],
            seed_max=row["seed_max"],
            styles=tuple(row["styles"]),
            supports_conditioning=row["supports_conditioning"],
            supports_cfg_scale=row["supports_cfg_scale"],
            output_formats=tuple(row["output_formats"]),
            edit_max_side=row["edit_max_side"],
            variation_max_side=row["variation_max_side"],
            default_size=tuple(row["default_size"]),
            params=SPECS[row["model_id"]].params if row["model_id"] in SPECS else (),
            output_rule=SPECS[row["model_id"]].output_rule if row["model_id"] in SPECS else "",
        )


_TITAN_V1_TASKS = (Task.TEXT_IMAGE, Task.INPAINTING, Task.OUTPAINTING, Task.IMAGE_VARIATION)
_TITAN = dict(
    family=Family.TITAN, size_rule=TITAN_SIZE_RULE, max_images_per_call=MAX_IMAGES_PER_REQUEST,
    qualities=("standard", "premium"), negative_max_chars=1024, seed_max=2_147_483_646, edit_max_side=1408,
)  # fmt: skip
_STABILITY = dict(
    family=Family.STABILITY, size_rule=STABILITY_SIZE_RULE, max_images_per_call=1, qualities=("standard",),
    prompt_max_chars=10_000, negative_max_chars=10_000, seed_max=4_294_967_295, supports_cfg_scale=False,
    output_formats=("png", "jpeg"),
)  # fmt: skip
# output_format, per the AWS Bedrock user guide (the user guide wins over AWS's sample notebooks, which list other
# formats for all three): Stable Image Core and Ultra "Supported formats: JPEG, PNG", SD3.5 Large "Enum: jpeg, png,
# webp. Default png". https://docs.aws.amazon.com/bedrock/latest/userguide/ +
# model-parameters-diffusion-stable-image-core-text-image-request-response.html,
# model-parameters-diffusion-stable-ultra-text-image-request-response.html, model-parameters-diffusion-3-5-large.html
SD35_OUTPUT_FORMATS = ("png", "jpeg", "webp")

# The Stability AI Image Services: thirteen tools, each its own model id, all InvokeModel with a
# flat snake_case body answering {"seeds", "finish_reasons", "images"}. Source of every field, range,
# default and input limit: AWS Bedrock user guide, "Stability AI Image Services",
# https://docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html (its Python
# examples call the `us.` inference profiles in us-east-1), checked against
# aws-samples/stabilityai-sample-notebooks (stability-ai-image-services) and litellm's Bedrock
# Stability transformation. Where AWS and CATALOG-2026.md differed, AWS wins: conservative
# upscale's creativity is 0.1–0.5, outpaint's 0.1–1 and outpaint takes no negative prompt.
# AWS states no exact output size except fast upscale's 4x; OutputRule records what Atelier
# prices and stores by.
STABILITY_STYLE_PRESETS = (
    "3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance", "fantasy-art",
    "isometric", "line-art", "low-poly", "modeling-compound", "neon-punk", "origami", "photographic", "pixel-art",
    "tile-texture",
)  # fmt: skip
TOOL_OUTPUT_FORMATS = ("png", "jpeg", "webp")
TOOL_SEED_MAX = 4_294_967_294
TOOL_MAX_INPUT_PIXELS = 9_437_184  # Stability's edit and control tools: every input at most ~9.4 MP
TOOL_MAX_ASPECT = Fraction(5, 2)  # inputs between 1:2.5 and 2.5:1
UPSCALE_MAX_INPUT_PIXELS = 1_048_576  # creative and fast upscale take at most 1 MP
FAST_UPSCALE_MAX_SIDE = 1536
UPSCALE_TARGET_PIXELS = 4_194_304  # creative and conservative upscale: "to 4K"; Atelier reckons about 4 MP
OUTPAINT_MAX_SIDE = 2000


class OutputRule(StrEnum):
    """How a tool's output size follows from its inputs: what prices and storage go by."""

    SAME = "same"  # the input image's size
    TIMES_FOUR = "times_four"  # fast upscale: 4x each side
    UPSCALE = "upscale"  # creative and conservative upscale: about UPSCALE_TARGET_PIXELS, same aspect
    OUTPAINT = "outpaint"  # the input plus the sides asked for
    ASPECT_RATIO = "aspect_ratio"  # style guide: a named ratio's size


# The same rules in words, for people (the admin, /v1's errors).
OUTPUT_RULE_TEXT = {
    OutputRule.SAME: "the input image's size",
    OutputRule.TIMES_FOUR: "4x each side of the input image",
    OutputRule.UPSCALE: f"about {UPSCALE_TARGET_PIXELS / 1e6:.0f} MP, the input image's aspect ratio",
    OutputRule.OUTPAINT: "the input image's size plus the sides asked for (left, right, up, down)",
    OutputRule.ASPECT_RATIO: "the size of the aspect_ratio asked for",
}


def _prompt(required: bool = True, help: str = "What the result should show.") -> Param:
    return Param("prompt", "text", required=required, help=help)


_NEGATIVE = Param("negative_prompt", "text", help="What the result should not show.")
_SEED = Param("seed", "integer", low=0, high=TOOL_SEED_MAX, help="0 or empty: a random seed, stored.")
_FORMAT = Param("output_format", "choice", choices=TOOL_OUTPUT_FORMATS, default="png")
_STYLE = Param("style", "choice", choices=STABILITY_STYLE_PRESETS, wire="style_preset", help="A style preset.")
_IMAGE = Param(
    "image", "image", required=True, max_pixels=TOOL_MAX_INPUT_PIXELS, max_aspect=TOOL_MAX_ASPECT,
    help="The image to work on.",
)  # fmt: skip
_MASK = Param(
    "mask_image", "mask", wire="mask",
    help="Black where to change, white to keep (sent to Stability inverted, as it reads white). "
    "Empty: the image's transparent pixels.",
)  # fmt: skip


def _grow_mask(default: int) -> Param:
    return Param("grow_mask", "integer", low=0, high=20, default=default, help="Grow the mask's edges by this many px.")


def _strength(name: str, low: float, high: float, default: float, help: str) -> Param:
    return Param(name, "number", low=low, high=high, default=default, help=help)


def _side(name: str) -> Param:
    return Param(name, "side", low=0, high=OUTPAINT_MAX_SIDE, help=f"Pixels to add on the {name}.")


def _tool(model_id: str, name: str, task: Task, params: tuple[Param, ...], output_rule=OutputRule.SAME) -> ModelSpec:
    return ModelSpec(
        model_id, name, family=Family.STABILITY, tasks=(task,), size_rule=STABILITY_SIZE_RULE, max_images_per_call=1,
        qualities=("standard",), prompt_max_chars=10_000, negative_max_chars=10_000, seed_max=TOOL_SEED_MAX,
        supports_cfg_scale=False, output_formats=next(p.choices for p in params if p.name == "output_format"),
        params=params, output_rule=output_rule.value,
    )  # fmt: skip


_UPSCALE_IMAGE = replace(
    _IMAGE, max_pixels=UPSCALE_MAX_INPUT_PIXELS, max_aspect=Fraction(0), help="The image to upscale."
)
TOOL_SPECS = (
    _tool("stability.stable-creative-upscale-v1:0", "Stable Creative Upscale", Task.UPSCALE, (
        _UPSCALE_IMAGE, _prompt(), _NEGATIVE,
        _strength("creativity", 0.1, 0.5, 0.3, "How much new detail to invent."), _STYLE, _SEED, _FORMAT,
    ), OutputRule.UPSCALE),
    _tool("stability.stable-conservative-upscale-v1:0", "Stable Conservative Upscale", Task.UPSCALE, (
        replace(_IMAGE, help="The image to upscale."), _prompt(), _NEGATIVE,
        _strength("creativity", 0.1, 0.5, 0.35, "How much new detail to invent."), _SEED, _FORMAT,
    ), OutputRule.UPSCALE),
    _tool("stability.stable-fast-upscale-v1:0", "Stable Fast Upscale", Task.UPSCALE, (
        replace(_UPSCALE_IMAGE, min_side=32, max_side=FAST_UPSCALE_MAX_SIDE), _FORMAT,
    ), OutputRule.TIMES_FOUR),
    _tool("stability.stable-image-inpaint-v1:0", "Stable Image Inpaint", Task.INPAINTING, (
        _IMAGE, _MASK, _prompt(help="What to paint where the mask is black."), _NEGATIVE, _grow_mask(5), _STYLE,
        _SEED, _FORMAT,
    )),
    _tool("stability.stable-outpaint-v1:0", "Stable Image Outpaint", Task.OUTPAINTING, (
        _IMAGE, _side("left"), _side("right"), _side("up"), _side("down"),
        _strength("creativity", 0.1, 1.0, 0.5, "How freely the new area is invented."),
        _prompt(required=False, help="What the new area should show."), _STYLE, _SEED, _FORMAT,
    ), OutputRule.OUTPAINT),
    _tool("stability.stable-image-search-replace-v1:0", "Stable Image Search and Replace", Task.SEARCH_REPLACE, (
        _IMAGE, _prompt(help="What to put in its place."),
        Param("search_prompt", "text", required=True, help="What to find and replace."), _NEGATIVE, _grow_mask(5),
        _STYLE, _SEED, _FORMAT,
    )),
    _tool("stability.stable-image-search-recolor-v1:0", "Stable Image Search and Recolor", Task.SEARCH_RECOLOR, (
        _IMAGE, _prompt(help="The new colours, e.g. 'a bright red jacket'."),
        Param("select_prompt", "text", required=True, help="What to find and recolour."), _NEGATIVE, _grow_mask(5),
        _STYLE, _SEED, _FORMAT,
    )),
    _tool("stability.stable-image-erase-object-v1:0", "Stable Image Erase Object", Task.ERASE_OBJECT, (
        _IMAGE, replace(_MASK, help="Black over what to erase, white to keep. Empty: the image's transparent pixels."),
        _grow_mask(5), _SEED, _FORMAT,
    )),
    _tool("stability.stable-image-remove-background-v1:0", "Stable Image Remove Background", Task.BACKGROUND_REMOVAL, (
        # Bedrock also offers jpeg, which has no transparency: Atelier keeps the formats that can show the cut-out.
        _IMAGE, replace(_FORMAT, choices=("png", "webp")),
    )),
    _tool("stability.stable-image-control-sketch-v1:0", "Stable Image Control Sketch", Task.CONTROL_SKETCH, (
        replace(_IMAGE, help="The sketch to follow."), _prompt(), _NEGATIVE,
        _strength("control_strength", 0.0, 1.0, 0.7, "How closely to follow the sketch."), _STYLE, _SEED, _FORMAT,
    )),
    _tool("stability.stable-image-control-structure-v1:0", "Stable Image Control Structure", Task.CONTROL_STRUCTURE, (
        replace(_IMAGE, help="The image whose structure to keep."), _prompt(), _NEGATIVE,
        _strength("control_strength", 0.0, 1.0, 0.7, "How closely to keep the structure."), _STYLE, _SEED, _FORMAT,
    )),
    _tool("stability.stable-image-style-guide-v1:0", "Stable Image Style Guide", Task.STYLE_GUIDE, (
        replace(_IMAGE, help="The style reference."), _prompt(), _NEGATIVE,
        _strength("fidelity", 0.0, 1.0, 0.5, "How closely to match the reference's style."),
        Param("aspect_ratio", "choice", choices=tuple(STABILITY_ASPECT_SIZES), default="1:1"), _STYLE, _SEED, _FORMAT,
    ), OutputRule.ASPECT_RATIO),
    _tool("stability.stable-style-transfer-v1:0", "Stable Style Transfer", Task.STYLE_TRANSFER, (
        replace(_IMAGE, wire="init_image", help="The image to restyle."),
        replace(_IMAGE, name="style_image", help="The image whose style to apply."),
        _prompt(required=False, help="Optional guidance."), _NEGATIVE,
        _strength("style_strength", 0.0, 1.0, 1.0, "How strongly the style is applied."),
        _strength("composition_fidelity", 0.0, 1.0, 0.9, "How closely the composition is kept."),
        _strength("change_strength", 0.1, 1.0, 0.9, "How much the image may change."), _SEED, _FORMAT,
    )),
)  # fmt: skip

SPECS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        ModelSpec("amazon.titan-image-generator-v1", "Titan Image Generator G1", tasks=_TITAN_V1_TASKS,
                  prompt_max_chars=512, **_TITAN),
        ModelSpec("amazon.titan-image-generator-v2:0", "Titan Image Generator G1 v2",
                  tasks=(*_TITAN_V1_TASKS, Task.COLOR_GUIDED_GENERATION, Task.BACKGROUND_REMOVAL),
                  prompt_max_chars=1024, supports_conditioning=True, **_TITAN),
        ModelSpec("amazon.nova-canvas-v1:0", "Nova Canvas", family=Family.NOVA,
                  tasks=(Task.TEXT_IMAGE, Task.COLOR_GUIDED_GENERATION, Task.IMAGE_VARIATION, Task.INPAINTING,
                         Task.OUTPAINTING, Task.BACKGROUND_REMOVAL, Task.VIRTUAL_TRY_ON),
                  size_rule=NOVA_SIZE_RULE, max_images_per_call=MAX_IMAGES_PER_REQUEST,
                  qualities=("standard", "premium"), prompt_max_chars=1024, negative_max_chars=1024,
                  seed_max=858_993_459, styles=NOVA_STYLES, supports_conditioning=True),
        ModelSpec("stability.stable-image-core-v1:0", "Stable Image Core 1.0", tasks=(Task.TEXT_IMAGE,), **_STABILITY),
        ModelSpec("stability.stable-image-core-v1:1", "Stable Image Core 1.1", tasks=(Task.TEXT_IMAGE,), **_STABILITY),
        ModelSpec("stability.stable-image-ultra-v1:0", "Stable Image Ultra 1.0", tasks=(Task.TEXT_IMAGE,),
                  **_STABILITY),
        ModelSpec("stability.stable-image-ultra-v1:1", "Stable Image Ultra 1.1", tasks=(Task.TEXT_IMAGE,),
                  **_STABILITY),
        ModelSpec("stability.sd3-5-large-v1:0", "Stable Diffusion 3.5 Large",
                  tasks=(Task.TEXT_IMAGE, Task.IMAGE_TO_IMAGE), **_STABILITY | {"output_formats": SD35_OUTPUT_FORMATS}),
        *TOOL_SPECS,
    )
}  # fmt: skip


def spec_for_invoked_id(model_id: str) -> ModelSpec | None:
    """The spec behind an id Bedrock is called with: a base id, a cross-region inference profile
    id (`us.amazon.nova-canvas-v1:0`) or an ARN ending in either."""
    tail = model_id.rsplit("/", 1)[-1]
    for candidate in (tail, tail.split(".", 1)[-1]):
        if candidate in SPECS:
            return SPECS[candidate]
    return None
