"""The stamp's PNG codec (assets/provenance/png.py): it reads the common answer as Pillow does — the same pixels, text
and ICC profile — writes PNGs any reader decodes back to the same pixels and metadata at about Pillow's size, and
leaves every other PNG to Pillow. The stamp's fast way marks the very pixels Pillow's way marked."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from assets.provenance import marks
from assets.provenance.png import SIGNATURE, png_read, png_write
from assets.provenance.stamp import stamp_image

from .provenance_helpers import PHOTOS, emulator_image, encoded, opened, png_chunks

ICC_PROFILE = bytes(range(256)) * 4  # any bytes: neither side interprets the profile


def with_metadata(image: Image.Image) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a model")
    info.add_text("Comment", "compressed, latin-1: café", zip=True)
    info.add_itxt("Title", "東京の港", lang="ja", tkey="タイトル")
    return encoded(image, "PNG", pnginfo=info, icc_profile=ICC_PROFILE, compress_level=1)


def test_an_rgb_png_reads_as_pillow_reads_it_text_and_icc_profile_included():
    data = with_metadata(opened(emulator_image()))
    pillow = opened(data)

    decoded = png_read(data)

    assert np.array_equal(decoded.pixels, np.asarray(pillow)) and decoded.pixels.shape == (512, 512, 3)
    assert decoded.text == pillow.text and decoded.icc_profile == pillow.info["icc_profile"] == ICC_PROFILE
    assert (decoded.text["Title"].lang, decoded.text["Title"].tkey) == ("ja", "タイトル")


@pytest.mark.parametrize("name", ["astronaut.png", "logo.png"])
def test_a_written_png_decodes_to_the_same_pixels_and_metadata_at_about_pillows_size(name):
    source = opened(with_metadata(opened((PHOTOS / name).read_bytes())))
    decoded = png_read(with_metadata(source))
    text = decoded.text | {"Caption": "not latin-1: 港"}

    data = png_write(decoded.pixels, text=text, icc_profile=decoded.icc_profile)

    back = opened(data)
    assert back.mode == source.mode and np.array_equal(np.asarray(back), np.asarray(source))
    assert back.text == text and back.info["icc_profile"] == ICC_PROFILE
    assert [kind for kind, _ in png_chunks(data)] == [b"IHDR", b"iCCP", b"tEXt", b"tEXt", b"iTXt", b"iTXt", b"IDAT",
                                                      b"IEND"]  # fmt: skip
    assert len(data) < 1.1 * len(encoded(source, "PNG", compress_level=1))


def with_chunk_moved_after_image_data(data: bytes, kind: bytes) -> bytes:
    chunks = png_chunks(data)
    moved = [chunk for chunk_kind, chunk in chunks if chunk_kind == kind]
    rest = [chunk for chunk_kind, chunk in chunks if chunk_kind != kind]
    return SIGNATURE + b"".join(rest[:-1] + moved + rest[-1:])


def with_interlace_flag(data: bytes) -> bytes:
    header = bytearray(data[8 : 8 + 25])
    header[8 + 12] = 1  # IHDR's interlace method, after width, height, depth, colour, compression, filter
    header[21:25] = struct.pack(">I", zlib.crc32(bytes(header[4:21])))
    return data[:8] + bytes(header) + data[33:]


def pillow_cases() -> dict[str, bytes]:
    photo = opened((PHOTOS / "chelsea.png").read_bytes())
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "said after the pixels")
    return {
        "grey": encoded(photo.convert("L")),
        "palette": encoded(photo.convert("P")),
        "16-bit": encoded(photo.convert("I;16")),
        "transparent colour": encoded(photo, "PNG", transparency=(0, 0, 0)),
        "interlaced": with_interlace_flag(encoded(photo)),
        "text after the pixels": with_chunk_moved_after_image_data(encoded(photo, "PNG", pnginfo=info), b"tEXt"),
        "truncated": encoded(photo)[:-2000],
        "jpeg": encoded(photo, "JPEG"),
    }


@pytest.mark.parametrize("case", list(pillow_cases()))
def test_any_other_png_is_left_to_pillow(case):
    assert png_read(pillow_cases()[case]) is None


def test_a_png_past_pillows_decompression_bomb_limit_is_left_to_pillow(monkeypatch):
    data = emulator_image()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 512 * 512 - 1)

    assert png_read(data) is None


@pytest.mark.parametrize("source", ["render", "logo.png"])
def test_the_stamps_fast_way_marks_the_pixels_pillows_way_marked(source):
    data = emulator_image() if source == "render" else (PHOTOS / source).read_bytes()
    watermark_id = "0123456789abcdef"
    pillow_marked = marks.mark(opened(data), watermark_id)

    stamped = stamp_image(data=data, watermark_id=watermark_id, model_id="amazon.nova-canvas-v1:0",
                          task="TEXT_IMAGE", tenant_slug="acme", prompt_sha256=None, fallback_title="job")  # fmt: skip

    image = opened(stamped.data)
    assert png_read(data) is not None  # the fast way took it
    assert image.mode == pillow_marked.mode and np.array_equal(np.asarray(image), np.asarray(pillow_marked))
    assert marks.read(image) == stamped.watermark_id == watermark_id
    assert image.text == opened(data).text
