"""The static facts of every Bedrock image model: tasks, sizes, limits. Plain Python (no Django),
read by the catalog (its seed migration), by request validation and by the local emulator, so
no limit is written twice. Source: ../shared/bedrock/REFERENCE.md."""

from dataclasses import dataclass
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


EDIT_TASKS = {Task.INPAINTING, Task.OUTPAINTING, Task.BACKGROUND_REMOVAL, Task.IMAGE_TO_IMAGE}

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
                         Task.OUTPAINTING, Task.BACKGROUND_REMOVAL),
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
                  tasks=(Task.TEXT_IMAGE, Task.IMAGE_TO_IMAGE), **_STABILITY),
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
