from django.contrib import admin
from django.utils import timezone

from tenants.admin import TenantScopedAdmin

from .models import Budget, Price


@admin.register(Budget)
class BudgetAdmin(TenantScopedAdmin):
    list_display = ["tenant", "period", "amount_usd", "updated_at"]
    list_filter = ["period"]


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    """List prices are the platform's; a tenant's negotiated rate is a row with its tenant set."""

    list_display = ["model", "quality", "tier_rule", "tier_bound", "unit_price_usd", "effective_from", "tenant"]
    list_filter = ["quality", "tier_rule", "model"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        # A price that may have been quoted is history: change it by adding a row with a later date.
        return request.user.is_superuser and (obj is None or obj.effective_from > timezone.now())

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)
