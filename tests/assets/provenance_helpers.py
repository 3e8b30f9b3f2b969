"""Helpers shared by the provenance tests: emulator renders ingested through asset_ingest, stored bytes, and the
ways an image is copied, stripped or tampered with."""

import io
from pathlib import Path

import numpy as np
from PIL import Image

from assets import storage
from assets.models import Asset, ProvenanceCheck
from assets.provenance.checks import provenance_check_run
from assets.services import asset_ingest
from generation.bedrock.request import validate_request
from generation.bedrock.specs import SPECS
from generation.emulator.render import render
from generation.models import BedrockModel

from ..factories import make_job

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
NOVA = "amazon.nova-canvas-v1:0"
STABILITY = "stability.stable-image-core-v1:1"
PROMPT = "a brass lamp on an oak desk"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
Verdict = ProvenanceCheck.Verdict


def use_local_storage(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


def emulator_image(model: str = NOVA, seed: int = 1, **fields) -> bytes:
    """What the emulator answers for a text-to-image request: its own watermark in the pixels."""
    raw = {"task_type": "TEXT_IMAGE", "prompt": PROMPT, "seed": seed} | fields
    if "aspect_ratio" not in raw:
        raw = {"width": 512, "height": 512} | raw
    request = validate_request(SPECS[model], raw)
    return render(request, 0, request.output_format or "png")


def ingest(tenant, data: bytes, *, model: str = NOVA, index: int = 0, job=None, **job_fields) -> Asset:
    if job is None:
        params = {"prompt": PROMPT, "task": "TEXT_IMAGE", "n": 1, "seed": 1}
        job = make_job(tenant, model=BedrockModel.objects.get(model_id=model), params=params, **job_fields)
    return asset_ingest(job=job, index=index, data=data, seed=1)


def stored(asset: Asset) -> bytes:
    return storage.read_object(asset.file_key)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def encoded(image: Image.Image, image_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def jpeg_q85(data: bytes) -> bytes:
    return encoded(opened(data).convert("RGB"), "JPEG", quality=85)


def resized_90_percent_and_back(data: bytes) -> bytes:
    image = opened(data)
    smaller = image.resize((image.width * 9 // 10, image.height * 9 // 10), Image.Resampling.LANCZOS)
    return encoded(smaller.resize(image.size, Image.Resampling.LANCZOS))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, the whole chunk) for each chunk of a PNG."""
    assert data.startswith(PNG_SIGNATURE)
    chunks, position = [], len(PNG_SIGNATURE)
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunks.append((data[position + 4 : position + 8], data[position : position + 12 + length]))
        position += 12 + length
    return chunks


def without_c2pa(data: bytes) -> bytes:
    """The PNG with its C2PA chunk (caBX) cut out and every other byte kept."""
    return PNG_SIGNATURE + b"".join(chunk for kind, chunk in png_chunks(data) if kind != b"caBX")


def with_one_pixel_byte_changed(data: bytes) -> bytes:
    """The same PNG — its manifest included — but one byte of one pixel differs."""
    pixels = np.array(opened(data))
    pixels[100, 100, 0] ^= 0x01
    new_image_data = [chunk for kind, chunk in png_chunks(encoded(Image.fromarray(pixels))) if kind == b"IDAT"]
    chunks, placed = [], False
    for kind, chunk in png_chunks(data):
        if kind == b"IDAT":
            chunks.extend([] if placed else new_image_data)
            placed = True
        else:
            chunks.append(chunk)
    return PNG_SIGNATURE + b"".join(chunks)


def check(tenant, data: bytes) -> ProvenanceCheck:
    return provenance_check_run(tenant=tenant, actor=None, data=data)


def detector(provenance_check: ProvenanceCheck, name: str) -> dict:
    return next(item for item in provenance_check.detectors if item["name"] == name)


def results(provenance_check: ProvenanceCheck) -> dict[str, str]:
    return {item["name"]: item["result"] for item in provenance_check.detectors}


def psnr(a: Image.Image, b: Image.Image) -> float:
    difference = np.asarray(a, dtype=np.float64)[..., :3] - np.asarray(b, dtype=np.float64)[..., :3]
    return 10 * np.log10(255**2 / np.mean(difference**2))
