"""The cost dashboard: spend per day stacked by model, the month's burn-down with its projection, spend by
project and by person, cost per approved image, a date-range filter with its errors beside the fields, and the
CSV export — figures from the real ledger, this tenant's only, and no chart fetches anything from elsewhere."""

import csv
import datetime
import io
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from assets.models import Asset, Project
from billing.models import Budget, LedgerEntry
from tenants.models import Role

from ..billing.test_spend import NOVA, TITAN, finished_job
from ..factories import make_asset

pytestmark = pytest.mark.django_db
URL = "/t/acme/costs/"
CSV_URL = "/t/acme/costs/export.csv"


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def today(tenant) -> datetime.date:
    return timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(tenant.timezone)).date()


@pytest.fixture
def spent(tenant_a, tenant_b, member):
    """Real jobs through the services: Nova $0.08 (two images, one approved) by Ada in the default project, Titan
    $0.008 in project Autumn; and Globex's money, which Acme must never see."""
    from assets.services import project_get_default

    ada = member(tenant_a, Role.CREATOR, email="ada@acme.test")
    autumn = Project.objects.create(tenant=tenant_a, name="Autumn", slug="autumn")
    nova = finished_job(tenant_a, NOVA, [], images=2)
    nova.requested_by_user = ada
    nova.save(update_fields=["requested_by_user"])
    titan = finished_job(tenant_a, TITAN, [])
    LedgerEntry.objects.filter(job=titan).update(project=autumn)
    make_asset(tenant_a, job=nova, index=0, sha256="01" * 32, status=Asset.Status.APPROVED)
    make_asset(tenant_a, job=nova, index=1, sha256="02" * 32, status=Asset.Status.REJECTED)
    finished_job(tenant_b, NOVA, [], images=3)
    return {"nova": nova, "titan": titan, "default": project_get_default(tenant=tenant_a), "autumn": autumn}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER, Role.ADMIN])
def test_every_member_sees_the_dashboard_for_this_month_by_default(signed_in, tenant_a, role):
    client, _ = signed_in(role)

    response = client.get(URL)

    assert response.status_code == 200
    page = text(response)
    first_day = today(tenant_a).replace(day=1)
    assert f'name="start" value="{first_day.isoformat()}"' in page
    assert f'name="end" value="{today(tenant_a).isoformat()}"' in page
    assert "Nothing was charged between" in page  # empty state, no chart
    assert "Budget burn-down" in page


def test_the_dashboard_shows_this_tenants_spend_in_charts_and_tables(signed_in, spent):
    client, _ = signed_in(Role.VIEWER)

    response = client.get(URL)

    assert response.status_code == 200
    page = text(response)
    assert '<dd id="total-spent">$0.09</dd>' in page  # $0.088 to the cent
    assert '<dd id="cost-per-approved">$0.09</dd>' in page  # one approved image carries all $0.088
    # The stacked chart: one series per model, and its numbers in the table under it.
    assert len(set(re.findall(r'class="series serie-(\d+)', section(page, "daily-heading")))) == 2
    daily = section(page, "daily-heading")
    assert f'<th scope="col" class="num">{NOVA}</th>' in daily and f'<th scope="col" class="num">{TITAN}</th>' in daily
    assert "Show data" in daily and "$0.08" in daily and "$0.0080" in daily
    # By project and by person, with their shares.
    by_project = section(page, "by-project")
    assert '<th scope="row">Default</th><td class="num">$0.08</td><td class="num">90.9%</td>' in by_project
    assert '<th scope="row">Autumn</th><td class="num">$0.0080</td><td class="num">9.1%</td>' in by_project
    by_user = section(page, "by-user")
    assert '<th scope="row">ada@acme.test</th><td class="num">$0.08</td>' in by_user
    assert '<th scope="row">(none)</th><td class="num">$0.0080</td>' in by_user
    # Cost per approved image, per model.
    per_asset = section(page, "per-approved")
    assert f'<th scope="row">{NOVA}</th><td class="num">$0.08</td><td class="num">1</td><td class="num">$0.08</td>' in (
        per_asset
    )
    assert f'<th scope="row">{TITAN}</th><td class="num">$0.0080</td><td class="num">0</td><td class="num">—</td>' in (
        per_asset
    )
    # Globex's three Nova images ($0.12) are in none of the spend figures. (Not the whole page: the burn-down's
    # projection for some day of the month may be $0.12 by itself.)
    for figures in (page[page.index('id="total-spent"') :][:200], daily, by_project, by_user, per_asset):
        assert "$0.12" not in figures


def test_no_chart_or_anything_else_comes_from_another_host(signed_in, spent):
    client, _ = signed_in(Role.VIEWER)

    page = client.get(URL).content.decode()

    assert "<svg" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert re.findall(r"<script\b[^>]*>", page) == [
        tag for tag in re.findall(r"<script\b[^>]*>", page) if re.search(r'src="/static/', tag)
    ]  # only our own static scripts; the charts carry none
    assert "pygal.org" not in page and "cdn" not in page.lower()


