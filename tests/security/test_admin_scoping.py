"""The tenancy wall in the Django admin. A staff member who is an admin of tenant A only, with two
tenants full of rows: for every registered ModelAdmin (read from the admin site's registry, so a new
model cannot escape) the changelist, its filters, the change/history/delete pages, the add and change
forms' choice lists (inlines too), autocomplete and every action show or touch none of tenant B's
rows. Foreign keys are checked against the row's own tenant whoever saves it, platform staff
included; ledger credits are platform staff's, through the billing service; the ledger is
append-only for everyone."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.forms import ModelChoiceField
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assets import library
from assets.models import ApprovalStage, Asset, Project
from assets.review import asset_submit
from billing.models import Budget, LedgerEntry, Price
from billing.services import budget_create_monthly, ledger_adjust, period_start_for
from generation.models import BedrockModel, TenantAutoSuccessor, TenantModelAccess
from tenants.admin_base import PlatformOnlyAdmin, TenantScopedAdmin, TenantScopedInline
from tenants.models import ApiKey, AuditEvent, Role, Tenant
from tenants.webhooks import webhook_endpoint_create, webhook_endpoint_ping

from ..factories import UserFactory, make_api_key, make_asset, make_job

pytestmark = pytest.mark.django_db

User = get_user_model()
REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
ADMIN_IDS = [model._meta.label for model, _ in REGISTERED]
NOVA = "amazon.nova-canvas-v1:0"


def rows_of(model, tenant):
    """The rows of `model` that belong to `tenant`, found without the code under test; None for a
    model whose rows belong to no tenant (the catalog, groups)."""
    if model is Tenant:
        return Tenant.objects.filter(pk=tenant.pk)
    if model is User:
        return User.objects.filter(memberships__tenant=tenant)
    fields = {field.name: field for field in model._meta.concrete_fields}
    if "tenant" in fields and fields["tenant"].related_model is Tenant:
        return model._default_manager.filter(tenant=tenant)
    for field in model._meta.concrete_fields:
        if field.many_to_one and not field.null and field.related_model is not model:
            parents = rows_of(field.related_model, tenant)
            if parents is not None:
                return model._default_manager.filter(**{f"{field.name}__in": parents})
    return None


def only_of(model, tenant, other):
    """Rows of `tenant` that are not also `other`'s (a person may belong to both)."""
    rows = rows_of(model, tenant)
    return None if rows is None else rows.exclude(pk__in=rows_of(model, other).values("pk"))


def fill(tenant, admin_user, *, label):
    """One of everything the admin shows, for this tenant."""
    project = Project.objects.create(tenant=tenant, name=f"{label} Spring", slug="spring")
    key, _ = make_api_key(tenant, Role.CREATOR, name=f"{label} key")
    budget_create_monthly(tenant=tenant, amount_usd=Decimal("100"), actor=admin_user, project=project)
    budget_create_monthly(tenant=tenant, amount_usd=Decimal("10"), actor=admin_user, api_key=key)
    ledger_adjust(tenant=tenant, amount_usd=Decimal("1"), reason=f"{label} correction", actor=None)
    endpoint = webhook_endpoint_create(tenant=tenant, actor=admin_user, url="https://93.184.215.14/hook",
                                       events=["job.failed"]).endpoint  # fmt: skip
    webhook_endpoint_ping(endpoint=endpoint, actor=admin_user)
    TenantModelAccess.objects.create(tenant=tenant, model=BedrockModel.objects.get(model_id=NOVA))
    TenantAutoSuccessor.objects.create(tenant=tenant)
    Price.objects.create(model=BedrockModel.objects.get(model_id=NOVA), tier_rule="any", quality="standard",
                         unit_price_usd=Decimal("0.03"), effective_from=timezone.now(), tenant=tenant)  # fmt: skip
    stages = [{"name": "Brand", "members": [admin_user.email]}]
    library.approval_stages_set(project=project, actor=admin_user, stages=stages)
    asset = make_asset(tenant, job=make_job(tenant), index=0, project=project, created_by=admin_user)
    asset_submit(tenant=tenant, asset_id=asset.pk, actor=admin_user)
    return {"project": project, "api_key": key, "asset": asset}


