"""Projects: the list, with each one's palette, default model, this month's budget and its work; a
new project; and one project's page with its brand rules, monthly budget and approval stages.
Everyone in the tenant reads them; admins create and change them (as in assets/api/projects.py)."""

from decimal import Decimal
from functools import cached_property

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import path

from assets import library
from assets.models import PALETTE_MAX, Project
from billing import selectors as billing_selectors
from billing import services as billing
from billing.models import Budget
from billing.money import parse_usd
from config.errors import ApplicationError
from generation.catalog import model_list_for_tenant
from generation.models import BedrockModel
from tenants.models import Role

from .base import FORM_ALREADY_SENT, TenantPage, field_errors

PALETTE_BLANKS = 2  # empty colour fields after the palette's own: room to add without JavaScript
STAGE_BLANKS = 1  # the same for approval stages
_ABSENT = object()  # a form field that was not posted: leave what it stands for as it is
TEXT_FIELDS = ("name", "slug", "description", "default_quality")
BUDGET_FIELD = {"amount_usd": "budget_amount"}  # the budget's own check, shown beside the form's field


def problems_of(error: ApplicationError | ValidationError, renames: dict | None = None) -> dict[str, list[str]]:
    """A service's refusal as form errors by field: its ApplicationError fields, or the field
    errors of the full_clean() it ran (the rest under `__all__`); `renames` maps a model field to
    the form field shown beside it."""
    if isinstance(error, ApplicationError):
        problems = field_errors(error)
    elif hasattr(error, "error_dict"):
        problems = {name: list(messages_) for name, messages_ in error.message_dict.items()}
    else:
        problems = {"__all__": list(error.messages)}
    return {(renames or {}).get(name, name): messages_ for name, messages_ in problems.items()}


# Reading the form


def project_changes(post) -> tuple[dict, dict[str, list[str]]]:
    """The project fields the form posted, as assets.library takes them, and what could not be read.
    A field that was not posted is left out (unchanged)."""
    changes: dict = {}
    problems: dict[str, list[str]] = {}
    for field in TEXT_FIELDS:
        if field in post:
            changes[field] = post[field].strip()
    if "default_negative_prompt" in post:
        changes["default_negative_prompt"] = post["default_negative_prompt"].strip()
    if "brand_palette" in post:
        changes["brand_palette"] = [colour.strip() for colour in post.getlist("brand_palette") if colour.strip()]
    if "default_model" in post:
        model_id = post["default_model"].strip()
        model = BedrockModel.objects.filter(model_id=model_id).first() if model_id else None
        if model_id and model is None:
            problems["default_model"] = [f"Unknown model {model_id!r}."]
        else:
            changes["default_model"] = model
    for field in ("default_width", "default_height"):
        if field in post:
            raw = post[field].strip()
            if raw and not (raw.isdigit() and int(raw) > 0):
                problems[field] = ["Give a whole number of pixels, or leave it empty."]
            else:
                changes[field] = int(raw) if raw else None
    return changes, problems


def budget_amount(post, problems: dict) -> Decimal | None | object:
    """The monthly budget posted: an amount, None (no budget) or _ABSENT (not posted)."""
    if "budget_amount" not in post:
        return _ABSENT
    raw = post["budget_amount"].strip().replace(",", "").removeprefix("$")
    if not raw:
        return None
    try:
        return parse_usd(raw)
    except ValueError:
        problems["budget_amount"] = ["Give an amount in USD of 0 or more, e.g. 250.00 — or leave it empty for none."]
        return _ABSENT


def _project_budget_apply(*, project: Project, amount, actor) -> None:
    if amount is _ABSENT:
        return
    budget = Budget.objects.for_tenant(project.tenant).filter(project=project).first()
    if amount is None:
        if budget is not None:
            billing.budget_delete(budget=budget, actor=actor)
    elif budget is None or budget.amount_usd != amount:
        billing.budget_set_monthly(tenant=project.tenant, amount_usd=amount, actor=actor, project=project)


def stage_rows_posted(post) -> list[dict]:
    """The approval stages as posted, in order; rows left empty are dropped."""
    names, roles, members = (post.getlist(key) for key in ("stage_name", "stage_role", "stage_members"))
    rows = []
    for index, name in enumerate(names):
        role = roles[index] if index < len(roles) else Role.APPROVER
        emails = members[index] if index < len(members) else ""
        if name.strip() or emails.strip():
            rows.append({"name": name.strip(), "role": role, "members": emails.strip()})
    return rows


def _emails(text: str) -> list[str]:
    return [email.strip() for email in text.replace(";", ",").replace("\n", ",").split(",") if email.strip()]


# What the templates show


def form_from_project(project: Project | None, budget: Budget | None = None) -> dict:
    if project is None:
        return {"brand_palette": [], "budget_amount": ""}
    return {
        **{field: getattr(project, field) for field in TEXT_FIELDS},
        "default_negative_prompt": project.default_negative_prompt,
        "brand_palette": list(project.brand_palette),
        "default_model": project.default_model.model_id if project.default_model else "",
        "default_width": project.default_width or "",
        "default_height": project.default_height or "",
        "budget_amount": amount_text(budget.amount_usd) if budget else "",
    }


