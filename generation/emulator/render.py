"""Deterministic images for a validated request. The same (model, task, params, seed) gives the
same bytes, and each task keeps its meaning so tests can check pixels: inpainting changes only
masked pixels, precise outpainting keeps the unmasked region, background removal returns RGBA,
colour-guided images use the palette, variations stay near their source, conditioned images
follow the condition image's edges. Every image says in its metadata that it is not real
output, and carries an invisible watermark in the pixels it generated.

The Stability image services (specs.TOOL_SPECS) keep theirs too: upscales are smooth resizes of
the input with a little invented detail, inpaint/erase/search-and-replace/recolour touch only their
region, outpaint pastes the input where the sides put it, remove background cuts the subject out,
control tools follow the input's edges, style guide and style transfer take the style image's
colours."""

import hashlib
import io
import json

import numpy as np
from PIL import Image, PngImagePlugin

from generation import watermark
from generation.bedrock.images import InputImage, mask_edit_region
from generation.bedrock.request import ImageRequest
from generation.bedrock.specs import Task, spec_for_invoked_id

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


def _cut_out(image: InputImage) -> np.ndarray:
    """RGBA: the subject kept, alpha 0 elsewhere. The subject is what differs from the border's
    colour, inside the central ellipse."""
    source = np.asarray(image.open().convert("RGB"))
    border = np.concatenate([source[0], source[-1], source[:, 0], source[:, -1]])
    background = np.median(border, axis=0)
    distance = np.linalg.norm(source.astype(np.float32) - background, axis=2)
    central = _ellipse(source.shape[1], source.shape[0], 0.45)
    alpha = np.where((distance > 48) & central, 255, 0).astype(np.uint8)
    return np.dstack([source, alpha])


def render_pixels(request: ImageRequest, index: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGB or RGBA uint8 pixels, the region that must stay byte-identical to the input or None)."""
    rng = _rng(request, index)
    task = request.task
    width, height = request.output_size
    if task is Task.VIRTUAL_TRY_ON:
        return render_try_on(request, rng)
    spec = spec_for_invoked_id(request.model_id)
    if spec is not None and spec.is_tool:
        return TOOL_RENDERS[task](request, rng)
    if task is Task.BACKGROUND_REMOVAL:
        return _cut_out(request.image), None
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


# --- Nova Canvas virtual try-on ---

# Where each garment class sits on a standing person, as (top, bottom) fractions of the height: the
# emulator does not detect people, so a class names a band of the source image.
GARMENT_BANDS = {
    **dict.fromkeys(("UPPER_BODY", "LONG_SLEEVE_SHIRT", "SHORT_SLEEVE_SHIRT", "NO_SLEEVE_SHIRT", "OTHER_UPPER_BODY"),
                    (1 / 3, 2 / 3)),
    **dict.fromkeys(("LOWER_BODY", "LONG_PANTS", "OTHER_LOWER_BODY"), (0.5, 0.9)),
    "SHORT_PANTS": (0.5, 0.72),
    **dict.fromkeys(("FULL_BODY", "LONG_DRESS", "FULL_BODY_OUTFIT", "OTHER_FULL_BODY"), (0.2, 0.9)),
    "SHORT_DRESS": (0.2, 0.7),
    **dict.fromkeys(("FOOTWEAR", "SHOES", "BOOTS", "OTHER_FOOTWEAR"), (0.88, 1.0)),
}  # fmt: skip
GARMENT_COLUMNS = (0.25, 0.75)  # the band's left and right edge, as fractions of the width


def try_on_region(request: ImageRequest) -> np.ndarray:
    """True where the garment goes: the mask image's black pixels; a garment class's band (a box for
    BOUNDING_BOX, the ellipse inside it otherwise); a mask prompt's central ellipse (or its box)."""
    width, height = request.image.width, request.image.height
    if request.mask_type == "IMAGE":
        return mask_edit_region(request.mask_image)
    if request.mask_type == "GARMENT":
        top, bottom = GARMENT_BANDS[request.garment_class]
        left, right = GARMENT_COLUMNS
    else:
        top, bottom, left, right = 0.2, 0.8, 0.2, 0.8  # the bounds of _ellipse(width, height, 0.3)
    ys = (np.arange(height, dtype=np.float32)[:, None] + 0.5) / height
    xs = (np.arange(width, dtype=np.float32)[None, :] + 0.5) / width
    if request.mask_shape == "BOUNDING_BOX":
        return (ys >= top) & (ys < bottom) & (xs >= left) & (xs < right)
    cy, cx, ry, rx = (top + bottom) / 2, (left + right) / 2, (bottom - top) / 2, (right - left) / 2
    return ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 <= 1