@pytest.fixture
def world(tenant_a, tenant_b, member):
    staff_a = member(tenant_a, Role.ADMIN, email="staff@acme.test", is_staff=True)
    admin_b = member(tenant_b, Role.ADMIN, email="grace@globex.test")
    return {"a": fill(tenant_a, staff_a, label="Acme"), "b": fill(tenant_b, admin_b, label="Globex"),
            "staff_a": staff_a, "admin_b": admin_b}  # fmt: skip


@pytest.fixture
def staff_a(world):
    client = Client()
    client.force_login(world["staff_a"])
    return client


@pytest.fixture
def platform_staff():
    client = Client()
    client.force_login(UserFactory(email="ops@atelier.test", is_staff=True, is_superuser=True))
    return client


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def b_pks(model, tenant_a, tenant_b) -> set:
    rows = only_of(model, tenant_b, tenant_a)
    return set() if rows is None else set(rows.values_list("pk", flat=True))


def snapshot(tenant_a, tenant_b) -> dict:
    """Every row of tenant B in every model the admin shows, and B's audit trail."""
    seen = {}
    for model, _ in REGISTERED:
        rows = only_of(model, tenant_b, tenant_a)
        if rows is not None:
            seen[model._meta.label] = sorted(map(repr, rows.order_by("pk").values()))
    seen["stages"] = sorted(map(repr, ApprovalStage.objects.filter(project__tenant=tenant_b).values()))
    seen["stage members"] = sorted(
        ApprovalStage.members.through.objects.filter(approvalstage__project__tenant=tenant_b).values_list(
            "approvalstage_id", "user_id"
        )
    )
    return seen


def choice_fields(response):
    """(where, field) for every choice list on an add or change page, inline forms included."""
    forms = [("form", response.context["adminform"].form)]
    for inline in response.context.get("inline_admin_formsets") or []:
        formset = inline.formset
        forms += [(formset.prefix, form) for form in [*formset.forms, formset.empty_form]]
    return [(f"{where}.{name}", field) for where, form in forms for name, field in form.fields.items()
            if isinstance(field, ModelChoiceField)]  # fmt: skip


def test_the_fixture_gives_tenant_b_rows_in_every_tenant_model(world, tenant_a, tenant_b):
    for model, _ in REGISTERED:
        rows = only_of(model, tenant_b, tenant_a)
        assert rows is None or rows.exists(), f"give tenant B a {model._meta.label} in fill()"


def test_every_admin_is_tenant_scoped_or_platform_only():
    for model, model_admin in REGISTERED:
        assert isinstance(model_admin, TenantScopedAdmin | PlatformOnlyAdmin), model._meta.label
        assert model_admin.check() == []  # a tenant-scoped page's form checks the row's foreign keys
        for inline in model_admin.inlines:
            assert issubclass(inline, TenantScopedInline), f"{model._meta.label}: {inline.__name__}"


@pytest.mark.parametrize("model, model_admin", REGISTERED, ids=ADMIN_IDS)
def test_the_changelist_and_its_filters_show_none_of_another_tenants_rows(model, model_admin, world, staff_a,
                                                                          tenant_a, tenant_b):  # fmt: skip
    foreign = b_pks(model, tenant_a, tenant_b)
    for query in ({}, {"_popup": "1", "_to_field": "id"}):  # the raw-id lookup opens this page as a popup
        response = staff_a.get(url(model, "changelist"), query)

        assert response.status_code in (200, 403)
        if response.status_code == 200:
            changelist = response.context["cl"]
            assert not {row.pk for row in changelist.result_list} & foreign
            assert not {row.pk for row in changelist.queryset} & foreign
            for spec in changelist.filter_specs:
                related = getattr(getattr(spec, "field", None), "related_model", None)
                if related is not None:
                    assert not {value for value, _ in spec.lookup_choices} & b_pks(related, tenant_a, tenant_b)