def amount_text(amount: Decimal) -> str:
    """An amount for a form field: cents at least, and every digit it has (so saving it again changes nothing)."""
    return f"{amount:.2f}" if amount == amount.quantize(Decimal("0.01")) else f"{amount.normalize():f}"


def form_from_post(post, stored: dict) -> dict:
    """What was posted, to correct it; fields not posted show what is stored."""
    fields = (*TEXT_FIELDS, "default_negative_prompt", "default_model", "default_width", "default_height")
    form = stored | {field: post[field] for field in (*fields, "budget_amount") if field in post}
    if "brand_palette" in post:
        form["brand_palette"] = [colour.strip() for colour in post.getlist("brand_palette") if colour.strip()]
    return form


def palette_slots(colours: list) -> list[dict]:
    """Each colour field of the palette editor; `hex` only for a well-formed colour (safe in a style)."""
    from assets.models import HEX_COLOUR

    slots = [{"value": c, "hex": c if HEX_COLOUR.match(str(c)) else ""} for c in colours]
    blanks = min(PALETTE_BLANKS, max(PALETTE_MAX - len(slots), 0))
    return slots + [{"value": "", "hex": ""} for _ in range(blanks)]


def stage_rows_from(stages) -> list[dict]:
    return [
        {"name": s.name, "role": s.role, "members": ", ".join(sorted(m.email for m in s.members.all()))} for s in stages
    ]


def _stage_rows_with_errors(rows: list[dict], problems: dict) -> list[dict]:
    shown = [{**row, "errors": []} for row in rows]
    for key, messages_ in problems.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] == "stages" and parts[1].isdigit() and int(parts[1]) < len(shown):
            label = {"name": "Name", "role": "Role", "members": "Members"}.get(parts[2] if len(parts) > 2 else "", "")
            shown[int(parts[1])]["errors"] += [f"{label}: {m}" if label else m for m in messages_]
    blanks = [{"name": "", "role": Role.APPROVER, "members": "", "errors": []} for _ in range(STAGE_BLANKS)]
    return shown + blanks


def _choices(tenant, current_model_id: str = "") -> dict:
    models = list(model_list_for_tenant(tenant=tenant))
    if current_model_id and all(m.model_id != current_model_id for m in models):
        models += list(BedrockModel.objects.filter(model_id=current_model_id))  # keep showing the one it has
    qualities = sorted({quality for model in models for quality in model.qualities})
    return {"models": models, "qualities": qualities, "stage_roles": library.STAGE_ROLES, "palette_max": PALETTE_MAX}


def _month(tenant, budget: Budget | None) -> dict | None:
    if budget is None:
        return None
    figures = billing_selectors.budget_gauge(budget, period_start=billing.period_start_for(tenant))
    return figures | {"bar": min(int(figures["percent"] or 0), 100)}


# Pages


class ProjectListPage(TenantPage):
    template_name = "web/projects/list.html"
    nav = "projects"
    SHOWS = {"active": {"archived": False}, "archived": {"archived": True}, "all": {}}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        show = self.request.GET.get("show", "active")
        show = show if show in self.SHOWS else "active"
        projects = list(
            Project.objects.for_tenant(self.tenant)
            .filter(**self.SHOWS[show])
            .select_related("default_model")
            .order_by("-is_default", "name", "slug")
        )
        period_start = billing.period_start_for(self.tenant)
        budgets = {b.project_id: b for b in Budget.objects.for_tenant(self.tenant).exclude(project=None)}
        spent = billing_selectors.spend_by_project(tenant=self.tenant, period_start=period_start)
        counts = library.project_work_counts(tenant=self.tenant)
        rows = [
            {
                "project": project,
                "budget": budgets.get(project.pk),
                "month": _month(self.tenant, budgets.get(project.pk)),
                "spent": spent.get(project.pk, Decimal(0)),
                "assets": counts.get(project.pk, {}).get("assets", 0),
                "jobs": counts.get(project.pk, {}).get("jobs", 0),
            }
            for project in projects
        ]
        archived_count = Project.objects.for_tenant(self.tenant).filter(archived=True).count()
        context.update(rows=rows, show=show, period_start=period_start, archived_count=archived_count)
        return context


class ProjectNewPage(TenantPage):
    template_name = "web/projects/new.html"
    minimum_role = Role.ADMIN
    nav = "projects"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context.setdefault("form", form_from_project(None))
        context.setdefault("errors", {})
        context["palette"] = palette_slots(form["brand_palette"])
        context.update(_choices(self.tenant, form.get("default_model", "")))
        return context

    def post(self, request, *args, **kwargs):
        changes, problems = project_changes(request.POST)
        amount = budget_amount(request.POST, problems)

        def project_create():
            with transaction.atomic():  # a refused budget leaves no project behind
                project = library.project_create(tenant=self.tenant, actor=self.actor, **({"name": ""} | changes))
                _project_budget_apply(project=project, amount=amount, actor=self.actor)
                return project

        if not problems:
            try:
                once = self.once(project_create, remember=lambda project: {"project": str(project.pk)})
            except (ApplicationError, ValidationError) as error:
                problems = problems_of(error, BUDGET_FIELD)
        if problems:
            context = self.get_context_data(form=form_from_post(request.POST, form_from_project(None)), errors=problems)
            return self.render_to_response(context, status=400)
        if once.earlier is not None:
            messages.info(request, FORM_ALREADY_SENT)
            project = Project.objects.for_tenant(self.tenant).filter(pk=once.earlier.response_body["project"]).first()
            if project is None:  # made, then removed since
                return redirect("web:projects", tenant_slug=self.tenant.slug)
        else:
            project = once.result
            messages.success(request, f"Project {project.name} created.")
        return redirect("web:project", tenant_slug=self.tenant.slug, pk=project.pk)


