"""A project's reusable material and brand rules: the project itself (palette, default model,
negative prompt, quality and size), its approval stages, its prompts — each an append-only list of
versions whose `{variable}` placeholders are filled when a job is submitted — and its saved seeds.
Writes check the rules, call full_clean() and write their audit event in the same transaction;
reads are scoped to the tenant."""

import re
import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.db.models.functions import Lower
from django.utils.text import slugify

from config.errors import ApplicationError
from generation.catalog import model_get_for_tenant, model_list_for_tenant
from generation.models import BedrockModel
from tenants.models import Membership, Role, Tenant
from tenants.services import Actor, audit_event_record

from .models import ApprovalStage, Project, Prompt, PromptVersion, Seed
from .review import DEFAULT_STAGE as _DEFAULT
from .review import NAMED_MEMBER_ROLE

PROJECT_FIELDS = (
    "name", "slug", "description", "brand_palette", "default_model", "default_negative_prompt", "default_quality",
    "default_width", "default_height",
)  # fmt: skip
BRAND_RULES = {"default_model", "default_negative_prompt", "default_quality", "default_width", "default_height"}
APPROVAL_STAGES_MAX = 10
STAGE_MEMBERS_MAX = 50
STAGE_ROLES = (Role.CREATOR, Role.APPROVER, Role.ADMIN)  # a viewer stage would let anyone approve
# What a project without stages has (the review workflow's own default), as the API shows it.
DEFAULT_STAGE = {"position": _DEFAULT.position, "name": _DEFAULT.name, "role": _DEFAULT.role, "members": []}
PROMPT_TEXT_MAX = 10_000  # the longest prompt any catalog model takes; each job checks its own model's limit
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _invalid(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, f"{field}: {message}", fields={field: [message]})


def _invalid_fields(problems: dict[str, list[str]], code: str = "invalid") -> ApplicationError:
    field, messages = next(iter(problems.items()))
    return ApplicationError(code, f"{field}: {messages[0]}", fields=problems)


def _audit_value(value):
    return value.model_id if isinstance(value, BedrockModel) else value


# Projects


def project_get(*, tenant: Tenant, project_id) -> Project | None:
    """The tenant's project with this id, or None — for another tenant's id too."""
    return Project.objects.for_tenant(tenant).filter(pk=_uuid_or_none(project_id)).first()


@transaction.atomic
def project_create(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str,
    slug: str = "",
    description: str = "",
    brand_palette: list | None = None,
    default_model: BedrockModel | None = None,
    default_negative_prompt: str = "",
    default_quality: str = "",
    default_width: int | None = None,
    default_height: int | None = None,
) -> Project:
    """A new project; its slug (derived from the name when not given) is unique in the tenant."""
    project = Project(
        tenant=tenant, name=name, slug=slug or slugify(name)[:60], description=description,
        brand_palette=_palette(brand_palette or []), default_model=default_model,
        default_negative_prompt=default_negative_prompt, default_quality=default_quality,
        default_width=default_width, default_height=default_height,
    )  # fmt: skip
    _project_save(project, changed=set(PROJECT_FIELDS))
    audit_event_record(
        tenant=tenant, actor=actor, verb="project.created", target=project,
        data={field: _audit_value(getattr(project, field)) for field in PROJECT_FIELDS},
    )  # fmt: skip
    return project


@transaction.atomic
def project_update(*, project: Project, actor: Actor, **changes) -> Project:
    """Change any of PROJECT_FIELDS; the brand rules are checked again against the default model."""
    unknown = set(changes) - set(PROJECT_FIELDS)
    if unknown:
        raise TypeError(f"project_update() got unexpected fields: {', '.join(sorted(unknown))}")
    if "brand_palette" in changes:
        changes["brand_palette"] = _palette(changes["brand_palette"])
    before = {field: getattr(project, field) for field in changes}
    for field, value in changes.items():
        setattr(project, field, value)
    changed = {field for field in changes if before[field] != changes[field]}
    if not changed:
        return project
    _project_save(project, changed=changed)
    audit_event_record(
        tenant=project.tenant, actor=actor, verb="project.updated", target=project,
        data={field: {"from": _audit_value(before[field]), "to": _audit_value(changes[field])} for field in changed},
    )  # fmt: skip
    return project


@transaction.atomic
def project_archive(*, project: Project, actor: Actor) -> Project:
    """An archived project takes no new jobs, prompts or seeds; its work stays readable."""
    if project.is_default:
        message = "The default project cannot be archived: requests that name no project go there."
        raise ApplicationError("default_project", f"project: {message}", fields={"project": [message]})
    return _project_set_archived(project, actor, archived=True)


