"""Jobs: the one way in (job_submit), and the one function per move of a job's lifecycle, each
under select_for_update. A task that finds its job terminal does nothing, so a redelivered
message is harmless."""

import hashlib
import math
import secrets
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import DateTimeField, F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from assets import library
from assets.models import Asset, Project, PromptVersion, Seed
from assets.selectors import job_assets
from assets.services import asset_store_mask, asset_store_upload, project_get_default
from assets.storage import StorageUnavailable, read_object
from billing.pricing import Quote, price_quote
from billing.selectors import job_cost
from billing.services import budget_reserve, job_settle
from config.errors import ApplicationError
from tenants.idempotency import idempotency_reuse_check, payload_sha256
from tenants.models import ApiKey, Tenant
from tenants.services import Actor, audit_event_record
from tenants.webhooks import webhook_event_emit

from .bedrock.request import (
    IMAGE_FIELDS,
    ImageRequest,
    default_task,
    edit_input_problem,
    fields_taken,
    tool_input_problem,
    tool_output_size,
    validate_request,
    whole_number,
)
from .bedrock.specs import MAX_IMAGES_PER_REQUEST, SPECS, Family, Task
from .catalog import ValidatedRequest, model_list_for_tenant, request_validate
from .job_events import ENDED as JOB_ENDED
from .job_events import job_changed_on_commit
from .models import BedrockModel, GenerationJob

Status = GenerationJob.Status

# Which request field an existing asset fills when a job names `source_asset`.
SOURCE_ASSET_FIELD = {
    Task.INPAINTING: "image",
    Task.OUTPAINTING: "image",
    Task.BACKGROUND_REMOVAL: "image",
    Task.IMAGE_TO_IMAGE: "image",
    Task.IMAGE_VARIATION: "images",
    Task.COLOR_GUIDED_GENERATION: "reference_image",
    Task.TEXT_IMAGE: "condition_image",
    Task.VIRTUAL_TRY_ON: "image",  # the person or scene to dress; the garment is reference_image
    **{task: "image" for task in (Task.UPSCALE, Task.SEARCH_REPLACE, Task.SEARCH_RECOLOR, Task.ERASE_OBJECT,
                                  Task.CONTROL_SKETCH, Task.CONTROL_STRUCTURE, Task.STYLE_GUIDE, Task.STYLE_TRANSFER)},
}  # fmt: skip


@dataclass(frozen=True)
class Submission:
    job: GenerationJob
    created: bool  # False: an Idempotency-Key replay returned the first job


def job_submit(
    *,
    tenant: Tenant,
    actor: Actor,
    model_id: str | None = None,
    raw: dict,
    project_id=None,
    source_asset_id=None,
    idempotency_key: str | None = None,
    tags=None,
    finalizes: Asset | None = None,
    saved_prompt_id=None,
    prompt_version_id=None,
    variables=None,
    saved_seed_id=None,
) -> Submission:
    """Every surface's way to ask for images: fill in the project's saved prompt, seed and defaults,
    validate, deduplicate, create the job (a batch when more images are asked for than one request
    makes), and enqueue it once the transaction commits. An idempotency key answers its first job
    again, for the same request from the same caller only (tenants.idempotency's rule)."""
    request_sha256 = ""
    if idempotency_key:
        request_sha256 = payload_sha256(
            {"model_id": model_id, "raw": raw, "project_id": project_id, "source_asset_id": source_asset_id,
             "tags": tags, "finalizes": finalizes.pk if finalizes else None, "saved_prompt_id": saved_prompt_id,
             "prompt_version_id": prompt_version_id, "variables": variables, "saved_seed_id": saved_seed_id}
        )  # fmt: skip
        earlier = GenerationJob.objects.for_tenant(tenant).filter(idempotency_key=idempotency_key).first()
        if earlier is not None:
            return _replayed(earlier, request_sha256, actor)
    resolved = _resolve(
        tenant, model_id=model_id, raw=raw, project_id=project_id, saved_prompt_id=saved_prompt_id,
        prompt_version_id=prompt_version_id, variables=variables, saved_seed_id=saved_seed_id,
        project_defaults=finalizes is None,  # a final re-renders its draft as it was, not with today's defaults
    )  # fmt: skip
    project, prompt_version, saved_seed = resolved.project, resolved.prompt_version, resolved.saved_seed
    if finalizes is not None and finalizes.job is not None and finalizes.job.model.model_id == resolved.model_id:
        # A re-render keeps its draft's saved prompt and seed; an upscale (another model) used neither.
        prompt_version, saved_seed = finalizes.job.prompt_version, finalizes.job.saved_seed
    tags = _tags(tags)
    validated, total = _prepare(tenant, resolved.model_id, resolved.raw, source_asset_id)
    quote = _quote(tenant, validated, total)
    request, explicit_seed = validated.request, validated.request.seed is not None
    spec = validated.model.spec()
    if not explicit_seed and "seed" in fields_taken(spec, request.task):
        request = request.with_seed(_random_seed(spec))
    fingerprint = _fingerprint(tenant, request, total)

    try:
        with transaction.atomic():
            if explicit_seed:
                original = (
                    GenerationJob.objects.for_tenant(tenant)
                    .filter(fingerprint=fingerprint, status=Status.SUCCEEDED, deduplicated_from=None, parent=None)
                    .first()
                )
                if original is not None:
                    job = _record_duplicate(
                        tenant, actor, project, original, idempotency_key, validated.warnings,
                        prompt_version=prompt_version, saved_seed=saved_seed, request_sha256=request_sha256,
                    )  # fmt: skip
                    return Submission(job, created=True)
            inputs = _store_inputs(tenant, project, request)
            job, to_run = _create_job(
                tenant=tenant, actor=actor, project=project, model=validated.model, request=request, total=total,
                fingerprint=fingerprint, inputs=inputs, idempotency_key=idempotency_key, request_sha256=request_sha256,
                warnings=validated.warnings, substituted_from=validated.substituted_from,
                quote=quote, tags=tags, finalizes=finalizes, prompt_version=prompt_version, saved_seed=saved_seed,
            )  # fmt: skip
            audit_event_record(
                tenant=tenant,
                actor=actor,
                verb="job.submitted",
                target=job,
                data={"model": validated.model.model_id, "task": request.task.value, "images": total}
                | ({"prompt_version": prompt_version.pk} if prompt_version else {})
                | ({"saved_seed": str(saved_seed.pk)} if saved_seed else {}),
            )
            # Last, so the budget rows stay locked for as short a time as can be: 402 undoes it all.
            budget_reserve(job=job, amount_usd=quote.total)
            for runnable in to_run:
                _enqueue_on_commit(runnable)
    except IntegrityError:
        if idempotency_key:  # a concurrent request with the same key won the race: answer with its job
            earlier = GenerationJob.objects.for_tenant(tenant).get(idempotency_key=idempotency_key)
            return _replayed(earlier, request_sha256, actor)
        raise
    return Submission(job, created=True)


