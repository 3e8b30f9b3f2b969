"""The cost dashboard: where the money went in a date range — per day and model, per project, per person, what
each approved image cost — and this month's budget burn-down with its month-end projection; and the same rows
as CSV. Dates are days of the tenant's calendar; the range's last day is included."""

import datetime
import zoneinfo
from decimal import Decimal

from django import forms
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.http import urlencode

from billing.export import spend_report_csv
from billing.selectors import SPEND_GROUPS, budget_burndown, spend_by_day_and_model, spend_report, tenant_budget
from billing.services import period_start_for
from web import charts

from .base import TenantPage

MAX_RANGE_DAYS = 366
GROUP_LABELS = {
    "day": "Day",
    "project": "Project",
    "model": "Model",
    "user": "Person",
    "quality": "Quality",
    "api_key": "API key",
    "tag": "Tag",
}


class RangeForm(forms.Form):
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"],
        help_text="Included in the range.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("start", "end"):
            self.fields[name].error_messages["invalid"] = "Enter a date as YYYY-MM-DD."

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is None:
            self.add_error("start", "Choose the first day.")
        elif end is None:
            self.add_error("end", "Choose the last day.")
        elif end < start:
            self.add_error("end", "The last day must be on or after the first.")
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            self.add_error("end", f"Choose at most {MAX_RANGE_DAYS} days.")
        return cleaned


class CostRange:
    """The tenant's calendar for a request: today, and the form that reads ?start=&end=."""

    def __init__(self, tenant, query):
        self.zone = zoneinfo.ZoneInfo(tenant.timezone)
        self.today = timezone.localtime(timezone.now(), self.zone).date()
        defaults = {"start": self.today.replace(day=1).isoformat(), "end": self.today.isoformat()}  # this month so far
        data = defaults | {name: value for name, value in query.items() if name in defaults and value}
        self.form = RangeForm(data)

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        """[start, end) as aware datetimes: midnight of the first day, midnight after the last."""
        start, end = self.form.cleaned_data["start"], self.form.cleaned_data["end"]
        return (
            datetime.datetime.combine(start, datetime.time(), self.zone),
            datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), self.zone),
        )

    def presets(self) -> list[tuple[str, str]]:
        today = self.today
        month_start = today.replace(day=1)
        last_month_end = month_start - datetime.timedelta(days=1)
        ranges = [
            ("This month", month_start, today),
            ("Last month", last_month_end.replace(day=1), last_month_end),
            ("Last 30 days", today - datetime.timedelta(days=29), today),
            ("This year", today.replace(month=1, day=1), today),
        ]
        return [(label, urlencode({"start": a.isoformat(), "end": b.isoformat()})) for label, a, b in ranges]


def _share_rows(rows: list[dict]) -> list[dict]:
    total = sum((row["spent"] for row in rows), Decimal(0))
    for row in rows:
        row["share"] = (row["spent"] * 100 / total).quantize(Decimal("0.1")) if total else None
    return sorted(rows, key=lambda row: row["spent"], reverse=True)


class CostsPage(TenantPage):
    template_name = "web/costs/dashboard.html"
    nav = "costs"

    def get(self, request, *args, **kwargs):
        self.range = CostRange(self.tenant, request.GET)
        valid = self.range.form.is_valid()
        context = self.get_context_data(valid=valid, **kwargs)
        return self.render_to_response(context, status=200 if valid else 400)

    def get_context_data(self, *, valid: bool, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.range.form
        context.update(form=form, presets=self.range.presets(), group_labels=GROUP_LABELS, valid=valid)
        context["burndown"] = self._burndown()
        if not valid:
            return context
        start, end = self.range.bounds()
        first, last = form.cleaned_data["start"], form.cleaned_data["end"]
        tenant = self.tenant
        daily = spend_by_day_and_model(tenant=tenant, start=start, end=end)
        models = list(daily["series"])
        day_rows = [
            {"day": day, "values": [daily["series"][model][index] for model in models],
             "total": sum((daily["series"][model][index] for model in models), Decimal(0))}
            for index, day in enumerate(daily["days"])
        ]  # fmt: skip
        reports = {
            group: spend_report(tenant=tenant, group_by=group, start=start, end=end)
            for group in ("day", "project", "user", "model")
        }
        overall = reports["day"]
        by_project = _share_rows(reports["project"]["rows"])
        by_user = _share_rows(reports["user"]["rows"])
        by_model = _share_rows(reports["model"]["rows"])
        context.update(
            first=first,
            last=last,
            query=urlencode({"start": first.isoformat(), "end": last.isoformat()}),
            overall=overall,
            entries=sum(row["entries"] for row in overall["rows"]),
            daily_models=models,
            daily_rows=day_rows,
            daily_chart=charts.stacked_daily_spend(days=daily["days"], series=daily["series"]) if models else "",
            by_project=by_project,
            by_user=by_user,
            by_model=by_model,
            project_chart=charts.horizontal_bars(
                rows=[(row["key"], row["spent"]) for row in by_project], title="Spend by project"
            )
            if by_project
            else "",
            user_chart=charts.horizontal_bars(
                rows=[(row["key"], row["spent"]) for row in by_user], title="Spend by person"
            )
            if by_user
            else "",
        )
        return context

    def _burndown(self) -> dict:
        period_start = period_start_for(self.tenant)
        budget = tenant_budget(tenant=self.tenant)
        burn = budget_burndown(tenant=self.tenant, period_start=period_start, budget=budget)
        lead = len(burn["days"]) - len(burn["projection"])  # the projection starts today
        rows = [
            {"day": day, "cumulative": burn["cumulative"][index] if index < len(burn["cumulative"]) else None,
             "projected": burn["projection"][index - lead] if index >= lead else None}
            for index, day in enumerate(burn["days"])
        ]  # fmt: skip
        chart = charts.burndown(
            days=burn["days"], cumulative=burn["cumulative"], projection=burn["projection"], limit=burn["limit"]
        )
        return burn | {"period_start": period_start, "rows": rows, "chart": chart}


class CostsCsv(TenantPage):
    """GET ?start=&end=&group_by= → the spend rows as CSV, the REST report's columns; errors are a 400 in text."""

    def get(self, request, *args, **kwargs):
        cost_range = CostRange(self.tenant, request.GET)
        group_by = request.GET.get("group_by") or "day"
        problems = []
        if group_by not in SPEND_GROUPS:
            problems.append(f"group_by: one of {', '.join(SPEND_GROUPS)}.")
        if not cost_range.form.is_valid():
            problems += [f"{name}: {' '.join(errors)}" for name, errors in cost_range.form.errors.items()]
        if problems:
            return HttpResponse("\n".join(problems) + "\n", status=400, content_type="text/plain; charset=utf-8")
        start, end = cost_range.bounds()
        report = spend_report(tenant=self.tenant, group_by=group_by, start=start, end=end)
        first, last = cost_range.form.cleaned_data["start"], cost_range.form.cleaned_data["end"]
        csv_text = spend_report_csv(report=report, group_by=group_by)
        response = HttpResponse(csv_text, content_type="text/csv; charset=utf-8")
        filename = f"{self.tenant.slug}-spend-by-{group_by}-{first}-to-{last}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


urlpatterns = [
    path("costs/", CostsPage.as_view(), name="costs"),
    path("costs/export.csv", CostsCsv.as_view(), name="costs_csv"),
]