@pytest.mark.parametrize("model, model_admin", REGISTERED, ids=ADMIN_IDS)
def test_another_tenants_change_history_and_delete_pages_do_not_open(model, model_admin, world, staff_a,
                                                                     tenant_a, tenant_b):  # fmt: skip
    before = snapshot(tenant_a, tenant_b)
    for pk in sorted(b_pks(model, tenant_a, tenant_b), key=str)[:2]:
        for view in ("change", "history", "delete"):
            opened = staff_a.get(url(model, view, pk))
            posted = staff_a.post(url(model, view, pk), {"post": "yes", "name": "Mine now", "role": "viewer"})

            for response in (opened, posted):
                assert response.status_code in (302, 403, 404), (view, pk)
                assert response.status_code != 302 or response.url == reverse("admin:index")  # "doesn't exist"
    assert snapshot(tenant_a, tenant_b) == before


@pytest.mark.parametrize("model, model_admin", REGISTERED, ids=ADMIN_IDS)
def test_add_and_change_forms_list_none_of_another_tenants_rows(model, model_admin, world, staff_a, tenant_a,
                                                                tenant_b):  # fmt: skip
    own = rows_of(model, tenant_a)
    pages = [url(model, "add")] + ([url(model, "change", own.order_by("pk").first().pk)] if own else [])
    for page in pages:
        response = staff_a.get(page)

        assert response.status_code in (200, 403), page
        if response.status_code == 200:
            for where, field in choice_fields(response):
                shown = set(field.queryset.values_list("pk", flat=True))
                assert not shown & b_pks(field.queryset.model, tenant_a, tenant_b), (page, where)


@pytest.mark.parametrize("model, model_admin", REGISTERED, ids=ADMIN_IDS)
def test_autocomplete_offers_none_of_another_tenants_rows(model, model_admin, world, staff_a, tenant_a, tenant_b):
    relations = [f for f in model._meta.get_fields() if f.concrete and (f.many_to_one or f.many_to_many)]
    for field in relations:
        response = staff_a.get(reverse("admin:autocomplete"), {
            "app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field.name,
            "term": "",
        })  # fmt: skip

        assert response.status_code in (200, 403, 404), field.name
        if response.status_code == 200:
            offered = {result["id"] for result in response.json()["results"]}
            assert not offered & {str(pk) for pk in b_pks(field.related_model, tenant_a, tenant_b)}, field.name


@pytest.mark.parametrize("model, model_admin", REGISTERED, ids=ADMIN_IDS)
def test_no_action_touches_another_tenants_rows(model, model_admin, world, staff_a, tenant_a, tenant_b, rf):
    everything = rf.get("/")
    everything.user = User.objects.create_superuser("root@atelier.test", "root@atelier.test", "pw")
    actions = model_admin.get_actions(everything)  # every action there is, not only the tenant admin's
    foreign = [str(pk) for pk in b_pks(model, tenant_a, tenant_b)]
    before = snapshot(tenant_a, tenant_b)

    for action in actions:
        staff_a.post(url(model, "changelist"), {"action": action, "_selected_action": foreign, "post": "yes"})

    assert snapshot(tenant_a, tenant_b) == before


# Budgets: the foreign keys must be the budget's own tenant's, whoever saves it.


def budget_form(tenant, **fields):
    return {"tenant": tenant.pk, "period": "monthly", "amount_usd": "50", "alert_thresholds": "[50, 80, 100]",
            **fields}  # fmt: skip


@pytest.mark.parametrize("field", ["project", "api_key"])
@pytest.mark.parametrize("who", ["tenant admin", "platform staff"])
def test_a_budget_on_another_tenants_project_or_key_is_refused(field, who, world, staff_a, platform_staff, tenant_a):
    client = staff_a if who == "tenant admin" else platform_staff
    budgets = list(Budget.objects.order_by("pk").values())
    events = AuditEvent.objects.count()

    response = client.post(url(Budget, "add"), budget_form(tenant_a, **{field: world["b"][field].pk}))

    assert response.status_code == 200  # the form again, with its error
    assert field in response.context["adminform"].form.errors
    assert list(Budget.objects.order_by("pk").values()) == budgets
    assert AuditEvent.objects.count() == events


def test_a_budget_of_the_tenants_own_project_is_saved_through_the_service(world, staff_a, tenant_a):
    other = Project.objects.create(tenant=tenant_a, name="Autumn", slug="autumn")

    response = staff_a.post(url(Budget, "add"), budget_form(tenant_a, project=other.pk))

    assert response.status_code == 302
    budget = Budget.objects.get(project=other)
    assert (budget.tenant, budget.amount_usd) == (tenant_a, Decimal("50"))
    assert AuditEvent.objects.get(verb="budget.set", target_id=str(budget.pk)).actor_user == world["staff_a"]