def _replayed(earlier: GenerationJob, request_sha256: str, actor: Actor) -> Submission:
    """The first job of a key sent again, if the request and caller are the same; else the 409."""
    idempotency_reuse_check(
        # A job keyed before requests were recorded is matched by its caller alone.
        first_request=earlier.idempotency_request_sha256 or request_sha256,
        first_caller=(earlier.requested_by_user_id, earlier.requested_by_key_id),
        request=request_sha256,
        actor=actor,
    )
    return Submission(earlier, created=False)


def job_quote(
    *,
    tenant: Tenant,
    model_id: str | None = None,
    raw: dict,
    source_asset_id=None,
    project_id=None,
    saved_prompt_id=None,
    prompt_version_id=None,
    variables=None,
    saved_seed_id=None,
) -> Quote:
    """What a would-be job would cost: the same checks and defaults as job_submit, nothing created."""
    resolved = _resolve(
        tenant, model_id=model_id, raw=raw, project_id=project_id, saved_prompt_id=saved_prompt_id,
        prompt_version_id=prompt_version_id, variables=variables, saved_seed_id=saved_seed_id, quoting=True,
    )  # fmt: skip
    validated, total = _prepare(tenant, resolved.model_id, resolved.raw, source_asset_id)
    return _quote(tenant, validated, total)


@dataclass(frozen=True)
class _Resolved:
    """A request with its project's saved material and defaults filled in."""

    project: Project | None  # None only for a quote in a tenant that has no default project yet
    model_id: str
    raw: dict
    prompt_version: PromptVersion | None
    saved_seed: Seed | None


def _resolve(
    tenant: Tenant,
    *,
    model_id,
    raw: dict,
    project_id,
    saved_prompt_id,
    prompt_version_id,
    variables,
    saved_seed_id,
    project_defaults: bool = True,
    quoting: bool = False,
) -> _Resolved:
    """The job's project (named, else the saved prompt's or seed's, else the default), and the
    request filled from the saved prompt version (with `variables`), the saved seed and the
    project's defaults — each only where the request leaves the field out. Nothing is written."""
    raw = dict(raw)
    version = _prompt_version(tenant, saved_prompt_id, prompt_version_id)
    saved_seed = _saved_seed(tenant, saved_seed_id)
    project = _job_project(
        tenant, project_id, version, saved_seed, create_default=not quoting,
        version_field="saved_prompt" if saved_prompt_id not in (None, "") else "prompt_version",
    )  # fmt: skip
    if version is not None:
        if _given(raw, "prompt"):
            message = "Give either prompt text or a saved prompt (saved_prompt or prompt_version), not both."
            raise ApplicationError("invalid", f"prompt: {message}", fields={"prompt": [message]})
        rendered = library.prompt_version_render(version=version, variables=variables)
        raw["prompt"] = rendered.text
    elif variables not in (None, "", {}):
        message = "Variables fill a saved prompt: name one with saved_prompt or prompt_version."
        raise ApplicationError("invalid", f"variables: {message}", fields={"variables": [message]})
    else:
        rendered = None
    if saved_seed is not None:
        if _given(raw, "seed"):
            message = "Give either seed or saved_seed, not both."
            raise ApplicationError("invalid", f"seed: {message}", fields={"seed": [message]})
        raw["seed"] = saved_seed.value
    if not model_id:
        model_id = project.default_model.model_id if project is not None and project.default_model_id else None
    if not model_id:
        why = f" (project {project.slug!r} has no default model)" if project is not None else ""
        fields = {"model": ["This field is required."]}
        raise ApplicationError("invalid", f"model: This field is required{why}.", fields=fields)
    _fill_defaults(raw, project if project_defaults else None, model_id, rendered)
    return _Resolved(project=project, model_id=model_id, raw=raw, prompt_version=version, saved_seed=saved_seed)


def _given(raw: dict, *names: str) -> bool:
    return any(raw.get(name) not in (None, "", []) for name in names)


def _prompt_version(tenant: Tenant, saved_prompt_id, prompt_version_id) -> PromptVersion | None:
    """A saved prompt names its latest version; a prompt version names itself."""
    if saved_prompt_id in (None, "") and prompt_version_id in (None, ""):
        return None
    if saved_prompt_id not in (None, "") and prompt_version_id not in (None, ""):
        message = "Give saved_prompt (its latest version) or prompt_version, not both."
        raise ApplicationError("invalid", f"prompt_version: {message}", fields={"prompt_version": [message]})
    if saved_prompt_id not in (None, ""):
        prompt = library.prompt_get(tenant=tenant, prompt_id=saved_prompt_id)
        if prompt is None:
            raise ApplicationError(
                "invalid", "saved_prompt: no such prompt.", fields={"saved_prompt": ["No such prompt."]}
            )
        return library.prompt_latest_version(prompt=prompt)
    version = library.prompt_version_get(tenant=tenant, version_id=prompt_version_id)
    if version is None:
        message = "No such prompt version."
        raise ApplicationError("invalid", f"prompt_version: {message}", fields={"prompt_version": [message]})
    return version


