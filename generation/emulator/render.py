"""Deterministic images for a validated request. The same (model, task, params, seed) gives the
same bytes, and each task keeps its meaning so tests can check pixels: inpainting changes only
masked pixels, precise outpainting keeps the unmasked region, background removal returns RGBA,
colour-guided images use the palette, variations stay near their source, conditioned images
follow the condition image's edges. Every image says in its metadata that it is not real
output, and carries an invisible watermark in the pixels it generated."""

import hashlib
import io
import json

import numpy as np
from PIL import Image, PngImagePlugin

from generation import watermark
from generation.bedrock.images import InputImage, mask_edit_region
from generation.bedrock.request import ImageRequest
from generation.bedrock.specs import Task

WATERMARK_PREFIX = b"EMU"  # the first bytes of every emulator watermark payload
SOFTWARE = "Atelier Bedrock emulator (synthetic image, not model output)"


def _rng(request: ImageRequest, index: int) -> np.random.Generator:
    material = json.dumps(request.params(), sort_keys=True) + f"#{index}"
    return np.random.default_rng(int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big"))


def _payload(request: ImageRequest, index: int) -> bytes:
    digest = hashlib.sha256((request.fingerprint() + f"#{index}").encode()).digest()
    return WATERMARK_PREFIX + digest[: watermark.PAYLOAD_BYTES - len(WATERMARK_PREFIX)]


def _scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth picture: a two-colour gradient and a few soft discs. Float32, 0..255, (h, w, 3)."""
    top, bottom = rng.uniform(30, 225, size=(2, 3)).astype(np.float32)
    tilt = np.float32(rng.uniform(-0.3, 0.3))
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    t = np.clip(ys + tilt * (xs - 0.5), 0, 1)[..., None]
    image = top * (1 - t) + bottom * t
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.08, 0.3) * min(width, height)
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        # Work only inside the disc's bounding box: the rest of the image is untouched.
        x0, x1 = int(max(0, cx - radius)), int(min(width, cx + radius + 1))
        y0, y1 = int(max(0, cy - radius)), int(min(height, cy + radius + 1))
        if x0 >= x1 or y0 >= y1:
            continue
        dy = (np.arange(y0, y1, dtype=np.float32)[:, None] - cy) ** 2
        dx = (np.arange(x0, x1, dtype=np.float32)[None, :] - cx) ** 2
        alpha = np.clip((radius - np.sqrt(dx + dy)) / (0.15 * radius), 0, 1)[..., None] * 0.85
        patch = image[y0:y1, x0:x1]
        image[y0:y1, x0:x1] = patch * (1 - alpha) + colour * alpha
    return image


def _resized(source: InputImage, width: int, height: int) -> np.ndarray:
    image = source.open().convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def _edges(source: InputImage, width: int, height: int) -> np.ndarray:
    """Gradient magnitude of the condition image, 0..1: where its contours are."""
    grey = _resized(source, width, height).mean(axis=2)
    gx = np.zeros_like(grey)
    gy = np.zeros_like(grey)
    gx[:, 1:-1] = grey[:, 2:] - grey[:, :-2]
    gy[1:-1, :] = grey[2:, :] - grey[:-2, :]
    magnitude = np.hypot(gx, gy)
    return np.clip(magnitude / max(float(np.percentile(magnitude, 99)), 1.0), 0, 1)


def _palette_image(rng: np.random.Generator, colours: tuple[str, ...], width: int, height: int) -> np.ndarray:
    """Soft-edged cells, each one of the palette's colours: the palette dominates."""
    palette = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.float32)
    cells = max(6, 3 * len(palette))
    small_w, small_h = max(1, width // 8), max(1, height // 8)
    points = rng.uniform(0, 1, size=(cells, 2)) * (small_w, small_h)
    ys, xs = np.mgrid[0:small_h, 0:small_w]
    distances = (xs[None] - points[:, 0, None, None]) ** 2 + (ys[None] - points[:, 1, None, None]) ** 2
    owner = distances.argmin(axis=0) % len(palette)
    small = Image.fromarray(owner.astype(np.uint8), mode="L").resize((width, height), Image.Resampling.NEAREST)
    image = palette[np.asarray(small)]
    shade = np.linspace(-6, 6, height, dtype=np.float32)[:, None, None]
    return np.clip(image + shade, 0, 255)


def _ellipse(width: int, height: int, radius: float) -> np.ndarray:
    """True inside the central ellipse whose radii are `radius` of the width and height. The
    emulator does not segment: this is what a mask prompt or a subject selects."""
    ys = (np.arange(height, dtype=np.float32)[:, None] - height / 2) / (height * radius)
    xs = (np.arange(width, dtype=np.float32)[None, :] - width / 2) / (width * radius)
    return xs**2 + ys**2 <= 1


def _edit_region(request: ImageRequest) -> np.ndarray:
    """True where the request asks for new pixels."""
    image = request.image
    if request.mask_image is not None:
        return mask_edit_region(request.mask_image)
    selected = _ellipse(image.width, image.height, 0.3)
    # Inpainting replaces what the prompt names; outpainting keeps it and replaces the rest.
    return selected if request.task is Task.INPAINTING else ~selected


def _box_blur(mask: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(mask.astype(np.float32), radius, mode="edge")
    summed = padded.cumsum(0).cumsum(1)
    summed = np.pad(summed, ((1, 0), (1, 0)))
    size = 2 * radius + 1
    total = summed[size:, size:] - summed[:-size, size:] - summed[size:, :-size] + summed[:-size, :-size]
    return total / (size * size)


def render_pixels(request: ImageRequest, index: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGB or RGBA uint8 pixels, the region that must stay byte-identical to the input or None)."""
    rng = _rng(request, index)
    task = request.task
    width, height = request.output_size
    if task is Task.BACKGROUND_REMOVAL:
        source = np.asarray(request.image.open().convert("RGB"))
        border = np.concatenate([source[0], source[-1], source[:, 0], source[:, -1]])
        background = np.median(border, axis=0)
        distance = np.linalg.norm(source.astype(np.float32) - background, axis=2)
        # The subject: what differs from the border's colour, inside the central ellipse.
        central = _ellipse(source.shape[1], source.shape[0], 0.45)
        alpha = np.where((distance > 48) & central, 255, 0).astype(np.uint8)
        return np.dstack([source, alpha]), None
    if task in (Task.INPAINTING, Task.OUTPAINTING):
        source = np.asarray(request.image.open().convert("RGB"))
        edit = _edit_region(request)
        generated = _scene(rng, width, height)
        if task is Task.OUTPAINTING and request.outpainting_mode == "DEFAULT":
            # A soft seam: kept pixels near the boundary blend into the new ones.
            keep_weight = np.where(edit, 0.0, _box_blur(~edit, 8))[..., None]
            blended = source * keep_weight + generated * (1 - keep_weight)
            keep = keep_weight[..., 0] >= 0.999
        else:
            blended, keep = generated, ~edit
        pixels = np.where(keep[..., None], source, np.clip(blended, 0, 255)).astype(np.uint8)
        return pixels, keep
    if task is Task.COLOR_GUIDED_GENERATION:
        image = _palette_image(rng, request.colors, width, height)
        if request.reference_image is not None:
            image = 0.85 * image + 0.15 * _resized(request.reference_image, width, height)
    elif task is Task.IMAGE_VARIATION:
        base = np.mean([_resized(source, width, height) for source in request.images], axis=0)
        image = request.similarity_strength * base + (1 - request.similarity_strength) * _scene(rng, width, height)
    elif task is Task.IMAGE_TO_IMAGE:
        base = _resized(request.image, width, height)
        image = (1 - request.strength) * base + request.strength * _scene(rng, width, height)
    else:
        image = _scene(rng, width, height)
        if request.condition_image is not None:
            edges = _edges(request.condition_image, width, height)
            image = image * (1 - request.control_strength * edges[..., None])
    return np.clip(image, 0, 255).astype(np.uint8), None


def encode(pixels: np.ndarray, keep: np.ndarray | None, request: ImageRequest, index: int, output_format: str):
    image = Image.fromarray(pixels)
    marked = watermark.embed(image, _payload(request, index))
    if keep is not None:
        # Pixels the task must not touch stay byte-identical; the mark lives in the new ones.
        marked = Image.fromarray(np.where(keep[..., None], pixels, np.asarray(marked)))
    buffer = io.BytesIO()
    if output_format == "jpeg":
        marked.convert("RGB").save(buffer, format="JPEG", quality=90, comment=SOFTWARE.encode())
    else:
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", SOFTWARE)
        info.add_text("atelier:emulator", "true")
        info.add_text("atelier:model", request.model_id)
        info.add_text("atelier:task", request.task.value)
        marked.save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def render(request: ImageRequest, index: int, output_format: str = "png") -> bytes:
    pixels, keep = render_pixels(request, index)
    return encode(pixels, keep, request, index, output_format)
