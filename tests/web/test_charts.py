"""The studio's charts: SVG drawn on the server from Decimal money, one series per model, nothing fetched
from another host and no script."""

import datetime
import re
from decimal import Decimal

from web import charts

DAYS = [datetime.date(2025, 3, 1) + datetime.timedelta(days=offset) for offset in range(3)]
NOVA, TITAN = "amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0"


def series_count(svg: str) -> int:
    return len(set(re.findall(r'class="series serie-(\d+)', svg)))


def assert_self_contained(svg: str) -> None:
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert "<script" not in svg.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", svg, re.IGNORECASE)
    assert "cdn" not in svg.lower() and "pygal.org" not in svg and "github.com" not in svg
    # The only URL left is the SVG namespace, which names a format and fetches nothing.
    assert set(re.findall(r"https?://[^\s\"'<>]+", svg)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }


def test_stacked_daily_spend_has_one_series_per_model_with_its_values():
    series = {NOVA: [Decimal("0.08"), Decimal("0"), Decimal("0.12")], TITAN: [Decimal("0.008"), Decimal("0.016"), 0]}

    svg = charts.stacked_daily_spend(days=DAYS, series=series)

    assert_self_contained(svg)
    assert series_count(svg) == 2
    assert NOVA in svg and TITAN in svg
    assert "$0.12" in svg and "$0.0080" in svg and "$0.02" in svg  # the values, as tooltips/descriptions
    assert "Mar 1" in svg and "Mar 3" in svg
    assert 'aria-label="Spend per day, stacked by model"' in svg


def test_burndown_draws_spent_projection_and_the_budget_line():
    svg = charts.burndown(
        days=DAYS, cumulative=[Decimal("10"), Decimal("20")], projection=[Decimal("20"), Decimal("30")],
        limit=Decimal("25"),
    )  # fmt: skip

    assert_self_contained(svg)
    assert series_count(svg) == 3
    assert "Spent so far" in svg and "Projection" in svg and "Budget" in svg
    assert "$10.00" in svg and "$20.00" in svg  # the spent series' values; the dashed lines carry no dots


def test_burndown_without_a_budget_has_no_budget_line():
    svg = charts.burndown(days=DAYS, cumulative=[Decimal("1")], projection=[Decimal("1"), Decimal("2"), Decimal("3")],
                          limit=None)  # fmt: skip

    assert series_count(svg) == 2 and ">Budget<" not in svg


def test_horizontal_bars_label_each_row_and_escape_names():
    svg = charts.horizontal_bars(
        rows=[("Spring <launch>", Decimal("3.20")), ("Fall & co", Decimal("1"))], title="Spend by project"
    )

    assert_self_contained(svg)
    assert "Spring &lt;launch&gt;" in svg and "Fall &amp; co" in svg
    assert "<launch>" not in svg
    assert "$3.20" in svg and "$1.00" in svg


def test_charts_take_decimals_and_never_turn_money_into_text_with_float_noise():
    svg = charts.stacked_daily_spend(days=DAYS[:1], series={NOVA: [Decimal("0.1") + Decimal("0.2")]})

    assert "$0.30" in svg and "0.30000000000000004" not in svg
