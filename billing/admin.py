from django.contrib import admin

from tenants.admin import TenantScopedAdmin

from .models import Budget


@admin.register(Budget)
class BudgetAdmin(TenantScopedAdmin):
    list_display = ["tenant", "period", "amount_usd", "updated_at"]
    list_filter = ["period"]
