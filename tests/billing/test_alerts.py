"""Budget alerts: one email per threshold per month to the tenant's admins, with an audit event,
carried by the running figures kept beside the ledger."""

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail

from billing.models import Budget
from billing.services import (
    BudgetExceeded,
    budget_set_tenant_monthly,
    budget_update,
    committed_usd,
    ledger_adjust,
    period_start_for,
)
from config.celery_app import app
from generation.services import job_cancel, job_submit
from tenants.models import AuditEvent, Role

from ..factories import TenantFactory

NOVA = "amazon.nova-canvas-v1:0"  # 512×512 standard: $0.04 an image
A_REQUEST = {"prompt": "a lamp", "width": 512, "height": 512}


@pytest.fixture
def alerts():
    """Run on-commit work now and Celery tasks in this process, so sent mail lands in mail.outbox."""
    app.conf.task_always_eager = True
    try:
        with mock.patch("generation.services._enqueue_on_commit"):
            yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def tight(member):
    """A tenant with a $0.40 month (ten images), two admins and a creator."""
    tenant = TenantFactory(slug="tight", name="Tight Ltd")
    budget_set_tenant_monthly(tenant=tenant, amount_usd=Decimal("0.40"), actor=None)
    member(tenant, Role.ADMIN, email="ada@tight.test")
    member(tenant, Role.ADMIN, email="bob@tight.test")
    member(tenant, Role.CREATOR, email="cy@tight.test")
    return tenant


def submit(tenant, django_capture_on_commit_callbacks, n=1):
    with django_capture_on_commit_callbacks(execute=True):
        return job_submit(tenant=tenant, actor=None, model_id=NOVA, raw={**A_REQUEST, "n": n}).job


def thresholds_alerted(tenant) -> list[int]:
    events = AuditEvent.objects.filter(tenant=tenant, verb="budget.threshold_crossed").order_by("pk")
    return [event.data["threshold_percent"] for event in events]


@pytest.mark.django_db
def test_each_threshold_alerts_the_admins_once_a_month(tight, alerts, django_capture_on_commit_callbacks):
    jobs = [submit(tight, django_capture_on_commit_callbacks) for _ in range(4)]  # $0.16: 40 %
    assert thresholds_alerted(tight) == [] and mail.outbox == []

    jobs.append(submit(tight, django_capture_on_commit_callbacks))  # $0.20: 50 %
    assert thresholds_alerted(tight) == [50]
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["ada@tight.test", "bob@tight.test"]  # admins only
    assert "50% of the tenant's monthly budget" in mail.outbox[0].subject
    assert "$0.200000" in mail.outbox[0].body and "$0.400000" in mail.outbox[0].body

    # Released money and a second crossing of 50 % send nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        job_cancel(tenant=tight, job=jobs[0], actor=None)
        job_cancel(tenant=tight, job=jobs[1], actor=None)
    submit(tight, django_capture_on_commit_callbacks, n=2)  # back to $0.20
    assert thresholds_alerted(tight) == [50] and len(mail.outbox) == 1

    with pytest.raises(BudgetExceeded):
        submit(tight, django_capture_on_commit_callbacks, n=6)  # $0.44 would not fit: refused, and no alert
    assert thresholds_alerted(tight) == [50] and len(mail.outbox) == 1

    submit(tight, django_capture_on_commit_callbacks, n=5)  # $0.40: past 80 % and 100 % at once
    assert thresholds_alerted(tight) == [50, 80, 100]
    assert [m.subject.split(": ")[1].split("%")[0] for m in mail.outbox] == ["50", "80", "100"]

    budget = Budget.objects.get(tenant=tight)
    assert budget.committed_usd == committed_usd(tenant=tight, period_start=period_start_for(tight)) == Decimal("0.4")


@pytest.mark.django_db
def test_a_new_month_starts_from_its_own_ledger_and_alerts_again(tight, alerts, django_capture_on_commit_callbacks):
    last_month = period_start_for(tight) - datetime.timedelta(days=1)
    Budget.objects.filter(tenant=tight).update(  # as a full month left it
        period_start=last_month.replace(day=1), committed_usd=Decimal("0.40"), alerted_percent=100
    )

    submit(tight, django_capture_on_commit_callbacks, n=6)  # $0.24 of this month's $0.40: fits

    budget = Budget.objects.get(tenant=tight)
    assert (budget.period_start, budget.committed_usd, budget.alerted_percent) == (
        period_start_for(tight),
        Decimal("0.24"),
        50,
    )
    assert thresholds_alerted(tight) == [50] and len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_changed_amount_rearms_only_the_thresholds_above_todays_figure(
    tight, alerts, django_capture_on_commit_callbacks
):
    submit(tight, django_capture_on_commit_callbacks, n=6)  # $0.24: 60 %, the 50 % alert sent
    budget = Budget.objects.get(tenant=tight)

    budget_update(budget=budget, actor=None, amount_usd=Decimal("0.30"))  # now 80 %: no mail for a known state
    assert Budget.objects.get(pk=budget.pk).alerted_percent == 80
    submit(tight, django_capture_on_commit_callbacks)  # $0.28: 93 %
    assert thresholds_alerted(tight) == [50]

    budget_update(budget=budget, actor=None, amount_usd=Decimal("1.00"))  # 28 %: 50 % can alert again
    submit(tight, django_capture_on_commit_callbacks, n=6)  # $0.52
    assert thresholds_alerted(tight) == [50, 50] and len(mail.outbox) == 2


@pytest.mark.django_db
def test_an_adjustment_counts_toward_the_thresholds(tight, alerts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ledger_adjust(tenant=tight, amount_usd=Decimal("0.35"), reason="Late charge from October", actor=None)

    assert thresholds_alerted(tight) == [50, 80]
    assert Budget.objects.get(tenant=tight).committed_usd == Decimal("0.35")


@pytest.mark.django_db
def test_a_budget_changed_in_the_admin_keeps_its_running_figure(tight, client, django_capture_on_commit_callbacks):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    with mock.patch("generation.services._enqueue_on_commit"):
        submit(tight, django_capture_on_commit_callbacks, n=3)  # $0.12 committed
    staff = get_user_model().objects.create_superuser("ops@atelier.test", "ops@atelier.test", "pw")
    client.force_login(staff)
    budget = Budget.objects.get(tenant=tight)

    bad = client.post(reverse("admin:billing_budget_change", args=[budget.pk]),
                      {"period": "monthly", "amount_usd": "2.50", "alert_thresholds": "[50, 5000]"})  # fmt: skip
    changed = client.post(reverse("admin:billing_budget_change", args=[budget.pk]),
                          {"period": "monthly", "amount_usd": "2.50", "alert_thresholds": "[75]"})  # fmt: skip

    assert bad.status_code == 200 and "whole percentages from 1 to 1000" in bad.content.decode()
    assert changed.status_code == 302
    budget.refresh_from_db()
    assert (budget.amount_usd, budget.alert_thresholds, budget.committed_usd) == (
        Decimal("2.50"),
        [75],
        Decimal("0.12"),
    )
    assert AuditEvent.objects.get(verb="budget.changed").actor_user == staff
