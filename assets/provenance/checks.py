"""Provenance checks: where did this image come from, and what proves it. Every detector runs on the image; the
evidence and a verdict are kept as a ProvenanceCheck. A check costs nothing and changes no asset.

Verdicts:
- `atelier_asset`: the evidence resolves to an asset of this tenant — by its exact bytes, Atelier's watermark, a
  trusted Atelier manifest, or (weakest) a perceptual near-match, in that order of precedence.
- `ai_generated`: nothing resolves here, but a model made it: Bedrock's watermark, Atelier's watermark or manifest
  naming no asset of this tenant, or a C2PA manifest that declares an AI source type.
- `no_evidence`: none of that.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from assets import storage
from assets.models import Asset, ProvenanceCheck
from config.errors import ApplicationError
from generation.bedrock.images import ImageProblem, read_image
from tenants.models import ApiKey, Tenant
from tenants.services import Actor, audit_event_record

from .detectors import DETECTORS, RESOLUTION_ORDER, Evidence, Subject

Verdict = ProvenanceCheck.Verdict
NO_SUCH_ASSET = "No such asset."
MIN_CHECK_SIDE = 8  # smaller is not a picture anyone needs traced
CHECK_FORMATS = ("PNG", "JPEG", "WEBP")


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})


def provenance_verdict(evidence: list[Evidence]) -> tuple[str, Asset | None]:
    by_name = {item.name: item for item in evidence}
    for name in RESOLUTION_ORDER:
        if name in by_name and by_name[name].asset is not None:
            return Verdict.ATELIER_ASSET, by_name[name].asset
    if any(item.says_ai for item in evidence):
        return Verdict.AI_GENERATED, None
    return Verdict.NO_EVIDENCE, None


def _subject_of_upload(*, tenant: Tenant, data: bytes) -> Subject:
    # The same checks as Bedrock's inputs (sniffed from the bytes, at most 5 MB, no decompression bomb), in every
    # format Atelier stores an asset in: a downloaded WebP asset must be checkable too.
    try:
        image = read_image(data, min_side=MIN_CHECK_SIDE, formats=CHECK_FORMATS)
    except ImageProblem as problem:
        raise _invalid("image", str(problem)) from None
    return Subject.from_bytes(tenant=tenant, data=image.data)


def provenance_check_run(
    *, tenant: Tenant, actor: Actor, data: bytes | str | None = None, asset: Asset | None = None
) -> ProvenanceCheck:
    """Check an image — uploaded bytes (or base64), or one of the tenant's assets — and keep the answer.
    Raises ApplicationError naming `image` or `asset` for bad input; an asset of another tenant is
    "No such asset.", as one that does not exist."""
    if data is None and asset is None:
        message = "Send an image, or the id of one of this tenant's assets as `asset`."
        raise ApplicationError("invalid", message, fields={"image": ["Send an image or an asset."]})
    if data is not None and asset is not None:
        message = "Send an image or an asset, not both."
        raise ApplicationError("invalid", message, fields={"image": [message], "asset": [message]})
    if asset is not None:
        if asset.tenant_id != tenant.pk:
            raise _invalid("asset", NO_SUCH_ASSET)
        try:
            stored = storage.read_object(asset.file_key)
        except storage.StorageUnavailable:
            raise ApplicationError(
                "storage_unavailable", "The asset's file cannot be read right now; try again.", status_code=503
            ) from None
        subject = Subject.from_bytes(tenant=tenant, data=stored)
    else:
        subject = _subject_of_upload(tenant=tenant, data=data)
    evidence = [detector(subject) for detector in DETECTORS]
    verdict, traced = provenance_verdict(evidence)
    with transaction.atomic():
        check = ProvenanceCheck(
            tenant=tenant, input_sha256=subject.sha256, input_asset=asset, verdict=verdict, asset=traced,
            detectors=[item.as_json() for item in evidence],
            checked_by=actor if isinstance(actor, AbstractBaseUser) else None,
            checked_by_key=actor if isinstance(actor, ApiKey) else None,
        )  # fmt: skip
        check.full_clean()
        check.save()
        audit_event_record(
            tenant=tenant, actor=actor, verb="provenance.checked", target=check,
            data={"verdict": verdict, "asset": str(traced.pk) if traced else None, "input_sha256": subject.sha256},
        )  # fmt: skip
    return check
