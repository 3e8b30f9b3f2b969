"""The hard stop and the ledger: reserve before queueing, settle when the job ends."""

import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection

from billing.models import Budget, LedgerEntry
from billing.services import budget_set_tenant_monthly, committed_usd, period_start_for
from generation.models import GenerationJob
from generation.services import job_cancel, job_submit
from tenants.models import Role

from ..factories import TenantFactory

NOVA = "amazon.nova-canvas-v1:0"  # 512×512 standard: $0.04 an image
A_REQUEST = {"prompt": "a lamp", "width": 512, "height": 512}


def ledger(job) -> dict[str, Decimal]:
    return {entry.kind: entry.amount_usd for entry in LedgerEntry.objects.filter(job=job)}


@pytest.mark.django_db
def test_a_submission_reserves_its_estimate(tenant_a, member, client_as):
    response = client_as(member(tenant_a, Role.CREATOR)).post(
        "/api/v1/tenants/acme/jobs/", {"model": NOVA, **A_REQUEST, "n": 3}, format="json"
    )

    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert ledger(job) == {"reserve": Decimal("0.120000")}
    assert committed_usd(tenant=tenant_a, period_start=period_start_for(tenant_a)) == Decimal("0.120000")


@pytest.mark.django_db
def test_over_budget_is_a_402_with_the_estimate_and_what_is_left_and_nothing_is_queued(member, client_as):
    tenant = TenantFactory(slug="tight")
    budget_set_tenant_monthly(tenant=tenant, amount_usd=Decimal("0.100000"), actor=None)
    client = client_as(member(tenant, Role.CREATOR))

    with mock.patch("generation.services._enqueue_on_commit") as enqueue:
        fits = client.post("/api/v1/tenants/tight/jobs/", {"model": NOVA, **A_REQUEST, "n": 2}, format="json")
        refused = client.post("/api/v1/tenants/tight/jobs/", {"model": NOVA, **A_REQUEST, "n": 1}, format="json")

    assert fits.status_code == 201
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert (error["estimate"], error["remaining"]) == ("0.040000", {"tenant": "0.020000"})
    assert GenerationJob.objects.filter(tenant=tenant).count() == 1
    assert LedgerEntry.objects.filter(tenant=tenant).count() == 1
    assert enqueue.call_count == 1