def _saved_seed(tenant: Tenant, saved_seed_id) -> Seed | None:
    if saved_seed_id in (None, ""):
        return None
    seed = library.seed_get(tenant=tenant, seed_id=saved_seed_id)
    if seed is None:
        raise ApplicationError(
            "invalid", "saved_seed: no such saved seed.", fields={"saved_seed": ["No such saved seed."]}
        )
    return seed


def _job_project(
    tenant: Tenant, project_id, version, saved_seed, *, version_field: str, create_default: bool
) -> Project | None:
    """The project named; else the one the saved prompt or seed belongs to; else the default. Saved
    material must belong to the job's project, and an archived project takes no new jobs."""
    material = version.prompt.project if version is not None else saved_seed.project if saved_seed else None
    if project_id not in (None, ""):
        project = _project(tenant, project_id)
    elif material is not None:
        project = material
    elif create_default:
        project = project_get_default(tenant=tenant)
    else:
        project = Project.objects.for_tenant(tenant).filter(is_default=True).first()
    for field, owner in ((version_field, version and version.prompt), ("saved_seed", saved_seed)):
        if owner and owner.project_id != project.pk:
            message = f"Belongs to project {owner.project.slug!r}, not {project.slug!r}."
            raise ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})
    if project is not None and project.archived:
        message = f"Project {project.slug!r} is archived; it takes no new jobs."
        raise ApplicationError("project_archived", f"project: {message}", fields={"project": [message]})
    return project


def _fill_defaults(raw: dict, project: Project | None, model_id: str, rendered) -> None:
    """Fill what the request leaves out, for fields its task takes: the saved prompt's negative text
    and style, then the project's negative prompt, quality, size and (colour-guided) palette. The
    negative prompt is a brand rule and always applies; style, quality and size apply only where the
    model offers them, so a default never makes a request invalid."""
    model = BedrockModel.objects.filter(model_id=model_id).first() if isinstance(model_id, str) else None
    if model is None:
        return  # validation names model
    spec = model.spec()
    task = raw.get("task_type") or default_task(spec)
    if not isinstance(task, str) or task not in Task.__members__ or Task(task) not in spec.tasks:
        return  # validation names task_type
    task = Task(task)
    takes = fields_taken(spec, task)
    negative = (rendered.negative_text if rendered else "") or (project.default_negative_prompt if project else "")
    if negative and "negative_prompt" in takes and not _given(raw, "negative_prompt"):
        raw["negative_prompt"] = negative
    if project and project.brand_palette and task is Task.COLOR_GUIDED_GENERATION and not _given(raw, "colors"):
        raw["colors"] = list(project.brand_palette)
    if rendered and rendered.style in model.styles and "style" in takes and not _given(raw, "style"):
        raw["style"] = rendered.style
    if project is None:
        return
    quality = project.default_quality
    if quality in model.qualities and "quality" in takes and not _given(raw, "quality"):
        raw["quality"] = quality
    width, height = project.default_width, project.default_height
    if (
        width and height and {"width", "height"} <= takes and not _given(raw, "size", "width", "height", "aspect_ratio")
        and model.spec().size_rule.problem(width, height) is None
    ):  # fmt: skip
        raw["width"], raw["height"] = width, height


def _prepare(tenant: Tenant, model_id: str, raw: dict, source_asset_id) -> tuple[ValidatedRequest, int]:
    """The request validated against the catalog, and how many images it asks for in all."""
    raw = dict(raw)
    if source_asset_id is not None:
        _fill_from_source_asset(tenant, raw, source_asset_id, model_id)
    total = _images_asked(raw)
    if "n" in raw:  # one request makes at most MAX_IMAGES_PER_REQUEST; a batch repeats it
        raw["n"] = min(total, MAX_IMAGES_PER_REQUEST)
    return request_validate(tenant=tenant, model_id=model_id, raw=raw), total


def _quote(tenant: Tenant, validated: ValidatedRequest, total: int) -> Quote:
    width, height = validated.request.output_size
    return price_quote(
        model=validated.model, width=width, height=height, quality=validated.request.quality or "standard",
        n=total, tenant=tenant,
    )  # fmt: skip


MAX_TAGS, MAX_TAG_CHARS = 20, 50


def _tags(tags) -> list[str]:
    """Campaign tags: up to 20 distinct texts of 1–50 characters, kept in the order given."""
    if tags in (None, ""):
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ApplicationError("invalid", "tags: give a list of texts.", fields={"tags": ["Give a list of texts."]})
    cleaned = list(dict.fromkeys(tag.strip() for tag in tags))
    if len(cleaned) > MAX_TAGS or any(not 1 <= len(tag) <= MAX_TAG_CHARS for tag in cleaned):
        message = f"Up to {MAX_TAGS} tags of 1–{MAX_TAG_CHARS} characters."
        raise ApplicationError("invalid", f"tags: {message}", fields={"tags": [message]})
    return cleaned


def _project(tenant: Tenant, project_id) -> Project:
    if project_id in (None, ""):
        return project_get_default(tenant=tenant)
    project = Project.objects.for_tenant(tenant).filter(pk=_uuid_or_none(project_id)).first()
    if project is None:
        raise ApplicationError("invalid", "project: no such project.", fields={"project": ["No such project."]})
    return project


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _fill_from_source_asset(tenant: Tenant, raw: dict, source_asset_id, model_id) -> None:
    asset = Asset.objects.for_tenant(tenant).filter(pk=_uuid_or_none(source_asset_id)).first()
    if asset is None:
        raise ApplicationError("invalid", "source_asset: no such asset.", fields={"source_asset": ["No such asset."]})
    task = raw.get("task_type") or default_task(SPECS.get(model_id) if isinstance(model_id, str) else None)
    field = SOURCE_ASSET_FIELD.get(task) if isinstance(task, str) and task in Task.__members__ else None
    # A variation may take more images beside its source asset; every other input is one image.
    if field is None or (raw.get(field) and field != "images"):
        reason = f"{task} takes no source asset here" if field is None else f"give either {field} or source_asset"
        raise ApplicationError("invalid", f"source_asset: {reason}.", fields={"source_asset": [reason.capitalize()]})
    try:
        with _storage_errors_as_503():
            data = read_object(asset.file_key)
    except FileNotFoundError:
        message = "Its stored image is missing, so it cannot be an input."
        raise ApplicationError("invalid", f"source_asset: {message}", fields={"source_asset": [message]}) from None
    if field == "images":
        more = raw.get("images") or []
        raw[field] = [data, *(more if isinstance(more, list) else [more])]
    else:
        raw[field] = data


