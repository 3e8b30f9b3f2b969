"""Invisible image watermark: a 64-bit payload hidden in the luminance of an RGB(A) image.

Why this design. A DWT-DCT scheme (the ``dwtDct`` method of the invisible-watermark package) puts the mark in
low-to-mid spatial frequencies of the luminance: JPEG keeps those (it discards high frequencies and subsamples
chroma, never luma), and at a few grey levels the eye does not see them. Each 8×8 pixel block carries one bit, by
dithered quantisation index modulation (QIM) of one mid-frequency coefficient of the 4×4 DCT of its Haar LL band.
The framed codeword (16 magic bits + 64 payload bits + CRC-16) is tiled over all blocks, so detection needs no
original image: it takes a soft vote over every repetition of each bit and accepts only if magic and CRC both check.
A key-seeded dither shifts each block's QIM lattice, so flat and saturated areas carry the mark like textured ones,
and an unmarked image decodes to noise that has to hit 32 check bits by chance (false positives ≈ 2⁻³²).

Why it is fast. Haar analysis, the 4×4 DCT and picking one coefficient are linear and orthonormal, so together they
are the inner product of each 8×8 luma block with one fixed, separable 8×8 pattern (built below from the DCT matrix
and PyWavelets' Haar synthesis), and moving that coefficient by Δ moves the luma by exactly Δ × pattern. Two small
matrix products over the whole image give the same numbers as dwt2 → blockwise DCT → inverse DCT → idwt2 (the tests
check this against ``pywt.dwt2``) without computing the three detail bands or the 15 unused coefficients per block.

Several marks in one image. ``key`` (the dither seed) and ``carrier`` (the coefficient) are keyword parameters whose
defaults are the emulator's mark. The 16 coefficients of a block's LL-band DCT are orthogonal, so a second mark on
another carrier moves only its own coefficient and leaves the first mark's votes where they were (up to 8-bit
rounding and clipping); a different key gives it its own lattice and bit order, so neither detector reads the other.
"""

import binascii
import functools

import numpy as np
import pywt
from PIL import Image

PAYLOAD_BYTES = 8
MAGIC = b"\xa5\x3c"  # sync bits: with the CRC, an unmarked image must guess 32 bits to be read as marked
CODEWORD_BITS = 8 * (len(MAGIC) + PAYLOAD_BYTES + 2)  # magic + payload + CRC-16 = 96
DCT_SIZE = 4
BLOCK = 2 * DCT_SIZE  # pixels per block side: one 4×4 block of the half-size LL band, aligned with JPEG's 8×8 grid
CARRIER_COEFFICIENT = (1, 2)  # (vertical, horizontal) frequency: low enough for JPEG to keep, high enough to hide
QIM_STEP = 36.0  # lattice spacing on the carrier: ≈46 dB PSNR, and photos still read back after JPEG q60
DITHER_SEED = 0x5EED_3A7B  # the shared key: it places each block's lattice and scatters the codeword bits
MIN_STRENGTH = 0.5  # fainter marks fall below the 8-bit rounding noise on small images
CLIP_CORRECTION_PASSES = 2  # re-embed where clipping at 0 or 255 ate part of the change; each pass halves the shortfall
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601 Y, the luma JPEG compresses


def _dct_matrix(size: int) -> np.ndarray:
    """Orthonormal DCT-II matrix: coefficients = M @ x and x = M.T @ coefficients."""
    frequency = np.arange(size)[:, None]
    position = np.arange(size)[None, :]
    matrix = np.sqrt(2 / size) * np.cos(np.pi * (2 * position + 1) * frequency / (2 * size))
    matrix[0] /= np.sqrt(2)
    return matrix


def _pixel_profile(frequency: int) -> np.ndarray:
    """Unit-norm 8-pixel profile whose Haar LL band is one 4-point DCT basis vector (details all zero)."""
    basis = _dct_matrix(DCT_SIZE)[frequency]
    return pywt.idwt(basis, None, "haar", mode="periodization").astype(np.float32)