@pytest.mark.django_db
def test_a_tenant_without_a_budget_cannot_spend(member, client_as):
    TenantFactory(slug="nobudget")
    client = client_as(member(TenantFactory._meta.model.objects.get(slug="nobudget"), Role.ADMIN))

    response = client.post("/api/v1/tenants/nobudget/jobs/", {"model": NOVA, **A_REQUEST}, format="json")

    assert response.status_code == 402
    assert "No budget is set" in response.json()["error"]["message"]
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_cancelling_releases_the_whole_reservation(tenant_a, member):
    with mock.patch("generation.services._enqueue_on_commit"):
        job = job_submit(tenant=tenant_a, actor=None, model_id=NOVA, raw={**A_REQUEST, "n": 2}).job

    job_cancel(tenant=tenant_a, job=job, actor=None)

    assert ledger(job) == {"reserve": Decimal("0.080000"), "release": Decimal("0.080000")}
    assert committed_usd(tenant=tenant_a, period_start=period_start_for(tenant_a)) == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_200_concurrent_submissions_against_a_budget_for_100_accept_exactly_100(member):
    tenant = TenantFactory(slug="rush")
    budget_set_tenant_monthly(tenant=tenant, amount_usd=Decimal("4.000000"), actor=None)  # 100 × $0.04
    outcomes: list[str] = []
    # 50 threads with a real connection each (PostgreSQL allows 100 here), 4 submissions each, released at once.
    start = threading.Barrier(50)

    def submit_four():
        start.wait()
        try:
            for _ in range(4):
                try:
                    job_submit(tenant=tenant, actor=None, model_id=NOVA, raw=dict(A_REQUEST))
                    outcomes.append("accepted")
                except Exception as error:  # noqa: BLE001 — every outcome is counted below
                    outcomes.append(getattr(error, "code", repr(error)))
        finally:
            connection.close()

    with mock.patch("generation.services._enqueue_on_commit"):
        threads = [threading.Thread(target=submit_four) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(set(outcomes)) == ["accepted", "budget_exceeded"]
    assert outcomes.count("accepted") == 100 and outcomes.count("budget_exceeded") == 100
    assert GenerationJob.objects.filter(tenant=tenant).count() == 100
    assert LedgerEntry.objects.filter(tenant=tenant, kind="reserve").count() == 100
    assert committed_usd(tenant=tenant, period_start=period_start_for(tenant)) == Decimal("4.000000")
    assert Budget.objects.get(tenant=tenant).committed_usd == Decimal("4.000000")  # the running figure agrees


@pytest.mark.django_db
def test_reconciliation_proves_the_ledger_and_names_a_drifting_job(tenant_a):
    from io import StringIO

    from django.core.management import CommandError, call_command

    with mock.patch("generation.services._enqueue_on_commit"):
        kept = job_submit(tenant=tenant_a, actor=None, model_id=NOVA, raw=dict(A_REQUEST)).job
        broken = job_submit(tenant=tenant_a, actor=None, model_id=NOVA, raw=dict(A_REQUEST)).job
    job_cancel(tenant=tenant_a, job=kept, actor=None)
    job_cancel(tenant=tenant_a, job=broken, actor=None)
    out = StringIO()
    call_command("reconcile_ledger", stdout=out)
    assert "2 finished jobs and 1 budgets checked: the ledger balances" in out.getvalue()

    LedgerEntry.objects.filter(job=broken, kind="release").delete()  # as if a settlement were lost

    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 finished jobs and 1 of 1 budgets drift"):
        call_command("reconcile_ledger", stdout=out)
    assert f"job {broken.pk}" in out.getvalue() and "drift 0.040000" in out.getvalue()
    assert "running figure 0.000000, ledger 0.040000" in out.getvalue()


@pytest.mark.django_db
def test_a_job_needs_room_in_its_project_budget_and_its_keys_cap_too(tenant_a, api_key, client_as):
    from billing.services import budget_set_monthly
    from tenants.models import ApiKey

    from ..factories import make_project

    spring = make_project(tenant_a)
    budget_set_monthly(tenant=tenant_a, project=spring, amount_usd=Decimal("0.050000"), actor=None)
    secret = api_key(tenant_a, Role.CREATOR)
    budget_set_monthly(tenant=tenant_a, api_key=ApiKey.objects.get(), amount_usd=Decimal("0.100000"), actor=None)
    client = client_as(key=secret)

    with mock.patch("generation.services._enqueue_on_commit"):
        in_spring = client.post("/api/v1/tenants/acme/jobs/", {"model": NOVA, **A_REQUEST, "project": str(spring.pk)},
                                format="json")  # fmt: skip
        over_project = client.post("/api/v1/tenants/acme/jobs/",
                                   {"model": NOVA, **A_REQUEST, "project": str(spring.pk)}, format="json")  # fmt: skip
        elsewhere = client.post("/api/v1/tenants/acme/jobs/", {"model": NOVA, **A_REQUEST}, format="json")
        over_key = client.post("/api/v1/tenants/acme/jobs/", {"model": NOVA, **A_REQUEST}, format="json")

    assert (in_spring.status_code, over_project.status_code, elsewhere.status_code) == (201, 402, 201)
    assert over_project.json()["error"]["remaining"]["project"] == "0.010000"
    assert over_key.status_code == 402
    assert over_key.json()["error"]["remaining"] == {"tenant": "999.920000", "api_key": "0.020000"}
    assert "api_key budget has $0.020000 left" in over_key.json()["error"]["message"]
    assert GenerationJob.objects.count() == 2


@pytest.mark.django_db
def test_platform_staff_credit_a_tenant_in_the_admin_with_a_reason(tenant_a, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from tenants.models import AuditEvent

    staff = get_user_model().objects.create_superuser("ops@atelier.test", "ops@atelier.test", "pw")
    client.force_login(staff)
    url = reverse("admin:billing_ledgerentry_add")
    period = period_start_for(tenant_a)

    missing_reason = client.post(url, {"tenant": tenant_a.pk, "amount_usd": "-5", "reason": " "})
    credited = client.post(url, {"tenant": tenant_a.pk, "amount_usd": "-5", "reason": "Outage credit"})

    assert missing_reason.status_code == 200  # the form again, with its error
    assert credited.status_code == 302
    entry = LedgerEntry.objects.get(tenant=tenant_a)
    assert (entry.kind, entry.amount_usd, entry.reason) == ("adjust", Decimal("-5"), "Outage credit")
    assert committed_usd(tenant=tenant_a, period_start=period) == Decimal("-5")
    assert AuditEvent.objects.get(verb="ledger.adjusted").actor_user == staff
