"""Settings, for the tenant's admins only (as in tenants/api and billing/api): the tenant itself
(name, time zone, four-eyes approval), members and roles, API keys (the secret shown once, in the
answer to the form that made it), budgets and webhooks (the signing secret shown once too)."""

import datetime
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.dateparse import parse_date

from assets.models import Project
from billing import selectors as billing_selectors
from billing import services as billing
from billing.models import ALERT_THRESHOLD_RANGE, ALERT_THRESHOLDS_MAX, Budget, default_alert_thresholds
from billing.money import parse_usd
from config.errors import ApplicationError
from tenants import selectors, services, webhooks
from tenants.models import ApiKey, Membership, Role, WebhookDelivery, WebhookEndpoint

from .base import FORM_ALREADY_SENT, TenantPage
from .projects import amount_text, problems_of

RECENT_DELIVERIES = 10
ALREADY_MADE_NOTE = "Its secret was shown once, when it was made; if it was not copied, remove it and make another."


class SettingsPage(TenantPage):
    minimum_role = Role.ADMIN
    nav = "settings"
    tab = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("errors", {})
        context["tab"] = self.tab
        return context

    def refused(self, problems: dict, **context):
        """The page again, with what was refused beside its fields: 400."""
        return self.render_to_response(self.get_context_data(errors=problems, **context), status=400)

    def done(self, message: str, route: str | None = None):
        messages.success(self.request, message)
        return redirect(route or self.request.resolver_match.view_name, tenant_slug=self.tenant.slug)


# Overview and the tenant's own settings


