"""Pixels at the OpenAI boundary: OpenAI's masks (transparent = edit) become Bedrock's (black =
edit, white = keep, no alpha), inputs with an alpha channel are flattened (Bedrock refuses alpha),
and stored images are converted to the output_format and output_compression asked for."""

import io

import numpy as np
from PIL import Image

from generation.bedrock.images import BEDROCK_FORMATS, ImageProblem, InputImage, read_image

OUTPUT_FORMATS = ("png", "jpeg", "webp")
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
DEFAULT_COMPRESSION = 100  # OpenAI's default: the best quality the format allows


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _checked(value: bytes | str, max_side: int, formats=BEDROCK_FORMATS) -> InputImage:
    """The image, sniffed and size-checked before any pixel is decoded (bomb guard)."""
    return read_image(value, max_side=max_side, formats=formats)


def bedrock_mask(value: bytes | str, *, max_side: int, formats=BEDROCK_FORMATS) -> bytes:
    """OpenAI's mask → Bedrock's: fully transparent pixels (alpha 0) are what to edit, so they
    become black and everything else white, as an RGB PNG. A mask without an alpha channel is
    taken to be in Bedrock's convention already and passes unchanged."""
    mask = _checked(value, max_side, formats)
    if not mask.has_alpha:
        return mask.data
    with mask.open() as image:
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
    if not (alpha == 0).any():
        raise ImageProblem("The mask has no fully transparent pixels, so there is nothing to edit.")
    keep = np.where(alpha == 0, 0, 255).astype(np.uint8)
    return _png(Image.fromarray(keep, mode="L").convert("RGB"))


def mask_from_transparency(image: InputImage) -> bytes | None:
    """OpenAI's rule for an edit without a mask: the image's own transparent pixels are the mask.
    None when the image has none."""
    if not image.has_alpha:
        return None
    with image.open() as opened:
        alpha = np.asarray(opened.convert("RGBA"))[..., 3]
    if not (alpha == 0).any():
        return None
    return _png(Image.fromarray(np.where(alpha == 0, 0, 255).astype(np.uint8), mode="L").convert("RGB"))


def flattened(image: InputImage) -> bytes:
    """The image as Bedrock takes it: without alpha, composited over white; unchanged otherwise."""
    if not image.has_alpha:
        return image.data
    with image.open() as opened:
        rgba = opened.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return _png(Image.alpha_composite(background, rgba).convert("RGB"))


def converted(data: bytes, *, output_format: str, compression: int | None) -> bytes:
    """A stored image in `output_format`; the stored bytes themselves (with their C2PA manifest)
    when they already are that format and no compression is asked for."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format == PIL_FORMATS[output_format] and compression is None:
            return data
        image.load()
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        if output_format == "jpeg":  # no alpha in JPEG: what was transparent turns white
            rgba = image.convert("RGBA")
            target = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
        else:
            target = image.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    if output_format == "png":  # lossless: output_compression is refused for it
        target.save(out, format="PNG")
    else:
        target.save(
            out, format=PIL_FORMATS[output_format], quality=DEFAULT_COMPRESSION if compression is None else compression
        )
    return out.getvalue()