def render_try_on(request: ImageRequest, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """The reference image's colours and texture laid over the garment region, shaded by the source (so
    folds and light stay). BALANCED and DETAILED keep every pixel outside the region; SEAMLESS (no seam)
    shifts them all a little. No merge style is taken as BALANCED."""
    source = np.asarray(request.image.open().convert("RGB"))
    height, width = source.shape[:2]
    region = try_on_region(request)
    rows, columns = np.nonzero(region)
    pixels = source.astype(np.float32)
    if rows.size:
        top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
        garment = np.zeros_like(pixels)
        garment[top:bottom, left:right] = _resized(request.reference_image, right - left, bottom - top)
        shade = (source.mean(axis=2, keepdims=True) / 255.0) * 0.4 + 0.8  # 0.8..1.2: the source's light
        tint = rng.uniform(-8, 8, size=3).astype(np.float32)  # each seed its own take
        worn = np.clip(garment * shade + tint, 0, 255)
        pixels = np.where(region[..., None], worn, pixels)
    if request.merge_style == "SEAMLESS":
        blend = _box_blur(region, max(2, min(width, height) // 64))[..., None]
        return np.clip(pixels * (0.97 + 0.03 * blend) + 2, 0, 255).astype(np.uint8), None
    return pixels.astype(np.uint8), ~region


def try_on_mask_png(request: ImageRequest) -> bytes:
    """The region the try-on changed, as Nova returns it with returnMask: black where changed, white kept."""
    buffer = io.BytesIO()
    Image.fromarray(np.where(try_on_region(request), 0, 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


# --- The Stability image services: one render per task; a tool's model id implies its task ---

Pixels = tuple[np.ndarray, np.ndarray | None]  # (uint8 pixels, the region that must stay byte-identical)
# How much detail each upscaler invents, in grey levels per unit of creativity: creative most;
# fast (no creativity field) adds almost none.
UPSCALE_DETAIL = {"stability.stable-creative-upscale-v1:0": 30.0, "stability.stable-conservative-upscale-v1:0": 10.0}
FAST_UPSCALE_DETAIL = 1.0
SEARCH_RADIUS = 0.3  # the central ellipse a search or select prompt "finds"
# YIQ: luminance Y and two chroma axes. Recolouring turns the chroma and keeps Y, so shapes stay.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=np.float32)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ).astype(np.float32)


def _source(image: InputImage) -> np.ndarray:
    return np.asarray(image.open().convert("RGB"))


def _dilated(region: np.ndarray, radius: int | None) -> np.ndarray:
    """The region grown by `radius` px (a square structuring element): what grow_mask does."""
    if not radius:
        return region
    padded = np.pad(region.astype(np.float64), radius)
    summed = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    size = 2 * radius + 1
    total = summed[size:, size:] - summed[:-size, size:] - summed[size:, :-size] + summed[:-size, :-size]
    return total > 0.5


def _masked_region(request: ImageRequest) -> np.ndarray:
    """Where inpaint and erase change pixels: the mask's black (Atelier's sense), or with no mask the
    image's transparent pixels; grown by grow_mask."""
    if request.mask_image is not None:
        region = mask_edit_region(request.mask_image)
    else:
        region = np.asarray(request.image.open().convert("RGBA"))[..., 3] < 255
    return _dilated(region, request.grow_mask)


def _searched_region(request: ImageRequest) -> np.ndarray:
    """What a search or select prompt selects: the emulator does not segment, it takes the central ellipse."""
    return _dilated(_ellipse(request.image.width, request.image.height, SEARCH_RADIUS), request.grow_mask)


def _replaced(source: np.ndarray, region: np.ndarray, new: np.ndarray) -> Pixels:
    pixels = np.where(region[..., None], np.clip(new, 0, 255), source).astype(np.uint8)
    return pixels, ~region


def _channel_blur(image: np.ndarray, radius: int) -> np.ndarray:
    return np.dstack([_box_blur(image[..., channel], radius) for channel in range(image.shape[2])])


def _fill_from_surroundings(source: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Each pixel of the region becomes the average of the known pixels nearest it, from the
    smallest neighbourhood that has any: the surroundings flow in, nothing is invented."""
    known = (~region).astype(np.float32)
    weighted = source.astype(np.float32) * known[..., None]
    filled = source.astype(np.float32).copy()
    missing = region.copy()
    for radius in (2, 4, 8, 16, 32, 64, 128, 256):
        if not missing.any():
            break
        weight = _box_blur(known, radius)
        found = missing & (weight > 1e-3)
        filled[found] = _channel_blur(weighted, radius)[found] / weight[found][:, None]
        missing &= ~found
    if missing.any():
        filled[missing] = source[~region].mean(axis=0) if (~region).any() else 127.0
    # Smooth the fill once more, inside the region only, so no cell edges show.
    smooth = _channel_blur(filled, 3)
    return np.where(region[..., None], smooth, filled)


def _upscale(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    width, height = request.output_size
    image = request.image.open().convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
    base = np.asarray(image, dtype=np.float32)
    if request.creativity is None:
        amplitude = FAST_UPSCALE_DETAIL
    else:
        amplitude = UPSCALE_DETAIL.get(request.model_id, 10.0) * request.creativity
    # Invented detail: fine grain, stronger where the image already has texture.
    grain = rng.standard_normal((height, width, 1), dtype=np.float32)
    edges = _edges(request.image, request.image.width, request.image.height)  # at the input's size: cheaper
    texture = 0.5 + np.asarray(Image.fromarray(edges, mode="F").resize((width, height)))[..., None]
    return np.clip(base + amplitude * grain * texture, 0, 255).astype(np.uint8), None


def _inpaint(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    source = _source(request.image)
    region = _masked_region(request)
    return _replaced(source, region, _scene(rng, source.shape[1], source.shape[0]))


def _erase(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    source = _source(request.image)
    region = _masked_region(request)
    return _replaced(source, region, _fill_from_surroundings(source, region))


def _outpaint(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    """The input at (left, up) on a canvas of the output size; around it, its edges carried outwards
    and blended with new content as far as creativity lets."""
    source = _source(request.image)
    width, height = request.output_size
    left, up = request.left or 0, request.up or 0
    pads = ((up, height - up - source.shape[0]), (left, width - left - source.shape[1]), (0, 0))
    extended = np.pad(source, pads, mode="edge").astype(np.float32)
    creativity = request.creativity if request.creativity is not None else 0.5
    canvas = (1 - creativity) * extended + creativity * _scene(rng, width, height)
    keep = np.zeros((height, width), bool)
    keep[up : up + source.shape[0], left : left + source.shape[1]] = True
    canvas[keep] = source.reshape(-1, 3)
    return np.clip(canvas, 0, 255).astype(np.uint8), keep


def _search_replace(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    source = _source(request.image)
    return _replaced(source, _searched_region(request), _scene(rng, source.shape[1], source.shape[0]))


def _search_recolor(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    """The selected region's chroma turned by a hue angle the request decides (and given some colour
    where it had none); its luminance, hence its shapes, kept."""
    source = _source(request.image)
    yiq = source.astype(np.float32) @ RGB_TO_YIQ.T
    angle = rng.uniform(np.pi * 2 / 3, np.pi * 4 / 3)
    cos, sin = np.cos(angle), np.sin(angle)
    i, q = yiq[..., 1], yiq[..., 2]
    tint = rng.uniform(-1, 1, size=2).astype(np.float32)
    tint *= 40 / max(float(np.hypot(*tint)), 1e-3)
    luma = yiq[..., :1]
    turned = np.dstack([luma[..., 0], cos * i - sin * q + tint[0], sin * i + cos * q + tint[1]]) @ YIQ_TO_RGB.T
    # Where the new colour would leave 0..255, take less of it rather than clip: clipping would shift the luminance.
    chroma = turned - luma
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(chroma > 0, (255 - luma) / chroma, np.where(chroma < 0, -luma / chroma, np.inf))
    share = np.clip(room.min(axis=2, keepdims=True), 0, 1)
    return _replaced(source, _searched_region(request), luma + share * chroma)


def _remove_background(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    return _cut_out(request.image), None


def _control(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    """A new scene darkened along the input's edges, as strongly as control_strength says."""
    width, height = request.output_size
    edges = _edges(request.image, width, height)
    image = _scene(rng, width, height) * (1 - request.control_strength * edges[..., None])
    return np.clip(image, 0, 255).astype(np.uint8), None


def _dominant_colours(image: InputImage, count: int = 6) -> np.ndarray:
    small = image.open().convert("RGB")
    small.thumbnail((128, 128))
    quantised = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = np.array(quantised.getpalette()[: 3 * count], dtype=np.float32).reshape(-1, 3)
    used = np.unique(np.asarray(quantised))
    return palette[used[used < len(palette)]]


def _style_guide(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    """Cells in the style reference's dominant colours; fidelity says how little a free scene shows through."""
    width, height = request.output_size
    colours = tuple("#" + "".join(f"{int(c):02X}" for c in colour) for colour in _dominant_colours(request.image))
    palette = _palette_image(rng, colours, width, height)
    weight = 0.5 + 0.5 * request.fidelity
    image = weight * palette + (1 - weight) * _scene(rng, width, height)
    return np.clip(image, 0, 255).astype(np.uint8), None


def _style_transfer(request: ImageRequest, rng: np.random.Generator) -> Pixels:
    """The init image's structure in the style image's colours: each channel's mean and spread moved
    to the style image's (style_strength of the way), the style image's own layout showing through
    as far as composition_fidelity allows, all of it change_strength away from the init image."""
    width, height = request.output_size
    init = _resized(request.image, width, height)
    style = _resized(request.style_image, width, height)
    init_mean, init_std = init.mean(axis=(0, 1)), init.std(axis=(0, 1)) + 1e-3
    style_mean, style_std = style.mean(axis=(0, 1)), style.std(axis=(0, 1))
    transferred = (init - init_mean) / init_std * style_std + style_mean
    coloured = (1 - request.style_strength) * init + request.style_strength * transferred
    composed = request.composition_fidelity * coloured + (1 - request.composition_fidelity) * style
    image = (1 - request.change_strength) * init + request.change_strength * composed
    image += 2.0 * rng.standard_normal((height, width, 1), dtype=np.float32)  # the seed's own grain
    return np.clip(image, 0, 255).astype(np.uint8), None


TOOL_RENDERS = {
    Task.UPSCALE: _upscale,
    Task.INPAINTING: _inpaint,
    Task.ERASE_OBJECT: _erase,
    Task.OUTPAINTING: _outpaint,
    Task.SEARCH_REPLACE: _search_replace,
    Task.SEARCH_RECOLOR: _search_recolor,
    Task.BACKGROUND_REMOVAL: _remove_background,
    Task.CONTROL_SKETCH: _control,
    Task.CONTROL_STRUCTURE: _control,
    Task.STYLE_GUIDE: _style_guide,
    Task.STYLE_TRANSFER: _style_transfer,
}


def encode(pixels: np.ndarray, keep: np.ndarray | None, request: ImageRequest, index: int, output_format: str):
    image = Image.fromarray(pixels)
    marked = watermark.embed(image, _payload(request, index))
    if keep is not None:
        # Pixels the task must not touch stay byte-identical; the mark lives in the new ones.
        marked = Image.fromarray(np.where(keep[..., None], pixels, np.asarray(marked)))
    buffer = io.BytesIO()
    if output_format == "jpeg":
        marked.convert("RGB").save(buffer, format="JPEG", quality=90, comment=SOFTWARE.encode())
    elif output_format == "webp":
        # Lossless, so the region a task keeps stays byte-identical and a cut-out keeps its alpha.
        exif = Image.Exif()
        exif[0x0131] = SOFTWARE  # Software
        exif[0x010E] = f"atelier:emulator model={request.model_id} task={request.task.value}"  # ImageDescription
        # exact: keep the colour (and the mark) under transparent pixels, which WebP otherwise throws away.
        marked.save(buffer, format="WEBP", lossless=True, quality=0, method=0, exact=True, exif=exif.tobytes())
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