def test_the_burndown_projects_the_month_end_and_says_whether_it_passes_the_budget(signed_in, tenant_a, spent):
    client, _ = signed_in(Role.VIEWER)
    day = today(tenant_a)
    elapsed = day.day
    days_in_month = ((day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)).day
    average = (Decimal("0.088") / elapsed).quantize(Decimal("0.000001"))
    projected = Decimal("0.088") + average * (days_in_month - elapsed)

    burn = section(text(client.get(URL)), "burndown")

    assert f'<strong id="projected">${projected:,.2f}</strong>' in burn or (
        projected < Decimal("0.01") and f"${projected:,.4f}" in burn
    )
    assert "within the budget" in burn and "of $1,000.00" in burn
    assert 'aria-label="Budget burn-down for the month"' in burn and "Show data" in burn

    Budget.objects.for_tenant(tenant_a).update(amount_usd=Decimal("0.05"))
    assert "over the budget" in section(text(client.get(URL)), "burndown")


def test_a_past_range_leaves_out_this_months_spend(signed_in, spent, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    first = today(tenant_a).replace(day=1)
    last_month_end = first - datetime.timedelta(days=1)

    response = client.get(URL, {"start": last_month_end.replace(day=1).isoformat(), "end": last_month_end.isoformat()})

    assert response.status_code == 200
    page = text(response)
    assert '<dd id="total-spent">$0.00</dd>' in page and "Nothing was charged between" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2025-03-10", "end": "2025-03-01"}, "end", "The last day must be on or after the first."),
        ({"start": "yesterday", "end": "2025-03-01"}, "start", "Enter a date as YYYY-MM-DD."),
        ({"start": "2023-01-01", "end": "2025-01-01"}, "end", "Choose at most 366 days."),
    ],
)
def test_a_bad_range_is_a_400_with_the_error_beside_its_field(signed_in, spent, query, field, message):
    client, _ = signed_in(Role.VIEWER)

    response = client.get(URL, query)

    assert response.status_code == 400
    page = text(response)
    beside = re.search(rf'<div class="field invalid"> <label for="id_{field}">.*?</div>', page).group(0)
    assert message in beside
    assert 'id="total-spent"' not in page  # no figures for a range that is not one


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_export_is_the_ledger_summed_by_group(signed_in, tenant_a, spent):
    client, _ = signed_in(Role.VIEWER)
    day = today(tenant_a)
    query = {"start": day.replace(day=1).isoformat(), "end": day.isoformat()}

    by_model = client.get(CSV_URL, query | {"group_by": "model"})
    by_day = client.get(CSV_URL, query | {"group_by": "day"})

    assert by_model.status_code == 200 and by_model["Content-Type"].startswith("text/csv")
    assert by_model["Content-Disposition"] == (
        f'attachment; filename="acme-spend-by-model-{query["start"]}-to-{query["end"]}.csv"'
    )
    rows = read_csv(by_model)
    assert rows[0] == ["model", "spent_usd", "entries", "approved_assets", "cost_per_approved_asset_usd"]
    assert rows[1:] == [[NOVA, "0.080000", "1", "1", "0.080000"], [TITAN, "0.008000", "1", "0", ""]]
    for model_id, spent_usd, *_ in rows[1:]:
        ledger = LedgerEntry.objects.for_tenant(tenant_a).filter(kind="charge", job__model__model_id=model_id)
        assert Decimal(spent_usd) == sum(entry.amount_usd for entry in ledger)
    assert read_csv(by_day)[1:] == [[day.isoformat(), "0.088000", "2", "1", "0.088000"]]


def test_a_project_name_never_becomes_a_spreadsheet_formula(signed_in, tenant_a, spent):
    spent["autumn"].name = '=HYPERLINK("https://evil.example","open")'
    spent["autumn"].save(update_fields=["name"])
    client, _ = signed_in(Role.VIEWER)

    for response in (
        client.get(CSV_URL, {"group_by": "project"}),
        client.get(f"/api/v1/tenants/{tenant_a.slug}/spend.csv", {"group_by": "project"}),
    ):
        keys = [row[0] for row in read_csv(response)[1:]]
        assert "'" + spent["autumn"].name in keys  # shown as text, whatever the spreadsheet
        assert not any(key.startswith("=") for key in keys)


def test_the_csv_defaults_to_this_month_by_day(signed_in, tenant_a, spent):
    client, _ = signed_in(Role.VIEWER)

    rows = read_csv(client.get(CSV_URL))

    assert rows[0][0] == "day" and rows[1][1] == "0.088000"


@pytest.mark.parametrize(
    ("query", "message"),
    [({"group_by": "colour"}, "group_by: one of day"), ({"start": "2025-03-10", "end": "2025-03-01"}, "end: The last")],
)
def test_a_bad_csv_request_is_a_400_saying_why(signed_in, query, message):
    client, _ = signed_in(Role.VIEWER)

    response = client.get(CSV_URL, query)

    assert response.status_code == 400 and message in response.content.decode()
