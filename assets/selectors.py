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
