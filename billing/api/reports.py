"""Where the money went: the ledger, and spend grouped by day, project, model, user, quality,
tag or API key, as JSON or CSV."""

import datetime
import zoneinfo

import django_filters
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, views
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from billing.export import spend_report_csv
from billing.models import LedgerEntry
from billing.selectors import SPEND_GROUPS, spend_report
from config.errors import ApplicationError
from config.openapi import error_responses
from config.pagination import CursorPage
from tenants.api.base import TenantContextMixin, TenantScopedViewSet
from tenants.permissions import CanView


class LedgerEntrySerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(source="amount_usd", max_digits=18, decimal_places=6)
    api_key = serializers.UUIDField(source="api_key.uuid", allow_null=True, read_only=True)

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
    pagination_class = CursorPage
    cursor_ordering = ("-created_at", "-id")

    def safely_get_queryset(self, queryset):
        return queryset.select_related("api_key").order_by("-created_at", "-id")


def _amount(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=6, **kwargs)


class SpendRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The group: a day, project, model, e-mail, tag, …")
    spent = _amount()
    entries = serializers.IntegerField()
    approved_assets = serializers.IntegerField()
    cost_per_approved_asset = _amount(allow_null=True)


class SpendReportSerializer(serializers.Serializer):
    currency = serializers.CharField()
    group_by = serializers.ChoiceField(choices=list(SPEND_GROUPS))
    from_ = serializers.DateField()
    to = serializers.DateField(help_text="Exclusive.")
    rows = SpendRowSerializer(many=True)
    total = _amount()
    approved_assets = serializers.IntegerField()
    cost_per_approved_asset = _amount(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a keyword in Python, a field name in the answer
        return fields


SPEND_PARAMETERS = [
    OpenApiParameter("group_by", str, enum=list(SPEND_GROUPS), default="day"),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: the 1st of this month)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="The day after the last (default: tomorrow)."),
]


@extend_schema(parameters=SPEND_PARAMETERS, responses={200: SpendReportSerializer, **error_responses(400)})
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
            response = HttpResponse(spend_report_csv(report=report, group_by=group_by), content_type="text/csv")
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


@extend_schema(
    parameters=SPEND_PARAMETERS,
    responses={
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR,
            description="Columns: the group, spent_usd, entries, approved_assets, cost_per_approved_asset_usd.",
        ),
        **error_responses(400),
    },
)
class SpendCsvView(SpendView):
    """The same rows as CSV, for spreadsheets."""

    as_csv = True

    def perform_content_negotiation(self, request, force=False):
        # The rows are CSV whatever the Accept header says; errors stay JSON in the one envelope.
        return JSONRenderer(), JSONRenderer.media_type


def _usd(amount) -> str | None:
    return None if amount is None else f"{amount:.6f}"
