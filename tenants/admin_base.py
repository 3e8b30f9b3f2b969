"""The bases every Django admin page is built on, so the admin keeps the tenancy wall.

Platform staff (superusers) work across tenants. A staff member with an admin membership sees and
changes only the rows of the tenants they administer: every queryset, choice list, filter, lookup,
action and inline is scoped to those tenants. Whoever saves, every foreign key of a row must point
at rows of the row's own tenant. Rows of no tenant (the model catalog, the price book, people) are
platform staff's to change."""

from functools import cache

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core import checks
from django.db import models
from django.db.models import Model, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect

from config.errors import ApplicationError
from config.parsers import BoundedJSONFormField

from .models import Membership, Role, Tenant
from .selectors import admin_tenant_ids


@cache
def tenant_path(model: type[Model]) -> str | None:
    """The lookup from `model` to the Tenant its rows belong to: "pk" for Tenant itself, "tenant",
    or through the row it cannot exist without ("project__tenant" for a project's approval stage).
    None for rows of no tenant, and for people, who may belong to several."""
    if model is Tenant:
        return "pk"
    for field in model._meta.concrete_fields:
        if field.many_to_one and field.related_model is Tenant:
            return field.name
    for field in model._meta.concrete_fields:
        if field.many_to_one and not field.null and field.related_model is not model:
            parent = tenant_path(field.related_model)  # never "pk": a key to Tenant was found above
            if parent is not None:
                return f"{field.name}__{parent}"
    return None


def of_tenants(model: type[Model], tenant_ids) -> Q | None:
    """The condition for rows of `model` that belong to these tenants; None when its rows belong
    to no tenant. A person belongs to the tenants they are a member of."""
    if model is get_user_model():
        return Q(pk__in=Membership.objects.filter(tenant_id__in=tenant_ids).values("user_id"))
    path = tenant_path(model)
    if path is None:
        return None
    condition = Q(**{f"{path}__in": tenant_ids})
    if path == "tenant" and model._meta.get_field("tenant").null:
        condition |= Q(tenant__isnull=True)  # a platform-wide row beside the tenants' own (list prices)
    return condition


def scoped(queryset: QuerySet, tenant_ids) -> QuerySet:
    condition = of_tenants(queryset.model, tenant_ids)
    return queryset if condition is None else queryset.filter(condition)


def tenant_id_of(obj: Model, *, values: dict | None = None) -> int | None:
    """The tenant `obj` belongs to, following tenant_path; `values` (a form's cleaned data) wins
    over what the object holds, so an unsaved row's tenant is the one being submitted."""
    path = tenant_path(type(obj))
    if path is None:
        return None
    if path == "pk":
        return obj.pk
    first, *rest = path.split("__")
    value = (values or {}).get(first, getattr(obj, first, None))
    for hop in rest:
        value = getattr(value, hop, None)
    return value.pk if value is not None else None


class TenantRowForm(forms.ModelForm):
    """The form of every tenant-scoped admin page and inline: a row never moves to another tenant,
    and every choice it holds belongs to the row's own tenant (asked of platform staff too)."""

    # Relations that may point outside the row's tenant, each with its reason where it is set.
    cross_tenant_fields: tuple[str, ...] = ()

    def clean(self):
        data = super().clean()
        tenant_id = tenant_id_of(self.instance, values=data)
        stored = None if self.instance._state.adding else tenant_id_of(self.instance)
        if stored is not None and tenant_id != stored:
            self.add_error(None, "A row stays with its tenant.")
            return data
        if tenant_id is None:
            return data  # the tenant is missing or invalid: its field has the error
        for name, field in self.fields.items():
            if name not in self.cross_tenant_fields and name in data and hasattr(field, "queryset"):
                self._check_same_tenant(name, field, data[name], tenant_id)
        return data

    def _check_same_tenant(self, name, field, value, tenant_id) -> None:
        condition = of_tenants(field.queryset.model, [tenant_id])
        chosen = {obj.pk for obj in (value if isinstance(value, list | QuerySet) else [value]) if obj is not None}
        if condition is None or not chosen:
            return
        if field.queryset.model._default_manager.filter(condition, pk__in=chosen).count() != len(chosen):
            label = field.queryset.model._meta.verbose_name
            self.add_error(name, f"Choose a {label} of this {self._meta.model._meta.verbose_name}'s tenant.")


# Django's own JSON form field lets a too-deep document through as a 500: every admin page bounds it.
JSON_FIELDS_BOUNDED = {models.JSONField: {"form_class": BoundedJSONFormField}}