class OverviewPage(SettingsPage):
    template_name = "web/settings/overview.html"
    tab = "overview"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tenant = self.tenant
        context.setdefault(
            "form", {"name": tenant.name, "timezone": tenant.timezone, "four_eyes_approval": tenant.four_eyes_approval}
        )
        keys = selectors.api_key_list(tenant=tenant)
        context.update(
            timezones=sorted(zoneinfo.available_timezones()),
            member_count=selectors.membership_list(tenant=tenant).count(),
            admin_count=selectors.membership_list(tenant=tenant).filter(role=Role.ADMIN).count(),
            key_count=sum(1 for key in keys if key.is_usable()),
            budget_count=Budget.objects.for_tenant(tenant).count(),
            tenant_budget=Budget.objects.for_tenant(tenant).filter(project=None, api_key=None).first(),
            webhook_count=WebhookEndpoint.objects.for_tenant(tenant).count(),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = {
            "name": request.POST.get("name", self.tenant.name).strip(),
            "timezone": request.POST.get("timezone", self.tenant.timezone).strip(),
            "four_eyes_approval": request.POST.get("four_eyes_approval") in ("on", "1", "true"),
        }
        tenant = self.tenant
        before = {field: getattr(tenant, field) for field in form}
        try:
            services.tenant_update(tenant=tenant, actor=self.actor, **form)
        except (ApplicationError, ValidationError) as error:
            for field, value in before.items():  # the refused values stay off the page's header
                setattr(tenant, field, value)
            return self.refused(problems_of(error), form=form)
        return self.done("Tenant settings saved.")


# Members


class MembersPage(SettingsPage):
    template_name = "web/settings/members.html"
    tab = "members"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", {"email": "", "role": Role.CREATOR})
        context.setdefault("row_errors", {})
        context.update(memberships=selectors.membership_list(tenant=self.tenant), roles=Role.choices)
        return context

    def post(self, request, *args, **kwargs):
        form = {"email": request.POST.get("email", "").strip(), "role": request.POST.get("role", "")}
        try:
            validate_email(form["email"])
        except ValidationError:
            return self.refused({"email": ["Give an e-mail address, e.g. sam@example.com."]}, form=form)
        if form["role"] not in Role.values:
            return self.refused({"role": [f"Choose one of: {', '.join(Role.values)}."]}, form=form)
        try:
            once = self.once(
                lambda: services.membership_add(tenant=self.tenant, actor=self.actor, **form),
                remember=lambda membership: {"membership": membership.pk},
            )
        except (ApplicationError, ValidationError) as error:
            return self.refused(problems_of(error), form=form)
        if once.earlier is not None:
            return self.done(FORM_ALREADY_SENT)
        return self.done(f"{once.result.user.email} added as {once.result.role}.")


class MemberAction(MembersPage):
    http_method_names = ["post"]

    def membership(self) -> Membership:
        return get_object_or_404(selectors.membership_list(tenant=self.tenant), uuid=self.kwargs["uuid"])

    def row_refused(self, membership: Membership, error: ApplicationError):
        problems = problems_of(error)
        row = [message for messages_ in problems.values() for message in messages_]
        if error.message not in row:
            row.insert(0, error.message)
        return self.refused({}, row_errors={membership.pk: row})

    def after_own_change(self, message: str):
        """An admin who is no longer one (or no longer a member) cannot stay on these pages."""
        messages.success(self.request, message)
        if self.request.user.memberships.filter(tenant=self.tenant).exists():
            return redirect("web:home", tenant_slug=self.tenant.slug)
        return redirect("web:start")


class MemberRoleAction(MemberAction):
    def post(self, request, *args, **kwargs):
        membership = self.membership()
        role = request.POST.get("role", "")
        if role not in Role.values:
            return self.refused({}, row_errors={membership.pk: [f"Choose one of: {', '.join(Role.values)}."]})
        try:
            services.membership_change_role(membership=membership, role=role, actor=self.actor)
        except ApplicationError as error:
            return self.row_refused(membership, error)
        message = f"{membership.user.email} is now {role}."
        if membership.user_id == request.user.pk and role != Role.ADMIN:
            return self.after_own_change(message)
        return self.done(message, "web:settings_members")


class MemberRemoveAction(MemberAction):
    def post(self, request, *args, **kwargs):
        membership = self.membership()
        email = membership.user.email
        try:
            services.membership_remove(membership=membership, actor=self.actor)
        except ApplicationError as error:
            return self.row_refused(membership, error)
        if membership.user_id == request.user.pk:
            return self.after_own_change(f"You left {self.tenant.name}.")
        return self.done(f"{email} removed from {self.tenant.name}.", "web:settings_members")


# API keys


class KeysPage(SettingsPage):
    template_name = "web/settings/keys.html"
    tab = "keys"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", {"name": "", "role": Role.CREATOR, "expires_on": "", "default_project": ""})
        context.update(
            keys=selectors.api_key_list(tenant=self.tenant).select_related("default_project"),
            roles=Role.choices,
            projects=Project.objects.for_tenant(self.tenant).filter(archived=False).order_by("name"),
            today=datetime.date.today(),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = {
            field: request.POST.get(field, "").strip() for field in ("name", "role", "expires_on", "default_project")
        }
        problems: dict[str, list[str]] = {}
        if not form["name"]:
            problems["name"] = ["Name the key after what uses it, e.g. “CMS integration”."]
        if form["role"] not in Role.values:
            problems["role"] = [f"Choose one of: {', '.join(Role.values)}."]
        expires_at = None
        if form["expires_on"]:
            day = parse_date(form["expires_on"]) if len(form["expires_on"]) == 10 else None
            if day is None:
                problems["expires_at"] = ["Give a date, e.g. 2030-12-31, or leave it empty for no expiry."]
            else:  # usable to the end of that day, in the tenant's time zone
                zone = zoneinfo.ZoneInfo(self.tenant.timezone)
                expires_at = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, zone)
        project = None
        if form["default_project"]:
            project = Project.objects.for_tenant(self.tenant).filter(pk=_uuid_or_none(form["default_project"])).first()
            if project is None:
                problems["default_project"] = ["No such project."]
        if problems:
            return self.refused(problems, form=form)
        try:
            once = self.once(
                lambda: services.api_key_create(
                    tenant=self.tenant, actor=self.actor, name=form["name"], role=form["role"],
                    expires_at=expires_at, default_project=project,
                ),
                remember=lambda created: {"api_key": created[0].pk},  # never the secret
            )  # fmt: skip
        except (ApplicationError, ValidationError) as error:
            return self.refused(problems_of(error), form=form)
        if once.earlier is not None:  # a reload or a second click: the key exists, its secret was shown once
            made = ApiKey.objects.for_tenant(self.tenant).filter(pk=once.earlier.response_body["api_key"]).first()
            name = f"“{made.name}” (atl_{made.prefix}_…)" if made else ""
            messages.info(request, f"This form already created the API key {name}. {ALREADY_MADE_NOTE}")
            return self.render_to_response(self.get_context_data())
        api_key, secret = once.result
        # Shown in this answer only: the secret is not stored anywhere, so a reload cannot show it again.
        messages.success(request, f"API key {api_key.name} created.")
        return self.render_to_response(self.get_context_data(created_key=api_key, secret=secret), status=201)


class KeyRevokeAction(KeysPage):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        api_key = get_object_or_404(ApiKey.objects.for_tenant(self.tenant), uuid=self.kwargs["uuid"])
        services.api_key_revoke(api_key=api_key, actor=self.actor)
        return self.done(f"API key {api_key.name} revoked: it no longer works.", "web:settings_keys")


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# Budgets


def _thresholds(raw: str, problems: dict) -> list[int] | None:
    """ "50, 80, 100" → [50, 80, 100]; None (unchanged) when the field was not posted."""
    if raw is None:
        return None
    parts = [part.strip().rstrip("%") for part in raw.replace(";", ",").split(",") if part.strip()]
    low, high = ALERT_THRESHOLD_RANGE
    if (
        not all(part.isdigit() for part in parts)
        or len(parts) > ALERT_THRESHOLDS_MAX
        or not all(low <= int(part) <= high for part in parts)
    ):
        problems["alert_thresholds"] = [
            f"Give up to {ALERT_THRESHOLDS_MAX} whole percentages from {low} to {high}, separated by commas."
        ]
        return None
    return sorted({int(part) for part in parts})


def _amount(raw: str, problems: dict):
    try:
        return parse_usd(raw.strip().replace(",", "").removeprefix("$"))
    except ValueError:
        problems["amount"] = ["Give an amount in USD of 0 or more, e.g. 500.00."]
        return None


BUDGET_FIELDS = {"amount_usd": "amount", "non_field_errors": "scope", "project": "scope", "api_key": "scope"}


class BudgetsPage(SettingsPage):
    template_name = "web/settings/budgets.html"
    tab = "budgets"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tenant = self.tenant
        period_start = billing.period_start_for(tenant)
        budgets = list(
            Budget.objects.for_tenant(tenant).select_related("project", "api_key").order_by("project", "api_key", "pk")
        )
        rows = []
        for budget in budgets:
            month = billing_selectors.budget_gauge(budget, period_start=period_start)
            rows.append(
                {
                    "budget": budget,
                    "amount": amount_text(budget.amount_usd),
                    "month": month | {"bar": min(int(month["percent"] or 0), 100)},
                }
            )
        rows.sort(key=lambda row: ({"tenant": 0, "project": 1, "api_key": 2}[row["budget"].scope], str(row["budget"])))
        has_tenant = any(b.scope == "tenant" for b in budgets)
        with_budget = {b.project_id for b in budgets} | {b.api_key_id for b in budgets}
        scopes = [] if has_tenant else [("tenant", f"The whole tenant ({tenant.name})")]
        scopes += [
            (f"project:{p.pk}", f"Project: {p.name}")
            for p in Project.objects.for_tenant(tenant).filter(archived=False).order_by("name")
            if p.pk not in with_budget
        ]
        scopes += [
            (f"api_key:{k.uuid}", f"API key: {k.name} (atl_{k.prefix}_…)")
            for k in selectors.api_key_list(tenant=tenant)
            if k.is_usable() and k.pk not in with_budget
        ]
        context.setdefault(
            "form", {"scope": scopes[0][0] if scopes else "", "amount": "", "alert_thresholds": "50, 80, 100"}
        )
        context.setdefault("row_errors", {})
        context.update(
            rows=rows, scopes=scopes, period_start=period_start, has_tenant=has_tenant,
            default_thresholds=", ".join(str(t) for t in default_alert_thresholds()),
        )  # fmt: skip
        return context

    def post(self, request, *args, **kwargs):
        form = {field: request.POST.get(field, "") for field in ("scope", "amount", "alert_thresholds")}
        problems: dict[str, list[str]] = {}
        amount = _amount(form["amount"], problems)
        thresholds = _thresholds(request.POST.get("alert_thresholds"), problems)
        project = api_key = None
        kind, _, target = form["scope"].partition(":")
        if kind == "project":
            project = Project.objects.for_tenant(self.tenant).filter(pk=_uuid_or_none(target)).first()
        elif kind == "api_key":
            api_key = ApiKey.objects.for_tenant(self.tenant).filter(uuid=_uuid_or_none(target)).first()
        if kind != "tenant" and project is None and api_key is None:
            problems["scope"] = ["Choose what the budget is for."]
        if problems:
            return self.refused(problems, form=form)

        def budget_set():
            with transaction.atomic():  # set: a new budget, or a new amount for the one it has
                budget = billing.budget_set_monthly(
                    tenant=self.tenant, amount_usd=amount, actor=self.actor, project=project, api_key=api_key
                )
                if thresholds is not None:
                    billing.budget_update(budget=budget, actor=self.actor, alert_thresholds=thresholds)
                return budget

        try:
            once = self.once(budget_set, remember=lambda budget: {"budget": budget.pk})
        except (ApplicationError, ValidationError) as error:
            return self.refused(problems_of(error, BUDGET_FIELDS), form=form)
        return self.done("Budget set." if once.earlier is None else FORM_ALREADY_SENT)


class BudgetAction(BudgetsPage):
    http_method_names = ["post"]

    def budget(self) -> Budget:
        return get_object_or_404(Budget.objects.for_tenant(self.tenant), uuid=self.kwargs["uuid"])


class BudgetUpdateAction(BudgetAction):
    def post(self, request, *args, **kwargs):
        budget = self.budget()
        problems: dict[str, list[str]] = {}
        amount = _amount(request.POST.get("amount", ""), problems) if "amount" in request.POST else None
        thresholds = _thresholds(request.POST.get("alert_thresholds"), problems)
        if not problems:
            try:
                billing.budget_update(budget=budget, actor=self.actor, amount_usd=amount, alert_thresholds=thresholds)
            except (ApplicationError, ValidationError) as error:
                problems = problems_of(error, BUDGET_FIELDS)
        if problems:
            posted = {field: request.POST.get(field, "") for field in ("amount", "alert_thresholds")}
            return self.refused({}, row_errors={budget.pk: problems | {"posted": posted}})
        return self.done("Budget saved.", "web:settings_budgets")


class BudgetDeleteAction(BudgetAction):
    def post(self, request, *args, **kwargs):
        budget = self.budget()
        billing.budget_delete(budget=budget, actor=self.actor)
        if budget.scope == "tenant":
            messages.warning(request, "The tenant has no budget now: no images can be made until one is set.")
        return self.done("Budget removed.", "web:settings_budgets")


# Webhooks


def _webhook_form(post) -> dict:
    return {
        "url": post.get("url", "").strip(),
        "description": post.get("description", "").strip(),
        "events": [event for event in post.getlist("events") if event],
        "active": post.get("active") in ("on", "1", "true"),
    }


class WebhooksPage(SettingsPage):
    template_name = "web/settings/webhooks.html"
    tab = "webhooks"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        endpoints = list(WebhookEndpoint.objects.for_tenant(self.tenant).order_by("created_at", "pk"))
        context.setdefault("form", {"url": "", "description": "", "events": [], "active": True})
        context.setdefault("row_errors", {})
        context.update(
            endpoints=[
                {"endpoint": e, "deliveries": list(webhooks.webhook_delivery_list(endpoint=e)[:RECENT_DELIVERIES])}
                for e in endpoints
            ],
            event_choices=WebhookEndpoint.Event.choices,
            max_endpoints=webhooks.MAX_ENDPOINTS_PER_TENANT,
        )
        return context

    def post(self, request, *args, **kwargs):
        form = _webhook_form(request.POST)
        try:
            once = self.once(
                lambda: webhooks.webhook_endpoint_create(tenant=self.tenant, actor=self.actor, **form),
                remember=lambda created: {"webhook": created.endpoint.pk},  # never the secret
            )
        except (ApplicationError, ValidationError) as error:
            return self.refused(problems_of(error), form=form)
        if once.earlier is not None:  # a reload or a second click: the endpoint exists, its secret was shown once
            messages.info(request, f"This form already added the webhook to {form['url']}. {ALREADY_MADE_NOTE}")
            return self.render_to_response(self.get_context_data())
        created = once.result
        # The signing secret is shown in this answer only, as the API does.
        messages.success(request, f"Webhook to {created.endpoint.url} created.")
        context = self.get_context_data(created_endpoint=created.endpoint, secret=created.secret)
        return self.render_to_response(context, status=201)


class WebhookAction(WebhooksPage):
    http_method_names = ["post"]

    def endpoint(self) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint.objects.for_tenant(self.tenant), uuid=self.kwargs["uuid"])

    def done_or_row_error(self, endpoint, call, message):
        try:
            call()
        except ApplicationError as error:
            return self.refused({}, row_errors={endpoint.pk: {"__all__": [error.message]}})
        return self.done(message, "web:settings_webhooks")