def _images_asked(raw: dict) -> int:
    value = raw.get("n", 1)
    limit = settings.ATELIER_MAX_BATCH_IMAGES
    total = whole_number(value)
    if total is None or not 1 <= total <= limit:
        message = f"Must be a whole number between 1 and {limit} (more than {MAX_IMAGES_PER_REQUEST} makes a batch)."
        raise ApplicationError("invalid_request", f"n: {message}", fields={"n": [message]})
    return total


def _random_seed(spec) -> int:
    # Stability reads seed 0 as "pick one": start at 1 so the stored seed reproduces the image.
    low = 1 if spec.family is Family.STABILITY else 0
    return low + secrets.randbelow(spec.seed_max - low + 1)


def _fingerprint(tenant: Tenant, request: ImageRequest, total: int) -> str:
    return hashlib.sha256(f"{tenant.pk}:{request.fingerprint()}:{total}".encode()).hexdigest()


@contextmanager
def _storage_errors_as_503():
    """Storage down while a request is taken: say so (503, nothing created), not a 500."""
    try:
        yield
    except StorageUnavailable as error:
        raise ApplicationError(
            "storage_unavailable", f"File storage is unavailable; try again shortly. ({error})", status_code=503
        ) from error


def _store_inputs(tenant: Tenant, project: Project, request: ImageRequest) -> dict:
    with _storage_errors_as_503():
        return _store_each_input(tenant, project, request)


def _store_each_input(tenant: Tenant, project: Project, request: ImageRequest) -> dict:
    inputs = {}
    for field in IMAGE_FIELDS:
        image = getattr(request, field)
        if image is not None:
            inputs[field] = str(asset_store_upload(tenant=tenant, project=project, image=image).pk)
    if request.images:
        inputs["images"] = [str(asset_store_upload(tenant=tenant, project=project, image=i).pk) for i in request.images]
    return inputs


def _requester(actor: Actor) -> dict:
    return {
        "requested_by_user": actor if isinstance(actor, AbstractBaseUser) else None,
        "requested_by_key": actor if isinstance(actor, ApiKey) else None,
    }


def _create_job(
    *,
    tenant,
    actor,
    project,
    model,
    request,
    total,
    fingerprint,
    inputs,
    idempotency_key,
    request_sha256,
    warnings,
    quote,
    tags,
    finalizes=None,
    prompt_version=None,
    saved_seed=None,
    substituted_from=None,
) -> tuple[GenerationJob, list[GenerationJob]]:
    """The job, and the jobs that call Bedrock: itself, or a batch's children."""
    width, height = request.output_size
    common = {
        "tenant": tenant, "project": project, "model": model, "task_type": request.task.value,
        "quality": request.quality or "", "width": width, "height": height,
        "unit_price_usd": quote.unit_price, "price": quote.price, "tags": tags, **_requester(actor),
        "prompt_version": prompt_version, "saved_seed": saved_seed, "substituted_from": substituted_from,
    }  # fmt: skip
    parent = GenerationJob.objects.create(
        **common,
        params=request.params() | {"n": total},
        input_assets=inputs,
        seed=request.seed,
        n=total,
        images_requested=total,
        fingerprint=fingerprint,
        idempotency_key=idempotency_key or None,
        idempotency_request_sha256=request_sha256,
        finalizes=finalizes,
        warnings=list(warnings),
        queue=GenerationJob.Queue.INTERACTIVE if total <= MAX_IMAGES_PER_REQUEST else GenerationJob.Queue.BATCH,
    )
    source_ids = [
        pk for field, pk in inputs.items() if field != "mask_image" for pk in (pk if isinstance(pk, list) else [pk])
    ]
    parent.source_assets.set(source_ids)
    if parent.queue == GenerationJob.Queue.INTERACTIVE:
        return parent, [parent]
    # A batch: children of at most one request's worth of images, each with the next seed of the sweep.
    per_child = MAX_IMAGES_PER_REQUEST
    children = []
    for offset in range(math.ceil(total / per_child)):
        count = min(per_child, total - offset * per_child)
        seed = None if request.seed is None else (request.seed + offset) % (model.seed_max + 1)
        child_request = replace(request, seed=seed, n=count)
        child = GenerationJob.objects.create(
            **common,
            params=child_request.params(),
            input_assets=inputs,
            seed=child_request.seed,
            n=count,
            images_requested=count,
            fingerprint=_fingerprint(tenant, child_request, count),
            parent=parent,
            queue=GenerationJob.Queue.BATCH,
        )
        if source_ids:
            child.source_assets.set(source_ids)
        children.append(child)
    return parent, children


def _enqueue_on_commit(job: GenerationJob) -> None:
    from .tasks import run_job

    transaction.on_commit(lambda: run_job.apply_async(args=[str(job.pk)], queue=job.queue))


def _record_duplicate(
    tenant,
    actor,
    project,
    original,
    idempotency_key,
    warnings,
    *,
    prompt_version=None,
    saved_seed=None,
    request_sha256="",
) -> GenerationJob:
    now = timezone.now()
    job = GenerationJob.objects.create(
        tenant=tenant,
        project=project,
        prompt_version=prompt_version,
        saved_seed=saved_seed,
        model=original.model,
        task_type=original.task_type,
        params=original.params,
        input_assets=original.input_assets,
        seed=original.seed,
        n=original.n,
        quality=original.quality,
        width=original.width,
        height=original.height,
        status=Status.SUCCEEDED,
        images_requested=original.images_requested,
        images_returned=original.images_returned,
        fingerprint=original.fingerprint,
        idempotency_key=idempotency_key or None,
        idempotency_request_sha256=request_sha256,
        deduplicated_from=original,
        tags=original.tags,
        unit_price_usd=original.unit_price_usd,
        price=original.price,
        warnings=list(warnings),
        started_at=now,
        finished_at=now,
        **_requester(actor),
    )
    audit_event_record(
        tenant=tenant, actor=actor, verb="job.deduplicated", target=job, data={"original": str(original.pk)}
    )
    _emit_ended(job)
    return job


