"""Provenance at ingest for a generated image, in the one order that keeps every layer checkable: Atelier's
watermark into the pixels first, the image encoded again in its own format, the signed C2PA manifest embedded
last (it hashes the bytes it is embedded in, so nothing may change them afterwards). The caller takes the sha256
of the bytes returned here.

The common answer, an 8-bit RGB(A) PNG (what Titan and Nova answer), takes the fast way: decoded once into
an array (assets.provenance.png), marked in place, written again by png.py, and hashed and thumbnailed from those
same pixels. Every other image goes through Pillow, and a lossy one is decoded once more so that its hash and
thumbnail are of the pixels a reader of the final file sees. bench/stamp.py times each stage."""

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin, PngImagePlugin

from ..storage import thumbnail_of
from . import fingerprints, marks
from .credentials import signing_credentials
from .manifest import ATELIER_ASSERTION, CREATED, TRAINED_ALGORITHMIC_MEDIA, manifest_definition, manifest_sign
from .png import png_read, png_write

FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}
# The marked pixels are encoded once more in the answer's own format: keep that generation's loss small. Measured on
# emulator answers (SD3.5, 1:1, 16:9, 9:21) and the test photos, Atelier's mark reads back from every image at q95 in
# both formats, with the worst bit's vote at 0.94 (JPEG) and 0.77 (WebP) of full strength (a wrong bit is < 0), and
# still after a re-save as JPEG q75. Lossless WebP would be 3x the bytes and 3.5x the encoding time for no better read.
JPEG_QUALITY = 95
WEBP_QUALITY = 95  # lossy; WebP keeps alpha losslessly either way
# libwebp's effort, 0–6 (Pillow's default 4). At 1024² method 1 encodes in 39 ms instead of 97, for a PSNR within
# 0.6 dB, the mark's worst bit within 0.06 of its vote (0.80–0.88 at q95, 0.60–0.72 after a re-save as JPEG q75,
# on the test photos and SD3.5 renders) and files from 9 % smaller to 15 % larger.
WEBP_METHOD = 1


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
        # exact: keep the (marked) colour under transparent pixels, which WebP otherwise throws away; without it
        # background-removal cut-outs 66–73 % transparent lost Atelier's mark.
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exact=True, **extra)
    return buffer.getvalue()


def _marked_and_encoded(data: bytes, watermark_id: str) -> tuple[Image.Image, str, bytes, str | None]:
    """(the final pixels, the format, the marked image encoded in it, the watermark id or None if too small)."""
    decoded = png_read(data)  # the common answer, 8-bit RGB(A) PNG: decoded to an array, no Pillow image
    if decoded is not None:
        try:
            marks.mark_pixels(decoded.pixels, watermark_id)
        except ValueError:  # too small for one codeword; Bedrock's smallest images are far larger
            watermark_id = None
        encoded = png_write(decoded.pixels, text=decoded.text, icc_profile=decoded.icc_profile)
        return Image.fromarray(decoded.pixels), "png", encoded, watermark_id  # lossless: these are the final pixels
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        image_format = FORMATS[source.format]
        try:
            marked = marks.mark(source, watermark_id)
        except ValueError:
            marked, watermark_id = source.copy(), None
        encoded = _encode(marked, source, image_format)
    if image_format != "png":  # lossy: hash the pixels a reader of the final file sees
        with Image.open(io.BytesIO(encoded)) as reopened:
            marked = reopened.copy()
    return marked, image_format, encoded, watermark_id


def prompt_sha256(job) -> str | None:
    prompt = job.params.get("prompt")
    return hashlib.sha256(prompt.encode()).hexdigest() if prompt else None


def provenance_stamp(*, job, watermark_id: str, data: bytes) -> Stamped:
    """Mark, re-encode and sign image bytes a job's model returned (stamp_image, with the job's facts)."""
    return stamp_image(
        data=data, watermark_id=watermark_id, model_id=job.model.model_id, task=job.task_type,
        tenant_slug=job.tenant.slug, prompt_sha256=prompt_sha256(job), fallback_title=str(job.pk),
    )  # fmt: skip


def stamp_image(
    *, data: bytes, watermark_id: str, model_id: str, task: str, tenant_slug: str, prompt_sha256: str | None,
    fallback_title: str,
) -> Stamped:  # fmt: skip
    """Mark, re-encode and sign image bytes: plain arguments in, plain data out, so that a process pool can
    run it (the CPU-bound part of storing an image). Raises KeyError for a format other than PNG, JPEG or
    WebP, and c2pa.C2paError when signing fails."""
    marked, image_format, encoded, watermark_id = _marked_and_encoded(data, watermark_id)
    pixels_phash = fingerprints.phash(marked)
    thumbnail = thumbnail_of(marked)
    definition = manifest_definition(
        model_id=model_id, task=task, tenant_slug=tenant_slug, watermark_id=watermark_id,
        prompt_sha256=prompt_sha256, title=f"{watermark_id or fallback_title}.{image_format}",
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
        "prompt_sha256": prompt_sha256,
    }
    return Stamped(
        data=signed, phash=pixels_phash, watermark_id=watermark_id, provenance=provenance, thumbnail=thumbnail
    )