class WebhookUpdateAction(WebhookAction):
    def post(self, request, *args, **kwargs):
        endpoint = self.endpoint()
        form = _webhook_form(request.POST)
        try:
            webhooks.webhook_endpoint_update(endpoint=endpoint, actor=self.actor, **form)
        except (ApplicationError, ValidationError) as error:
            return self.refused({}, row_errors={endpoint.pk: problems_of(error) | {"posted": form}})
        return self.done(f"Webhook to {form['url']} saved.", "web:settings_webhooks")


class WebhookPingAction(WebhookAction):
    def post(self, request, *args, **kwargs):
        endpoint = self.endpoint()
        return self.done_or_row_error(
            endpoint,
            lambda: webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=self.actor),
            f"Ping sent to {endpoint.url}; its delivery is listed below.",
        )


class WebhookDeleteAction(WebhookAction):
    def post(self, request, *args, **kwargs):
        endpoint = self.endpoint()
        url = endpoint.url
        webhooks.webhook_endpoint_delete(endpoint=endpoint, actor=self.actor)
        return self.done(f"Webhook to {url} removed.", "web:settings_webhooks")


class DeliveryReplayAction(WebhookAction):
    def post(self, request, *args, **kwargs):
        delivery = get_object_or_404(
            WebhookDelivery.objects.for_tenant(self.tenant).select_related("endpoint"), pk=self.kwargs["pk"]
        )
        return self.done_or_row_error(
            delivery.endpoint,
            lambda: webhooks.webhook_delivery_replay(delivery=delivery, actor=self.actor),
            f"{delivery.event} sent again to {delivery.endpoint.url}.",
        )


