"""The review queue in the admin: assets filtered by status, bulk approve / reject / request
changes through the review services (so roles, stages and four-eyes hold here too), and an asset
page with its thumbnail, lineage, provenance and reviews."""

import json
from collections import defaultdict

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from config.errors import ApplicationError
from tenants.admin_base import ReadOnlyTenantAdmin, TenantScopedAdmin, TenantScopedInline
from tenants.models import Role

from . import library, review, storage
from .models import ApprovalStage, Asset, Project, Review
from .selectors import asset_lineage


class ApprovalStageInline(TenantScopedInline, admin.TabularInline):
    """Shown here; set in the studio or the API (approval_stages_set), which checks the roles and
    the members and records the change."""

    model = ApprovalStage
    extra = 0
    fields = readonly_fields = ["position", "name", "role", "members"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(TenantScopedAdmin):
    """Projects are made and changed through the library's services, so the brand rules and the
    audit trail hold here too; they are archived, never deleted (their budgets would go with them)."""

    list_display = ["name", "tenant", "slug", "is_default", "archived", "default_model"]
    list_filter = ["archived"]
    search_fields = ["name", "slug"]
    inlines = [ApprovalStageInline]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "is_default"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fields = {field: form.cleaned_data[field] for field in library.PROJECT_FIELDS if field in form.cleaned_data}
        if change:
            project = library.project_update(project=Project.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            project = library.project_create(tenant=obj.tenant, actor=request.user, **fields)
            obj.pk = project.pk
        if project.archived != form.cleaned_data.get("archived", project.archived):
            move = library.project_archive if form.cleaned_data["archived"] else library.project_unarchive
            move(project=project, actor=request.user)


class ReviewInline(TenantScopedInline, admin.TabularInline):
    model = Review
    extra = 0
    can_delete = False
    fields = readonly_fields = ["at", "decision", "stage_name", "reviewer", "reviewer_key", "comment"]

    def has_add_permission(self, request, obj=None):
        return False


def _bulk(move: str, label: str):
    """An admin action that moves the selected assets through the review service, per tenant,
    all or nothing."""

    def act(modeladmin, request, queryset):
        by_tenant = defaultdict(list)
        for asset in queryset.select_related("tenant"):
            by_tenant[asset.tenant].append(str(asset.pk))
        for tenant, ids in by_tenant.items():
            try:
                moved = review.asset_bulk_transition(tenant=tenant, asset_ids=ids, action=move, actor=request.user)
            except ApplicationError as error:
                details = "; ".join(f"{e['id']}: {e['message']}" for e in getattr(error, "extra", {}).get("errors", []))
                modeladmin.message_user(request, f"{tenant}: {error.message} {details}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{tenant}: {len(moved)} assets {label}.", messages.SUCCESS)

    act.short_description = f"{label.capitalize()} the selected assets"
    act.__name__ = f"assets_{move.replace('-', '_')}"
    return act


@admin.register(Asset)
class AssetAdmin(ReadOnlyTenantAdmin):
    """Images come from jobs and uploads, move through the review actions, and are archived, never deleted."""

    minimum_role = Role.APPROVER  # approvers work the review queue here too
    list_display = ["thumbnail", "title", "tenant", "project", "status", "kind", "width", "height", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "sha256", "id"]
    date_hierarchy = "created_at"
    actions = [_bulk("approve", "approved"), _bulk("reject", "rejected"),
               _bulk("request-changes", "sent back for changes")]  # fmt: skip
    inlines = [ReviewInline]
    fields = readonly_fields = [
        "preview", "id", "tenant", "project", "kind", "status", "review_stage", "title", "tags", "job", "index",
        "seed", "width", "height", "format", "bytes", "sha256", "phash", "watermark_id", "created_by", "lineage",
        "provenance_record", "created_at",
    ]  # fmt: skip

    @admin.display(description="")
    def thumbnail(self, asset):
        if not asset.thumbnail_key:
            return ""
        url = storage.download_url(tenant=asset.tenant, key=asset.thumbnail_key)
        return format_html('<img src="{}" alt="" style="max-height:64px">', url)

    @admin.display(description="Image")
    def preview(self, asset):
        key = asset.thumbnail_key or asset.file_key
        return format_html(
            '<img src="{}" alt="" style="max-width:320px">', storage.download_url(tenant=asset.tenant, key=key)
        )

    @admin.display(description="Lineage")
    def lineage(self, asset):
        found = asset_lineage(asset=asset)
        rows = [("came from", a) for a in found["ancestors"]] + [("made into", a) for a in found["descendants"]]
        if not rows:
            return "—"
        return format_html_join(
            "", '<div>{} <a href="{}">{}</a> ({})</div>',
            ((how, reverse("admin:assets_asset_change", args=[a["id"]]), a["title"] or a["id"], a["status"])
             for how, a in rows),
        )  # fmt: skip

    @admin.display(description="Provenance")
    def provenance_record(self, asset):
        return format_html("<pre>{}</pre>", json.dumps(asset.provenance, indent=2, sort_keys=True))
