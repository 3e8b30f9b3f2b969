from decimal import Decimal
from unittest import mock

import pytest

from generation import services
from tenants.models import Role

pytestmark = pytest.mark.django_db
NOVA, TITAN = "amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0"


def test_spend_counts_approved_images_and_what_each_cost(tenant_a, member, client_as):
    from assets.models import Asset

    from ..factories import make_asset

    nova = finished_job(tenant_a, NOVA, ["spring-sale"], images=2)  # $0.08 for two drafts
    titans = [finished_job(tenant_a, TITAN, []) for _ in range(2)]  # $0.016 for two drafts
    make_asset(tenant_a, job=nova, index=0, sha256="01" * 32, status=Asset.Status.APPROVED)
    make_asset(tenant_a, job=nova, index=1, sha256="02" * 32, status=Asset.Status.REJECTED)
    make_asset(tenant_a, job=titans[0], index=0, sha256="03" * 32, status=Asset.Status.ARCHIVED)  # approved once
    make_asset(tenant_a, job=titans[1], index=0, sha256="04" * 32, status=Asset.Status.DRAFT)

    report = client_as(member(tenant_a, Role.VIEWER)).get("/api/v1/tenants/acme/spend/?group_by=model").json()

    assert [(r["key"], r["approved_assets"], r["cost_per_approved_asset"]) for r in report["rows"]] == [
        (NOVA, 1, "0.080000"), (TITAN, 1, "0.016000"),
    ]  # fmt: skip
    assert (report["approved_assets"], report["cost_per_approved_asset"]) == (2, "0.048000")


def finished_job(tenant, model_id: str, tags: list[str], images: int = 1):
    """A job submitted and ended through the services, so its ledger is the real one."""
    with mock.patch("generation.services._enqueue_on_commit"):
        job = services.job_submit(tenant=tenant, actor=None, model_id=model_id, tags=tags,
                                  raw={"prompt": "x", "width": 512, "height": 512, "n": images}).job  # fmt: skip
    services.job_start(job=job)
    return services.job_finish(job_id=job.pk, images_stored=images)


@pytest.fixture
def spent(tenant_a):
    finished_job(tenant_a, NOVA, ["spring-sale"], images=2)  # 2 × $0.04
    finished_job(tenant_a, TITAN, ["spring-sale", "hero"])  # $0.008
    finished_job(tenant_a, TITAN, [])  # $0.008


def test_spend_by_model_and_by_tag(tenant_a, member, client_as, spent):
    client = client_as(member(tenant_a, Role.VIEWER))

    by_model = client.get("/api/v1/tenants/acme/spend/?group_by=model").json()
    by_tag = client.get("/api/v1/tenants/acme/spend/?group_by=tag").json()

    assert [(r["key"], r["spent"]) for r in by_model["rows"]] == [(NOVA, "0.080000"), (TITAN, "0.016000")]
    assert by_model["total"] == "0.096000" and by_model["currency"] == "USD"
    assert [(r["key"], r["spent"]) for r in by_tag["rows"]] == [
        ("(untagged)", "0.008000"), ("hero", "0.008000"), ("spring-sale", "0.088000"),
    ]  # fmt: skip


def test_spend_as_csv_and_the_ledger(tenant_a, member, client_as, spent):
    client = client_as(member(tenant_a, Role.VIEWER))

    csv_text = client.get("/api/v1/tenants/acme/spend.csv?group_by=quality").content.decode()
    ledger = client.get("/api/v1/tenants/acme/ledger/?kind=charge").json()

    assert csv_text.splitlines() == [
        "quality,spent_usd,entries,approved_assets,cost_per_approved_asset_usd",
        "standard,0.096000,3,0,",
    ]
    assert len(ledger["results"]) == 3 and ledger["next"] is None
    assert sum(Decimal(entry["amount"]) for entry in ledger["results"]) == Decimal("0.096")


def test_bad_report_parameters_name_the_field(tenant_a, member, client_as):
    client = client_as(member(tenant_a, Role.VIEWER))

    assert list(client.get("/api/v1/tenants/acme/spend/?group_by=colour").json()["error"]["fields"]) == ["group_by"]
    assert list(client.get("/api/v1/tenants/acme/spend/?from=yesterday").json()["error"]["fields"]) == ["from"]
