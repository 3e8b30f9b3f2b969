"""Reads behind the studio's home page and cost dashboard: spend per day and model, the budget month for a
gauge, and the month's burn-down with its projection — all Decimal, days in the tenant's time zone."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Budget, LedgerEntry
from billing.selectors import budget_burndown, budget_month, spend_by_day_and_model, tenant_budget
from billing.services import ledger_adjust

from .test_spend import NOVA, TITAN, finished_job

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
MARCH = datetime.date(2025, 3, 1)


def entry_at(tenant, when: datetime.datetime, amount: str, kind=LedgerEntry.Kind.CHARGE, period_start=MARCH, **fields):
    entry = LedgerEntry.objects.create(
        tenant=tenant, kind=kind, amount_usd=Decimal(amount), period_start=period_start, **fields
    )
    LedgerEntry.objects.filter(pk=entry.pk).update(created_at=when)
    return entry


def test_spend_by_day_and_model_fills_every_day_and_sums_the_ledger(tenant_a, tenant_b):
    finished_job(tenant_a, NOVA, [], images=2)  # 2 × $0.04
    finished_job(tenant_a, TITAN, [])  # $0.008
    finished_job(tenant_b, NOVA, [])  # another tenant's: never counted
    ledger_adjust(tenant=tenant_a, amount_usd=Decimal("-0.01"), reason="credit", actor=None)
    zone = zoneinfo.ZoneInfo(tenant_a.timezone)
    today = timezone.localtime(timezone.now(), zone).date()
    start = datetime.datetime.combine(today - datetime.timedelta(days=2), datetime.time(), zone)
    end = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(), zone)

    spend = spend_by_day_and_model(tenant=tenant_a, start=start, end=end)

    assert spend["days"] == [today - datetime.timedelta(days=2), today - datetime.timedelta(days=1), today]
    assert spend["series"] == {
        "(adjustment)": [0, 0, Decimal("-0.01")],
        NOVA: [0, 0, Decimal("0.08")],
        TITAN: [0, 0, Decimal("0.008")],
    }
    ledger = LedgerEntry.objects.for_tenant(tenant_a).filter(kind__in=["charge", "adjust"])
    assert spend["total"] == sum(entry.amount_usd for entry in ledger) == Decimal("0.078")


def test_a_day_is_a_day_of_the_tenants_calendar(tenant_a):
    tenant_a.timezone = "America/New_York"
    tenant_a.save()
    entry_at(tenant_a, datetime.datetime(2025, 3, 2, 3, 0, tzinfo=UTC), "1.00")  # 22:00 on the 1st in New York
    zone = zoneinfo.ZoneInfo("America/New_York")

    spend = spend_by_day_and_model(
        tenant=tenant_a,
        start=datetime.datetime(2025, 3, 1, tzinfo=zone),
        end=datetime.datetime(2025, 3, 3, tzinfo=zone),
    )

    assert spend["days"] == [datetime.date(2025, 3, 1), datetime.date(2025, 3, 2)]
    assert spend["series"] == {"(adjustment)": [Decimal("1.00"), 0]}


def test_burndown_accumulates_and_projects_the_average_day_to_the_months_end(tenant_a, tenant_b):
    entry_at(tenant_a, datetime.datetime(2025, 3, 2, 12, tzinfo=UTC), "10")
    entry_at(tenant_a, datetime.datetime(2025, 3, 9, 12, tzinfo=UTC), "20")
    entry_at(tenant_a, datetime.datetime(2025, 3, 9, 13, tzinfo=UTC), "5", kind=LedgerEntry.Kind.RESERVE)  # held
    entry_at(tenant_a, datetime.datetime(2025, 2, 27, 12, tzinfo=UTC), "99", period_start=datetime.date(2025, 2, 1))
    entry_at(tenant_b, datetime.datetime(2025, 3, 3, 12, tzinfo=UTC), "500")
    budget = tenant_budget(tenant=tenant_a)

    burn = budget_burndown(
        tenant=tenant_a, period_start=MARCH, budget=budget, now=datetime.datetime(2025, 3, 10, 12, tzinfo=UTC)
    )

    assert len(burn["days"]) == 31 and burn["days"][-1] == datetime.date(2025, 3, 31)
    assert burn["elapsed"] == 10
    assert burn["cumulative"] == [0, 10, 10, 10, 10, 10, 10, 10, 30, 30]
    assert (burn["spent"], burn["average_daily"], burn["projected"]) == (Decimal(30), Decimal(3), Decimal(93))
    assert burn["projection"][0] == Decimal(30) and burn["projection"][-1] == Decimal(93)
    assert len(burn["projection"]) == 31 - 10 + 1  # from today to the month's last day
    assert (burn["limit"], burn["over_budget"]) == (Decimal(1000), False)

    budget.amount_usd = Decimal(90)
    budget.save()
    assert budget_burndown(tenant=tenant_a, period_start=MARCH, budget=budget,
                           now=datetime.datetime(2025, 3, 10, 12, tzinfo=UTC))["over_budget"] is True  # fmt: skip


def test_a_finished_month_projects_what_it_spent(tenant_a):
    entry_at(tenant_a, datetime.datetime(2025, 3, 31, 12, tzinfo=UTC), "7")
    entry_at(tenant_a, datetime.datetime(2025, 4, 1, 8, tzinfo=UTC), "3")  # charged the next morning: March's

    burn = budget_burndown(tenant=tenant_a, period_start=MARCH, now=datetime.datetime(2025, 5, 2, tzinfo=UTC))

    assert burn["elapsed"] == 31 and burn["cumulative"][-1] == Decimal(10)
    assert (burn["projected"], burn["limit"], burn["over_budget"]) == (Decimal(10), None, False)


def test_budget_month_for_the_gauge(tenant_a):
    finished_job(tenant_a, NOVA, [], images=2)

    month = budget_month(tenant=tenant_a)

    assert (month["limit"], month["spent"], month["reserved"]) == (Decimal(1000), Decimal("0.08"), Decimal(0))
    assert month["remaining"] == Decimal("999.92") and month["percent"] == Decimal("0.0")

    Budget.objects.filter(pk=month["budget"].pk).delete()
    unset = budget_month(tenant=tenant_a)
    assert (unset["budget"], unset["limit"], unset["percent"], unset["spent"]) == (None, None, None, Decimal("0.08"))