@transaction.atomic
def project_unarchive(*, project: Project, actor: Actor) -> Project:
    return _project_set_archived(project, actor, archived=False)


def _project_set_archived(project: Project, actor: Actor, *, archived: bool) -> Project:
    locked = Project.objects.select_for_update().get(pk=project.pk)
    if locked.archived == archived:
        project.archived = archived
        return project
    project.archived = archived
    project.full_clean()
    project.save(update_fields=["archived", "updated_at"])
    verb = "project.archived" if archived else "project.unarchived"
    audit_event_record(tenant=project.tenant, actor=actor, verb=verb, target=project)
    return project


def _palette(value):
    # Stored upper-case, as colour-guided requests are; anything malformed is left for validate_palette to name.
    if isinstance(value, list):
        return [colour.upper() if isinstance(colour, str) else colour for colour in value]
    return value


def _project_save(project: Project, *, changed: set[str]) -> None:
    if "slug" in changed:
        _slug_free(project)
    if changed & BRAND_RULES:
        _brand_rules_check(project, changed)
    project.full_clean()
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:  # the same slug, taken meanwhile by a concurrent request
        raise _slug_taken(project) from None


def _slug_free(project: Project) -> None:
    if not project.slug:
        raise _invalid("slug", "Give a slug: lowercase letters, digits, hyphens or underscores.")
    taken = Project.objects.for_tenant(project.tenant).filter(slug=project.slug).exclude(pk=project.pk)
    if taken.exists():
        raise _slug_taken(project)


def _slug_taken(project: Project) -> ApplicationError:
    return _invalid("slug", f"Another project of this tenant already uses {project.slug!r}.", code="slug_taken")


def _brand_rules_check(project: Project, changed: set[str]) -> None:
    """The defaults must be ones a model can honour: the default model must be one the tenant may
    use, and quality, size and negative prompt must suit it — or, without one, some model the
    tenant may use."""
    tenant, model = project.tenant, project.default_model
    if "default_model" in changed and model is not None:
        try:
            model_get_for_tenant(tenant=tenant, model_id=model.model_id)
        except ApplicationError as error:
            raise _invalid("default_model", error.fields["model"][0]) from None
    candidates = [model] if model is not None else list(model_list_for_tenant(tenant=tenant))
    which = model.name if model is not None else "No model this tenant may use"
    problems: dict[str, list[str]] = {}
    quality = project.default_quality
    if quality and not any(quality in candidate.qualities for candidate in candidates):
        offered = sorted({q for candidate in candidates for q in candidate.qualities})
        problems["default_quality"] = [f"{which} offers {quality!r}; choose one of: {', '.join(offered)}."]
    problems |= _default_size_problems(project, candidates)
    negative = project.default_negative_prompt
    longest = max((candidate.negative_max_chars for candidate in candidates), default=0)
    if negative and len(negative) > longest:
        problems["default_negative_prompt"] = [f"At most {longest:,} characters; it is {len(negative):,}."]
    if problems:
        raise _invalid_fields(problems)


def _default_size_problems(project: Project, candidates: list[BedrockModel]) -> dict[str, list[str]]:
    width, height = project.default_width, project.default_height
    if width is None and height is None:
        return {}
    if width is None or height is None:
        missing = "default_width" if width is None else "default_height"
        return {missing: ["Give both default_width and default_height, or neither."]}
    reasons = [candidate.spec().size_rule.problem(width, height) for candidate in candidates]
    if any(reason is None for reason in reasons):
        return {}
    reason = reasons[0] if len(reasons) == 1 else f"No model this tenant may use makes {width}x{height} images."
    return {"default_width": [reason], "default_height": [reason]}


# Approval stages


def approval_stage_list(*, project: Project) -> list[ApprovalStage]:
    """The project's stages in order (empty: the default, one stage for approvers)."""
    return list(ApprovalStage.objects.filter(project=project).prefetch_related("members").order_by("position"))


