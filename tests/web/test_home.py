"""Home: the month's budget gauge, the jobs running, the assets waiting for my review (or my own in review) and
the recent spend — for every role, with this tenant's rows only."""

import datetime
import re
from decimal import Decimal

import pytest

from assets.models import Asset
from billing.models import Budget, LedgerEntry
from billing.services import period_start_for
from generation.models import GenerationJob
from tenants.models import Role

from ..billing.test_spend import NOVA, TITAN, finished_job
from ..factories import make_asset, make_job

pytestmark = pytest.mark.django_db
URL = "/t/acme/"


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def section(response, section_id: str) -> str:
    page = text(response)
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def adjustment(tenant, amount: str) -> LedgerEntry:
    """Spend that holds nothing first (a correction), so the gauge moves by exactly this amount."""
    return LedgerEntry.objects.create(
        tenant=tenant, kind=LedgerEntry.Kind.ADJUST, amount_usd=Decimal(amount), period_start=period_start_for(tenant),
        reason="correction",
    )  # fmt: skip


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER, Role.ADMIN])
def test_every_member_sees_home(signed_in, role):
    client, _ = signed_in(role)

    response = client.get(URL)

    assert response.status_code == 200
    page = text(response)
    assert "Acme" in page and "Budget" in page and "Jobs running" in page and "Recent spend" in page


def test_signed_out_is_sent_to_sign_in(client, tenant_a):
    response = client.get(URL)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_budget_gauge_shows_spent_held_limit_and_percent(signed_in, tenant_a):
    finished_job(tenant_a, NOVA, [], images=2)  # $0.08 charged
    LedgerEntry.objects.create(
        tenant=tenant_a,
        kind=LedgerEntry.Kind.RESERVE,
        amount_usd=Decimal("120"),
        period_start=period_start_for(tenant_a),
    )  # a running job's hold
    client, _ = signed_in(Role.VIEWER)

    gauge = section(client.get(URL), "budget")

    assert "$0.08" in gauge and "of $1,000.00 spent" in gauge
    assert "Held by running jobs</dt><dd>$120.00" in gauge
    assert "Left</dt><dd>$879.92" in gauge
    assert "12.0%" in gauge and 'aria-valuenow="12.0"' in gauge
    assert 'class="progress gauge "' in gauge  # below the warning mark: plain


@pytest.mark.parametrize(
    ("limit", "state", "words"),
    [("100", "near", "85.0% of the month's budget is used"), ("50", "over", "The budget is used up")],
)
def test_the_gauge_turns_near_and_over(signed_in, tenant_a, limit, state, words):
    Budget.objects.for_tenant(tenant_a).update(amount_usd=Decimal(limit))
    adjustment(tenant_a, "85")
    client, _ = signed_in(Role.VIEWER)

    gauge = section(client.get(URL), "budget")

    assert f'class="progress gauge {state}"' in gauge and words in gauge
    assert 'style="width: 100' in gauge or state == "near"


def test_no_budget_set(signed_in, tenant_a):
    Budget.objects.for_tenant(tenant_a).delete()
    client, _ = signed_in(Role.ADMIN)

    gauge = section(client.get(URL), "budget")

    assert "No monthly budget is set" in gauge and "Set a budget in Settings" in gauge
    assert "gauge" not in gauge


def test_jobs_running_newest_first_linked_and_only_this_tenants(signed_in, tenant_a, tenant_b):
    older = make_job(tenant_a, status=GenerationJob.Status.QUEUED, params={"prompt": "a copper kettle"})
    newer = make_job(tenant_a, status=GenerationJob.Status.RUNNING, params={"prompt": "a velvet chair"})
    make_job(tenant_a, status=GenerationJob.Status.SUCCEEDED, params={"prompt": "a finished vase"})
    make_job(tenant_b, status=GenerationJob.Status.RUNNING, params={"prompt": "globex secret"})
    client, _ = signed_in(Role.VIEWER)

    jobs = section(client.get(URL), "running-jobs")

    assert jobs.index("a velvet chair") < jobs.index("a copper kettle")
    assert f'href="/t/acme/jobs/{newer.pk}/"' in jobs and f'href="/t/acme/jobs/{older.pk}/"' in jobs
    assert 'href="/t/acme/jobs/"' in jobs
    assert "finished vase" not in jobs and "globex secret" not in jobs
    assert '<span class="badge">2</span>' in jobs


