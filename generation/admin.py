from django.contrib import admin
from django.utils.html import format_html, format_html_join

from tenants.admin_base import PlatformOnlyAdmin, TenantScopedAdmin

from .bedrock.specs import OUTPUT_RULE_TEXT, OutputRule, Param, Task
from .models import BedrockModel, TenantAutoSuccessor, TenantModelAccess, UnsupportedBedrockModel

# What an image service's spec declares (its fields, read from code): never edited on its row.
SPEC_OWNED_FIELDS = [
    "task_types", "size_rule", "max_images_per_call", "qualities", "prompt_max_chars", "negative_max_chars",
    "seed_max", "styles", "supports_conditioning", "supports_cfg_scale", "output_formats", "edit_max_side",
    "variation_max_side", "default_size",
]  # fmt: skip


class TaskFilter(admin.SimpleListFilter):
    """The rows that do a task (task_types is a list)."""

    title = "task"
    parameter_name = "task"

    def lookups(self, request, model_admin):
        done = {task for row in model_admin.get_queryset(request) for task in row.task_types}
        return [(task.value, task.value) for task in Task if task.value in done]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # In Python: the catalog is a few dozen rows, and SQLite (`make run`) has no JSON `contains` lookup.
        return queryset.filter(pk__in=[row.pk for row in queryset if self.value() in row.task_types])


def _limits(param: Param) -> str:
    if param.kind in ("number", "integer", "side"):
        return f"{param.low:g}–{param.high:g}"
    if param.kind == "choice":
        return ", ".join(param.choices)
    if param.kind in ("image", "mask"):
        limits = [f"sides {param.min_side}–{param.max_side or 'any'} px"]
        if param.max_pixels:
            limits.append(f"at most {param.max_pixels:,} px")
        if param.max_aspect:
            limits.append(f"aspect up to {param.max_aspect.numerator}:{param.max_aspect.denominator}")
        return "; ".join(limits)
    return ""


@admin.register(BedrockModel)
class BedrockModelAdmin(PlatformOnlyAdmin):
    """The catalog is the platform's: staff may look, only platform staff change it. An image
    service's fields and output rule are its spec's (generation/bedrock/specs.py), shown read-only."""

    visible_to_staff = True  # every tenant reads the catalog in the API anyway
    list_display = [
        "model_id",
        "name",
        "family",
        "tasks",
        "enabled",
        "invoke_id",
        "bedrock_status",
        "legacy_since",
        "end_of_life_on",
        "successor",
        "bedrock_seen_at",
    ]
    list_filter = ["family", TaskFilter, "enabled", "bedrock_status"]
    readonly_fields = [
        "bedrock_status", "inference_types", "inference_profiles", "bedrock_seen_at", "tool_fields", "output_rule",
    ]  # fmt: skip
    search_fields = ["model_id", "name", "invoke_id"]
    fieldsets = [
        (None, {"fields": ["model_id", "name", "family", "enabled", "invoke_id"]}),
        ("Lifecycle", {"fields": ["legacy_since", "extended_access_from", "end_of_life_on", "successor"]}),
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
    tool_fieldset = (
        "The image service's fields (its spec in generation/bedrock/specs.py)",
        {"fields": ["tool_fields", "output_rule"]},
    )

    @staticmethod
    def _is_tool(obj) -> bool:
        return obj is not None and obj.spec().is_tool

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return [*fieldsets[:1], self.tool_fieldset, *fieldsets[1:]] if self._is_tool(obj) else fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["model_id", "family"]  # a row's spec is found by its id
        if self._is_tool(obj):
            fields += SPEC_OWNED_FIELDS
        return fields

    @admin.display(description="tasks")
    def tasks(self, obj) -> str:
        return ", ".join(obj.task_types)

    @admin.display(description="fields")
    def tool_fields(self, obj) -> str:
        params = obj.spec().params if obj else ()
        if not params:
            return "—"
        header = format_html_join(
            "", "<th>{}</th>", [(c,) for c in ("name", "kind", "required", "range / choices", "default", "body key")]
        )
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            [
                (p.name, p.kind, "yes" if p.required else "", _limits(p), "" if p.default is None else p.default, p.key)
                for p in params
            ],
        )
        return format_html(
            '<table class="tool-fields"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', header, rows
        )

    @admin.display(description="output size")
    def output_rule(self, obj) -> str:
        rule = obj.spec().output_rule if obj else ""
        return f"{OUTPUT_RULE_TEXT[OutputRule(rule)]} ({rule})" if rule else "—"


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
