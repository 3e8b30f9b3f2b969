"""The OpenAI images calls as Atelier runs them: resolve the project, map the request, submit it
through generation.services.job_submit (validation, deduplication, budget, queue), wait for the
job (on the event loop: generation.job_events), and — for `background: transparent` — run a
background removal job on each image, priced and budget-checked like any job. The answer names
the images, what they cost and how many were billed."""

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from assets.models import Asset, Project
from assets.selectors import job_assets
from assets.services import project_get_default
from billing.models import Budget
from billing.pricing import price_quote
from billing.selectors import budget_status, job_cost
from billing.services import BudgetExceeded, period_start_for
from config.errors import ApplicationError
from generation.bedrock.specs import Task
from generation.catalog import model_list_for_tenant, model_resolve_for_tenant
from generation.job_events import job_wait, job_watch, released
from generation.models import BedrockModel, GenerationJob
from generation.services import Submission, job_cancel, job_submit
from tenants.models import ApiKey, Tenant

from .errors import OpenAIError
from .parsing import ImageCall, image_call

logger = logging.getLogger(__name__)

Status = GenerationJob.Status
PROJECT_HEADER = "X-Atelier-Project"


@dataclass(frozen=True)
class ImagesResult:
    call: ImageCall
    jobs: list[GenerationJob]  # the job that made the images, then any background removals
    assets: list[Asset]  # the images to answer with, in order
    cost: Decimal  # settled, in USD
    images_billed: int
    created: int  # Unix time


def openai_model_list(*, tenant: Tenant) -> QuerySet[BedrockModel]:
    return model_list_for_tenant(tenant=tenant)


def openai_project_resolve(*, tenant: Tenant, reference: str | None, api_key: ApiKey | None = None) -> Project:
    """The project a call works in: the one X-Atelier-Project names (its id or slug, in this
    tenant), else the key's default project, else the tenant's. A project of another tenant is as
    unknown as a missing one."""
    if reference in (None, ""):
        if api_key is not None and api_key.default_project_id:
            return api_key.default_project
        return project_get_default(tenant=tenant)
    projects = Project.objects.for_tenant(tenant)
    try:
        project = projects.filter(pk=uuid.UUID(reference)).first()
    except ValueError:
        project = projects.filter(slug=reference).first()
    if project is None:
        message = f"No project {reference!r} in this tenant: give a project id or slug."
        raise ApplicationError("invalid_project", f"{PROJECT_HEADER}: {message}", fields={PROJECT_HEADER: [message]})
    return project


@dataclass(frozen=True)
class ImagesSubmission:
    """An OpenAI images call submitted: its first job is queued (or already ended, when deduplicated)."""

    call: ImageCall
    job: GenerationJob
    transparent: bool  # each image's background is removed by a job of its own once the job has ended
    deadline: float  # time.monotonic() after which the caller gets a 504 (the jobs go on)
    context: dict  # tenant, actor, model, project, names, idempotency_key: what the removals are submitted with


def openai_images_submit(
    *,
    tenant: Tenant,
    actor: ApiKey,
    endpoint: str,
    fields: dict,
    files: dict[str, list[bytes]],
    project_reference: str | None = None,
    idempotency_key: str | None = None,
) -> ImagesSubmission:
    """Validate, price and queue what an OpenAI images request asks for; waiting for it is the caller's
    (openai_images_create, or a stream), at most ATELIER_OPENAI_WAIT_SECONDS."""
    deadline = time.monotonic() + settings.ATELIER_OPENAI_WAIT_SECONDS
    project = openai_project_resolve(tenant=tenant, reference=project_reference, api_key=actor)
    model, named = _model(tenant, project, fields.get("model"))
    call = image_call(endpoint=endpoint, model=model, fields=fields, files=files)
    # An image service's background is its own business (removing it is one of them): no extra job.
    transparent = call.background == "transparent" and not model.spec().is_tool
    if transparent:
        _check_removes_backgrounds(tenant, model)
    names = {"project": PROJECT_HEADER if project_reference else "project", "source_asset": "background"}
    logger.info("OpenAI images/%s for %s by key %s, user %r", endpoint, tenant.slug, actor.prefix, call.user)

    # The id the caller named: job_submit applies the tenant's automatic successor again and records it on the job.
    submitted = _submit(call, names, tenant=tenant, actor=actor, model_id=named, raw=call.raw,
                        project_id=project.pk, idempotency_key=idempotency_key)  # fmt: skip
    job = submitted.job
    if transparent and submitted.created:  # a replay's job was checked, and may be running: leave it be
        _check_room_for_background_removal(tenant=tenant, actor=actor, project=project, model=model, job=job)
    context = {"tenant": tenant, "actor": actor, "model": model, "project": project, "names": names,
               "idempotency_key": idempotency_key}  # fmt: skip
    return ImagesSubmission(call=call, job=job, transparent=transparent, deadline=deadline, context=context)