@transaction.atomic
def approval_stages_set(*, project: Project, actor: Actor, stages: list) -> list[ApprovalStage]:
    """Replace the project's ordered stages with `stages`, each {name, role?, members?}: approvable by
    `role` and above, or only by the named members (e-mails of the tenant's members). An empty list
    brings back the default: one stage for approvers."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    cleaned = _stages_check(project.tenant, stages)
    ApprovalStage.objects.filter(project=project).delete()
    rows = []
    for position, (name, role, members) in enumerate(cleaned):
        row = ApprovalStage(project=project, position=position, name=name, role=role)
        row.full_clean()
        row.save()
        row.members.set(members)
        rows.append(row)
    audit_event_record(
        tenant=project.tenant, actor=actor, verb="project.approval_stages_set", target=project,
        data={"stages": [{"name": n, "role": r, "members": sorted(u.email for u in m)} for n, r, m in cleaned]},
    )  # fmt: skip
    return rows


def _stages_check(tenant: Tenant, stages) -> list[tuple[str, str, list]]:
    if not isinstance(stages, list) or len(stages) > APPROVAL_STAGES_MAX:
        raise _invalid("stages", f"Give a list of at most {APPROVAL_STAGES_MAX} stages, in order.")
    problems: dict[str, list[str]] = {}
    cleaned, names = [], set()
    for index, stage in enumerate(stages):
        at = f"stages.{index}"
        if not isinstance(stage, dict):
            problems[at] = ["Give an object: {name, role, members}."]
            continue
        for key in sorted(set(stage) - {"name", "role", "members"}):
            problems[f"{at}.{key}"] = ["Unknown field."]
        name = stage.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not 1 <= len(name) <= 100:
            problems[f"{at}.name"] = ["Give a name of 1–100 characters."]
        elif name.lower() in names:
            problems[f"{at}.name"] = [f"Another stage is already called {name!r}."]
        names.add(name.lower())
        role = stage.get("role") or Role.APPROVER
        if role not in STAGE_ROLES:
            problems[f"{at}.role"] = [f"{role!r} is not one of: {', '.join(STAGE_ROLES)}."]
        members, problem = _stage_members(tenant, stage.get("members") or [])
        if problem:
            problems[f"{at}.members"] = [problem]
        cleaned.append((name, role, members))
    if problems:
        raise _invalid_fields(problems)
    return cleaned


def _stage_members(tenant: Tenant, members) -> tuple[list, str | None]:
    """The users named (by e-mail, or as user objects), or why not: each must belong to this tenant.
    The answer is the same for a stranger and for a member of another tenant."""
    if not isinstance(members, list) or len(members) > STAGE_MEMBERS_MAX:
        return [], f"Give a list of at most {STAGE_MEMBERS_MAX} members' e-mails."
    emails = [m.email if isinstance(m, AbstractBaseUser) else m for m in members]
    if not all(isinstance(email, str) and email.strip() for email in emails):
        return [], "Give the members' e-mails."
    wanted = list(dict.fromkeys(email.strip().lower() for email in emails))
    memberships = (
        Membership.objects.filter(tenant=tenant)
        .annotate(email_lower=Lower("user__email"))
        .filter(email_lower__in=wanted)
        .select_related("user")
    )
    found = {membership.email_lower: membership.user for membership in memberships}
    roles = {membership.email_lower: membership.role for membership in memberships}
    strangers = [email for email in wanted if email not in found]
    if strangers:
        return [], f"Not members of this tenant: {', '.join(strangers)}."
    below = [email for email in wanted if not Role.at_least(roles[email], NAMED_MEMBER_ROLE)]
    if below:
        return [], f"Named members decide only as {NAMED_MEMBER_ROLE}s or admins; not: {', '.join(below)}."
    return [found[email] for email in wanted], None


# Prompts


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt version with its variables filled: what a job's request gets."""

    text: str
    negative_text: str
    style: str


def prompt_variables(*texts: str) -> list[str]:
    """The `{name}` placeholders (letters, digits, underscore) the texts use, in order of first use."""
    return list(dict.fromkeys(name for text in texts for name in PLACEHOLDER.findall(text)))


def prompt_get(*, tenant: Tenant, prompt_id) -> Prompt | None:
    return Prompt.objects.for_tenant(tenant).select_related("project").filter(pk=_uuid_or_none(prompt_id)).first()


def prompt_versions(*, prompt: Prompt) -> QuerySet[PromptVersion]:
    """Newest first."""
    return prompt.versions.select_related("created_by").order_by("-number")


def prompt_latest_version(*, prompt: Prompt) -> PromptVersion:
    return prompt.versions.order_by("-number").first()


def prompt_version_get(*, tenant: Tenant, version_id) -> PromptVersion | None:
    """The version with this id of one of the tenant's prompts, or None — for another tenant's id too."""
    if isinstance(version_id, bool):
        return None
    try:
        pk = int(version_id)
    except (TypeError, ValueError):
        return None
    return PromptVersion.objects.select_related("prompt__project").filter(pk=pk, prompt__tenant=tenant).first()


