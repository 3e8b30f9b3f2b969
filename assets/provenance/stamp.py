"""Provenance at ingest for a generated image, in the one order that keeps every layer checkable: Atelier's
watermark into the pixels first, the image encoded again in its own format, the signed C2PA manifest embedded
last (it hashes the bytes it is embedded in, so nothing may change them afterwards). The caller takes the sha256
of the bytes returned here."""

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin, PngImagePlugin

from ..storage import thumbnail_of
from . import fingerprints, marks
from .credentials import signing_credentials
from .manifest import ATELIER_ASSERTION, CREATED, TRAINED_ALGORITHMIC_MEDIA, manifest_definition, manifest_sign

FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}
JPEG_QUALITY = 95  # the marked pixels are encoded once more: keep that generation's loss small
WEBP_QUALITY = 95


@dataclass(frozen=True)
class Stamped:
    data: bytes  # the final bytes: watermarked, manifest embedded
    phash: str
    watermark_id: str | None  # None only for an image too small to carry the mark (under 72×72 pixels)
    provenance: dict  # what was done, for Asset.provenance
    thumbnail: bytes  # made from the final pixels while they are decoded


def _encode(image: Image.Image, source: Image.Image, image_format: str) -> bytes:
    """`image` in `image_format`, keeping what the source said about itself (PNG text, ICC profile, EXIF)."""
    buffer = io.BytesIO()
    icc_profile = source.info.get("icc_profile")
    if image_format == "png":
        info = PngImagePlugin.PngInfo()
        for key, value in getattr(source, "text", {}).items():
            info.add_text(key, value)
        extra = {"icc_profile": icc_profile} if icc_profile else {}
        image.save(buffer, format="PNG", pnginfo=info, compress_level=1, **extra)  # level 1: as the emulator
    elif image_format == "jpeg":
        extra = {key: source.info[key] for key in ("icc_profile", "exif", "comment") if source.info.get(key)}
        sampling = JpegImagePlugin.get_sampling(source)
        if sampling >= 0:
            extra["subsampling"] = sampling
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, **extra)
    else:
        extra = {key: source.info[key] for key in ("icc_profile", "exif") if source.info.get(key)}
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY, **extra)
    return buffer.getvalue()


def prompt_sha256(job) -> str | None:
    prompt = job.params.get("prompt")
    return hashlib.sha256(prompt.encode()).hexdigest() if prompt else None


def provenance_stamp(*, job, watermark_id: str, data: bytes) -> Stamped:
    """Mark, re-encode and sign image bytes a job's model returned. Raises KeyError for a format other than PNG,
    JPEG or WebP, and c2pa.C2paError when signing fails."""
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        image_format = FORMATS[source.format]
        try:
            marked = marks.mark(source, watermark_id)
        except ValueError:  # too small for one codeword; Bedrock's smallest images are far larger
            marked, watermark_id = source.copy(), None
        encoded = _encode(marked, source, image_format)
    if image_format != "png":  # lossy: hash the pixels a reader of the final file sees
        with Image.open(io.BytesIO(encoded)) as reopened:
            marked = reopened.copy()
    pixels_phash = fingerprints.phash(marked)
    thumbnail = thumbnail_of(marked)
    model_id, digest = job.model.model_id, prompt_sha256(job)
    definition = manifest_definition(
        model_id=model_id, task=job.task_type, tenant_slug=job.tenant.slug, watermark_id=watermark_id,
        prompt_sha256=digest, title=f"{watermark_id or job.pk}.{image_format}",
    )  # fmt: skip
    signed, label = manifest_sign(data=encoded, image_format=image_format, definition=definition)
    credentials = signing_credentials()
    provenance = {
        "watermark_id": watermark_id,
        "watermark_scheme": marks.SCHEME if watermark_id else None,
        "manifest_label": label,
        "manifest_action": CREATED,
        "manifest_assertion": ATELIER_ASSERTION,
        "signer": credentials.signer,
        "signer_serial": credentials.signer_serial,
        "development_signer": credentials.development,
        "digital_source_type": TRAINED_ALGORITHMIC_MEDIA,
        "model": model_id,
        "prompt_sha256": digest,
    }
    return Stamped(
        data=signed, phash=pixels_phash, watermark_id=watermark_id, provenance=provenance, thumbnail=thumbnail
    )
