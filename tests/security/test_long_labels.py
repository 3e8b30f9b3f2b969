"""Long names never stall a page: a 200-character project name, e-mail, model id or tag is cut in the charts
(the full text stays in the SVG) and the costs and home pages answer 200 at once. pygal, given an uncut label
wider than its chart, looped forever while memory grew; each render here runs under a deadline so such a
regression fails instead of hanging the suite."""

import datetime
import signal
from contextlib import contextmanager
from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from generation.models import BedrockModel
from tenants.models import Role
from web import charts

from ..billing.test_spend import NOVA, TITAN, finished_job
from ..factories import make_project

pytestmark = pytest.mark.django_db
SECONDS = 10  # a page with a few rows renders in well under a second here
LONG = 200


@contextmanager
def deadline(seconds: float = SECONDS):
    """Fail (TimeoutError) if the block runs longer than `seconds`: SIGALRM interrupts even a pure-Python loop."""

    def expire(signum, frame):
        raise TimeoutError(f"still rendering after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def long_text(letter: str) -> str:
    return (letter * 9 + " ") * (LONG // 10 - 1) + letter * 10  # words, so pygal's wrapping has spaces to try


@pytest.fixture
def long_names(tenant_a, member):
    """Spend charged under a 200-character project, e-mail, model id and tag (and a second of each, shorter)."""
    spender = member(
        tenant_a, Role.CREATOR, username="long-email", email=f"{'p' * (LONG - len('@acme.test'))}@acme.test"
    )
    project = make_project(tenant_a, name=long_text("n"))
    for model_id, user in ((NOVA, spender), (TITAN, None)):
        job = finished_job(tenant_a, model_id, ["short"], images=2)
        job.requested_by_user, job.project, job.tags = user, project, [long_text("t"), "short"]
        job.save(update_fields=["requested_by_user", "project", "tags"])
        LedgerEntry.objects.filter(job=job).update(project=project)
    BedrockModel.objects.filter(model_id=NOVA).update(model_id=long_text("m"))
    return {"project": project.name, "email": spender.email, "model": long_text("m"), "tag": long_text("t")}


@pytest.mark.parametrize("page", ["/t/acme/", "/t/acme/costs/"])
def test_pages_with_200_character_names_answer_at_once(tenant_a, member, client_as, long_names, page):
    client = client_as(member(tenant_a, Role.ADMIN))

    with deadline():
        response = client.get(page)

    assert response.status_code == 200


def test_the_costs_charts_cut_long_names_and_keep_them_whole_in_the_svg(tenant_a, member, client_as, long_names):
    client = client_as(member(tenant_a, Role.VIEWER))

    with deadline():
        page = client.get("/t/acme/costs/").content.decode()

    for name in ("project", "email", "model"):
        cut = long_names[name][: charts.LABEL_MAX_CHARS - 1] + "…"
        assert f">{cut}<" in page, f"the {name} is not cut in its chart"
        assert long_names[name] in page, f"the whole {name} is gone"


@pytest.mark.parametrize("length", [85, 120, LONG, 2000])
def test_every_chart_renders_a_long_label_at_once(length):
    days = [datetime.date(2026, 3, day) for day in (1, 2, 3)]
    name = "x" * length

    with deadline():
        bars = charts.horizontal_bars(rows=[(name, Decimal("1.5")), ("short", Decimal("2"))], title="Spend by person")
        daily = charts.stacked_daily_spend(days=days, series={name: [Decimal(1)] * 3, "short": [Decimal(2)] * 3})
        burn = charts.burndown(days=days, cumulative=[Decimal(1)], projection=[Decimal(1)] * 3, limit=Decimal(9))

    for svg in (bars, daily, burn):
        assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert name in bars and name in daily  # whole, in a tooltip or a title


def test_many_rows_are_bounded_with_the_rest_summed():
    rows = [(f"project {index}", Decimal(index)) for index in range(1, 501)]

    with deadline():
        svg = charts.horizontal_bars(rows=rows, title="Spend by project")

    assert svg.count("<rect") < 3 * charts.MAX_BARS  # not one bar per row
    rest = sum(range(1, 501 - (charts.MAX_BARS - 1)))
    assert f"Others ({500 - (charts.MAX_BARS - 1)})" in svg and f"${rest:,.2f}" in svg
