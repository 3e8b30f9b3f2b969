"""Writes for projects and assets. Bytes go to storage before the row that points at them is
committed, so no row ever points at a missing object; an object whose row never commits is an
orphan for `sweep_orphans`."""

import hashlib
import io

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from PIL import Image

from config.errors import ApplicationError
from generation.bedrock.images import InputImage
from generation.job_events import IMAGE as JOB_IMAGE
from generation.job_events import job_changed_on_commit
from tenants.models import Tenant
from tenants.services import audit_event_record

from . import storage
from .models import Asset, Project
from .provenance import fingerprints, marks
from .stamping import stamp_for_job

FORMAT_EXTENSIONS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}


def project_get_default(*, tenant: Tenant) -> Project:
    """The tenant's default project, made on first use."""
    project = Project.objects.for_tenant(tenant).filter(is_default=True).first()
    if project is not None:
        return project
    try:
        with transaction.atomic():
            return Project.objects.create(tenant=tenant, name="Default", slug="default", is_default=True)
    except IntegrityError:  # made meanwhile by a concurrent request
        return Project.objects.for_tenant(tenant).get(is_default=True)


def _store(*, tenant: Tenant, data: bytes, phash: str | None = None, thumbnail: bytes | None = None) -> dict:
    """Put the image and its thumbnail in storage; the Asset fields that describe them. `phash` and
    `thumbnail` when the caller already made them from the decoded pixels."""
    with Image.open(io.BytesIO(data)) as image:
        image_format, (width, height) = image.format, image.size
        if phash is None:
            phash = fingerprints.phash(image)
    extension = FORMAT_EXTENSIONS[image_format]
    sha256 = hashlib.sha256(data).hexdigest()
    file_key = storage.object_key(tenant=tenant, sha256=sha256, ext=extension)
    storage.put_object(file_key, data, f"image/{extension}")
    thumbnail_key = storage.thumbnail_key(tenant=tenant, sha256=sha256)
    storage.put_object(thumbnail_key, thumbnail or storage.make_thumbnail(data), "image/webp")
    return {
        "file_key": file_key,
        "thumbnail_key": thumbnail_key,
        "width": width,
        "height": height,
        "format": extension,
        "bytes": len(data),
        "sha256": sha256,
        "phash": phash,
    }


WATERMARK_ID_ATTEMPTS = 8


def asset_watermark_id(*, job, index: int) -> str:
    """The watermark id for image `index` of `job`: derived from the slot (see assets.provenance.marks), so a
    retried task gets the same one; the next derivation when another asset already holds it."""
    for attempt in range(WATERMARK_ID_ATTEMPTS):
        candidate = marks.watermark_id_for(job_id=job.pk, index=index, attempt=attempt)
        if not Asset.objects.filter(watermark_id=candidate).exclude(job=job, index=index).exists():
            return candidate
    raise RuntimeError(f"No free watermark id for image {index} of job {job.pk}.")  # 8 clashes in a row: a bug


def asset_ingest(*, job, index: int, data: bytes, seed: int | None) -> Asset:
    """Store image `index` of a job, once: a retried or redelivered task finds the slot taken and
    gets the same Asset back. Before it is stored the image gets its provenance — Atelier's watermark in the
    pixels, then a signed C2PA manifest (assets.provenance.stamp, in the stamp pool of assets.stamping) — and
    the sha256 of those final bytes names the object. Its lineage parents are the job's source assets and the
    draft it finalizes."""
    existing = Asset.objects.filter(job=job, index=index).first()
    if existing is not None:  # signing again would make other bytes (a new manifest) for the same slot
        return existing
    stamped = stamp_for_job(job=job, watermark_id=asset_watermark_id(job=job, index=index), data=data)
    fields = _store(tenant=job.tenant, data=stamped.data, phash=stamped.phash, thumbnail=stamped.thumbnail)
    try:
        with transaction.atomic():
            asset = Asset.objects.create(
                tenant=job.tenant, project=job.project, job=job, index=index, seed=seed,
                watermark_id=stamped.watermark_id, provenance=stamped.provenance, created_by=job.requested_by_user,
                tags=list(job.tags), **fields,
            )  # fmt: skip
            parents = list(job.source_assets.all()) if job.input_assets else []
            if job.finalizes_id:
                parents.append(job.finalizes_id)
            if parents:
                asset.parents.set(parents)
            job_changed_on_commit(job=job, event=JOB_IMAGE)  # a streaming waiter sends each image as it lands
    except IntegrityError:
        existing = Asset.objects.filter(job=job, index=index).first()
        if existing is None:  # not the slot: the watermark id was taken in the meantime, so try again later
            raise
        return existing  # a concurrent delivery stored the slot first; the object we stored is an orphan
    return asset