def test_a_tenant_admin_cannot_make_a_budget_for_another_tenant(world, staff_a, tenant_b):
    budgets = Budget.objects.count()

    response = staff_a.post(url(Budget, "add"), budget_form(tenant_b, project=world["b"]["project"].pk))

    assert response.status_code == 200 and "tenant" in response.context["adminform"].form.errors
    assert Budget.objects.count() == budgets


def test_tampered_inputs_cannot_move_a_budget_to_another_tenant(world, staff_a, platform_staff, tenant_a, tenant_b):
    budget = Budget.objects.get(project=world["a"]["project"])
    tampered = budget_form(tenant_b, project=world["b"]["project"].pk, api_key=world["b"]["api_key"].pk,
                           amount_usd="60", committed_usd="-1000")  # fmt: skip

    for client in (staff_a, platform_staff):
        client.post(url(Budget, "change", budget.pk), tampered)

    budget.refresh_from_db()
    assert (budget.tenant, budget.project, budget.api_key) == (tenant_a, world["a"]["project"], None)
    assert budget.committed_usd == Decimal("0")


# The ledger: credits are platform staff's; nobody changes or deletes an entry.


def credit(tenant, **fields):
    return {"tenant": tenant.pk, "amount_usd": "-1000", "reason": "Goodwill", **fields}


def test_a_tenant_admin_cannot_post_a_ledger_credit(world, staff_a, tenant_a):
    entries = LedgerEntry.objects.count()
    budget = Budget.objects.get(tenant=tenant_a, project=None, api_key=None)

    page = staff_a.get(url(LedgerEntry, "add"))
    posted = staff_a.post(url(LedgerEntry, "add"), credit(tenant_a))

    assert (page.status_code, posted.status_code) == (403, 403)
    assert LedgerEntry.objects.count() == entries
    budget.refresh_from_db()
    assert budget.committed_usd == Decimal("1")  # the fixture's correction, nothing else
    assert not AuditEvent.objects.filter(verb="ledger.adjusted", actor_user=world["staff_a"]).exists()


def test_platform_staff_credit_a_project_through_the_service(world, platform_staff, tenant_a):
    project = world["a"]["project"]

    response = platform_staff.post(url(LedgerEntry, "add"), credit(tenant_a, project=project.pk, amount_usd="-5"))

    assert response.status_code == 302
    entry = LedgerEntry.objects.get(tenant=tenant_a, reason="Goodwill")
    assert (entry.kind, entry.amount_usd, entry.project, entry.period_start) == (
        "adjust", Decimal("-5"), project, period_start_for(tenant_a),
    )  # fmt: skip
    assert (
        AuditEvent.objects.get(verb="ledger.adjusted", target_id=str(entry.pk)).actor_user.email == "ops@atelier.test"
    )
    assert Budget.objects.get(project=project).committed_usd == Decimal("-5")
    assert Budget.objects.get(tenant=tenant_a, project=None, api_key=None).committed_usd == Decimal("-4")


def test_platform_staff_cannot_credit_another_tenants_project(world, platform_staff, tenant_a):
    entries = LedgerEntry.objects.count()

    response = platform_staff.post(url(LedgerEntry, "add"), credit(tenant_a, project=world["b"]["project"].pk))

    assert response.status_code == 200 and "project" in response.context["adminform"].form.errors
    assert LedgerEntry.objects.count() == entries


def test_nobody_changes_or_deletes_a_ledger_entry(world, staff_a, platform_staff, tenant_a):
    entry = LedgerEntry.objects.get(tenant=tenant_a)
    before = list(LedgerEntry.objects.values())

    for client in (staff_a, platform_staff):
        changed = client.post(url(LedgerEntry, "change", entry.pk), credit(tenant_a, amount_usd="-999"))
        deleted = client.post(url(LedgerEntry, "delete", entry.pk), {"post": "yes"})
        client.post(url(LedgerEntry, "changelist"), {"action": "delete_selected", "_selected_action": [entry.pk],
                                                     "post": "yes"})  # fmt: skip
        assert (changed.status_code, deleted.status_code) == (403, 403)

    assert list(LedgerEntry.objects.values()) == before


