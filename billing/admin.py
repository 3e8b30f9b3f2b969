from django.contrib import admin
from django.utils import timezone

from tenants.admin_base import PlatformOnlyAdmin, TenantRowForm, TenantScopedAdmin

from . import services
from .models import Budget, LedgerEntry, Price


@admin.register(Budget)
class BudgetAdmin(TenantScopedAdmin):
    list_display = ["tenant", "project", "api_key", "period", "amount_usd", "committed_usd", "alert_thresholds"]
    list_filter = ["period"]
    readonly_fields = ["period_start", "committed_usd", "alerted_percent"]

    def get_readonly_fields(self, request, obj=None):
        # A budget's scope is fixed once made: change the amount or the thresholds, or delete it.
        return super().get_readonly_fields(request, obj) + (["project", "api_key"] if obj else [])

    def save_model(self, request, obj, form, change):
        if change:
            services.budget_update(
                budget=obj, actor=request.user, amount_usd=obj.amount_usd, alert_thresholds=obj.alert_thresholds
            )
        else:
            obj.pk = services.budget_create_monthly(
                tenant=obj.tenant, amount_usd=obj.amount_usd, actor=request.user, project=obj.project,
                api_key=obj.api_key, alert_thresholds=obj.alert_thresholds,
            ).pk  # fmt: skip

    def delete_model(self, request, obj):
        services.budget_delete(budget=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for budget in queryset:
            services.budget_delete(budget=budget, actor=request.user)


@admin.register(Price)
class PriceAdmin(PlatformOnlyAdmin):
    """List prices are the platform's; a tenant's negotiated rate is a row with its tenant set."""

    list_display = ["model", "quality", "tier_rule", "tier_bound", "unit_price_usd", "effective_from", "tenant"]
    list_filter = ["quality", "tier_rule", "model"]

    def has_change_permission(self, request, obj=None):
        # A price that may have been quoted is history: change it by adding a row with a later date.
        return super().has_change_permission(request, obj) and (obj is None or obj.effective_from > timezone.now())

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


class AdjustmentForm(TenantRowForm):
    class Meta:
        model = LedgerEntry
        fields = ["tenant", "project", "amount_usd", "reason"]
        help_texts = {"amount_usd": "Negative for a credit.", "reason": "Required: why the adjustment is made."}

    def clean(self):
        data = super().clean()
        if not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why.")
        if data.get("amount_usd") == 0:
            self.add_error("amount_usd", "Must not be zero.")
        return data


@admin.register(LedgerEntry)
class LedgerEntryAdmin(TenantScopedAdmin):
    """The ledger is append-only: entries are read, and the only ones added here are adjustments:
    credits and corrections, which are platform staff's to make (a tenant admin would credit
    themselves)."""

    list_display = ["created_at", "tenant", "kind", "amount_usd", "period_start", "project", "job", "reason"]
    list_filter = ["kind", "period_start"]
    search_fields = ["reason", "job__id"]
    form = AdjustmentForm

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in LedgerEntry._meta.fields] if obj else []

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        entry = services.ledger_adjust(
            tenant=obj.tenant, amount_usd=obj.amount_usd, reason=obj.reason, actor=request.user, project=obj.project
        )
        obj.pk = entry.pk