@transaction.atomic
def prompt_create(
    *,
    tenant: Tenant,
    actor: Actor,
    project: Project,
    name: str,
    text: str,
    negative_text: str = "",
    style: str = "",
) -> Prompt:
    """A prompt of a project, with its first version."""
    _project_open(tenant, project)
    name = name.strip() if isinstance(name, str) else name
    if Prompt.objects.filter(project=project, name=name).exists():
        raise _invalid("name", f"Project {project.slug!r} already has a prompt called {name!r}.", code="name_taken")
    prompt = Prompt(tenant=tenant, project=project, name=name, created_by=_user(actor))
    prompt.full_clean()
    try:
        with transaction.atomic():
            prompt.save()
    except IntegrityError:  # the same name, taken meanwhile
        raise _invalid(
            "name", f"Project {project.slug!r} already has a prompt called {name!r}.", "name_taken"
        ) from None
    version = _version_add(prompt, actor, number=1, text=text, negative_text=negative_text, style=style)
    audit_event_record(
        tenant=tenant, actor=actor, verb="prompt.created", target=prompt,
        data={"project": str(project.pk), "name": name, "version": version.number, "variables": version.variables},
    )  # fmt: skip
    return prompt


@transaction.atomic
def prompt_revise(
    *,
    prompt: Prompt,
    actor: Actor,
    text: str | None = None,
    negative_text: str | None = None,
    style: str | None = None,
) -> PromptVersion:
    """Add version n+1; what is not given is kept from version n. Versions are never edited, so a
    job keeps pointing at the wording it used."""
    prompt = Prompt.objects.select_for_update().select_related("project", "tenant").get(pk=prompt.pk)
    _project_open(prompt.tenant, prompt.project)
    latest = prompt_latest_version(prompt=prompt)
    text = latest.text if text is None else text
    negative_text = latest.negative_text if negative_text is None else negative_text
    style = latest.style if style is None else style
    if (text, negative_text, style) == (latest.text, latest.negative_text, latest.style):
        message = f"Same as version {latest.number}; change text, negative_text or style."
        raise ApplicationError("unchanged", f"text: {message}", fields={"text": [message]})
    version = _version_add(prompt, actor, number=latest.number + 1, text=text, negative_text=negative_text, style=style)
    prompt.save(update_fields=["updated_at"])
    audit_event_record(
        tenant=prompt.tenant, actor=actor, verb="prompt.revised", target=prompt,
        data={"version": version.number, "variables": version.variables},
    )  # fmt: skip
    return version


def _version_add(prompt: Prompt, actor: Actor, *, number: int, text, negative_text, style) -> PromptVersion:
    problems: dict[str, list[str]] = {}
    if not isinstance(text, str) or not text.strip() or len(text) > PROMPT_TEXT_MAX:
        problems["text"] = [f"Give 1–{PROMPT_TEXT_MAX:,} characters."]
    if not isinstance(negative_text, str) or len(negative_text) > PROMPT_TEXT_MAX:
        problems["negative_text"] = [f"At most {PROMPT_TEXT_MAX:,} characters."]
    styles = _known_styles()
    if style and (not isinstance(style, str) or style not in styles):
        problems["style"] = [f"{style!r} is not one of: {', '.join(sorted(styles))}."]
    if problems:
        raise _invalid_fields(problems)
    version = PromptVersion(
        prompt=prompt, number=number, text=text, negative_text=negative_text, style=style,
        variables=prompt_variables(text, negative_text), created_by=_user(actor),
    )  # fmt: skip
    version.full_clean()
    version.save()
    return version


def _known_styles() -> set[str]:
    return {style for styles in BedrockModel.objects.values_list("styles", flat=True) for style in styles}