async def openai_images_create(submission: ImagesSubmission) -> ImagesResult:
    """The images a submitted call asks for, once made (at most ATELIER_OPENAI_WAIT_SECONDS; the job goes on
    after a timeout). The waits hold no thread and no database connection (generation.job_events)."""
    ended = await job_wait(submission.job.pk, deadline=submission.deadline)
    job = openai_job_outcome(submission, submission.job, ended)
    jobs = [job, *await openai_background_removals(submission, job)]
    return await released(openai_images_result)(submission, jobs)


async def openai_background_removals(submission: ImagesSubmission, job: GenerationJob) -> list[GenerationJob]:
    """For `background: transparent`, the ended background removal jobs of the ended job's images; else none."""
    if not submission.transparent:
        return []
    removals = await released(_remove_backgrounds)(submission, job)
    ended = await asyncio.gather(*(job_wait(removal.pk, deadline=submission.deadline) for removal in removals))
    return [openai_job_outcome(submission, removal, end) for removal, end in zip(removals, ended, strict=True)]


async def openai_images_stream(submission: ImagesSubmission, *, partials: int) -> AsyncIterator[tuple[str, object]]:
    """What a streaming call sends, as it happens: ("image", Asset) for each of at most `partials` images stored
    before the answer — the job's images as they land while it runs, and for `background: transparent` its opaque
    images before their backgrounds are removed — then ("result", ImagesResult). Failures raise, as
    openai_images_create's do."""
    seen: set = set()
    ended = None
    async with contextlib.aclosing(job_watch(submission.job.pk, deadline=submission.deadline)) as rows:
        async for row in rows:
            early = not row.is_terminal or submission.transparent  # else they are the answer itself
            if early and len(seen) < partials:
                for asset in await released(_images_not_seen)(row, seen, partials - len(seen)):
                    yield "image", asset
            if row.is_terminal:
                ended = row
    job = openai_job_outcome(submission, submission.job, ended)
    jobs = [job, *await openai_background_removals(submission, job)]
    yield "result", await released(openai_images_result)(submission, jobs)


def _images_not_seen(job: GenerationJob, seen: set, most: int) -> list[Asset]:
    """The job's stored images not in `seen` (which they join), at most `most` of them."""
    fresh = list(job_assets(job).exclude(pk__in=seen).select_related("tenant")[:most])
    seen.update(asset.pk for asset in fresh)
    return fresh


def openai_images_result(submission: ImagesSubmission, jobs: list[GenerationJob]) -> ImagesResult:
    """The answer once every job has ended with images: the last stage's images, and what all of it cost."""
    assets = [asset for job in (jobs[1:] or jobs) for asset in job_assets(job).select_related("tenant")]
    costs = [(job, job_cost(job) or Decimal(0)) for job in jobs]
    return ImagesResult(
        call=submission.call, jobs=jobs, assets=assets, cost=sum((cost for _, cost in costs), Decimal(0)),
        images_billed=sum(_images_billed(job, cost) for job, cost in costs), created=int(time.time()),
    )  # fmt: skip


def _model(tenant: Tenant, project: Project, model_id) -> tuple[BedrockModel, str]:
    """(the model that runs, the id asked for): the model named, else the project's default model,
    else ATELIER_OPENAI_DEFAULT_MODEL — or, past its end of life, the tenant's automatic successor."""
    if model_id in (None, ""):
        model_id = project.default_model.model_id if project.default_model_id else settings.ATELIER_OPENAI_DEFAULT_MODEL
    if not isinstance(model_id, str):
        raise ApplicationError("invalid_model", "model: Must be text.", fields={"model": ["Must be text."]})
    model, _ = model_resolve_for_tenant(tenant=tenant, model_id=model_id)
    return model, model_id


def _remove_backgrounds(submission: ImagesSubmission, job: GenerationJob) -> list[GenerationJob]:
    """One BACKGROUND_REMOVAL job per image of the ended job, all submitted before any is waited for."""
    context = submission.context
    return [
        _submit(
            submission.call,
            context["names"],
            tenant=context["tenant"],
            actor=context["actor"],
            model_id=context["model"].model_id,
            raw={"task_type": Task.BACKGROUND_REMOVAL.value},
            project_id=context["project"].pk,
            source_asset_id=asset.pk,
            idempotency_key=_derived_key(context["idempotency_key"], index),
        ).job
        for index, asset in enumerate(job_assets(job))
    ]