# Tampered hidden inputs, long names.


def change_form_data(response) -> dict:
    """What the browser would post back from this change page, unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def test_a_tampered_inline_row_cannot_reach_another_tenants_stage(world, staff_a):
    project = world["a"]["project"]
    foreign_stage = ApprovalStage.objects.get(project=world["b"]["project"])
    page = staff_a.get(url(Project, "change", project.pk))
    data = change_form_data(page)
    data |= {"approval_stages-0-id": str(foreign_stage.pk), "approval_stages-0-project": str(world["b"]["project"].pk),
             "approval_stages-0-name": "Hijacked", "approval_stages-0-members": [str(world["admin_b"].pk)]}  # fmt: skip
    before = snapshot(project.tenant, world["b"]["project"].tenant)

    response = staff_a.post(url(Project, "change", project.pk), data)

    assert response.status_code in (200, 302)  # the form with its errors, or saved without the stage rows
    assert snapshot(project.tenant, world["b"]["project"].tenant) == before
    assert ApprovalStage.objects.get(project=project).name == "Brand"


def test_stages_are_shown_in_the_admin_and_set_only_through_the_service(world, platform_staff):
    project = world["a"]["project"]
    page = platform_staff.get(url(Project, "change", project.pk))
    data = change_form_data(page) | {"approval_stages-0-members": [str(world["admin_b"].pk)],
                                     "approval_stages-0-role": "viewer"}  # fmt: skip

    response = platform_staff.post(url(Project, "change", project.pk), data)

    assert page.status_code == 200 and "Brand" in page.content.decode()
    assert response.status_code == 302
    stage = ApprovalStage.objects.get(project=project)
    assert (stage.role, list(stage.members.values_list("email", flat=True))) == ("approver", ["staff@acme.test"])


def test_tampered_hidden_inputs_cannot_move_a_membership_or_a_project(world, staff_a, tenant_a, tenant_b):
    project = world["a"]["project"]
    data = change_form_data(staff_a.get(url(Project, "change", project.pk)))
    membership = world["staff_a"].memberships.get()

    staff_a.post(url(Project, "change", project.pk), data | {"tenant": str(tenant_b.pk)})
    staff_a.post(url(type(membership), "change", membership.pk), {"role": "admin", "tenant": tenant_b.pk,
                                                                  "user": world["admin_b"].pk})  # fmt: skip

    project.refresh_from_db()
    membership.refresh_from_db()
    assert project.tenant == tenant_a
    assert (membership.tenant, membership.user) == (tenant_a, world["staff_a"])


def test_a_revoke_with_another_tenants_key_in_the_hidden_selection_revokes_nothing(world, staff_a):
    keys = [str(world["a"]["api_key"].pk), str(world["b"]["api_key"].pk)]

    staff_a.post(url(ApiKey, "changelist"), {"action": "revoke", "_selected_action": keys})

    assert ApiKey.objects.get(pk=world["b"]["api_key"].pk).revoked_at is None
    assert ApiKey.objects.get(pk=world["a"]["api_key"].pk).revoked_at is not None


def test_long_names_are_a_form_error_not_a_crash(world, staff_a, platform_staff, tenant_a):
    project = world["a"]["project"]
    data = change_form_data(staff_a.get(url(Project, "change", project.pk)))

    long = staff_a.post(url(Project, "change", project.pk), data | {"name": "S" * 201})
    nul = staff_a.post(url(Project, "change", project.pk), data | {"name": "Spring\x00"})
    tenant = staff_a.post(url(Tenant, "change", tenant_a.pk), {"name": "A" * 201, "timezone": "UTC"})
    reason = platform_staff.post(url(LedgerEntry, "add"), credit(tenant_a, reason="R" * 301))

    assert [r.status_code for r in (long, tenant, reason)] == [200, 200, 200]  # the form, with its error
    assert nul.status_code == 400 and b"name" in nul.content  # refused before any view (config/parsers.py)
    project.refresh_from_db()
    tenant_a.refresh_from_db()
    assert (project.name, tenant_a.name) == ("Acme Spring", "Acme")
    assert LedgerEntry.objects.filter(tenant=tenant_a).count() == 1


def test_200_character_names_are_saved_through_the_services(world, staff_a, tenant_a):
    project = world["a"]["project"]
    data = change_form_data(staff_a.get(url(Project, "change", project.pk)))

    renamed = staff_a.post(url(Project, "change", project.pk), data | {"name": "P" * 200})
    tenant = staff_a.post(url(Tenant, "change", tenant_a.pk), {"name": "A" * 200, "timezone": "UTC"})

    assert (renamed.status_code, tenant.status_code) == (302, 302)
    project.refresh_from_db()
    tenant_a.refresh_from_db()
    assert (project.name, tenant_a.name) == ("P" * 200, "A" * 200)
    assert AuditEvent.objects.filter(verb="project.updated", actor_user=world["staff_a"]).exists()
    assert AuditEvent.objects.filter(verb="tenant.updated", actor_user=world["staff_a"]).exists()


def test_a_project_keeps_its_brand_rules_in_the_admin(world, staff_a):
    project = world["a"]["project"]
    data = change_form_data(staff_a.get(url(Project, "change", project.pk)))
    titan = BedrockModel.objects.get(model_id="amazon.titan-image-generator-v2:0")  # Acme may use Nova only

    response = staff_a.post(url(Project, "change", project.pk), data | {"default_model": str(titan.pk)}, follow=True)

    assert response.status_code == 200
    assert "default_model" in " ".join(str(m) for m in response.context["messages"])
    project.refresh_from_db()
    assert project.default_model is None


def test_a_project_is_archived_not_deleted_in_the_admin(world, staff_a, platform_staff):
    project = world["a"]["project"]

    for client in (staff_a, platform_staff):
        assert client.post(url(Project, "delete", project.pk), {"post": "yes"}).status_code == 403
    data = change_form_data(staff_a.get(url(Project, "change", project.pk)))
    archived = staff_a.post(url(Project, "change", project.pk), data | {"archived": "on"})

    assert archived.status_code == 302
    project.refresh_from_db()
    assert project.archived and Budget.objects.filter(project=project).exists()
    assert AuditEvent.objects.filter(verb="project.archived", target_id=str(project.pk)).exists()


def test_removing_the_last_admin_is_refused_on_the_page_not_a_crash(world, staff_a):
    membership = world["staff_a"].memberships.get()

    deleted = staff_a.post(url(type(membership), "delete", membership.pk), {"post": "yes"}, follow=True)
    selected = {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"}
    bulk = staff_a.post(url(type(membership), "changelist"), selected, follow=True)

    assert (deleted.status_code, bulk.status_code) == (200, 200)
    assert type(membership).objects.filter(pk=membership.pk).exists()


def test_a_tenant_admin_edits_no_global_row(world, staff_a):
    nova = BedrockModel.objects.get(model_id=NOVA)
    price = Price.objects.filter(tenant=None).first()

    pages = [staff_a.get(url(model, "add")) for model in (BedrockModel, Price, User)]
    changes = [staff_a.post(url(BedrockModel, "change", nova.pk), {"name": "Mine"}),
               staff_a.post(url(Price, "change", price.pk), {"unit_price_usd": "0"}),
               staff_a.post(url(User, "change", world["admin_b"].pk), {"email": "me@acme.test"})]  # fmt: skip

    assert [p.status_code for p in pages] == [403, 403, 403]
    assert [c.status_code for c in changes] == [403, 403, 403]
    assert BedrockModel.objects.get(pk=nova.pk).name == nova.name
    assert User.objects.get(pk=world["admin_b"].pk).email == "grace@globex.test"


def test_the_review_queue_stays_open_to_approvers(world, member, tenant_a):
    approver = member(tenant_a, Role.APPROVER, email="abe@acme.test", is_staff=True)
    client = Client()
    client.force_login(approver)

    response = client.get(url(Asset, "change", world["a"]["asset"].pk))
    foreign = client.get(url(Asset, "change", world["b"]["asset"].pk))

    assert response.status_code == 200 and foreign.status_code == 302
