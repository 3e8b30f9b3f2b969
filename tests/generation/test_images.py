"""Input images and masks with real pixels: what read_image accepts (JPEG/PNG, sniffed), what it
refuses and why, the decompression-bomb guard, and Bedrock's mask rules."""

import base64
import hashlib
import io
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from generation.bedrock.images import ImageProblem, check_mask, mask_edit_region, read_image
from generation.bedrock.request import RequestInvalid, validate_request
from generation.bedrock.specs import MAX_DECODED_PIXELS, MAX_INPUT_IMAGE_BYTES, SPECS

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
TITAN_V2 = SPECS["amazon.titan-image-generator-v2:0"]
EDIT_BOX = (101, 150, 301, 333)  # black (edit) square in masks; off the 8-px JPEG block grid on purpose


@cache
def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def problem(value, **kwargs) -> str:
    """The message read_image refuses value with (the test fails if it is accepted)."""
    with pytest.raises(ImageProblem) as caught:
        read_image(value, **kwargs)
    return str(caught.value)


def mask_problem(mask_bytes: bytes, image_bytes: bytes | None = None) -> str:
    with pytest.raises(ImageProblem) as caught:
        check_mask(read_image(mask_bytes), read_image(image_bytes) if image_bytes else None)
    return str(caught.value)


def drawn_mask(size=(512, 512), mode: str = "L") -> Image.Image:
    """White (keep) with a black (edit) square at EDIT_BOX."""
    white, black = (255, 0) if mode in ("L", "1") else ((255, 255, 255), (0, 0, 0))
    mask = Image.new(mode, size, white)
    mask.paste(black, EDIT_BOX)
    return mask


def png_claiming(width: int, height: int) -> bytes:
    """A genuine, valid 1-bit greyscale PNG of width×height zeros, written row by row through zlib:
    tiny on disk, huge when decoded. (Pillow would need width×height bytes of memory to build it.)"""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def forbid_decoding(monkeypatch):
    """Any attempt to decode pixel data fails the test (AssertionError is not an ImageProblem)."""

    def load(self):
        raise AssertionError(f"decoded a {self.size[0]}x{self.size[1]} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


# --- Accepted: the fixture photos, from bytes, base64 and data: URLs ---


@pytest.mark.parametrize(
    ("name", "fmt", "size", "mode"),
    [
        ("coffee.png", "PNG", (600, 400), "RGB"),
        ("chelsea.png", "PNG", (451, 300), "RGB"),
        ("astronaut.png", "PNG", (512, 512), "RGB"),
        ("rocket.jpg", "JPEG", (640, 427), "RGB"),
        ("logo.png", "PNG", (500, 500), "RGBA"),
    ],
)
def test_photo_from_bytes_is_read_with_its_real_format_size_and_mode(name, fmt, size, mode):
    data = photo(name)
    image = read_image(data)
    assert (image.format, (image.width, image.height), image.mode) == (fmt, size, mode)
    assert image.data == data
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    with Image.open(PHOTOS / name) as original:
        assert np.array_equal(image.rgb_array(), np.asarray(original.convert("RGB")))


@pytest.mark.parametrize("name", ["coffee.png", "rocket.jpg"])
def test_base64_and_data_url_give_the_same_image_as_bytes(name):
    data = photo(name)
    from_bytes = read_image(data)
    from_base64 = read_image(b64(data))
    mime = "image/png" if name.endswith(".png") else "image/jpeg"
    from_data_url = read_image(f"data:{mime};base64,{b64(data)}")
    for image in (from_base64, from_data_url):
        assert image.data == data
        assert image.sha256 == from_bytes.sha256
        assert (image.format, image.width, image.height) == (from_bytes.format, from_bytes.width, from_bytes.height)
    assert from_data_url.b64() == b64(data)


def test_format_is_sniffed_from_bytes_not_from_the_data_url_label():
    jpeg = photo("rocket.jpg")
    assert read_image(f"data:image/png;base64,{b64(jpeg)}").format == "JPEG"


def test_palette_png_with_transparency_counts_as_alpha():
    palette = Image.new("P", (64, 64), 0)
    assert read_image(encode(palette, transparency=0)).has_alpha
    assert read_image(encode(palette)).mode == "P"


# --- Refused: not JPEG/PNG, broken, too big ---


def test_gif_is_refused():
    gif = encode(Image.open(io.BytesIO(photo("coffee.png"))).convert("P"), "GIF")
    assert gif.startswith(b"GIF8")
    assert problem(gif) == "Must be a JPEG or PNG image."


def test_webp_is_refused():
    webp = encode(Image.open(io.BytesIO(photo("chelsea.png"))), "WEBP")
    assert webp[8:12] == b"WEBP"
    assert problem(webp) == "Must be a JPEG or PNG image."
    assert problem(f"data:image/png;base64,{b64(webp)}") == "Must be a JPEG or PNG image."


@pytest.mark.parametrize(
    "text",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"><rect width="512" height="512"/></svg>',
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    ],
    ids=["svg", "html"],
)
def test_text_uploaded_as_photo_png_is_refused(text):
    """A browser would label this upload image/png from its name; the bytes say otherwise."""
    assert problem(text) == "Must be a JPEG or PNG image."
    assert problem(f"data:image/png;base64,{b64(text)}") == "Must be a JPEG or PNG image."