def test_no_jobs_running(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)

    assert "No jobs are running." in section(client.get(URL), "running-jobs")


def test_an_approver_sees_the_assets_waiting_for_their_decision(signed_in, tenant_a, tenant_b, member):
    creator = member(tenant_a, Role.CREATOR)
    waiting = [
        make_asset(tenant_a, sha256=f"{n:02d}" * 32, status=Asset.Status.IN_REVIEW, created_by=creator,
                   title=f"Poster {n}")
        for n in range(3)
    ]  # fmt: skip
    make_asset(tenant_a, sha256="aa" * 32, status=Asset.Status.DRAFT, title="Draft poster")
    make_asset(tenant_b, sha256="bb" * 32, status=Asset.Status.IN_REVIEW, title="Globex poster")
    client, _ = signed_in(Role.APPROVER)

    review = section(client.get(URL), "review")

    assert "Waiting for your review" in review and '<span class="badge">3</span>' in review
    assert 'href="/t/acme/review/"' in review
    for asset in waiting:
        assert f'href="/t/acme/assets/{asset.pk}/"' in review and asset.title in review
    assert "Draft poster" not in review and "Globex poster" not in review


def test_with_four_eyes_an_approvers_own_asset_is_not_theirs_to_review(signed_in, tenant_a):
    tenant_a.four_eyes_approval = True
    tenant_a.save()
    client, approver = signed_in(Role.APPROVER)
    make_asset(tenant_a, sha256="01" * 32, status=Asset.Status.IN_REVIEW, created_by=approver, title="My own")

    review = section(client.get(URL), "review")

    assert "My own" not in review and "Nothing is waiting for you" in review


def test_a_creator_sees_their_own_assets_in_review_or_sent_back(signed_in, tenant_a, member):
    client, creator = signed_in(Role.CREATOR)
    mine = make_asset(tenant_a, sha256="01" * 32, status=Asset.Status.IN_REVIEW, created_by=creator, title="Mine 1")
    back = make_asset(tenant_a, sha256="02" * 32, status=Asset.Status.CHANGES_REQUESTED, created_by=creator,
                      title="Mine 2")  # fmt: skip
    make_asset(tenant_a, sha256="03" * 32, status=Asset.Status.IN_REVIEW, created_by=member(tenant_a, Role.CREATOR),
               title="Someone else's")  # fmt: skip

    review = section(client.get(URL), "review")

    assert "Your assets in review" in review and '<span class="badge">2</span>' in review
    assert f"/t/acme/assets/{mine.pk}/" in review and f"/t/acme/assets/{back.pk}/" in review
    assert "Someone else" not in review


def test_a_viewer_has_nothing_to_review(signed_in, tenant_a):
    make_asset(tenant_a, sha256="01" * 32, status=Asset.Status.IN_REVIEW, title="Waiting poster")
    client, _ = signed_in(Role.VIEWER)

    review = section(client.get(URL), "review")

    assert "Waiting poster" not in review and "approvers decide on it" in review


def test_recent_spend_totals_the_last_seven_days_and_lists_the_latest_charges(signed_in, tenant_a, tenant_b):
    finished_job(tenant_a, NOVA, [], images=2)  # $0.08
    titan = finished_job(tenant_a, TITAN, [])  # $0.008
    old = adjustment(tenant_a, "5")
    LedgerEntry.objects.filter(pk=old.pk).update(created_at=old.created_at - datetime.timedelta(days=8))
    finished_job(tenant_b, NOVA, [])
    client, _ = signed_in(Role.VIEWER)

    recent = section(client.get(URL), "recent-spend")

    assert '$0.09 <span class="muted">in the last 7 days' in recent  # $0.088, shown to the cent
    assert f'href="/t/acme/jobs/{titan.pk}/"' in recent and "$0.0080" in recent and "$0.08" in recent
    assert "$5.00" in recent and "Adjustment" in recent  # among the latest, but not in the week's total
