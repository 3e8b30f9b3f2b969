"""The job list answers in a constant number of queries, whatever the page holds — plain jobs with their images,
a batch with its parts' images, a repeat showing the job it repeats, settled costs — and says of each job exactly
what the job's own page says. Another tenant's jobs are never in it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generation.models import GenerationJob
from tenants.models import Role

from ..billing.test_spend import NOVA, finished_job
from ..factories import make_asset, make_job

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/tenants/acme/jobs/"


def fill(tenant, plain: int, *, offset: int = 0) -> None:
    """`plain` settled jobs with two images each, a batch of two parts with an image each, a repeat of the first."""
    for number in range(offset, offset + plain):
        job = finished_job(tenant, NOVA, [f"take-{number}"], images=2)
        for index in range(2):
            make_asset(tenant, job=job, index=index, sha256=f"{number:032x}{index:032x}")
    first = GenerationJob.objects.filter(tenant=tenant).order_by("created_at").first()
    make_job(tenant, status="succeeded", deduplicated_from=first, fingerprint=f"{offset + 900:064x}")
    batch = make_job(tenant, status="succeeded", n=2, images_requested=2, fingerprint=f"{offset + 901:064x}")
    for part_number in range(2):
        part = make_job(tenant, parent=batch, status="succeeded", fingerprint=f"{offset + 910 + part_number:064x}")
        make_asset(tenant, job=part, index=0, sha256=f"{offset + 910 + part_number:064x}")


def listed(client) -> tuple[list[dict], int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(JOBS, {"page_size": 50})
    assert response.status_code == 200, response.content
    return response.json()["results"], len(queries.captured_queries)


def without_urls(value):
    """Download links are signed when asked for; everything else must match to the byte."""
    if isinstance(value, dict):
        return {key: without_urls(item) for key, item in value.items() if not key.endswith("_url")}
    if isinstance(value, list):
        return [without_urls(item) for item in value]
    return value


def test_the_job_list_costs_the_same_queries_for_a_few_jobs_as_for_a_full_page(tenant_a, tenant_b, member, client_as):
    client = client_as(member(tenant_a, Role.VIEWER))
    fill(tenant_a, 2)
    fill(tenant_b, 3, offset=500)
    few, few_queries = listed(client)

    fill(tenant_a, 20, offset=100)
    many, many_queries = listed(client)

    assert (len(few), len(many)) == (4, 26)
    assert many_queries == few_queries, (few_queries, many_queries)
    assert {job["id"] for job in many} == {str(pk) for pk in GenerationJob.objects.filter(tenant=tenant_a, parent=None)
                                           .values_list("pk", flat=True)}  # fmt: skip


def test_each_listed_job_says_what_its_own_page_says(tenant_a, member, client_as):
    client = client_as(member(tenant_a, Role.VIEWER))
    fill(tenant_a, 3)

    jobs, _ = listed(client)

    shapes = {(job["deduplicated_from"] is not None, len(job["children"]), len(job["assets"])) for job in jobs}
    assert shapes == {(False, 0, 2), (True, 0, 2), (False, 2, 2)}  # plain, the repeat, the batch
    assert {job["cost"] for job in jobs if not job["children"] and not job["deduplicated_from"]} == {"0.080000"}
    for job in jobs:
        own = client.get(f"{JOBS}{job['id']}/").json()
        assert without_urls(job) == without_urls(own)
