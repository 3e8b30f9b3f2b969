"""Atelier's own invisible watermark: a 64-bit watermark id that resolves to one asset, in the pixels of every image
Atelier generates, whatever the model.

It is the scheme of `generation.watermark` with Atelier's own key and carrier coefficient, so it coexists with the
mark the model (or the emulator, standing in for Bedrock) already put in the pixels: the carriers are orthogonal
coefficients of each block, and each key has its own lattice and bit order, so neither detector reads the other.

The id is derived from the (job, image index) slot it marks, so a retried or redelivered task marks the pixels with
the same id it would have stored, and no id has to be reserved before the asset row exists. The derivation is a
hash, so ids say nothing about jobs; a clash with another asset's id (64 bits: unlikely below billions of images)
takes the next derivation.
"""

import hashlib

import numpy as np
from PIL import Image

from generation import watermark

KEY = 0xA7E1_1E12  # Atelier's dither seed; the emulator's is generation.watermark.DITHER_SEED
CARRIER = (2, 1)  # the emulator's is (1, 2): the same frequency band, turned by 90°, as robust to JPEG and resizing
SCHEME = "atelier-dwt-dct-qim/v1"
ID_HEX_CHARS = 2 * watermark.PAYLOAD_BYTES


def watermark_id_for(*, job_id, index: int, attempt: int = 0) -> str:
    """The watermark id of image `index` of a job: 16 hex characters. `attempt` > 0 gives the alternatives taken
    when an earlier one is another asset's."""
    material = f"{job_id}:{index}:{attempt}".encode()
    return hashlib.blake2b(material, digest_size=watermark.PAYLOAD_BYTES, person=b"atelier.wm.id").hexdigest()


def mark(image: Image.Image, watermark_id: str) -> Image.Image:
    """A copy of `image` carrying `watermark_id` (see generation.watermark.embed for sizes and modes)."""
    return watermark.embed(image, bytes.fromhex(watermark_id), key=KEY, carrier=CARRIER)


def mark_pixels(pixels: np.ndarray, watermark_id: str) -> None:
    """`watermark_id` into 8-bit RGB(A) pixels, in place (generation.watermark.embed_pixels)."""
    watermark.embed_pixels(pixels, bytes.fromhex(watermark_id), key=KEY, carrier=CARRIER)


def read(image: Image.Image) -> str | None:
    """The watermark id Atelier's mark in `image` carries, or None."""
    payload = watermark.detect(image, key=KEY, carrier=CARRIER)
    return payload.hex() if payload is not None else None
