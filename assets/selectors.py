from django.db.models import Max, Q, QuerySet

from generation.bedrock.specs import Task
from tenants.models import Tenant
from tenants.selectors import actor_role

from .models import Asset, Project
from .review import approval_stages, four_eyes_own


def asset_list(*, tenant: Tenant) -> QuerySet[Asset]:
    """The library: the images this tenant made and uploaded. A try-on's mask is reached from its image's page."""
    return (
        Asset.objects.for_tenant(tenant)
        .exclude(kind=Asset.Kind.MASK)
        .select_related("project", "job")
        .order_by("-created_at", "index")
    )


def job_assets(job) -> QuerySet[Asset]:
    """The images a job produced; for a deduplicated job, those of the job it repeats; for a batch,
    its children's."""
    if job.deduplicated_from_id:
        job = job.deduplicated_from
    if job.parent_id is None and job.children.exists():
        return Asset.objects.filter(job__parent=job).order_by("job__created_at", "index")
    return Asset.objects.filter(job=job).order_by("index")


def jobs_assets(jobs, queryset=None) -> dict:
    """job_assets for each of these jobs from one query (`queryset`: Asset rows with what the caller will read
    of them), for lists: {job id: [assets]}. The same rule: a repeat shows the job it repeats, a batch its parts'."""
    sources = {job.pk: job.deduplicated_from_id or job.pk for job in jobs}
    wanted = set(sources.values())
    rows = (queryset if queryset is not None else Asset.objects.all()).select_related("job")
    tenants = {job.tenant_id for job in jobs}  # the jobs' own tenant only, whatever ids they name
    rows = rows.filter(tenant_id__in=tenants).filter(Q(job_id__in=wanted) | Q(job__parent_id__in=wanted))
    by_source: dict = {}
    for asset in sorted(rows, key=lambda a: (a.job.created_at, a.index or 0)):
        for owner in {asset.job_id, asset.job.parent_id} & wanted:  # its own job's, and its batch's
            by_source.setdefault(owner, []).append(asset)
    return {job_id: by_source.get(source, []) for job_id, source in sources.items()}


def job_mask_asset(job) -> Asset | None:
    """The mask Bedrock returned with a job's images (virtual try-on with return_mask): the job's own, the
    repeated job's for a deduplicated one, a batch's first part's. No query for any other task: lists ask this
    of every job."""
    if job.task_type != Task.VIRTUAL_TRY_ON:
        return None
    if job.deduplicated_from_id:
        job = job.deduplicated_from
    if job.mask_asset_id:
        return job.mask_asset
    part = job.children.exclude(mask_asset=None).order_by("created_at").first() if job.parent_id is None else None
    return part.mask_asset if part else None


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


def review_queue(*, tenant: Tenant, actor) -> QuerySet[Asset]:
    """The assets in review that this actor may decide now, longest waiting first: each project's
    current stage must admit them (role or named members, as assets.review checks), and under the
    four-eyes rule their own images — made in person or through a key they own — are left out (they
    could not approve them)."""
    role = actor_role(tenant=tenant, actor=actor)
    waiting = Asset.objects.for_tenant(tenant).filter(status=Asset.Status.IN_REVIEW)
    decidable = Q(pk__in=[])
    for project in Project.objects.filter(pk__in=waiting.values("project_id")):
        stages = approval_stages(project)
        last = len(stages) - 1
        for stage in stages:
            if not stage.allows(role=role, actor=actor):
                continue
            here = Q(project=project, review_stage=stage.position)
            if stage.position == 0:
                here |= Q(project=project, review_stage__isnull=True)
            if stage.position == last:
                here |= Q(project=project, review_stage__gt=last)
            decidable |= here
    queue = waiting.filter(decidable)
    if tenant.four_eyes_approval:
        queue = queue.exclude(pk__in=waiting.filter(four_eyes_own(actor)).values("pk"))
    return (
        queue.select_related("project", "job__model", "created_by", "tenant")
        .annotate(submitted_at=Max("reviews__at", filter=Q(reviews__decision="submitted")))
        .order_by("submitted_at", "created_at", "pk")
    )
