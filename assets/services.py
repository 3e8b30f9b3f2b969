"""Writes for projects and assets. Bytes go to storage before the row that points at them is
committed, so no row ever points at a missing object; an object whose row never commits is an
orphan for `sweep_orphans`."""

import hashlib
import io

from django.db import IntegrityError, transaction
from PIL import Image

from generation.bedrock.images import InputImage
from tenants.models import Tenant

from . import storage
from .models import Asset, Project

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


def _store(*, tenant: Tenant, data: bytes) -> dict:
    """Put the image and its thumbnail in storage; the Asset fields that describe them."""
    with Image.open(io.BytesIO(data)) as image:
        image_format, (width, height) = image.format, image.size
    extension = FORMAT_EXTENSIONS[image_format]
    sha256 = hashlib.sha256(data).hexdigest()
    file_key = storage.object_key(tenant=tenant, sha256=sha256, ext=extension)
    storage.put_object(file_key, data, f"image/{extension}")
    thumbnail_key = storage.thumbnail_key(tenant=tenant, sha256=sha256)
    storage.put_object(thumbnail_key, storage.make_thumbnail(data), "image/webp")
    return {
        "file_key": file_key,
        "thumbnail_key": thumbnail_key,
        "width": width,
        "height": height,
        "format": extension,
        "bytes": len(data),
        "sha256": sha256,
    }


def asset_ingest(*, job, index: int, data: bytes, seed: int | None) -> Asset:
    """Store image `index` of a job, once: a retried or redelivered task finds the slot taken and
    gets the same Asset back. Its lineage parents are the job's source assets and the draft it finalizes."""
    fields = _store(tenant=job.tenant, data=data)  # content-addressed: writing it again changes nothing
    try:
        with transaction.atomic():
            asset = Asset.objects.create(
                tenant=job.tenant, project=job.project, job=job, index=index, seed=seed, **fields
            )
            parents = list(job.source_assets.all()) if job.input_assets else []
            if job.finalizes_id:
                parents.append(job.finalizes_id)
            if parents:
                asset.parents.set(parents)
    except IntegrityError:  # the slot is taken: a redelivered task stored it already
        return Asset.objects.get(job=job, index=index)
    return asset


def asset_store_upload(*, tenant: Tenant, project: Project, image: InputImage) -> Asset:
    """An input image kept as an asset, so edits have lineage. Bytes this tenant already holds —
    an asset it generated, or an earlier upload — are that asset, not a copy."""
    existing = Asset.objects.for_tenant(tenant).filter(sha256=image.sha256).order_by("created_at").first()
    if existing is not None:
        return existing
    fields = _store(tenant=tenant, data=image.data)
    return Asset.objects.create(tenant=tenant, project=project, kind=Asset.Kind.UPLOAD, **fields)
