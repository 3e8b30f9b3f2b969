from django.contrib import admin

from tenants.admin_base import PlatformOnlyAdmin, TenantScopedAdmin

from .models import BedrockModel, TenantAutoSuccessor, TenantModelAccess, UnsupportedBedrockModel


@admin.register(BedrockModel)
class BedrockModelAdmin(PlatformOnlyAdmin):
    """The catalog is the platform's: staff may look, only platform staff change it."""

    visible_to_staff = True  # every tenant reads the catalog in the API anyway
    list_display = [
        "model_id",
        "name",
        "family",
        "enabled",
        "invoke_id",
        "bedrock_status",
        "legacy_since",
        "end_of_life_on",
        "successor",
        "bedrock_seen_at",
    ]
    list_filter = ["family", "enabled", "bedrock_status"]
    readonly_fields = ["bedrock_status", "inference_types", "inference_profiles", "bedrock_seen_at"]
    search_fields = ["model_id", "name", "invoke_id"]
    fieldsets = [
        (None, {"fields": ["model_id", "name", "family", "enabled", "invoke_id"]}),
        ("Lifecycle", {"fields": ["legacy_since", "end_of_life_on", "successor"]}),
        (
            "As Bedrock reports it (manage.py catalog_sync)",
            {"fields": ["bedrock_status", "inference_types", "inference_profiles", "bedrock_seen_at"]},
        ),
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


@admin.register(UnsupportedBedrockModel)
class UnsupportedBedrockModelAdmin(PlatformOnlyAdmin):
    """Image models Bedrock lists that Atelier has no spec for: written by catalog_sync, read here."""

    list_display = ["model_id", "name", "provider", "bedrock_status", "first_seen_at", "last_seen_at"]
    search_fields = ["model_id", "name"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PlatformDecidesAdmin(TenantScopedAdmin):
    """Tenant admins may see their rows; only platform staff (superusers) change them."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(TenantAutoSuccessor)
class TenantAutoSuccessorAdmin(PlatformDecidesAdmin):
    """A tenant's opt-in to run jobs naming a retired model on a successor, set by the operator."""

    list_display = ["tenant", "model", "successor", "created_at"]


@admin.register(TenantModelAccess)
class TenantModelAccessAdmin(PlatformDecidesAdmin):
    """Restricting models is a platform decision: tenant admins may see their list, not change it."""

    list_display = ["tenant", "model", "created_at"]
    list_filter = ["model"]
