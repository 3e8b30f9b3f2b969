"""The jobs API without a worker: filters, roles, and what a submission writes."""

import datetime

import pytest
from django.utils import timezone

from generation.models import GenerationJob
from tenants.models import AuditEvent, Role

from ..factories import make_job, make_project

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"


def test_jobs_filter_by_status_model_project_and_date(tenant_a, member, client_as):
    client = client_as(member(tenant_a, Role.VIEWER))
    spring = make_project(tenant_a)
    queued = make_job(tenant_a)
    failed = make_job(tenant_a, status=GenerationJob.Status.FAILED, project=spring)
    titan = make_job(tenant_a, model=queued.model.__class__.objects.get(model_id="amazon.titan-image-generator-v1"))
    GenerationJob.objects.filter(pk=titan.pk).update(created_at=timezone.now() - datetime.timedelta(days=3))

    def ids(query: str) -> set[str]:
        response = client.get(f"/api/v1/tenants/acme/jobs/{query}")
        assert response.status_code == 200, response.json()
        return {job["id"] for job in response.json()["results"]}

    assert ids("") == {str(queued.pk), str(failed.pk), str(titan.pk)}
    assert ids("?status=failed") == {str(failed.pk)}
    assert ids("?status=failed&status=queued") == {str(failed.pk), str(queued.pk), str(titan.pk)}
    assert ids("?model=amazon.titan-image-generator-v1") == {str(titan.pk)}
    assert ids(f"?project={spring.pk}") == {str(failed.pk)}
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"?created_after={since}") == {str(queued.pk), str(failed.pk)}
    assert client.get("/api/v1/tenants/acme/jobs/?status=lost").status_code == 400


def test_viewers_read_jobs_but_may_not_submit_or_cancel(tenant_a, member, client_as, api_key):
    job = make_job(tenant_a)
    for client in (client_as(member(tenant_a, Role.VIEWER)), client_as(key=api_key(tenant_a, Role.VIEWER))):
        assert client.get(f"/api/v1/tenants/acme/jobs/{job.pk}/").status_code == 200
        refused = client.post("/api/v1/tenants/acme/jobs/", {"model": NOVA, "prompt": "x"}, format="json")
        assert refused.status_code == 403
        assert client.post(f"/api/v1/tenants/acme/jobs/{job.pk}/cancel/").status_code == 403
    assert GenerationJob.objects.count() == 1
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.QUEUED


def test_a_submission_records_who_asked_and_is_audited(tenant_a, member, client_as):
    creator = member(tenant_a, Role.CREATOR)

    response = client_as(creator).post(
        "/api/v1/tenants/acme/jobs/", {"model": NOVA, "prompt": "a lamp", "width": 512, "height": 512}, format="json"
    )

    assert response.status_code == 201
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert job.requested_by_user == creator and job.status == GenerationJob.Status.QUEUED
    assert job.project.is_default and job.queue == "interactive"
    assert (job.width, job.height, job.n, job.images_requested) == (512, 512, 1, 1)
    assert job.params["prompt"] == "a lamp" and job.params["seed"] == job.seed
    assert AuditEvent.objects.get(verb="job.submitted").target_id == str(job.pk)


def test_a_project_or_source_asset_of_another_tenant_is_refused(tenant_a, tenant_b, member, client_as):
    from ..factories import make_asset

    client = client_as(member(tenant_a, Role.CREATOR))
    foreign_project = make_project(tenant_b)
    foreign_asset = make_asset(tenant_b)

    by_project = client.post(
        "/api/v1/tenants/acme/jobs/", {"model": NOVA, "prompt": "x", "project": str(foreign_project.pk)}, format="json"
    )
    by_asset = client.post(
        "/api/v1/tenants/acme/jobs/",
        {"model": NOVA, "task_type": "BACKGROUND_REMOVAL", "source_asset": str(foreign_asset.pk)},
        format="json",
    )

    assert by_project.status_code == 400 and list(by_project.json()["error"]["fields"]) == ["project"]
    assert by_asset.status_code == 400 and list(by_asset.json()["error"]["fields"]) == ["source_asset"]
    assert GenerationJob.objects.count() == 0


@pytest.mark.parametrize("tags", [["x" * 51], [f"t{i}" for i in range(21)], "", [""], [1, 2], {"a": 1}], ids=str)
def test_bad_tags_are_refused_by_name(tenant_a, member, client_as, tags):
    response = client_as(member(tenant_a, Role.CREATOR)).post(
        "/api/v1/tenants/acme/jobs/",
        {"model": NOVA, "prompt": "x", "width": 512, "height": 512, "tags": tags},
        format="json",
    )

    if tags == "":
        assert response.status_code == 201 and response.json()["tags"] == []  # empty means none
    else:
        assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["tags"]
        assert GenerationJob.objects.count() == 0