def test_random_bytes_are_refused():
    noise = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert problem(noise) == "Must be a JPEG or PNG image."


def test_png_signature_with_garbage_after_it_is_refused():
    assert problem(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10).startswith("The PNG image cannot be read")


def test_png_cut_in_half_is_refused():
    data = photo("coffee.png")
    message = problem(data[: len(data) // 2])
    assert message.startswith("The PNG image cannot be read")
    assert "truncated" in message


def test_jpeg_cut_in_half_is_refused():
    data = photo("rocket.jpg")
    assert problem(data[: len(data) // 2]).startswith("The JPEG image cannot be read")


@pytest.mark.parametrize("text", ["not base64!!", "iVBORw0KGgo", "data:image/png;base64,%%%"])
def test_invalid_base64_is_refused(text):
    assert problem(text) == "Not valid base64."


@pytest.mark.parametrize("value", [b"", "", "data:image/png;base64,"])
def test_empty_image_is_refused(value):
    assert problem(value) == "The image is empty."


@pytest.mark.parametrize("value", [None, 42, ["iVBORw0KGgo="], bytearray(b"\x89PNG")])
def test_values_that_are_not_bytes_or_text_are_refused(value):
    assert problem(value) == "Must be an image: bytes, or a base64 string."


def test_six_megabyte_png_of_noise_is_refused():
    noise = np.random.default_rng(0).integers(0, 256, (1450, 1450, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), compress_level=0)
    assert 6_000_000 < len(data) < 7_000_000
    with Image.open(io.BytesIO(data)) as valid:  # a real, decodable PNG: only its size is wrong
        valid.load()
    message = problem(data)
    assert f"{len(data):,} bytes" in message and "the most is 5,242,880 (5 MB)" in message


def test_jpeg_at_exactly_5_mb_passes_and_one_byte_more_is_refused():
    jpeg = photo("rocket.jpg")
    padded = jpeg + bytes(MAX_INPUT_IMAGE_BYTES - len(jpeg))  # trailing bytes after EOI: still a valid JPEG
    assert len(padded) == 5 * 1024 * 1024
    assert (read_image(padded).width, read_image(padded).height) == (640, 427)
    assert "5,242,881 bytes; the most is 5,242,880 (5 MB)" in problem(padded + b"\x00")
    assert "6,291,456 bytes" in problem(jpeg + bytes(6 * 1024 * 1024 - len(jpeg)))


def test_decoding_spy_catches_a_normal_read(forbid_decoding):
    """The spy used by the bomb tests really sees decoding."""
    with pytest.raises(AssertionError, match="decoded a 600x400 image"):
        read_image(photo("coffee.png"))


def test_decompression_bomb_is_refused_without_decoding(forbid_decoding):
    bomb = png_claiming(20_000, 20_000)
    assert len(bomb) < 100_000  # 400 megapixels in under 100 KB
    message = problem(bomb)
    assert "pixels" in message
    assert f"{MAX_DECODED_PIXELS:,}" in message


def test_pillow_made_bomb_over_the_atelier_limit_is_refused_without_decoding(forbid_decoding):
    bomb = encode(Image.new("L", (5000, 5000), 0))
    assert len(bomb) < 100_000
    assert problem(bomb) == f"The image claims 5000x5000 px; the most is {MAX_DECODED_PIXELS:,} px."


@pytest.mark.parametrize("size", [(10, 10), (63, 512), (512, 63)])
def test_too_small_sides_are_refused(size):
    assert problem(encode(Image.new("RGB", size, "white"))) == (
        f"The image is {size[0]}x{size[1]} px; each side must be at least 64 px."
    )


def test_smallest_accepted_side_is_64():
    image = read_image(encode(Image.new("RGB", (64, 64), "white")))
    assert (image.width, image.height) == (64, 64)


@pytest.mark.parametrize("size", [(4097, 64), (64, 4097)])
def test_too_large_sides_are_refused(size):
    message = problem(encode(Image.new("L", size, 0)))
    assert message == f"The image is {size[0]}x{size[1]} px; each side may be at most 4096 px."


def test_largest_accepted_side_is_4096():
    assert read_image(encode(Image.new("L", (4096, 64), 0))).width == 4096


def test_max_side_is_the_callers_limit():
    """Titan in/outpainting takes at most 1408 px a side."""
    data = encode(Image.new("RGB", (1409, 64), "white"))
    assert "at most 1408 px" in problem(data, max_side=1408)
    assert read_image(encode(Image.new("RGB", (1408, 64), "white")), max_side=1408).width == 1408


# --- Masks ---


@pytest.mark.parametrize("mode", ["L", "RGB", "1"])
def test_black_and_white_mask_is_accepted_and_marks_the_black_square(mode):
    image = read_image(photo("astronaut.png"))
    mask = read_image(encode(drawn_mask(mode=mode)))
    check_mask(mask, image)  # raises if refused
    region = mask_edit_region(mask)
    left, top, right, bottom = EDIT_BOX
    assert region.shape == (512, 512)
    assert region.sum() == (right - left) * (bottom - top)
    assert region[top:bottom, left:right].all()
    assert not region[:top].any() and not region[bottom:].any()


def test_mask_of_another_size_is_refused():
    message = mask_problem(encode(drawn_mask(size=(600, 400))), photo("astronaut.png"))
    assert message.startswith("The mask is 600x400 px but the image is 512x512 px")


def test_rgba_mask_is_refused_even_when_fully_opaque():
    mask = drawn_mask(mode="RGBA")
    assert np.asarray(mask)[..., 3].min() == 255
    assert "alpha" in mask_problem(encode(mask))


def test_logo_with_alpha_is_refused_as_a_mask():
    assert "alpha" in mask_problem(photo("logo.png"))


def test_palette_mask_with_transparency_is_refused():
    mask = drawn_mask().convert("P")
    assert "alpha" in mask_problem(encode(mask, transparency=0))


@pytest.mark.parametrize("value", [128, 1, 254], ids=["mid-grey", "almost-black", "almost-white"])
def test_mask_with_one_grey_pixel_is_refused(value):
    mask = drawn_mask()
    mask.putpixel((10, 10), value)
    assert mask_problem(encode(mask)) == "The mask may hold only pure black (edit) and pure white (keep) pixels."


def test_mask_with_a_coloured_pixel_is_refused():
    mask = drawn_mask(mode="RGB")
    mask.putpixel((10, 10), (255, 0, 0))
    assert "only pure black" in mask_problem(encode(mask))


def test_jpeg_mask_is_refused_with_a_hint_to_use_png():
    jpeg = encode(drawn_mask(mode="RGB"), "JPEG", quality=90)
    pixels = read_image(jpeg).rgb_array()
    assert ((pixels != 0) & (pixels != 255)).any()  # JPEG really did add grey at the square's edges
    message = mask_problem(jpeg, photo("astronaut.png"))
    assert "only pure black" in message and "PNG" in message


def test_all_white_mask_is_refused_as_nothing_to_edit():
    white = encode(Image.new("L", (512, 512), 255))
    assert mask_problem(white, photo("astronaut.png")) == "The mask has no black pixels, so there is nothing to edit."


def test_all_black_mask_edits_everything():
    mask = read_image(encode(Image.new("RGB", (512, 512), (0, 0, 0))))
    check_mask(mask, None)
    assert mask_edit_region(mask).all()


def test_rgb_mask_with_a_transparency_key_is_refused():
    mask = encode(drawn_mask(mode="RGB"), transparency=(255, 255, 255))
    assert Image.open(io.BytesIO(mask)).convert("RGBA").getextrema()[3] == (0, 255)  # it does carry alpha
    assert "alpha" in mask_problem(mask)


# --- Masks through validate_request (INPAINTING) ---


def inpainting(**fields) -> dict:
    return {"task_type": "INPAINTING", "prompt": "a red helmet", "image": b64(photo("astronaut.png")), **fields}


def test_inpainting_with_a_drawn_mask_is_accepted():
    mask = encode(drawn_mask())
    request = validate_request(TITAN_V2, inpainting(mask_image=b64(mask)))
    assert request.mask_image.sha256 == hashlib.sha256(mask).hexdigest()
    assert request.mask_prompt is None
    assert request.output_size == (512, 512)


def test_inpainting_with_mask_image_and_mask_prompt_is_refused_on_mask_image():
    with pytest.raises(RequestInvalid) as caught:
        validate_request(TITAN_V2, inpainting(mask_image=b64(encode(drawn_mask())), mask_prompt="the helmet"))
    assert caught.value.fields == {"mask_image": ["Give exactly one of mask_image and mask_prompt."]}


def test_inpainting_with_neither_mask_is_refused_on_mask_image():
    with pytest.raises(RequestInvalid) as caught:
        validate_request(TITAN_V2, inpainting())
    assert caught.value.fields == {"mask_image": ["Give exactly one of mask_image and mask_prompt."]}


def test_inpainting_mask_problems_are_reported_on_mask_image():
    wrong_size = b64(encode(drawn_mask(size=(600, 400))))
    with pytest.raises(RequestInvalid) as caught:
        validate_request(TITAN_V2, inpainting(mask_image=wrong_size))
    assert list(caught.value.fields) == ["mask_image"]
    assert "same size" in caught.value.fields["mask_image"][0]


def test_inpainting_bad_image_and_bad_mask_are_reported_together():
    with pytest.raises(RequestInvalid) as caught:
        validate_request(
            TITAN_V2, inpainting(image=b64(b"GIF89a...."), mask_image=b64(encode(drawn_mask(mode="RGBA"))))
        )
    assert caught.value.fields["image"] == ["Must be a JPEG or PNG image."]
    assert "alpha" in caught.value.fields["mask_image"][0]