def _submit(call: ImageCall, names: dict, **arguments) -> Submission:
    """job_submit, with its 400s naming fields as the caller named them."""
    try:
        return job_submit(**arguments)
    except ApplicationError as error:
        if not error.fields:
            raise
        fields = {names.get(name) or call.client_name(name): messages for name, messages in error.fields.items()}
        first, messages = next(iter(fields.items()))
        renamed = ApplicationError(error.code, f"{first}: {messages[0]}", fields=fields, status_code=error.status_code)
        renamed.extra = getattr(error, "extra", {})
        raise renamed from None


def _derived_key(idempotency_key: str | None, index: int) -> str | None:
    """The background removal of image `index` of a replayed request is the same job too."""
    if not idempotency_key:
        return None
    return "openai-background-" + hashlib.sha256(f"{idempotency_key}\n{index}".encode()).hexdigest()[:40]


def _check_removes_backgrounds(tenant: Tenant, model: BedrockModel) -> None:
    if Task.BACKGROUND_REMOVAL in model.tasks:
        return
    able = [m.model_id for m in model_list_for_tenant(tenant=tenant) if Task.BACKGROUND_REMOVAL in m.tasks]
    message = f"{model.name} cannot remove backgrounds" + (f"; use {' or '.join(able)}." if able else ".")
    raise ApplicationError("invalid_request", f"background: {message}", fields={"background": [message]})


def _check_room_for_background_removal(*, tenant, actor, project, model, job: GenerationJob) -> None:
    """Refuse (402) before any image is made when the budgets, which already hold the generation,
    have no room for removing each image's background; the generation job is then cancelled, so
    nothing is charged. (The removals reserve their own money when they are submitted.) A removal with no
    price in force cancels it the same way before the 400."""
    try:
        quote = price_quote(
            model=model, width=job.width, height=job.height, quality="standard", n=job.images_requested, tenant=tenant
        )
    except ApplicationError:
        _cancel_before_it_runs(tenant=tenant, actor=actor, job=job)
        raise
    period = period_start_for(tenant)
    remaining = {
        budget.scope: budget_status(budget, period_start=period)["remaining"]
        for budget in Budget.objects.for_tenant(tenant)
        if budget.covers(project_id=project.pk, api_key_id=actor.pk)
    }
    short = {scope: left for scope, left in remaining.items() if left < quote.total}
    if not short:
        return
    _cancel_before_it_runs(tenant=tenant, actor=actor, job=job)
    which = ", ".join(f"the {scope} budget has ${max(left, Decimal(0)):.6f} left" for scope, left in short.items())
    raise BudgetExceeded(
        f"Removing the background of {job.images_requested} image(s) would cost ${quote.total:.6f} more; {which}.",
        estimate=quote.total,
        remaining={scope: max(left, Decimal(0)) for scope, left in remaining.items()},
    )


def _cancel_before_it_runs(*, tenant, actor, job: GenerationJob) -> None:
    if not job.is_terminal and not job.deduplicated_from_id:
        try:
            job_cancel(tenant=tenant, job=job, actor=actor)
        except ApplicationError:
            pass  # it ended meanwhile: its images are made and charged as usual


def openai_job_outcome(submission: ImagesSubmission, job: GenerationJob, ended: GenerationJob | None) -> GenerationJob:
    """`ended` (the job's row once it ended, None when the wait ran out) if it made images, else the error that
    says why not."""
    if ended is None:
        message = (
            f"The images are not ready after {settings.ATELIER_OPENAI_WAIT_SECONDS:g} s. Job {job.pk} keeps running: "
            f"follow it at /api/v1/tenants/{submission.context['tenant'].slug}/jobs/{job.pk}/ (retrying this call "
            "without an Idempotency-Key makes another job)."
        )
        raise OpenAIError("job_timeout", message, status_code=504, extra={"job": str(job.pk)})
    if ended.status in (Status.SUCCEEDED, Status.PARTIALLY_FILTERED):
        return ended
    if ended.status == Status.CANCELLED:
        message = f"Job {ended.pk} was cancelled."
        raise OpenAIError("job_cancelled", message, status_code=409, extra={"job": str(ended.pk)})
    if ended.error_code == "content_filtered":
        message = f"Bedrock's content filter withheld every image: {ended.error_message}"
        raise OpenAIError("content_policy_violation", message, status_code=400, param="prompt",
                          extra={"job": str(ended.pk)})  # fmt: skip
    reason = f"{ended.error_message or ended.error_code} ({ended.error_code})"
    message = f"Job {ended.pk} failed: {reason}. The job is not charged."
    raise OpenAIError("job_failed", message, status_code=502, extra={"job": str(ended.pk)})


def _images_billed(job: GenerationJob, cost: Decimal) -> int:
    """How many images the job was charged for: its charge over its unit price."""
    if not cost or not job.unit_price_usd:
        return 0
    return int((cost / job.unit_price_usd).to_integral_value())