def job_request(job: GenerationJob) -> ImageRequest:
    """Rebuild the validated request a job stored, with its input images read back from storage."""
    return validate_request(job.model.spec(), _stored_raw(job))


def _stored_raw(job: GenerationJob) -> dict:
    """The request a job stored, as raw fields, with its input images' bytes."""
    task = Task(job.params["task"])
    takes = fields_taken(job.model.spec(), task) - set(IMAGE_FIELDS) - {"images"}
    raw = {key: value for key, value in job.params.items() if key in takes} | {"task_type": task.value}
    ids = [pk for value in job.input_assets.values() for pk in (value if isinstance(value, list) else [value])]
    keys = {str(pk): key for pk, key in Asset.objects.filter(pk__in=ids).values_list("pk", "file_key")}
    for field, value in job.input_assets.items():
        raw[field] = [read_object(keys[pk]) for pk in value] if isinstance(value, list) else read_object(keys[value])
    return raw


FINAL_QUALITY = "premium"
# What finalize may upscale with, by the name a request gives: the Stability upscale services.
UPSCALERS = {
    "fast": "stability.stable-fast-upscale-v1:0",
    "conservative": "stability.stable-conservative-upscale-v1:0",
    "creative": "stability.stable-creative-upscale-v1:0",
}
UPSCALE_OPTIONS = ("prompt", "creativity")  # what an upscale may be told beside its image, where it takes it


def job_finalize(
    *,
    tenant: Tenant,
    actor: Actor,
    asset: Asset,
    width=None,
    height=None,
    upscale=None,
    prompt=None,
    creativity=None,
    idempotency_key: str | None = None,
) -> Submission:
    """Make the final of an image, as a new job whose image is its child, priced and budget-checked
    like any other. Without `upscale`: re-render a generated draft at premium quality, optionally
    larger, with the same model, prompt, inputs and seed. With `upscale` (fast, conservative,
    creative): that Stability upscaler works on the image itself, so any image may be upscaled."""
    if upscale is not None:
        if width is not None or height is not None:
            field = "width" if width is not None else "height"
            message = "An upscale sets its own size (fast: 4x each side; conservative and creative: about 4 MP)."
            raise ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})
        return _job_upscale(tenant=tenant, actor=actor, asset=asset, upscale=upscale, prompt=prompt,
                            creativity=creativity, idempotency_key=idempotency_key)  # fmt: skip
    for field, value in (("prompt", prompt), ("creativity", creativity)):
        if value is not None:
            message = "Only an upscale (upscale: creative or conservative) takes this; a re-render keeps the draft's."
            raise ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})
    job = asset.job
    if job is None:
        message = "Only a generated image can be finalized at premium; this one was uploaded (it can be upscaled)."
        raise ApplicationError("invalid", f"asset: {message}", fields={"asset": [message]})
    with _storage_errors_as_503():
        raw = _stored_raw(job)
    takes = fields_taken(job.model.spec(), Task(job.task_type))
    if "quality" not in takes or FINAL_QUALITY not in job.model.qualities:
        message = f"{job.model.name} has no {FINAL_QUALITY} quality to finalize at."
        raise ApplicationError("invalid", f"quality: {message}", fields={"quality": [message]})
    raw |= {"quality": FINAL_QUALITY, "n": 1}
    if "seed" in takes:
        raw["seed"] = asset.seed
    if width is not None or height is not None:
        raw |= _final_size(asset, takes, width=width, height=height)
    if job.quality == FINAL_QUALITY and (width or asset.width, height or asset.height) == (asset.width, asset.height):
        raise ApplicationError(
            "already_final", f"This image is already {FINAL_QUALITY} at {asset.width}×{asset.height}.", status_code=409
        )
    return job_submit(
        tenant=tenant, actor=actor, model_id=job.model.model_id, raw=raw, project_id=asset.project_id,
        idempotency_key=idempotency_key, tags=job.tags, finalizes=asset,
    )  # fmt: skip


def _job_upscale(*, tenant, actor, asset: Asset, upscale, prompt, creativity, idempotency_key) -> Submission:
    """The asset as the `image` of an upscaler's job; the prompt, where it takes one, is the draft's unless given."""
    spec = _upscaler_spec(upscale)
    raw = {}
    for field, value in (("prompt", prompt), ("creativity", creativity)):
        if value is None:
            continue
        if spec.param(field) is None:
            message = f"{spec.name} takes no {field}."
            raise ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})
        raw[field] = value
    if spec.param("prompt") is not None and raw.get("prompt") in (None, ""):
        drafted = _drafted_prompt(asset)
        if not drafted:
            message = f"{spec.name} needs a prompt, and this image has none to reuse: give one."
            raise ApplicationError("invalid", f"prompt: {message}", fields={"prompt": [message]})
        raw["prompt"] = drafted
    problem = tool_input_problem(spec, spec.param("image"), asset.width, asset.height)
    if problem:
        raise ApplicationError("invalid", f"asset: {problem}", fields={"asset": [problem]})
    try:
        return job_submit(
            tenant=tenant, actor=actor, model_id=spec.model_id, raw=raw, project_id=asset.project_id,
            source_asset_id=str(asset.pk), idempotency_key=idempotency_key,
            tags=asset.job.tags if asset.job else list(asset.tags), finalizes=asset,
        )  # fmt: skip
    except ApplicationError as error:
        if "source_asset" not in error.fields:
            raise
        # The asset is the URL's, not a field the caller sent: name it as the caller knows it.
        message = error.fields["source_asset"][0]
        raise ApplicationError(error.code, f"asset: {message}", fields={"asset": [message]}) from None