urlpatterns = [
    path("settings/", OverviewPage.as_view(), name="settings"),
    path("settings/members/", MembersPage.as_view(), name="settings_members"),
    path("settings/members/<uuid:uuid>/role/", MemberRoleAction.as_view(), name="settings_member_role"),
    path("settings/members/<uuid:uuid>/remove/", MemberRemoveAction.as_view(), name="settings_member_remove"),
    path("settings/keys/", KeysPage.as_view(), name="settings_keys"),
    path("settings/keys/<uuid:uuid>/revoke/", KeyRevokeAction.as_view(), name="settings_key_revoke"),
    path("settings/budgets/", BudgetsPage.as_view(), name="settings_budgets"),
    path("settings/budgets/<uuid:uuid>/", BudgetUpdateAction.as_view(), name="settings_budget"),
    path("settings/budgets/<uuid:uuid>/delete/", BudgetDeleteAction.as_view(), name="settings_budget_delete"),
    path("settings/webhooks/", WebhooksPage.as_view(), name="settings_webhooks"),
    path("settings/webhooks/<uuid:uuid>/", WebhookUpdateAction.as_view(), name="settings_webhook"),
    path("settings/webhooks/<uuid:uuid>/ping/", WebhookPingAction.as_view(), name="settings_webhook_ping"),
    path("settings/webhooks/<uuid:uuid>/delete/", WebhookDeleteAction.as_view(), name="settings_webhook_delete"),
    path(
        "settings/webhooks/deliveries/<uuid:pk>/replay/",
        DeliveryReplayAction.as_view(),
        name="settings_delivery_replay",
    ),
]
