"""The detectors a provenance check runs, each on the same image, each answering
{"name", "result", "confidence", "details"}.

`confidence` (0..1) is how strongly the result is evidence of what it names: 1 is proof (the exact bytes, a
trusted signature), 0 is nothing found. Evidence only ever resolves to an asset of the tenant that asks; an asset
of another tenant is never looked up, so it can never be named.

- exact_hash: `match` (the sha256 of an asset of this tenant) or `no_match`.
- perceptual_hash: `match` (an asset within PHASH_MAX_DISTANCE bits) or `no_match`.
- atelier_watermark: `match` (the watermark id of an asset of this tenant), `unresolved` (Atelier's mark, naming
  no asset here) or `absent`.
- c2pa: `trusted`, `untrusted` (soundly signed, by a signer no trust anchor vouches for), `invalid` (e.g. the
  pixels changed after signing) or `absent`.
- bedrock_watermark: `detected`, `absent`, or `disabled` (ATELIER_BEDROCK_WATERMARK_DETECTOR=off).
"""

import hashlib
import io
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from PIL import Image

from assets.models import Asset
from generation import watermark
from generation.emulator.render import WATERMARK_PREFIX

from . import fingerprints, marks
from .manifest import ABSENT, INVALID, TRUSTED, UNTRUSTED, manifest_read

WATERMARK_CONFIDENCE = 0.99  # magic and CRC: an unmarked image reads as marked about once in 2³² tries
C2PA_CONFIDENCE = {TRUSTED: 1.0, UNTRUSTED: 0.7, INVALID: 0.4, ABSENT: 0.0}


@dataclass(frozen=True)
class Subject:
    """The image under check, decoded once for every detector."""

    tenant: object
    data: bytes
    image: Image.Image
    image_format: str  # png, jpeg or webp

    @classmethod
    def from_bytes(cls, *, tenant, data: bytes) -> "Subject":
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image_format = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}[opened.format]
            image = opened.copy()
        return cls(tenant=tenant, data=data, image=image, image_format=image_format)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Evidence:
    name: str
    result: str
    confidence: float
    details: dict = field(default_factory=dict)
    asset: Asset | None = None  # the asset of this tenant the evidence resolves to
    says_ai: bool = False  # the evidence says a model made the image

    def as_json(self) -> dict:
        return {"name": self.name, "result": self.result, "confidence": self.confidence, "details": self.details}


def _tenant_assets(subject: Subject):
    return Asset.objects.for_tenant(subject.tenant)


def exact_hash(subject: Subject) -> Evidence:
    # The earliest holder of these bytes: the generated original before any upload of a copy of it.
    asset = _tenant_assets(subject).filter(sha256=subject.sha256).order_by("created_at", "pk").first()
    if asset is None:
        return Evidence("exact_hash", "no_match", 0.0, {"sha256": subject.sha256})
    return Evidence("exact_hash", "match", 1.0, {"sha256": subject.sha256, "asset": str(asset.pk)}, asset=asset)


def perceptual_hash(subject: Subject) -> Evidence:
    phash = fingerprints.phash(subject.image)
    details = {"phash": phash, "max_distance": fingerprints.PHASH_MAX_DISTANCE}
    nearest = fingerprints.phash_nearest(tenant=subject.tenant, phash_hex=phash)
    if nearest is None:
        return Evidence("perceptual_hash", "no_match", 0.0, details)
    asset_id, distance = nearest
    confidence = round(0.9 - 0.04 * distance, 2)  # 0.9 for the same hash, 0.5 at the threshold: never proof
    asset = _tenant_assets(subject).get(pk=asset_id)
    return Evidence(
        "perceptual_hash", "match", confidence, details | {"distance": distance, "asset": str(asset_id)}, asset=asset
    )