def _upscaler_spec(upscale):
    model_id = UPSCALERS.get(upscale) if isinstance(upscale, str) else None
    if model_id is None:
        message = f"Give one of: {', '.join(UPSCALERS)}."
        raise ApplicationError("invalid", f"upscale: {message}", fields={"upscale": [message]})
    return SPECS[model_id]


def _drafted_prompt(asset: Asset) -> str:
    """The prompt the image was made with: its job's, or (an upscale takes none) that of the draft it finalizes."""
    job, hops = asset.job, 0
    while job is not None and hops < 10:
        prompt = (job.params or {}).get("prompt")
        if isinstance(prompt, str) and prompt:
            return prompt
        job, hops = job.finalizes.job if job.finalizes_id else None, hops + 1
    return ""


@dataclass(frozen=True)
class Offer:
    """What one model the tenant's catalog offers would make of an image, and its price, before the click."""

    kind: str  # finals: "premium" or a key of UPSCALERS; tools: the model id
    model: BedrockModel
    width: int  # the output's size
    height: int
    unit_price: Decimal
    problem: str = ""  # why this image cannot take it, if it cannot
    prompt: str = ""  # the prompt it would reuse, where it takes one
    options: tuple = ()  # the UPSCALE_OPTIONS Params it takes


def asset_finalize_options(*, tenant: Tenant, asset: Asset) -> list[Offer]:
    """The finals the tenant's catalog offers for this image (enabled, allowed, priced at the final's
    size): the premium re-render where its model has premium, then each upscaler. Nothing for a mask."""
    if not asset.takes_edits:
        return []
    offered = {model.model_id: model for model in model_list_for_tenant(tenant=tenant)}
    options = []
    job = asset.job
    if job is not None and job.model.model_id in offered and FINAL_QUALITY in job.model.qualities:
        if "quality" in fields_taken(job.model.spec(), Task(job.task_type)):
            problem = ""
            if job.quality == FINAL_QUALITY:
                problem = f"Already {FINAL_QUALITY} at {asset.width}×{asset.height}: give a larger size."
            size = (asset.width, asset.height)
            options += _priced(tenant, "premium", job.model, size, problem, quality=FINAL_QUALITY)
    for kind, model_id in UPSCALERS.items():
        if model_id in offered:
            for offer in _tool_offer(tenant, kind, offered[model_id], asset):
                spec = offer.model.spec()
                takes = tuple(spec.param(name) for name in UPSCALE_OPTIONS if spec.param(name) is not None)
                prompt = _drafted_prompt(asset) if spec.param("prompt") else ""
                options.append(replace(offer, options=takes, prompt=prompt))
    return options


def asset_tool_offers(*, tenant: Tenant, asset: Asset, model_ids) -> dict[str, Offer]:
    """Of these image tools, the ones the tenant's catalog offers, each with what it would make of this
    image (its output size, or why the image does not fit) and its price. Nothing for a mask."""
    if not asset.takes_edits:
        return {}
    offered = {model.model_id: model for model in model_list_for_tenant(tenant=tenant).filter(model_id__in=model_ids)}
    return {
        offer.kind: offer
        for model_id, model in offered.items()
        if model.spec().is_tool
        for offer in _tool_offer(tenant, model_id, model, asset)
    }


def asset_try_on_offer(*, tenant: Tenant, asset: Asset, model_id: str) -> Offer | None:
    """Virtual try-on with this image as the person, where the tenant's catalog offers the model and it
    does the task: its output is the image's size and priced at it, or why the image does not fit."""
    if not asset.takes_edits:
        return None
    model = model_list_for_tenant(tenant=tenant).filter(model_id=model_id).first()
    if model is None or Task.VIRTUAL_TRY_ON.value not in model.task_types:
        return None
    problem = edit_input_problem(model.spec(), asset.width, asset.height) or ""
    offers = _priced(tenant, model_id, model, (asset.width, asset.height), problem)
    return offers[0] if offers else None


def _tool_offer(tenant: Tenant, kind: str, model: BedrockModel, asset: Asset) -> list[Offer]:
    spec = model.spec()
    size = tool_output_size(spec, asset.width, asset.height)
    problem = tool_input_problem(spec, spec.param("image"), asset.width, asset.height) or ""
    return _priced(tenant, kind, model, size, problem)


def _priced(tenant, kind, model, size, problem, *, quality="standard") -> list[Offer]:
    """[the offer], or [] when no price is in force for it (a model with no price is not offered)."""
    try:
        quote = price_quote(model=model, width=size[0], height=size[1], quality=quality, n=1, tenant=tenant)
    except ApplicationError:
        return []
    return [Offer(kind, model, size[0], size[1], quote.unit_price, problem)]


def _final_size(asset: Asset, takes: set[str], *, width, height) -> dict:
    """The size a final is rendered at: the draft's, or larger where named."""
    size = {}
    for field, value, drafted in (("width", width, asset.width), ("height", height, asset.height)):
        if field not in takes:
            message = "This kind of edit keeps its input's size."
            raise ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})
        value = drafted if value is None else value
        if not isinstance(value, int) or isinstance(value, bool) or value < drafted:
            message = f"Give a whole number of pixels no smaller than the draft's {drafted}."
            raise ApplicationError("invalid", f"{field}: {message}", fields={field: [message]})
        size[field] = value
    return size


# Lifecycle moves. Each locks the row, checks the move is allowed, and saves.


def _locked(job_id) -> GenerationJob:
    # Lock the job row only: locking the model, tenant and project rows too would make workers queue behind
    # one another, and deadlock. The tenant is joined unlocked (`of`): settling reads it.
    return GenerationJob.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=job_id)


def job_start(*, job: GenerationJob) -> GenerationJob | None:
    """queued/running → running, counting the attempt. None when the job has ended.

    One guarded UPDATE instead of select_for_update + save: the row lock the UPDATE takes makes
    the check and the move one atomic step, and saves a round trip on every job."""
    now = timezone.now()
    moved = (
        GenerationJob.objects.filter(pk=job.pk)
        .exclude(status__in=GenerationJob.TERMINAL)
        .update(
            status=Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
            updated_at=now,
        )
    )
    if not moved:
        return None
    job.status, job.attempts, job.started_at = Status.RUNNING, job.attempts + 1, job.started_at or now
    if job.parent_id:
        _parent_mark_running(job.parent_id)
    return job


