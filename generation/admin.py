from django.contrib import admin

from tenants.admin_base import PlatformOnlyAdmin, TenantScopedAdmin

from .models import BedrockModel, TenantModelAccess


@admin.register(BedrockModel)
class BedrockModelAdmin(PlatformOnlyAdmin):
    """The catalog is the platform's: staff may look, only platform staff change it."""

    visible_to_staff = True  # every tenant reads the catalog in the API anyway
    list_display = ["model_id", "name", "family", "enabled", "invoke_id", "legacy_since", "end_of_life_on", "successor"]
    list_filter = ["family", "enabled"]
    search_fields = ["model_id", "name", "invoke_id"]
    fieldsets = [
        (None, {"fields": ["model_id", "name", "family", "enabled", "invoke_id"]}),
        ("Lifecycle", {"fields": ["legacy_since", "end_of_life_on", "successor"]}),
        (
            "Capabilities and limits",
            {
                "classes": ["collapse"],
                "fields": [
                    "task_types", "size_rule", "max_images_per_call", "qualities", "prompt_max_chars",
                    "negative_max_chars", "seed_max", "styles", "supports_conditioning", "supports_cfg_scale",
                    "output_formats", "edit_max_side", "variation_max_side", "default_size",
                ],
            },
        ),
    ]  # fmt: skip


@admin.register(TenantModelAccess)
class TenantModelAccessAdmin(TenantScopedAdmin):
    """Restricting models is a platform decision: tenant admins may see their list, not change it."""

    list_display = ["tenant", "model", "created_at"]
    list_filter = ["model"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
