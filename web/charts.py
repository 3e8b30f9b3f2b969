"""Charts for the studio, drawn on the server: numbers in, an inline SVG string out. pygal draws them;
nothing of pygal's JavaScript is sent (its tooltips script sits on a CDN, and nothing in a page may come
from the internet), so every chart gets a table of the same numbers beside it in the template.

Money arrives as Decimal and becomes float only here, for plotting."""

import datetime
import re
from decimal import Decimal

import pygal
from pygal.style import Style

ACCENT, OK, WARN, BAD, INK, MUTED, LINE = "#3b5bdb", "#2b8a3e", "#e67700", "#c92a2a", "#1d2330", "#5d6677", "#dde2ea"
SERIES_COLOURS = (ACCENT, "#0ca678", WARN, "#ae3ec9", "#1098ad", "#f03e3e", "#74b816", "#f59f00", "#5c7cfa", MUTED)

_STYLE = dict(
    background="transparent",
    plot_background="transparent",
    foreground=INK,
    foreground_strong=INK,
    foreground_subtle=LINE,
    opacity=".85",
    opacity_hover="1",
    transition="none",
    colors=SERIES_COLOURS,
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=12,
    tooltip_font_size=12,
    no_data_font_size=16,
    guide_stroke_color=LINE,
    major_guide_stroke_color=LINE,
    guide_stroke_dasharray="2,4",
    major_guide_stroke_dasharray="2,4",
    stroke_width="1",
    stroke_width_hover="1",
    stroke_opacity="1",
)
STUDIO_STYLE = Style(**_STYLE)
BURNDOWN_STYLE = Style(
    **_STYLE | {"colors": (ACCENT, MUTED, BAD), "stroke_width": "2.5", "stroke_width_hover": "3"}
)  # spent, projection, the budget line

# A label's characters before pygal cuts it with "…" (the full text stays in the SVG as its <title>). Uncut, a
# long project name or e-mail makes the axis labels wider than the chart, and pygal then wraps the axis title
# into an ever-growing list of empty lines: the request never ends and memory grows without bound.
LABEL_MAX_CHARS = 40
# Bars and series drawn at most; the rest are summed as one "others" entry (the tables beside list them all).
MAX_BARS = 15
MAX_SERIES = len(SERIES_COLOURS)

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _usd(value: float) -> str:
    return f"${value:,.4f}" if value and abs(value) < 0.01 else f"${value:,.2f}"


def _config(**overrides) -> dict:
    return {
        "style": STUDIO_STYLE,
        "js": [],  # pygal's default fetches its tooltip script from a CDN
        "disable_xml_declaration": True,  # the SVG sits inside an HTML page
        "width": 1000,
        "height": 340,
        "margin": 16,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "truncate_legend": LABEL_MAX_CHARS,
        "truncate_label": LABEL_MAX_CHARS,
        "show_minor_x_labels": True,
        "value_formatter": lambda value: _usd(value or 0),
        "no_data_text": "No spend in this range",
        **overrides,
    }


def _svg(chart, *, label: str) -> str:
    """The chart as inline SVG, with no script (pygal writes its config into one) nor comment naming a website,
    labelled for screen readers."""
    svg = _COMMENT.sub("", _SCRIPT.sub("", chart.render(is_unicode=True)))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attribute(label)}" ', 1)


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str) -> str:
    """A label short enough for the chart, for the axes pygal does not cut itself (a horizontal chart's)."""
    return text if len(text) <= LABEL_MAX_CHARS else text[: LABEL_MAX_CHARS - 1] + "…"


def _floats(values) -> list[float | None]:
    return [None if value is None else float(value) for value in values]


def _day_labels(days: list[datetime.date]) -> tuple[list[str], list[str]]:
    """Every day's label, and the few printed under the axis so a month stays readable."""
    labels = [f"{day:%b} {day.day}" for day in days]
    step = max(1, len(days) // 10)
    major = [label for index, label in enumerate(labels) if index % step == 0]
    return labels, major


def _others_summed(items: list[tuple[str, object]], *, keep: int, others: str, add) -> list[tuple[str, object]]:
    """The first `keep - 1` items and one more named `others` that sums the rest with `add`, when there are more
    than `keep`."""
    if len(items) <= keep:
        return items
    rest = items[keep - 1 :]
    total = rest[0][1]
    for _, value in rest[1:]:
        total = add(total, value)
    return items[: keep - 1] + [(f"{others} ({len(rest)})", total)]


def stacked_daily_spend(*, days: list[datetime.date], series: dict[str, list[Decimal]]) -> str:
    """Spend per day, one stacked series per model."""
    labels, major = _day_labels(days)
    chart = pygal.StackedBar(
        **_config(show_minor_x_labels=False, x_labels_major=major, y_title="USD", legend_at_bottom_columns=2)
    )
    chart.x_labels = labels
    biggest_first = sorted(series.items(), key=lambda item: sum(item[1], Decimal(0)), reverse=True)
    per_day_sum = lambda left, right: [a + b for a, b in zip(left, right, strict=True)]  # noqa: E731
    for name, values in _others_summed(biggest_first, keep=MAX_SERIES, others="Other models", add=per_day_sum):
        chart.add(name, _floats(values))
    return _svg(chart, label="Spend per day, stacked by model")


def burndown(
    *,
    days: list[datetime.date],
    cumulative: list[Decimal],
    projection: list[Decimal],
    limit: Decimal | None,
) -> str:
    """The budget month: cumulative spend so far, the straight-line projection to the month's end, and the
    budget as a flat line."""
    labels, major = _day_labels(days)
    chart = pygal.Line(
        **_config(style=BURNDOWN_STYLE, show_minor_x_labels=False, x_labels_major=major, y_title="USD", dots_size=1.5)
    )
    chart.x_labels = labels
    chart.add("Spent so far", _floats(cumulative) + [None] * (len(days) - len(cumulative)))
    lead = len(days) - len(projection)
    chart.add("Projection", [None] * lead + _floats(projection), stroke_style={"dasharray": "6, 4"}, show_dots=False)
    if limit is not None:
        chart.add("Budget", [float(limit)] * len(days), stroke_style={"dasharray": "2, 3"}, show_dots=False)
    return _svg(chart, label="Budget burn-down for the month")


def horizontal_bars(*, rows: list[tuple[str, Decimal]], title: str) -> str:
    """One bar per row (a project, a person), biggest on top."""
    rows = _others_summed(sorted(rows, key=lambda row: row[1], reverse=True), keep=MAX_BARS, others="Others",
                          add=lambda left, right: left + right)  # fmt: skip
    chart = pygal.HorizontalBar(
        **_config(show_legend=False, width=640, height=max(160, 70 + 36 * len(rows)), x_title="USD")
    )
    ordered = rows[::-1]  # pygal draws the first label at the bottom
    chart.x_labels = [_cut(name) for name, _ in ordered]
    # The whole name stays in each bar's tooltip.
    chart.add(title, [{"value": float(amount), "label": name} for name, amount in ordered])
    return _svg(chart, label=title)
