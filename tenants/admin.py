"""Django admin: platform staff (superusers) see every tenant; a staff member who is a tenant
admin sees and changes only their tenants' rows. Writes go through the services, so the admin
leaves the same audit trail as the API."""

from django.contrib import admin, messages
from django.db import models

from config.errors import ApplicationError
from config.parsers import BoundedJSONFormField

from . import services, webhooks
from .models import ApiKey, AuditEvent, Membership, Role, Tenant, WebhookDelivery, WebhookEndpoint
from .selectors import admin_tenant_ids


class TenantScopedAdmin(admin.ModelAdmin):
    tenant_lookup = "tenant"  # the path from this model to its Tenant
    formfield_overrides = {models.JSONField: {"form_class": BoundedJSONFormField}}
    minimum_role = Role.ADMIN  # who, in a tenant, may use this page

    def _tenant_ids(self, request) -> list[int]:
        if not hasattr(request, "_admin_tenant_ids"):
            request._admin_tenant_ids = {}
        if self.minimum_role not in request._admin_tenant_ids:
            request._admin_tenant_ids[self.minimum_role] = admin_tenant_ids(
                user=request.user, minimum_role=self.minimum_role
            )
        return request._admin_tenant_ids[self.minimum_role]

    def _tenant_id_of(self, obj) -> int:
        return obj.pk if isinstance(obj, Tenant) else obj.tenant_id

    def _may(self, request, obj=None) -> bool:
        if not request.user.is_active or not request.user.is_staff:
            return False
        ids = self._tenant_ids(request)
        return bool(ids) and (obj is None or self._tenant_id_of(obj) in ids)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.tenant_lookup}__in": self._tenant_ids(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Tenant and not request.user.is_superuser:
            kwargs["queryset"] = Tenant.objects.filter(pk__in=self._tenant_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return request.user.is_superuser or self._may(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or self._may(request, obj)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or self._may(request, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser or self._may(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser or self._may(request, obj)


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_lookup = "pk"
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


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
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


class ReadOnlyTenantAdmin(TenantScopedAdmin):
    """Rows changed only through their services (the API), seen here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


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
