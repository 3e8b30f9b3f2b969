"""Where the money went: the ledger, and spend grouped by day, project, model, user, quality,
tag or API key, as JSON or CSV."""

import csv
import datetime
import io
import zoneinfo

import django_filters
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, serializers, views
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from billing.models import LedgerEntry
from billing.selectors import SPEND_GROUPS, spend_report
from config.errors import ApplicationError
from config.pagination import Page
from tenants.api.base import TenantContextMixin, TenantScopedViewSet
from tenants.permissions import CanView


class LedgerEntrySerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(source="amount_usd", max_digits=18, decimal_places=6)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "period_start", "project", "job", "api_key", "reason", "created_at"]
        read_only_fields = fields


class LedgerFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=LedgerEntry.Kind.choices)
    job = django_filters.UUIDFilter(field_name="job_id")
    project = django_filters.UUIDFilter(field_name="project_id")
    period_start = django_filters.DateFilter()

    class Meta:
        model = LedgerEntry
        fields = ["kind", "job", "project", "period_start"]


class LedgerViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    model = LedgerEntry
    serializer_class = LedgerEntrySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = LedgerFilter
    pagination_class = Page

    def safely_get_queryset(self, queryset):
        return queryset.order_by("-created_at", "-id")


class SpendView(TenantContextMixin, views.APIView):
    """GET ?group_by=day|project|model|user|quality|tag|api_key&from=YYYY-MM-DD&to=YYYY-MM-DD (to
    exclusive; default: this month so far). `spend.csv` answers the same rows as CSV."""

    permission_classes = [IsAuthenticated, CanView]
    as_csv = False

    def get(self, request, tenant_slug):
        group_by = request.query_params.get("group_by", "day")
        if group_by not in SPEND_GROUPS:
            message = f"One of: {', '.join(SPEND_GROUPS)}."
            raise ApplicationError("invalid", f"group_by: {message}", fields={"group_by": [message]})
        zone = zoneinfo.ZoneInfo(self.tenant.timezone)
        today = datetime.datetime.now(zone).date()
        start = self._date("from", today.replace(day=1))
        end = self._date("to", today + datetime.timedelta(days=1))
        report = spend_report(
            tenant=self.tenant, group_by=group_by,
            start=datetime.datetime.combine(start, datetime.time(), zone),
            end=datetime.datetime.combine(end, datetime.time(), zone),
        )  # fmt: skip
        rows = [
            {"key": row["key"], "spent": f"{row['spent']:.6f}", "entries": row["entries"],
             "approved_assets": row["approved_assets"],
             "cost_per_approved_asset": _usd(row["cost_per_approved_asset"])}
            for row in report["rows"]
        ]  # fmt: skip
        if self.as_csv:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow([group_by, "spent_usd", "entries", "approved_assets", "cost_per_approved_asset_usd"])
            writer.writerows(
                [row["key"], row["spent"], row["entries"], row["approved_assets"], row["cost_per_approved_asset"] or ""]
                for row in rows
            )
            response = HttpResponse(buffer.getvalue(), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="spend-{group_by}-{start}-{end}.csv"'
            return response
        return Response(
            {"currency": "USD", "group_by": group_by, "from": start.isoformat(), "to": end.isoformat(), "rows": rows,
             "total": f"{report['total']:.6f}", "approved_assets": report["approved_assets"],
             "cost_per_approved_asset": _usd(report["cost_per_approved_asset"])}
        )  # fmt: skip

    def _date(self, name: str, default: datetime.date) -> datetime.date:
        value = self.request.query_params.get(name)
        if not value:
            return default
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ApplicationError("invalid", f"{name}: use YYYY-MM-DD.", fields={name: ["Use YYYY-MM-DD."]}) from None


def _usd(amount) -> str | None:
    return None if amount is None else f"{amount:.6f}"
