"""Input images as Bedrock takes them: JPEG or PNG (sniffed from the bytes, not trusted from a
name), at most 5 MB, sane dimensions, never decoded when the header promises a bomb. Masks: the
image's size, pure black and white, no alpha. Plain Python + Pillow, shared with the emulator."""

import base64
import binascii
import hashlib
import io
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from .specs import MAX_DECODED_PIXELS, MAX_INPUT_IMAGE_BYTES, MIN_INPUT_IMAGE_SIDE

SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"RIFF": "WEBP"}
BEDROCK_FORMATS = ("PNG", "JPEG")  # what Titan and Nova take; the Stability image services take WebP too
ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


class ImageProblem(ValueError):
    """Why an input image is refused, in words for the person who sent it."""


@dataclass(frozen=True, eq=False)
class InputImage:
    data: bytes
    format: str  # "PNG", "JPEG" or "WEBP"
    width: int
    height: int
    mode: str
    has_alpha: bool = False

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def b64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def open(self) -> Image.Image:
        return Image.open(io.BytesIO(self.data))

    def rgb_array(self) -> np.ndarray:
        return np.asarray(self.open().convert("RGB"))


def _decode_base64(text: str) -> bytes:
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]  # a data: URL, as browsers and the OpenAI SDK send
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageProblem("Not valid base64.") from None


def read_image(
    value: bytes | str, *, max_side: int = 4096, min_side: int = MIN_INPUT_IMAGE_SIDE, formats=BEDROCK_FORMATS
) -> InputImage:
    """Bytes or base64 → a checked InputImage, or ImageProblem saying what is wrong."""
    if not isinstance(value, bytes | str):
        raise ImageProblem("Must be an image: bytes, or a base64 string.")
    data = _decode_base64(value) if isinstance(value, str) else value
    if not data:
        raise ImageProblem("The image is empty.")
    if len(data) > MAX_INPUT_IMAGE_BYTES:
        raise ImageProblem(f"The image is {len(data):,} bytes; the most is {MAX_INPUT_IMAGE_BYTES:,} (5 MB).")
    sniffed = next((kind for signature, kind in SIGNATURES.items() if data.startswith(signature)), None)
    if sniffed == "WEBP" and data[8:12] != b"WEBP":
        sniffed = None  # a RIFF file that is not WebP (WAV, AVI)
    if sniffed not in formats:
        raise ImageProblem(f"Must be a {_format_names(formats)} image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[sniffed])
        with image:
            width, height = image.size
            # Check the header's promise before decoding a single pixel: a small file can claim 2 GB.
            if width * height > MAX_DECODED_PIXELS:
                raise ImageProblem(f"The image claims {width}x{height} px; the most is {MAX_DECODED_PIXELS:,} px.")
            image.load()
            mode = image.mode
            # A tRNS chunk makes any PNG mode transparent somewhere, not only RGBA and LA.
            has_alpha = mode in ALPHA_MODES or "transparency" in image.info
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem(f"The image claims too many pixels; the most is {MAX_DECODED_PIXELS:,} px.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageProblem(f"The {sniffed} image cannot be read ({exc}).") from None
    if width > max_side or height > max_side:
        raise ImageProblem(f"The image is {width}x{height} px; each side may be at most {max_side} px.")
    if width < min_side or height < min_side:
        raise ImageProblem(f"The image is {width}x{height} px; each side must be at least {min_side} px.")
    end = _image_end(data, sniffed)
    if end is None:
        raise ImageProblem(f"The {sniffed} image has no end marker.")
    # Whatever follows the image (a ZIP, HTML, a script: a polyglot) is cut off, so it is never stored or sent.
    data = data[:end]
    return InputImage(data=data, format=sniffed, width=width, height=height, mode=mode, has_alpha=has_alpha)


def _format_names(formats) -> str:
    names = [{"WEBP": "WebP"}.get(kind, kind) for kind in ("JPEG", "PNG", "WEBP") if kind in formats]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _image_end(data: bytes, kind: str) -> int | None:
    """Where the image's own bytes end — after PNG's IEND chunk, after JPEG's EOI marker — or None."""
    if kind == "WEBP":
        end = 8 + int.from_bytes(data[4:8], "little")  # RIFF: the chunk's size follows its tag
        return end if end <= len(data) else None
    return _png_end(data) if kind == "PNG" else _jpeg_end(data)


def _png_end(data: bytes) -> int | None:
    position = 8  # the signature
    while position + 12 <= len(data):  # length, type, (payload), CRC
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = data[position + 4 : position + 8]
        position += 12 + length
        if chunk_type == b"IEND":
            return position if position <= len(data) else None
    return None


_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0–7 carry no length


def _jpeg_end(data: bytes) -> int | None:
    """Walk the segments from SOI; after each scan (SOS), skip its entropy-coded data, where a 0xFF
    byte is followed by 0x00 (stuffing) or a restart marker, up to the next real marker."""
    position = 2
    while position + 1 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == 0xD9:  # EOI
            return position + 2
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if position + 4 > len(data):
            return None
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # SOS: entropy-coded data follows the header
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= len(data):
                    return None
                following = data[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position += 2
                    continue
                break
    return None


# Where a painting's soft brush edge turns to mask: a pixel at least this opaque (0–255) is painted. The studio's
# painter (web/static/web/painter.js) is given it, so what it shows as painted is what Bedrock is sent.
PAINTING_CUT = 128


def mask_from_painting(encoded: str) -> str:
    """A painting (a PNG, base64) as a mask in Atelier's sense, base64: greyscale, pure black where painted and
    pure white elsewhere. A browser canvas's PNG carries an alpha channel and soft brush edges; the mask rules take
    neither, so the painting is flattened onto white and cut at mid-grey."""
    image = read_image(encoded, max_side=16_384, min_side=1, formats=("PNG",))
    with Image.open(io.BytesIO(image.data)) as opened:
        flat = Image.new("RGBA", opened.size, "white")
        flat.alpha_composite(opened.convert("RGBA"))
    mask = flat.convert("L").point(lambda level: 0 if level <= 255 - PAINTING_CUT else 255)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def check_mask(mask: InputImage, image: InputImage | None) -> None:
    """Bedrock's mask rules: same size as the image, no alpha, only pure black (edit) and white (keep)."""
    if image is not None and (mask.width, mask.height) != (image.width, image.height):
        raise ImageProblem(
            f"The mask is {mask.width}x{mask.height} px but the image is {image.width}x{image.height} px; "
            "they must be the same size."
        )
    if mask.has_alpha:
        raise ImageProblem("The mask must be RGB (or greyscale) without an alpha channel.")
    pixels = np.asarray(mask.open().convert("RGB"))
    black = (pixels == 0).all(axis=2)
    white = (pixels == 255).all(axis=2)
    if not (black | white).all():
        hint = " JPEG compression adds grey: save masks as PNG." if mask.format == "JPEG" else ""
        raise ImageProblem("The mask may hold only pure black (edit) and pure white (keep) pixels." + hint)
    if not black.any():
        raise ImageProblem("The mask has no black pixels, so there is nothing to edit.")


def mask_edit_region(mask: InputImage) -> np.ndarray:
    """Boolean array, True where the mask says edit (black)."""
    return np.asarray(mask.open().convert("L")) == 0


def inverted_mask(mask: InputImage) -> InputImage:
    """The same mask with black and white swapped, as a PNG: Atelier's masks are black where to change
    (Titan's and Nova's sense); Stability's image services read white as change."""
    pixels = 255 - np.asarray(mask.open().convert("L"))
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return InputImage(data=buffer.getvalue(), format="PNG", width=mask.width, height=mask.height, mode="L")