def prompt_version_render(*, version: PromptVersion, variables=None) -> RenderedPrompt:
    """The version's texts with `variables` ({name: text}) filled in. Every placeholder needs a
    non-empty value, and every value a placeholder: otherwise 400 naming `variables` and the names."""
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise _invalid("variables", 'Give an object of name → text, e.g. {"product": "sneaker"}.')
    wrong = [
        str(name)
        for name, value in variables.items()
        if isinstance(value, bool) or not isinstance(value, str | int | float)
    ]
    if wrong:
        raise _invalid("variables", f"Give text values: {', '.join(wrong)}.")
    values = {str(name): str(value) for name, value in variables.items()}
    needed = prompt_variables(version.text, version.negative_text)
    missing = [name for name in needed if not values.get(name, "").strip()]
    unknown = [name for name in values if name not in needed]
    messages = []
    if missing:
        messages.append(f"Missing: {', '.join(missing)}.")
    if unknown:
        messages.append(f"Not used by version {version.number} of this prompt: {', '.join(unknown)}.")
    if messages:
        error = ApplicationError(
            "invalid_variables", f"variables: {' '.join(messages)}", fields={"variables": messages}
        )
        error.extra = {"missing": missing, "unknown": unknown}
        raise error

    def fill(text: str) -> str:  # one pass: a value that holds "{x}" is not filled again
        return PLACEHOLDER.sub(lambda match: values[match[1]], text)

    return RenderedPrompt(text=fill(version.text), negative_text=fill(version.negative_text), style=version.style)


# Saved seeds


def seed_get(*, tenant: Tenant, seed_id) -> Seed | None:
    return Seed.objects.for_tenant(tenant).select_related("project").filter(pk=_uuid_or_none(seed_id)).first()


@transaction.atomic
def seed_create(*, tenant: Tenant, actor: Actor, project: Project, value: int, label: str, notes: str = "") -> Seed:
    """A saved seed: a value that reproduces a look, with a label people find it by."""
    _project_open(tenant, project)
    highest = BedrockModel.objects.aggregate(highest=Max("seed_max"))["highest"] or 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
        raise _invalid("value", f"Give a whole number between 0 and {highest:,}.")
    seed = Seed(tenant=tenant, project=project, value=value, label=label, notes=notes, created_by=_user(actor))
    seed.full_clean()
    seed.save()
    audit_event_record(
        tenant=tenant, actor=actor, verb="seed.created", target=seed,
        data={"project": str(project.pk), "value": value, "label": label},
    )  # fmt: skip
    return seed


@transaction.atomic
def seed_update(
    *, seed: Seed, actor: Actor, label: str | None = None, notes: str | None = None, value: int | None = None
) -> Seed:
    """Change a saved seed's label or notes. Its value stays: jobs that used it point at it."""
    if value is not None and value != seed.value:
        message = "A saved seed's value does not change; save a new seed instead."
        raise ApplicationError("invalid", f"value: {message}", fields={"value": [message]})
    changes = {field: new for field, new in (("label", label), ("notes", notes)) if new is not None}
    changed = {field: {"from": getattr(seed, field), "to": new} for field, new in changes.items()}
    changed = {field: values for field, values in changed.items() if values["from"] != values["to"]}
    if not changed:
        return seed
    for field, new in changes.items():
        setattr(seed, field, new)
    seed.full_clean()
    seed.save(update_fields=[*changes, "updated_at"])
    audit_event_record(tenant=seed.tenant, actor=actor, verb="seed.updated", target=seed, data=changed)
    return seed


@transaction.atomic
def seed_delete(*, seed: Seed, actor: Actor) -> None:
    """Jobs that used the seed keep its value in their own `seed`; their link to it is cleared."""
    audit_event_record(
        tenant=seed.tenant, actor=actor, verb="seed.deleted", target=seed,
        data={"project": str(seed.project_id), "value": seed.value, "label": seed.label},
    )  # fmt: skip
    seed.delete()


# Shared


def _project_open(tenant: Tenant, project: Project) -> None:
    """New material goes into a project of this tenant that is not archived."""
    if project.tenant_id != tenant.pk:
        raise _invalid("project", "No such project.")
    if project.archived:
        raise _invalid("project", f"Project {project.slug!r} is archived.", code="project_archived")


def _user(actor: Actor):
    return actor if isinstance(actor, AbstractBaseUser) else None


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def project_work_counts(*, tenant: Tenant) -> dict:
    """{project id: {"assets": n, "jobs": n}} for the tenant's projects that have any; a batch counts as one job."""
    from django.db.models import Count

    from generation.models import GenerationJob

    from .models import Asset

    counts: dict = {}
    assets = Asset.objects.for_tenant(tenant).values("project_id").annotate(n=Count("pk")).order_by()
    jobs = (
        GenerationJob.objects.for_tenant(tenant).filter(parent=None).values("project_id").annotate(n=Count("pk"))
    ).order_by()
    for kind, rows in (("assets", assets), ("jobs", jobs)):
        for row in rows:
            counts.setdefault(row["project_id"], {"assets": 0, "jobs": 0})[kind] = row["n"]
    return counts