def asset_store_mask(*, job, data: bytes) -> Asset:
    """The mask Bedrock returned beside a job's images (virtual try-on's `maskImage`), as an asset of the
    job's project: no job slot (it is not one of the images billed or counted), the source image its parent.
    The job points at it (GenerationJob.mask_asset)."""
    fields = _store(tenant=job.tenant, data=data)
    with transaction.atomic():
        asset = Asset.objects.create(
            tenant=job.tenant, project=job.project, kind=Asset.Kind.MASK, created_by=job.requested_by_user,
            title="Try-on mask", tags=list(job.tags), **fields,
        )  # fmt: skip
        source = job.input_assets.get("image")
        if source:
            asset.parents.set([source])
    return asset


def asset_store_upload(*, tenant: Tenant, project: Project, image: InputImage) -> Asset:
    """An input image kept as an asset, so edits have lineage. Bytes this tenant already holds —
    an asset it generated, or an earlier upload — are that asset, not a copy."""
    existing = Asset.objects.for_tenant(tenant).filter(sha256=image.sha256).order_by("created_at").first()
    if existing is not None:
        return existing
    fields = _store(tenant=tenant, data=image.data)
    return Asset.objects.create(tenant=tenant, project=project, kind=Asset.Kind.UPLOAD, **fields)


@transaction.atomic
def asset_update(*, tenant: Tenant, asset: Asset, actor, title=None, tags=None) -> Asset:
    """Name an asset and tag it; what it shows and where it came from never change."""
    asset = Asset.objects.for_tenant(tenant).select_for_update().get(pk=asset.pk)
    before = {"title": asset.title, "tags": list(asset.tags)}
    if title is not None:
        if not isinstance(title, str):
            raise ApplicationError("invalid", "title: give a text.", fields={"title": ["Give a text."]})
        asset.title = title.strip()
    if tags is not None:
        asset.tags = _trimmed_tags(tags)
    for name, texts in (("title", [asset.title]), ("tags", asset.tags if isinstance(asset.tags, list) else [])):
        if any(isinstance(text, str) and "\x00" in text for text in texts):  # PostgreSQL stores no NUL character
            raise ApplicationError("invalid", f"{name}: no NUL characters.", fields={name: ["No NUL characters."]})
    try:
        asset.full_clean(validate_constraints=False)
    except ValidationError as error:
        fields = error.message_dict
        name, messages = next(iter(fields.items()))
        raise ApplicationError("invalid", f"{name}: {messages[0]}", fields=fields) from None
    asset.save(update_fields=["title", "tags", "updated_at"])
    audit_event_record(tenant=tenant, actor=actor, verb="asset.updated", target=asset,
                       data={"from": before, "to": {"title": asset.title, "tags": asset.tags}})  # fmt: skip
    return asset


def _trimmed_tags(tags):
    """Trimmed and without repeats when they are texts; anything else is left for validation to refuse."""
    if isinstance(tags, list) and all(isinstance(tag, str) for tag in tags):
        return list(dict.fromkeys(tag.strip() for tag in tags))
    return tags
