"""Django admin: platform staff (superusers) see every tenant; a staff member who is a tenant
admin sees and changes only their tenants' rows (the bases in admin_base.py). Writes go through the
services, so the admin leaves the same audit trail as the API."""

from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models, transaction

from config.errors import ApplicationError

from . import services, webhooks
from .admin_base import JSON_FIELDS_BOUNDED, PlatformOnlyAdmin, ReadOnlyTenantAdmin, TenantRowForm, TenantScopedAdmin
from .models import ApiKey, AuditEvent, Membership, Tenant, WebhookDelivery, WebhookEndpoint

# People and groups are the platform's: a tenant admin manages members through memberships.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class UserAdmin(PlatformOnlyAdmin, auth_admin.UserAdmin):
    pass


@admin.register(Group)
class GroupAdmin(PlatformOnlyAdmin, auth_admin.GroupAdmin):
    pass


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    list_display = ["slug", "name", "four_eyes_approval", "timezone", "created_at"]
    search_fields = ["slug", "name"]

    def has_add_permission(self, request):
        return request.user.is_superuser  # creating tenants is a platform decision

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return ["slug", "created_at"] if obj else ["created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        fresh = Tenant.objects.get(pk=obj.pk)
        services.tenant_update(tenant=fresh, actor=request.user, **changes)


class MembershipForm(TenantRowForm):
    cross_tenant_fields = ("user",)  # adding a person is what makes them a member


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    form = MembershipForm
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__slug"]

    def has_add_permission(self, request):
        # The user picker lists every person on the platform; tenant admins invite by e-mail in the API.
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return ["user", "tenant"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            fresh = Membership.objects.get(pk=obj.pk)
            services.membership_change_role(membership=fresh, role=obj.role, actor=request.user)
        else:
            created = services.membership_add(
                tenant=obj.tenant, email=obj.user.email, role=obj.role, actor=request.user
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        # The bulk "delete selected" too, all or none: each removal keeps the last admin, revokes the
        # member's keys and is audited.
        with transaction.atomic():
            for membership in queryset.select_related("tenant", "user").order_by("pk"):
                services.membership_remove(membership=membership, actor=request.user)


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ["name", "tenant", "role", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["name", "prefix", "tenant__slug"]
    readonly_fields = [f.name for f in ApiKey._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # a secret is shown once: create keys with the API or `create_tenant --api-key`

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row stays for the audit trail

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyTenantAdmin):
    list_display = ["at", "tenant", "verb", "target_type", "target_id", "actor_user", "actor_api_key"]
    list_filter = ["verb"]
    search_fields = ["verb", "target_id", "tenant__slug"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyTenantAdmin):
    list_display = ["url", "tenant", "active", "events", "created_by", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description", "tenant__slug"]
    exclude = ["secret"]  # shown once, to whoever created the webhook
    formfield_overrides = {**JSON_FIELDS_BOUNDED, models.URLField: {"assume_scheme": "https"}}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyTenantAdmin):
    list_display = ["created_at", "tenant", "event", "endpoint", "status", "attempts", "response_code", "delivered_at"]
    list_filter = ["status", "event"]
    search_fields = ["id", "event_id", "endpoint__url", "tenant__slug"]
    list_select_related = ["tenant", "endpoint"]
    actions = ["replay"]

    @admin.action(description="Replay selected deliveries")
    def replay(self, request, queryset):
        replayed = 0
        for delivery in queryset.select_related("endpoint", "tenant"):
            try:
                webhooks.webhook_delivery_replay(delivery=delivery, actor=request.user)
                replayed += 1
            except ApplicationError as error:
                self.message_user(request, f"{delivery.pk}: {error.message}", messages.WARNING)
        self.message_user(request, f"Replayed {replayed} deliveries.", messages.SUCCESS)
