"""The invisible watermark: the payload reads back after PNG and JPEG q85, the mark stays invisible (PSNR ≥ 38 dB),
flat images carry it too, and unmarked images read as None."""

import functools
import io
from pathlib import Path

import numpy as np
import pytest
import pywt
from PIL import Image

from generation import watermark
from generation.watermark import PAYLOAD_BYTES, detect, embed

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
PHOTO_NAMES = ["coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg", "logo.png"]
PAYLOAD = bytes.fromhex("0123456789abcdef")
OTHER_PAYLOAD = b"atelier!"
MIN_PSNR_DB = 38.0


@functools.cache
def photo(name: str) -> Image.Image:
    image = Image.open(PHOTOS / name)
    image.load()
    return image


@functools.cache
def marked_photo(name: str) -> Image.Image:
    return embed(photo(name), PAYLOAD)


def png_round_trip(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    buffer.seek(0)
    return Image.open(buffer)


def jpeg_round_trip(image: Image.Image, quality: int = 85) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def psnr(original: Image.Image, marked: Image.Image) -> float:
    # Colour channels only: the alpha of an RGBA image is checked separately and would flatter the figure.
    difference = np.asarray(original, dtype=np.float64)[..., :3] - np.asarray(marked, dtype=np.float64)[..., :3]
    return 10 * np.log10(255**2 / np.mean(difference**2))


def solid(colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (512, 512), colour)


def gradient() -> Image.Image:
    ramp = np.linspace(0, 255, 512)
    channels = [np.tile(ramp, (512, 1)), np.tile(ramp[:, None], (1, 512)), np.full((512, 512), 128.0)]
    return Image.fromarray(np.rint(np.stack(channels, axis=-1)).astype(np.uint8))


def noise() -> Image.Image:
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (512, 512, 3), dtype=np.uint8))


@pytest.mark.parametrize("name", PHOTO_NAMES)
def test_photo_payload_reads_back_after_png_and_jpeg_q85(name):
    marked = marked_photo(name)

    assert detect(png_round_trip(marked)) == PAYLOAD
    assert detect(jpeg_round_trip(marked)) == PAYLOAD


@pytest.mark.parametrize("name", PHOTO_NAMES)
def test_photo_mark_is_invisible_and_keeps_size_and_mode(name):
    original, marked = photo(name), marked_photo(name)

    assert psnr(original, marked) >= MIN_PSNR_DB
    assert (marked.size, marked.mode) == (original.size, original.mode)


def test_rgba_alpha_is_untouched():
    original, marked = photo("logo.png"), marked_photo("logo.png")

    assert marked.mode == "RGBA"
    assert marked.getchannel("A").tobytes() == original.getchannel("A").tobytes()


@pytest.mark.parametrize("size", [(256, 256), (1024, 1024), (600, 400), (1344, 768), (451, 300), (257, 263)])
def test_sizes_square_wide_and_odd_read_back_after_png_and_jpeg_q85(size):
    original = photo("astronaut.png").resize(size)
    marked = embed(original, PAYLOAD)

    assert marked.size == size
    assert psnr(original, marked) >= MIN_PSNR_DB
    assert detect(png_round_trip(marked)) == PAYLOAD
    assert detect(jpeg_round_trip(marked)) == PAYLOAD


@pytest.mark.parametrize(
    "original",
    [solid((90, 140, 200)), solid((255, 255, 255)), solid((0, 0, 0)), gradient()],
    ids=["blue-grey", "white", "black", "gradient"],
)
def test_flat_and_smooth_images_carry_the_mark_and_still_look_flat(original):
    marked = embed(original, PAYLOAD)
    change = np.asarray(marked, dtype=np.int16) - np.asarray(original, dtype=np.int16)

    assert detect(png_round_trip(marked)) == PAYLOAD
    assert detect(jpeg_round_trip(marked)) == PAYLOAD
    assert psnr(original, marked) >= MIN_PSNR_DB
    assert np.abs(change).max() <= 5  # a few grey levels: no visible texture on a flat field


@pytest.mark.parametrize(
    "original",
    [*(photo(name) for name in PHOTO_NAMES), noise(), solid((90, 140, 200)), solid((255, 255, 255)), gradient()],
    ids=[*PHOTO_NAMES, "noise", "solid", "white", "gradient"],
)
def test_unmarked_images_read_as_none(original):
    assert detect(original) is None
    assert detect(jpeg_round_trip(original)) is None


def test_a_different_payload_reads_back_different():
    original = photo("astronaut.png")
    marked_other = embed(original, OTHER_PAYLOAD)
    remarked = embed(marked_photo("astronaut.png"), OTHER_PAYLOAD)

    assert detect(png_round_trip(marked_other)) == OTHER_PAYLOAD != PAYLOAD
    assert detect(jpeg_round_trip(remarked)) == OTHER_PAYLOAD


@pytest.mark.parametrize("mode", ["L", "P"])
def test_grey_and_palette_images_come_back_rgb_and_marked(mode):
    original = photo("chelsea.png").convert(mode)
    marked = embed(original, PAYLOAD)

    assert (marked.size, marked.mode) == (original.size, "RGB")
    assert detect(png_round_trip(marked)) == PAYLOAD