@dataclass(frozen=True)
class CallRecord:
    """What one Bedrock call answered that must outlive a retry."""

    request_id: str | None
    filtered: int
    reasons: list[str]


def _apply_call(job: GenerationJob, record: CallRecord) -> None:
    if record.request_id:
        job.bedrock_request_ids = [*job.bedrock_request_ids, record.request_id]
    job.images_filtered += record.filtered
    if record.reasons:
        job.error_message = "; ".join(dict.fromkeys(record.reasons))


@transaction.atomic
def job_record_call(*, job_id, record: CallRecord) -> None:
    """Progress of a job that makes several calls: which answered and what they withheld."""
    job = _locked(job_id)
    _apply_call(job, record)
    job.save(update_fields=["bedrock_request_ids", "images_filtered", "error_message", "updated_at"])


def job_record_mask(*, job: GenerationJob, data: bytes) -> None:
    """Keep the mask a call returned (virtual try-on with return_mask) as the job's mask asset, once: a
    retried call finds it kept. Free: Bedrock bills the images, and the mask is no image slot of the job.
    Under the job's row lock, so two deliveries at once keep one mask, not one and an orphan row."""
    with transaction.atomic():
        if GenerationJob.objects.select_for_update().only("mask_asset").get(pk=job.pk).mask_asset_id:
            return
        mask = asset_store_mask(job=job, data=data)
        GenerationJob.objects.filter(pk=job.pk).update(mask_asset=mask, updated_at=timezone.now())


@transaction.atomic
def job_record_unstored(*, job_id, slots) -> None:
    """Images Bedrock returned for these slots that will never be stored (their stamp failed): AWS bills them,
    so the job's end counts and charges them. Idempotent: a slot is counted once, stored or not."""
    job = _locked(job_id)
    job.unstored_slots = sorted(set(job.unstored_slots) | set(slots))
    job.save(update_fields=["unstored_slots", "updated_at"])


@transaction.atomic
def job_note_retry(*, job_id, code: str, message: str) -> None:
    """A retryable failure: the job stays running; the last reason is kept for people to see."""
    job = _locked(job_id)
    if job.is_terminal:
        _settle_late(job)
        return
    job.error_code, job.error_message = code, message[:2000]
    job.save(update_fields=["error_code", "error_message", "updated_at"])


@transaction.atomic
def job_finish(*, job_id, images_stored: int, last_call: CallRecord | None = None) -> GenerationJob:
    """running → succeeded, partially_filtered (some images withheld) or failed (all withheld)."""
    job = _locked(job_id)
    if last_call is not None:
        _apply_call(job, last_call)
    if job.is_terminal:
        _settle_late(job)
        return job
    job.images_returned = images_stored
    if job.images_returned == 0:
        job.status, job.error_code = Status.FAILED, "content_filtered"
        job.error_message = job.error_message or "Bedrock's content filter withheld every image."
    elif job.images_filtered:
        job.status, job.error_code = Status.PARTIALLY_FILTERED, "content_filtered"
    else:
        job.status, job.error_code, job.error_message = Status.SUCCEEDED, "", ""
    _mark_ended(job)
    _after_end(job)
    return job


@transaction.atomic
def job_fail(*, job_id, code: str, message: str) -> GenerationJob:
    """→ failed; the images it stored before the failure are charged all the same."""
    job = _locked(job_id)
    if job.is_terminal:
        _settle_late(job)
        return job
    job.status, job.error_code, job.error_message = Status.FAILED, code, message[:2000]
    _count_images(job)
    _mark_ended(job)
    _after_end(job)
    return job


@transaction.atomic
def job_cancel(*, tenant: Tenant, job: GenerationJob, actor: Actor) -> GenerationJob:
    """Stop a job that has not ended; a batch stops its children that have not ended."""
    # Children before their parent, as a finishing child locks them: the same order, no deadlock.
    children = list(
        job.children.select_for_update(of=("self",)).exclude(status__in=GenerationJob.TERMINAL).order_by("pk")
    )
    job = _locked(job.pk)
    if job.is_terminal:
        raise ApplicationError("job_finished", f"The job has already ended ({job.status}).", status_code=409)
    for child in children:
        _cancel(child)
    _cancel(job)
    audit_event_record(tenant=tenant, actor=actor, verb="job.cancelled", target=job)
    if job.parent_id:
        _parent_settle(job.parent_id)
    return job


def _cancel(job: GenerationJob) -> None:
    """→ cancelled. The images made so far are charged and the rest released; a call still in flight is
    charged when its images land (_settle_late)."""
    job.status = Status.CANCELLED
    _count_images(job)
    _mark_ended(job)
    if job.parent_id is None:
        job_settle(job=job)


def job_settle_late(*, job: GenerationJob) -> None:
    """For a task that finds its job ended: when it was cancelled, charge any image stored after it was
    settled (by a task that died before it could). No more than a count when there is none."""
    if job.status != Status.CANCELLED or Asset.objects.filter(job=job).count() == job.images_returned:
        return
    with transaction.atomic():
        _settle_late(_locked(job.pk))


def _settle_late(job: GenerationJob) -> None:
    """A locked job that ended while its task still worked — cancelled while a Bedrock call was in flight:
    the images that call returned are stored by now and AWS bills them, so count them and charge them (a
    batch's part on its batch, once the batch has ended). Idempotent: nothing new stored, nothing charged."""
    if job.status != Status.CANCELLED:
        return  # every other end is reached by the job's own task, after its last call
    _count_images(job)
    job.save(update_fields=["images_returned", "images_filtered", "bedrock_request_ids", "error_message",
                            "updated_at"])  # fmt: skip
    if job.parent_id is None:
        job_settle(job=job)
        return
    parent = _locked(job.parent_id)
    if parent.is_terminal:  # else it counts this part's images when its last part ends
        _count_images(parent)
        parent.save(update_fields=["images_returned", "images_filtered", "updated_at"])
        job_settle(job=parent)