def atelier_watermark(subject: Subject) -> Evidence:
    watermark_id = marks.read(subject.image)
    if watermark_id is None:
        return Evidence("atelier_watermark", "absent", 0.0)
    asset = _tenant_assets(subject).filter(watermark_id=watermark_id).first()
    if asset is None:
        # Atelier marks only images it generated; whose it is, is not this tenant's business.
        details = {"note": "Atelier's watermark, naming no asset of this tenant."}
        return Evidence("atelier_watermark", "unresolved", WATERMARK_CONFIDENCE, details, says_ai=True)
    details = {"watermark_id": watermark_id, "asset": str(asset.pk)}
    return Evidence("atelier_watermark", "match", WATERMARK_CONFIDENCE, details, asset=asset, says_ai=True)


def c2pa_manifest(subject: Subject) -> Evidence:
    reading = manifest_read(data=subject.data, image_format=subject.image_format)
    if reading.result == ABSENT:
        return Evidence("c2pa", ABSENT, 0.0)
    ours = reading.signed_by_atelier
    details = {
        "manifest_label": reading.label,
        "signer": reading.signer_name,
        "signer_issuer": reading.signer_issuer,
        "signed_by_atelier": ours,
        "actions": sorted({action.get("action") for action in reading.actions if action.get("action")}),
        "digital_source_types": reading.digital_source_types,
        "models": sorted(
            {action["softwareAgent"]["name"] for action in reading.actions
             if isinstance(action.get("softwareAgent"), dict) and action["softwareAgent"].get("name")}
        ),
        "failures": reading.failures,
    }  # fmt: skip
    if reading.error:
        details["error"] = reading.error
    asset = None
    if ours and reading.result == TRUSTED and reading.atelier and reading.atelier.get("watermark_id"):
        asset = _tenant_assets(subject).filter(watermark_id=reading.atelier["watermark_id"]).first()
    if asset is not None:
        details |= {"asset": str(asset.pk), "watermark_id": asset.watermark_id}
    says_ai = reading.declares_ai or ours  # Atelier signs only what a model made
    return Evidence("c2pa", reading.result, C2PA_CONFIDENCE[reading.result], details, asset=asset, says_ai=says_ai)


# --- Bedrock's own watermark --------------------------------------------------------------------


class BedrockWatermarkProvider(Protocol):
    """What finds a model's own watermark. `detect` answers details of the mark found (a dict, may be empty) or
    None. A real Bedrock detector (an AWS API call) plugs in here through ATELIER_BEDROCK_WATERMARK_DETECTOR."""

    name: str

    def detect(self, *, data: bytes, image: Image.Image) -> dict | None: ...


class EmulatorWatermarkProvider:
    """The local Bedrock emulator's mark: generation.watermark with its default key, a payload starting `EMU`."""

    name = "emulator"

    def detect(self, *, data: bytes, image: Image.Image) -> dict | None:
        payload = watermark.detect(image)
        if payload is None or not payload.startswith(WATERMARK_PREFIX):
            return None
        return {"payload": payload.hex()}


def bedrock_watermark_provider() -> BedrockWatermarkProvider | None:
    choice = settings.ATELIER_BEDROCK_WATERMARK_DETECTOR
    if choice in ("", "off"):
        return None
    if choice == "emulator":
        return EmulatorWatermarkProvider()
    return import_string(choice)()


def bedrock_watermark(subject: Subject) -> Evidence:
    provider = bedrock_watermark_provider()
    if provider is None:
        return Evidence("bedrock_watermark", "disabled", 0.0)
    found = provider.detect(data=subject.data, image=subject.image)
    if found is None:
        return Evidence("bedrock_watermark", "absent", 0.0, {"provider": provider.name})
    details = {"provider": provider.name, **found}
    return Evidence("bedrock_watermark", "detected", WATERMARK_CONFIDENCE, details, says_ai=True)


DETECTORS = (exact_hash, perceptual_hash, atelier_watermark, c2pa_manifest, bedrock_watermark)
# Which detector's asset a verdict names, strongest evidence first.
RESOLUTION_ORDER = ("exact_hash", "atelier_watermark", "c2pa", "perceptual_hash")
