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

Embedding writes the change in 8 bits where it can. In a block none of whose pixels can leave 0..255, rounding the
float result (pixel + change) is the pixel plus the rounded change, so the change is rounded once per pixel and
added to R, G and B in place, a band of rows at a time; only the blocks near black or white are done in floats,
where clipping can eat part of the change and the clipped blocks are corrected. The result is the all-float one's
(bit for bit on the test photos, up to a rare ±1 where float rounding differs), at a third of its CPU time. No
matrix-vector product goes to BLAS: OpenBLAS's threads spin after each one and cost more than the product.

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
BAND_ROWS = 8  # block rows embed works on at a time: at 1024 pixels wide, 0.8 MB of floats, within a core's cache
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
    # einsum, not matmul: these are matrix-vector products, for which OpenBLAS wakes its threads, and their
    # spinning afterwards cost more CPU than the products themselves.
    across = np.einsum("rbx,x->rb", luma.reshape(height, width // BLOCK, BLOCK), horizontal_profile)
    return np.einsum("ryb,y->rb", across.reshape(height // BLOCK, BLOCK, width // BLOCK), vertical_profile)


def _luma_change(coefficient_change: np.ndarray, carrier: tuple[int, int] = CARRIER_COEFFICIENT) -> np.ndarray:
    """The luma change that moves each block's carrier coefficient by the given amount and nothing else."""
    vertical_profile, horizontal_profile = _profiles(carrier)
    rows, columns = coefficient_change.shape
    across = coefficient_change[:, :, None] * horizontal_profile
    return (across[:, None, :, :] * vertical_profile[None, :, None, None]).reshape(rows * BLOCK, columns * BLOCK)


def _luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in float32 of (…, 3) pixels, channel by channel: no float copy of all three channels."""
    luma = np.multiply(rgb[..., 0], LUMA_WEIGHTS[0], dtype=np.float32)
    for channel in (1, 2):
        luma += np.multiply(rgb[..., channel], LUMA_WEIGHTS[channel], dtype=np.float32)
    return luma


def _pixel_coefficients(pixels: np.ndarray, carrier: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(carrier coefficients of the luma, darkest and brightest colour value) of each 8×8 block of 8-bit
    (height, width, channels) pixels (an alpha channel last is ignored), all shaped (block rows, block columns).

    No luma image is made: each row's run of 8 pixels × channels is one dot product with the horizontal profile
    weighted by the luma weights. The work goes a band of BAND_ROWS block rows at a time, whose float copy stays in
    the CPU's cache."""
    vertical_profile, horizontal_profile = _profiles(carrier)
    height, width, channels = pixels.shape
    rows, columns = height // BLOCK, width // BLOCK
    weights = np.zeros(channels, dtype=np.float32)
    weights[:3] = LUMA_WEIGHTS
    run_weights = (horizontal_profile[:, None] * weights).ravel()
    coefficients = np.empty((rows, columns), dtype=np.float32)
    lowest = np.empty((rows, columns), dtype=np.uint8)
    highest = np.empty((rows, columns), dtype=np.uint8)
    for top in range(0, rows, BAND_ROWS):
        band = pixels[top * BLOCK : (top + BAND_ROWS) * BLOCK]
        band_rows = band.shape[0] // BLOCK
        runs = band.astype(np.float32).reshape(-1, BLOCK * channels)
        across = np.einsum("nk,k->n", runs, run_weights).reshape(band_rows, BLOCK, columns)
        coefficients[top : top + band_rows] = np.einsum("ryb,y->rb", across, vertical_profile)
        colours = band[..., :3].reshape(band_rows, BLOCK, width, 3)
        lowest[top : top + band_rows] = np.minimum.reduce(colours, axis=1).reshape(band_rows, columns, -1).min(axis=2)
        highest[top : top + band_rows] = np.maximum.reduce(colours, axis=1).reshape(band_rows, columns, -1).max(axis=2)
    return coefficients, lowest, highest


def _block_coefficients(blocks: np.ndarray, carrier: tuple[int, int]) -> np.ndarray:
    """The carrier coefficient of each of (n, 8, 8, 3) float pixel blocks."""
    vertical_profile, horizontal_profile = _profiles(carrier)
    luma = blocks[..., 0] * LUMA_WEIGHTS[0]
    luma += blocks[..., 1] * LUMA_WEIGHTS[1]
    luma += blocks[..., 2] * LUMA_WEIGHTS[2]
    return np.einsum("ny,y->n", np.einsum("nyx,x->ny", luma, horizontal_profile), vertical_profile)


def _block_change(coefficient_change: np.ndarray, carrier: tuple[int, int]) -> np.ndarray:
    """_luma_change for (n,) blocks: (n, 8, 8), the same products in the same order."""
    vertical_profile, horizontal_profile = _profiles(carrier)
    across = coefficient_change[:, None] * horizontal_profile
    return across[:, None, :] * vertical_profile[None, :, None]


def _apply(blocks: np.ndarray, coefficient_change: np.ndarray, carrier: tuple[int, int]) -> np.ndarray:
    """(n, 8, 8, 3) float pixel blocks moved by a change of their carrier coefficients and clipped, in place. The
    same change on R, G and B is a pure luma change: the Cb and Cr weights sum to zero."""
    change = _block_change(coefficient_change, carrier)
    for channel in range(3):  # one channel at a time: numpy is slow at broadcasting over a last axis of 3
        np.add(blocks[..., channel], change, out=blocks[..., channel])
    return np.clip(blocks, 0, 255, out=blocks)


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
    pixels = np.array(_rgb_or_rgba(image))
    embed_pixels(pixels, payload, strength=strength, key=key, carrier=carrier)
    return Image.fromarray(pixels)


def embed_pixels(
    pixels: np.ndarray,
    payload: bytes,
    *,
    strength: float = 1.0,
    key: int = DITHER_SEED,
    carrier: tuple[int, int] = CARRIER_COEFFICIENT,
) -> None:
    """:func:`embed` in place, on 8-bit RGB or RGBA pixels shaped (height, width, 3 or 4): for a caller that has
    the decoded array already (no image object, no copy). Alpha is left untouched; the same ValueErrors."""
    payload = bytes(payload)
    if len(payload) != PAYLOAD_BYTES:
        raise ValueError(f"payload must be {PAYLOAD_BYTES} bytes, got {len(payload)}")
    if not MIN_STRENGTH <= strength <= 1:
        raise ValueError(f"strength must be in [{MIN_STRENGTH}, 1], got {strength}")
    _profiles(carrier)  # refuse a bad carrier before any work
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"pixels must be 8-bit RGB or RGBA, not {pixels.dtype} {pixels.shape}")
    height, width = _block_area(pixels)
    rows, columns = height // BLOCK, width // BLOCK
    if rows * columns < CODEWORD_BITS:
        raise ValueError(f"image {pixels.shape[1]}×{pixels.shape[0]} is too small for a watermark")

    rgb = pixels[:height, :width, :3]
    coefficients, lowest, highest = _pixel_coefficients(pixels[:height, :width], carrier)
    dither, bit_index = _key_tables(coefficients.size, key)
    bits = _codeword(payload)[bit_index].reshape(coefficients.shape)
    # Bit 0 sits on the dithered lattice, bit 1 on the same lattice shifted by half a step.
    offset = dither.reshape(coefficients.shape) + bits * np.float32(QIM_STEP / 2)
    nearest = offset + QIM_STEP * np.round((coefficients - offset) / QIM_STEP)
    target = coefficients + strength * (nearest - coefficients)
    change = target - coefficients

    # A block none of whose pixels can leave 0..255 needs no clipping, so rounding its float result, as
    # (pixel + change + 0.5) truncated, is the pixel plus the change rounded: added in 8 bits, in place. The
    # blocks near black or white take the float path, clipped and corrected.
    vertical_profile, horizontal_profile = _profiles(carrier)
    reach = np.abs(change) * (np.abs(vertical_profile).max() * np.abs(horizontal_profile).max()) + 1
    near_edge = (lowest < reach) | (highest > 255 - reach)
    blocks = rgb.reshape(rows, BLOCK, columns, BLOCK, 3)
    edge_rows, edge_columns = np.nonzero(near_edge)
    edge_blocks = blocks[edge_rows, :, edge_columns].astype(np.float32)  # (n, 8, 8, 3), before the 8-bit add

    safe_change = np.where(near_edge, np.float32(0), change)
    for top in range(0, rows, BAND_ROWS):
        steps = _luma_change(safe_change[top : top + BAND_ROWS], carrier)
        steps += 0.5
        steps = np.floor(steps, out=steps).astype(np.int8).view(np.uint8)  # two's complement: adding wraps round
        band = rgb[top * BLOCK : (top + BAND_ROWS) * BLOCK]
        for channel in range(3):
            np.add(band[..., channel], steps, out=band[..., channel])

    if edge_rows.size:
        wanted = target[near_edge]
        marked = _apply(edge_blocks, change[near_edge], carrier)
        pending = np.arange(edge_rows.size)  # a block left alone by one pass is left alone by the next
        for _ in range(CLIP_CORRECTION_PASSES):
            shortfall = wanted[pending] - _block_coefficients(marked[pending], carrier)
            # Only clipping moves a block this far off target; rounding to 8 bits costs about a third of a unit.
            short = np.abs(shortfall) >= QIM_STEP / 8
            if not short.any():
                break
            pending = pending[short]
            marked[pending] = _apply(marked[pending], shortfall[short], carrier)
        marked += 0.5  # then truncating rounds: the values are within 0..255 already
        blocks[edge_rows, :, edge_columns] = marked.astype(np.uint8)


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
    coefficients = _carrier_coefficients(_luma(pixels[:height, :width, :3]), carrier).ravel()
    dither, bit_index = _key_tables(coefficients.size, key)
    # +1 on the bit-0 lattice, −1 on the bit-1 lattice, near 0 halfway: a vote weighted by each block's confidence.
    soft_bits = np.cos((2 * np.pi / QIM_STEP) * (coefficients - dither))
    votes = np.bincount(bit_index, weights=soft_bits, minlength=CODEWORD_BITS)
    framed = np.packbits(votes < 0).tobytes()
    magic, payload, crc = framed[: len(MAGIC)], framed[len(MAGIC) : -2], framed[-2:]
    if magic != MAGIC or crc != _crc16(payload):
        return None
    return payload