class TenantChoices:
    """Choice lists of a tenant-scoped page or inline hold only rows of the user's tenants."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return self._scoped_choices(request, super().formfield_for_foreignkey(db_field, request, **kwargs))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return self._scoped_choices(request, super().formfield_for_manytomany(db_field, request, **kwargs))

    def _scoped_choices(self, request, formfield):
        # The raw-id and autocomplete widgets validate against this queryset too.
        if formfield is not None and hasattr(formfield, "queryset") and not request.user.is_superuser:
            formfield.queryset = scoped(formfield.queryset, self.tenant_ids(request))
        return formfield


def _form_check(model_admin) -> list:
    if issubclass(model_admin.form, TenantRowForm):
        return []
    return [
        checks.Error(
            f"{type(model_admin).__qualname__}.form must subclass tenants.admin_base.TenantRowForm.",
            hint="It checks that every foreign key points at the row's own tenant.",
            obj=type(model_admin),
            id="tenants.E001",
        )
    ]


class TenantScopedAdmin(TenantChoices, admin.ModelAdmin):
    """A model whose rows belong to tenants."""

    minimum_role = Role.ADMIN  # who, in a tenant, may use this page
    form = TenantRowForm
    formfield_overrides = JSON_FIELDS_BOUNDED

    def check(self, **kwargs):
        return [*super().check(**kwargs), *_form_check(self)]

    def tenant_ids(self, request) -> list[int]:
        cached = request.__dict__.setdefault("_admin_tenant_ids", {})
        if self.minimum_role not in cached:
            cached[self.minimum_role] = admin_tenant_ids(user=request.user, minimum_role=self.minimum_role)
        return cached[self.minimum_role]

    def _may(self, request, obj=None) -> bool:
        if not request.user.is_active or not request.user.is_staff:
            return False
        ids = self.tenant_ids(request)
        return bool(ids) and (obj is None or tenant_id_of(obj) in ids)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else scoped(queryset, self.tenant_ids(request))

    # A service's refusal (the last admin, a brand rule) is a message on the page, not a 500; the
    # view's transaction has rolled back whatever the request wrote.
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._refusals_shown(request, super().changeform_view, request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._refusals_shown(request, super().delete_view, request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        return self._refusals_shown(request, super().changelist_view, request, extra_context)

    def _refusals_shown(self, request, view, *args):
        try:
            return view(*args)
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and tenant_path(self.model) == "tenant" and "tenant" not in fields:
            fields.append("tenant")  # a row stays with its tenant
        return fields

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        # Filter choices only from the rows this user may see, not from every tenant's.
        return [
            (item, admin.RelatedOnlyFieldListFilter) if isinstance(item, str) and self._is_relation(item) else item
            for item in filters
        ]

    def _is_relation(self, lookup: str) -> bool:
        model, field = self.model, None
        for part in lookup.split("__"):
            field = model._meta.get_field(part)
            if not field.is_relation:
                return False
            model = field.related_model
        return field is not None

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


class ReadOnlyTenantAdmin(TenantScopedAdmin):
    """Rows changed only through their services (the API), seen here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TenantRowsFormSet(BaseInlineFormSet):
    """An inline's hidden row ids name only the parent's own rows: a tampered id is refused, not
    looked up among every tenant's rows."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row_id = form.fields.get(self.model._meta.pk.name)
        if row_id is not None and hasattr(row_id, "queryset"):
            parent = self.instance
            row_id.queryset = (
                row_id.queryset.none() if parent._state.adding else row_id.queryset.filter(**{self.fk.name: parent})
            )


class TenantScopedInline(TenantChoices):
    """Mixed into an inline (before TabularInline/StackedInline): its rows follow the page's
    permissions on the parent row, and its choices are scoped like the page's."""

    form = TenantRowForm
    formset = TenantRowsFormSet
    formfield_overrides = JSON_FIELDS_BOUNDED

    def check(self, **kwargs):
        return [*super().check(**kwargs), *_form_check(self)]

    @property
    def parent_admin(self) -> TenantScopedAdmin:
        return self.admin_site.get_model_admin(self.parent_model)

    def tenant_ids(self, request) -> list[int]:
        return self.parent_admin.tenant_ids(request)

    def has_view_permission(self, request, obj=None):
        return self.parent_admin.has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self.parent_admin.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.parent_admin.has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.parent_admin.has_change_permission(request, obj)


class PlatformOnlyAdmin(admin.ModelAdmin):
    """Rows of no tenant (the catalog, the price book, people) are the platform's: only platform
    staff see them, and change them."""

    visible_to_staff = False  # True where every row is public to tenants anyway (the model catalog)
    formfield_overrides = JSON_FIELDS_BOUNDED

    def _platform_staff(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._platform_staff(request) or (self.visible_to_staff and request.user.is_active
                                                 and request.user.is_staff)  # fmt: skip

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self._platform_staff(request)

    def has_change_permission(self, request, obj=None):
        return self._platform_staff(request)

    def has_delete_permission(self, request, obj=None):
        return self._platform_staff(request)