@functools.lru_cache(maxsize=16)
def _profiles(carrier: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(vertical, horizontal) pixel profiles of a carrier coefficient."""
    vertical, horizontal = carrier
    if not all(isinstance(f, int) and 0 <= f < DCT_SIZE for f in carrier) or carrier == (0, 0):
        # (0, 0) is the block's mean brightness: visible when moved, and shifted by any change of levels.
        raise ValueError(f"carrier must be a (vertical, horizontal) frequency in 0..{DCT_SIZE - 1}, not DC: {carrier}")
    return _pixel_profile(vertical), _pixel_profile(horizontal)


_VERTICAL_PROFILE, _HORIZONTAL_PROFILE = _profiles(CARRIER_COEFFICIENT)


def _carrier_coefficients(luma: np.ndarray, carrier: tuple[int, int] = CARRIER_COEFFICIENT) -> np.ndarray:
    """The carrier DCT coefficient of each block's LL band, shaped (block rows, block columns)."""
    vertical_profile, horizontal_profile = _profiles(carrier)
    height, width = luma.shape
    columns = width // BLOCK
    across = (luma.reshape(height * columns, BLOCK) @ horizontal_profile).reshape(height // BLOCK, BLOCK, columns)
    return np.matmul(vertical_profile, across)


def _luma_change(coefficient_change: np.ndarray, carrier: tuple[int, int] = CARRIER_COEFFICIENT) -> np.ndarray:
    """The luma change that moves each block's carrier coefficient by the given amount and nothing else."""
    vertical_profile, horizontal_profile = _profiles(carrier)
    rows, columns = coefficient_change.shape
    across = coefficient_change[:, :, None] * horizontal_profile
    return (across[:, None, :, :] * vertical_profile[None, :, None, None]).reshape(rows * BLOCK, columns * BLOCK)


def _apply(rgb: np.ndarray, coefficient_change: np.ndarray, carrier: tuple[int, int]) -> np.ndarray:
    # The same change on R, G and B is a pure luma change: the Cb and Cr weights sum to zero.
    changed = rgb + _luma_change(coefficient_change, carrier)[..., None]
    return np.clip(changed, 0, 255, out=changed)


@functools.lru_cache(maxsize=32)
def _key_tables(block_count: int, key: int = DITHER_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Per-block QIM dither and codeword bit index; cached because generated images mostly share a few sizes."""
    generator = np.random.default_rng(key)
    dither = generator.random(block_count, dtype=np.float32) * np.float32(QIM_STEP)
    # A shuffled assignment spreads every bit over the whole image, so a damaged region costs each bit a little.
    bit_index = generator.permutation(block_count) % CODEWORD_BITS
    dither.flags.writeable = False
    bit_index.flags.writeable = False
    return dither, bit_index


def _crc16(data: bytes) -> bytes:
    return binascii.crc_hqx(data, 0xFFFF).to_bytes(2, "big")  # CRC-16/CCITT-FALSE


def _codeword(payload: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(MAGIC + payload + _crc16(payload), dtype=np.uint8))


def _rgb_or_rgba(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _block_area(pixels: np.ndarray) -> tuple[int, int]:
    # The right and bottom remainders (under 8 pixels) are left out: untouched by embed, ignored by detect.
    return pixels.shape[0] // BLOCK * BLOCK, pixels.shape[1] // BLOCK * BLOCK


def embed(
    image: Image.Image,
    payload: bytes,
    *,
    strength: float = 1.0,
    key: int = DITHER_SEED,
    carrier: tuple[int, int] = CARRIER_COEFFICIENT,
) -> Image.Image:
    """Return a copy of ``image`` carrying ``payload`` (8 bytes) invisibly in its luminance.

    The result has the same size; RGB and RGBA keep their mode (alpha is copied untouched), other modes come back
    as RGB, or RGBA when they have transparency. ``strength`` in [0.5, 1] is the distortion-compensation factor of
    QIM: each coefficient moves that fraction of the way to its lattice point, and the detector needs no matching
    setting. 1 gives ≈46 dB PSNR and survives JPEG down to about q60; 0.5 gives ≈52 dB and survives JPEG q85; below
    0.5 rounding to 8 bits alone can erase the mark on small images. ``key`` and ``carrier`` choose the mark (see the
    module's docstring); :func:`detect` needs the same pair. Raises ValueError for a wrong payload length, a strength
    out of range, a DC or out-of-range carrier, or an image too small for one codeword (fewer than 96 blocks of 8×8
    pixels, as 72×72).
    """
    payload = bytes(payload)
    if len(payload) != PAYLOAD_BYTES:
        raise ValueError(f"payload must be {PAYLOAD_BYTES} bytes, got {len(payload)}")
    if not MIN_STRENGTH <= strength <= 1:
        raise ValueError(f"strength must be in [{MIN_STRENGTH}, 1], got {strength}")
    _profiles(carrier)  # refuse a bad carrier before any work
    pixels = np.array(_rgb_or_rgba(image))
    height, width = _block_area(pixels)
    if (height // BLOCK) * (width // BLOCK) < CODEWORD_BITS:
        raise ValueError(f"image {image.width}×{image.height} is too small for a watermark")

    rgb = pixels[:height, :width, :3].astype(np.float32)
    coefficients = _carrier_coefficients(rgb @ LUMA_WEIGHTS, carrier)
    dither, bit_index = _key_tables(coefficients.size, key)
    bits = _codeword(payload)[bit_index].reshape(coefficients.shape)
    # Bit 0 sits on the dithered lattice, bit 1 on the same lattice shifted by half a step.
    offset = dither.reshape(coefficients.shape) + bits * np.float32(QIM_STEP / 2)
    nearest = offset + QIM_STEP * np.round((coefficients - offset) / QIM_STEP)
    target = coefficients + strength * (nearest - coefficients)

    marked = _apply(rgb, target - coefficients, carrier)
    for _ in range(CLIP_CORRECTION_PASSES):
        shortfall = target - _carrier_coefficients(marked @ LUMA_WEIGHTS, carrier)
        # Only clipping moves a block this far off target; rounding to 8 bits costs about a third of a unit.
        shortfall[np.abs(shortfall) < QIM_STEP / 8] = 0
        if not shortfall.any():
            break
        marked = _apply(marked, shortfall, carrier)
    pixels[:height, :width, :3] = (marked + 0.5).astype(np.uint8)  # rounds, as marked is already within 0..255
    return Image.fromarray(pixels)


def detect(
    image: Image.Image, *, key: int = DITHER_SEED, carrier: tuple[int, int] = CARRIER_COEFFICIENT
) -> bytes | None:
    """Return the 8-byte payload if ``image`` carries a watermark made by :func:`embed` with this ``key`` and
    ``carrier``, else None. Raises ValueError for a DC or out-of-range carrier."""
    _profiles(carrier)
    pixels = np.asarray(_rgb_or_rgba(image))
    height, width = _block_area(pixels)
    if (height // BLOCK) * (width // BLOCK) < CODEWORD_BITS:
        return None
    luma = pixels[:height, :width, :3].astype(np.float32) @ LUMA_WEIGHTS
    coefficients = _carrier_coefficients(luma, carrier).ravel()
    dither, bit_index = _key_tables(coefficients.size, key)
    # +1 on the bit-0 lattice, −1 on the bit-1 lattice, near 0 halfway: a vote weighted by each block's confidence.
    soft_bits = np.cos((2 * np.pi / QIM_STEP) * (coefficients - dither))
    votes = np.bincount(bit_index, weights=soft_bits, minlength=CODEWORD_BITS)
    framed = np.packbits(votes < 0).tobytes()
    magic, payload, crc = framed[: len(MAGIC)], framed[len(MAGIC) : -2], framed[-2:]
    if magic != MAGIC or crc != _crc16(payload):
        return None
    return payload
