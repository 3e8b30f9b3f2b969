"""Budgets over REST: everyone in the tenant reads them with the month's figures; admins set them."""

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from assets.models import Project
from billing import services
from billing.models import ALERT_THRESHOLD_RANGE, ALERT_THRESHOLDS_MAX, Budget
from billing.money import parse_usd
from billing.selectors import budget_status
from config.serializers import InputSerializer
from tenants.api.base import PublicUuidLookup, TenantScopedViewSet
from tenants.api.idempotency import idempotent
from tenants.models import ApiKey


class BudgetSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    amount = serializers.DecimalField(source="amount_usd", max_digits=18, decimal_places=6)
    project = serializers.UUIDField(source="project_id", allow_null=True)
    api_key = serializers.UUIDField(source="api_key.uuid", allow_null=True)
    month = serializers.SerializerMethodField()

    class Meta:
        model = Budget
        fields = ["id", "scope", "project", "api_key", "period", "amount", "alert_thresholds", "month"]
        read_only_fields = fields

    @extend_schema_field(
        inline_serializer(
            "BudgetMonth",
            {
                "start": serializers.DateField(help_text="The first day of the budget's current month."),
                "spent": serializers.DecimalField(max_digits=18, decimal_places=6, help_text="Charged so far."),
                "reserved": serializers.DecimalField(max_digits=18, decimal_places=6, help_text="Held by jobs."),
                "remaining": serializers.DecimalField(max_digits=18, decimal_places=6),
            },
        )
    )
    def get_month(self, budget) -> dict:
        period_start = services.period_start_for(budget.tenant)
        figures = budget_status(budget, period_start=period_start)
        return {"start": period_start.isoformat(), **{name: f"{value:.6f}" for name, value in figures.items()}}


@extend_schema_field({"type": "string", "format": "decimal", "example": "500.00", "description": "USD, ≥ 0."})
class UsdField(serializers.Field):
    def to_internal_value(self, data):
        try:
            return parse_usd(data)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


class BudgetInput(InputSerializer):
    amount = UsdField()
    alert_thresholds = serializers.ListField(
        child=serializers.IntegerField(min_value=ALERT_THRESHOLD_RANGE[0], max_value=ALERT_THRESHOLD_RANGE[1]),
        max_length=ALERT_THRESHOLDS_MAX,
        required=False,
    )


class BudgetCreateInput(BudgetInput):
    project = serializers.UUIDField(required=False, allow_null=True)
    api_key = serializers.UUIDField(required=False, allow_null=True)

    def validate(self, data):
        tenant = self.context["tenant"]
        if data.get("project") and data.get("api_key"):
            raise serializers.ValidationError({"api_key": "A budget is for a project or an API key, not both."})
        if data.get("project"):
            data["project"] = Project.objects.for_tenant(tenant).filter(pk=data["project"]).first()
            if data["project"] is None:
                raise serializers.ValidationError({"project": "No such project."})
        if data.get("api_key"):
            data["api_key"] = ApiKey.objects.for_tenant(tenant).filter(uuid=data["api_key"]).first()
            if data["api_key"] is None:
                raise serializers.ValidationError({"api_key": "No such API key."})
        return data


class BudgetViewSet(PublicUuidLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Reads for viewers; create, change and delete for admins (the base's default for writes)."""

    model = Budget
    serializer_class = BudgetSerializer

    def safely_get_queryset(self, queryset):
        return queryset.select_related("tenant", "api_key").order_by("pk")

    @extend_schema(request=BudgetCreateInput, responses={201: BudgetSerializer})
    @idempotent
    def create(self, request, tenant_slug):
        data = BudgetCreateInput(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        budget = services.budget_create_monthly(
            tenant=self.tenant, actor=self.actor, amount_usd=data.validated_data["amount"],
            project=data.validated_data.get("project"), api_key=data.validated_data.get("api_key"),
            alert_thresholds=data.validated_data.get("alert_thresholds"),
        )  # fmt: skip
        return Response(BudgetSerializer(budget).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BudgetInput, responses=BudgetSerializer)
    def partial_update(self, request, tenant_slug, pk):
        data = BudgetInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        budget = services.budget_update(
            budget=self.get_object(), actor=self.actor, amount_usd=data.validated_data.get("amount"),
            alert_thresholds=data.validated_data.get("alert_thresholds"),
        )  # fmt: skip
        return Response(BudgetSerializer(budget).data)

    def destroy(self, request, tenant_slug, pk):
        services.budget_delete(budget=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