def _mark_ended(job: GenerationJob) -> None:
    """The one place a job's end is written: its time, the row, and its waiters told once that commits."""
    job.finished_at = timezone.now()
    job.save()
    job_changed_on_commit(job=job, event=JOB_ENDED)


def _count_images(job: GenerationJob) -> None:
    """A job's image counts from what is stored: its own images, or a batch's parts' totals (the batch
    stores none itself)."""
    if job.is_batch:
        totals = job.children.aggregate(returned=Sum("images_returned"), filtered=Sum("images_filtered"))
        job.images_returned, job.images_filtered = totals["returned"] or 0, totals["filtered"] or 0
    else:
        stored = set(Asset.objects.filter(job=job).values_list("index", flat=True))
        job.images_returned = len(stored | set(job.unstored_slots))


def _after_end(job: GenerationJob) -> None:
    if job.parent_id:
        _parent_settle(job.parent_id)  # a batch is reserved and settled as a whole, on its parent
    else:
        job_settle(job=job)
        _emit_ended(job)


def _emit_ended(job: GenerationJob) -> None:
    """job.succeeded (a partially filtered job too: it made images) or job.failed to the tenant's
    webhooks once the end commits; a batch's parts say nothing, their parent speaks for them."""
    if job.status in (Status.SUCCEEDED, Status.PARTIALLY_FILTERED, Status.FAILED):
        event = "job.failed" if job.status == Status.FAILED else "job.succeeded"
        webhook_event_emit(tenant=job.tenant, event=event, data=lambda: {"job": _job_event_data(job)})


def _job_event_data(job: GenerationJob) -> dict:
    cost = job_cost(job)
    return {
        "id": str(job.pk), "status": job.status, "model": job.model.model_id, "task_type": job.task_type,
        "project": str(job.project_id), "images_requested": job.images_requested,
        "images_returned": job.images_returned, "images_filtered": job.images_filtered, "tags": job.tags,
        "cost": None if cost is None else f"{cost:.6f}", "currency": "USD",
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "assets": [str(pk) for pk in job_assets(job).values_list("pk", flat=True)],
        "deduplicated_from": job.deduplicated_from_id, "finished_at": job.finished_at,
    }  # fmt: skip


def _parent_mark_running(parent_id) -> None:
    GenerationJob.objects.filter(pk=parent_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), updated_at=timezone.now()
    )


def _parent_settle(parent_id) -> None:
    """A batch ends when its last child ends: failed if no image came back, partially_filtered if
    some were withheld or some calls failed, succeeded otherwise."""
    parent = _locked(parent_id)
    children = parent.children.all()
    if parent.is_terminal or children.exclude(status__in=GenerationJob.TERMINAL).exists():
        return
    _count_images(parent)
    failed = children.filter(status=Status.FAILED).count()
    if children.exclude(status=Status.CANCELLED).count() == 0:
        parent.status = Status.CANCELLED
    elif parent.images_returned == 0:
        parent.status, parent.error_code = Status.FAILED, "batch_failed"
        parent.error_message = f"All {children.count()} parts of the batch failed."
    elif parent.images_filtered or failed:
        parent.status, parent.error_code = Status.PARTIALLY_FILTERED, "batch_partial"
        parent.error_message = f"{failed} of {children.count()} parts failed; {parent.images_filtered} images withheld."
    else:
        parent.status = Status.SUCCEEDED
    _mark_ended(parent)
    job_settle(job=parent)
    _emit_ended(parent)


# Running a job, and putting back on the queue the jobs whose message was lost.

# The advisory-lock class of job claims (pg_try_advisory_lock(class, key)); any constant no other lock uses.
JOB_CLAIM_LOCK_CLASS = 0x41544C  # "ATL"


def job_claim_key(job_id) -> int:
    return int.from_bytes(uuid.UUID(str(job_id)).bytes[:4], "big") & 0x7FFFFFFF


@contextmanager
def job_execution_claim(job_id):
    """Held by the task that runs a job: a PostgreSQL session advisory lock, which the server frees
    when the holder's connection ends, so a worker killed -9 lets go at once. Yields False when
    another delivery of the job holds it. On SQLite (`make run`) every task gets it."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = job_claim_key(job_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_CLAIM_LOCK_CLASS, key])
        claimed = cursor.fetchone()[0]
    try:
        yield claimed
    finally:
        if claimed:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_CLAIM_LOCK_CLASS, key])
            except (OperationalError, InterfaceError):
                pass  # the connection is gone, and the lock with it


def job_claim_keys_held() -> set[int]:
    """The claim keys some task holds now, in this database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objsubid = 2"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [JOB_CLAIM_LOCK_CLASS],
        )
        return {int(row[0]) for row in cursor.fetchall()}


def job_requeue_stalled(*, older_than_seconds: float, in_broker: set[str], limit: int = 500) -> list[str]:
    """Enqueue again the jobs whose message is gone: not ended, untouched for `older_than_seconds`,
    run by no task now (job_execution_claim), and with no message in the broker (`in_broker`, read
    before calling). The ids requeued. Safe to repeat, and safe against a race with a message that
    was only in flight: run_job ignores an ended job, and a second delivery waits for the claim."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    claimed = job_claim_keys_held() if connection.vendor == "postgresql" else set()
    # A batch's parent has no message of its own: its children do.
    candidates = (
        GenerationJob.objects.exclude(status__in=GenerationJob.TERMINAL)
        .filter(updated_at__lt=cutoff)
        .exclude(parent=None, queue=GenerationJob.Queue.BATCH)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    requeued = []
    for job_id in candidates:
        if str(job_id) in in_broker or job_claim_key(job_id) in claimed:
            continue
        with transaction.atomic():
            job = _locked(job_id)
            if job.is_terminal or job.updated_at >= cutoff:  # it moved meanwhile
                continue
            job.save(update_fields=["updated_at"])  # not again before another `older_than_seconds`
            _enqueue_on_commit(job)
        requeued.append(str(job_id))
    return requeued