class ProjectPage(TenantPage):
    """Everyone reads the project; the forms are for admins."""

    template_name = "web/projects/detail.html"
    nav = "projects"

    @cached_property
    def project(self) -> Project:
        projects = Project.objects.for_tenant(self.tenant).select_related("default_model")
        return get_object_or_404(projects, pk=self.kwargs["pk"])

    def budget(self) -> Budget | None:
        return Budget.objects.for_tenant(self.tenant).filter(project=self.project).first()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        project, budget = self.project, self.budget()
        form = context.setdefault("form", form_from_project(project, budget))
        context.setdefault("errors", {})
        stages = library.approval_stage_list(project=project)
        context.setdefault("stage_rows", _stage_rows_with_errors(stage_rows_from(stages), {}))
        context.setdefault("stage_errors", {})
        counts = library.project_work_counts(tenant=self.tenant).get(project.pk, {})
        context.update(
            project=project,
            stages=stages,
            default_stage=library.DEFAULT_STAGE,
            budget=budget,
            month=_month(self.tenant, budget),
            period_start=billing.period_start_for(self.tenant),
            asset_count=counts.get("assets", 0),
            job_count=counts.get("jobs", 0),
            palette=palette_slots(form["brand_palette"]),
            **_choices(self.tenant, form.get("default_model", "")),
        )
        return context

    def _admin_only(self):
        if not self.can(Role.ADMIN):
            raise PermissionDenied("Only admins change projects.")

    def post(self, request, *args, **kwargs):
        self._admin_only()
        changes, problems = project_changes(request.POST)
        amount = budget_amount(request.POST, problems)
        if not problems:
            try:
                with transaction.atomic():  # the project and its budget change together, or neither
                    library.project_update(project=self.project, actor=self.actor, **changes)
                    _project_budget_apply(project=self.project, amount=amount, actor=self.actor)
            except (ApplicationError, ValidationError) as error:
                problems = problems_of(error, BUDGET_FIELD)
        if problems:
            self.__dict__.pop("project", None)  # project_update set the refused values on it: read it again
            stored = form_from_project(self.project, self.budget())
            context = self.get_context_data(form=form_from_post(request.POST, stored), errors=problems)
            return self.render_to_response(context, status=400)
        messages.success(request, f"Project {self.project.name} saved.")
        return redirect("web:project", tenant_slug=self.tenant.slug, pk=self.project.pk)


class ProjectStagesAction(ProjectPage):
    """Replace the project's approval stages with the posted list, in order."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self._admin_only()
        rows = stage_rows_posted(request.POST)
        stages = [
            {"name": row["name"], "role": row["role"], "members": _emails(row["members"])}
            if row["members"]
            else {"name": row["name"], "role": row["role"]}
            for row in rows
        ]
        try:
            library.approval_stages_set(project=self.project, actor=self.actor, stages=stages)
        except ApplicationError as error:
            problems = field_errors(error)
            context = self.get_context_data(
                stage_rows=_stage_rows_with_errors(rows, problems),
                stage_errors={"stages": problems.get("stages", [])},
            )
            return self.render_to_response(context, status=400)
        messages.success(request, "Approval stages saved." if stages else "Approval stages reset to the default.")
        return redirect("web:project", tenant_slug=self.tenant.slug, pk=self.project.pk)


class ProjectArchiveAction(ProjectPage):
    """archived=1 archives the project (no new work goes into it); archived=0 brings it back."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self._admin_only()
        archive = request.POST.get("archived", "1") != "0"
        service = library.project_archive if archive else library.project_unarchive
        try:
            project = service(project=self.project, actor=self.actor)
        except ApplicationError as error:
            messages.error(request, error.message.removeprefix("project: "))
        else:
            messages.success(request, f"Project {project.name} {'archived' if archive else 'restored'}.")
        return redirect("web:project", tenant_slug=self.tenant.slug, pk=self.project.pk)


urlpatterns = [
    path("projects/", ProjectListPage.as_view(), name="projects"),
    path("projects/new/", ProjectNewPage.as_view(), name="project_new"),
    path("projects/<uuid:pk>/", ProjectPage.as_view(), name="project"),
    path("projects/<uuid:pk>/stages/", ProjectStagesAction.as_view(), name="project_stages"),
    path("projects/<uuid:pk>/archive/", ProjectArchiveAction.as_view(), name="project_archive"),
]
