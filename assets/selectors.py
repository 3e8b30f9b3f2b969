from django.db.models import QuerySet

from tenants.models import Tenant

from .models import Asset


def asset_list(*, tenant: Tenant) -> QuerySet[Asset]:
    return Asset.objects.for_tenant(tenant).select_related("project", "job").order_by("-created_at", "index")


def job_assets(job) -> QuerySet[Asset]:
    """The images a job produced; for a deduplicated job, those of the job it repeats; for a batch,
    its children's."""
    if job.deduplicated_from_id:
        job = job.deduplicated_from
    if job.parent_id is None and job.children.exists():
        return Asset.objects.filter(job__parent=job).order_by("job__created_at", "index")
    return Asset.objects.filter(job=job).order_by("index")


LINEAGE_MAX_ASSETS = 200


def _lineage_summary(asset: Asset) -> dict:
    job = asset.job
    return {
        "id": str(asset.pk), "kind": asset.kind, "status": asset.status, "title": asset.title,
        "width": asset.width, "height": asset.height, "created_at": asset.created_at.isoformat(),
        "job": None if job is None else {
            "id": str(job.pk), "task_type": job.task_type, "model": job.model.model_id, "quality": job.quality,
            "finalizes": str(job.finalizes_id) if job.finalizes_id else None,
        },
    }  # fmt: skip


def _linked_ids(asset: Asset, step: str) -> list[str]:
    return [str(link.pk) for link in getattr(asset, step).all()]


def _walk(asset: Asset, step: str) -> list[dict]:
    """The assets reached by following `step` ("parents" or "children") from `asset`, nearest first,
    each with the ids it links to in that direction."""
    reverse = {"parents": "children", "children": "parents"}[step]
    seen, frontier, found = {asset.pk}, [asset.pk], []
    while frontier and len(found) < LINEAGE_MAX_ASSETS:
        links = (
            Asset.objects.filter(tenant_id=asset.tenant_id, **{f"{reverse}__in": frontier})
            .exclude(pk__in=seen)
            .select_related("job__model")
            .prefetch_related(step)
            .distinct()
            .order_by("created_at")
        )
        frontier = []
        for link in links:
            seen.add(link.pk)
            frontier.append(link.pk)
            found.append(_lineage_summary(link) | {step: _linked_ids(link, step)})
    return found[:LINEAGE_MAX_ASSETS]


def asset_lineage(*, asset: Asset) -> dict:
    """Where an image came from and what was made from it: the asset with its direct links, its
    ancestors (parents, their parents, …) and its descendants, nearest first."""
    return {
        "asset": _lineage_summary(asset) | {"parents": _linked_ids(asset, "parents"),
                                            "children": _linked_ids(asset, "children")},
        "ancestors": _walk(asset, "parents"),
        "descendants": _walk(asset, "children"),
    }  # fmt: skip