def test_half_strength_is_fainter_and_still_reads_back_after_jpeg_q85():
    original = photo("coffee.png")
    faint = embed(original, PAYLOAD, strength=0.5)

    assert psnr(original, faint) > psnr(original, marked_photo("coffee.png")) + 3
    assert detect(png_round_trip(faint)) == PAYLOAD
    assert detect(jpeg_round_trip(faint)) == PAYLOAD


@pytest.mark.parametrize(
    ("payload", "strength", "size"),
    [(b"\x00" * (PAYLOAD_BYTES - 1), 1.0, (256, 256)), (PAYLOAD + b"\x00", 1.0, (256, 256)), (PAYLOAD, 0.4, (256, 256))]
    + [(PAYLOAD, 1.5, (256, 256)), (PAYLOAD, 1.0, (72, 72))],
    ids=["short-payload", "long-payload", "strength-too-low", "strength-too-high", "too-small"],
)
def test_embed_rejects_bad_arguments(payload, strength, size):
    with pytest.raises(ValueError):
        embed(Image.new("RGB", size), payload, strength=strength)


def test_detect_on_an_image_too_small_for_a_codeword_is_none():
    assert detect(Image.new("RGB", (72, 72))) is None


def test_fused_transform_equals_dwt2_then_blockwise_dct_and_back():
    rng = np.random.default_rng(11)
    luma = rng.uniform(0, 255, (64, 96)).astype(np.float32)
    rows, columns = 64 // watermark.BLOCK, 96 // watermark.BLOCK
    dct = watermark._dct_matrix(watermark.DCT_SIZE)
    vertical, horizontal = watermark.CARRIER_COEFFICIENT

    low_low, _ = pywt.dwt2(luma.astype(np.float64), "haar", mode="periodization")
    blocks = low_low.reshape(rows, 4, columns, 4)
    block_dct = np.einsum("ui,aibj,vj->abuv", dct, blocks, dct)

    np.testing.assert_allclose(dct @ dct.T, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(
        watermark._carrier_coefficients(luma), block_dct[..., vertical, horizontal], rtol=1e-5, atol=1e-3
    )

    change = rng.normal(0, 10, (rows, columns)).astype(np.float32)
    changed_dct = np.zeros((rows, columns, 4, 4))
    changed_dct[..., vertical, horizontal] = change
    low_low_change = np.einsum("ui,abuv,vj->aibj", dct, changed_dct, dct).reshape(rows * 4, columns * 4)
    expected = pywt.idwt2((low_low_change, (None, None, None)), "haar", mode="periodization")

    np.testing.assert_allclose(watermark._luma_change(change), expected, atol=1e-4)


@pytest.mark.parametrize("name", ["astronaut.png", "logo.png"])
def test_embed_pixels_marks_an_array_in_place_as_embed_marks_an_image(name):
    original = photo(name)
    pixels = np.array(original)

    watermark.embed_pixels(pixels, PAYLOAD)

    assert np.array_equal(pixels, np.asarray(marked_photo(name)))
    assert detect(Image.fromarray(pixels)) == PAYLOAD
    with pytest.raises(ValueError):
        watermark.embed_pixels(np.asarray(original, dtype=np.float32), PAYLOAD)


def all_float_embed(image: Image.Image, payload: bytes, *, key: int, carrier: tuple[int, int]) -> np.ndarray:
    """The embed as first written: every step in float32 over the whole image, clipping corrected everywhere."""
    pixels = np.array(watermark._rgb_or_rgba(image))
    height, width = watermark._block_area(pixels)
    rgb = pixels[:height, :width, :3].astype(np.float32)

    def coefficients_of(colours):
        return watermark._carrier_coefficients(colours @ watermark.LUMA_WEIGHTS, carrier)

    def moved(colours, change):
        return np.clip(colours + watermark._luma_change(change, carrier)[..., None], 0, 255)

    coefficients = coefficients_of(rgb)
    dither, bit_index = watermark._key_tables(coefficients.size, key)
    bits = watermark._codeword(payload)[bit_index].reshape(coefficients.shape)
    offset = dither.reshape(coefficients.shape) + bits * np.float32(watermark.QIM_STEP / 2)
    target = offset + watermark.QIM_STEP * np.round((coefficients - offset) / watermark.QIM_STEP)
    marked = moved(rgb, target - coefficients)
    for _ in range(watermark.CLIP_CORRECTION_PASSES):
        shortfall = target - coefficients_of(marked)
        shortfall[np.abs(shortfall) < watermark.QIM_STEP / 8] = 0
        marked = moved(marked, shortfall)
    pixels[:height, :width, :3] = (marked + 0.5).astype(np.uint8)
    return pixels


@pytest.mark.parametrize("name", PHOTO_NAMES)
@pytest.mark.parametrize("mark", ["emulator", "atelier"])
def test_embed_gives_the_all_float_embeds_pixels(name, mark):
    """8-bit adds away from black and white, floats near them: the same pixels as floats everywhere, but for a
    rare ±1 where float rounding differs."""
    key, carrier = (watermark.DITHER_SEED, watermark.CARRIER_COEFFICIENT) if mark == "emulator" else (7, (2, 1))

    fast = np.asarray(embed(photo(name), PAYLOAD, key=key, carrier=carrier), dtype=np.int16)

    difference = np.abs(fast - all_float_embed(photo(name), PAYLOAD, key=key, carrier=carrier))
    assert difference.max() <= 1 and np.count_nonzero(difference) <= difference.size // 10_000
