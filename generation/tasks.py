"""Celery is just another way in: the task loads its job by id, asks the quota for a slot, calls
Bedrock through the client, hands images to assets, and owns its retries."""

import base64
import functools
import json
import logging
import random
import threading
import time

from celery import shared_task
from celery import signals as celery_signals
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from assets.models import Asset
from assets.services import asset_ingest
from assets.storage import StorageUnavailable

from . import services
from .bedrock import bodies
from .bedrock.client import BedrockError, FinalBedrockError, RetryableBedrockError, client_from_settings, invoke
from .bedrock.request import RequestInvalid
from .bedrock.specs import Family
from .models import GenerationJob
from .quota import limits_for, quota_from_settings

logger = logging.getLogger(__name__)


# Failures of storing an image that a retry of the task mends: the file store or the database was away.
STORE_RETRYABLE = (StorageUnavailable, OperationalError, InterfaceError)

# A token due this soon is waited for in place: a requeue costs more than the wait, and arrives
# a few milliseconds late, which with a one-token bucket is throughput lost for good.
QUOTA_WAIT_IN_PLACE_SECONDS = 0.05


def _acquire(quota, model_id: str):
    limits = limits_for(model_id, settings)
    grant = quota.acquire(model_id, limits)
    if not grant.granted and grant.wait_seconds <= QUOTA_WAIT_IN_PLACE_SECONDS:
        time.sleep(grant.wait_seconds)
        grant = quota.acquire(model_id, limits)
    return grant


_worker_threads = 0  # the worker's concurrency as its command line set it (celeryd_init), 0 when not a worker


@celery_signals.celeryd_init.connect(weak=False)
def _note_worker_concurrency(options=None, **kwargs) -> None:
    global _worker_threads
    _worker_threads = int((options or {}).get("concurrency") or 0)


def bedrock_pool_size() -> int:
    """Connections the Bedrock client keeps open: one per thread that may call at once, and never fewer than
    botocore's default."""
    return max(10, _worker_threads, settings.ATELIER_WORKER_CONCURRENCY)


_bedrock_client_lock = threading.Lock()


@functools.cache
def _bedrock_client():
    return client_from_settings(max_pool_connections=bedrock_pool_size())


def bedrock_client():
    """One client per worker process, shared by its threads (boto3 clients are thread-safe, and made after
    a fork); the lock makes the first callers wait for one client rather than each build their own."""
    with _bedrock_client_lock:
        return _bedrock_client()


bedrock_client.cache_clear = _bedrock_client.cache_clear  # the tests point the worker at a new emulator


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: spreads the retries of many throttled jobs apart."""
    ceiling = min(
        settings.ATELIER_RETRY_BACKOFF_MAX_SECONDS, settings.ATELIER_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
    )
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 — jitter, not security


# A second delivery of a job that a task is running (a broker redelivery, a requeue) looks again this soon.
CLAIM_RETRY_SECONDS = 2.0


@shared_task(bind=True, name="generation.run_job", max_retries=None, acks_late=True, reject_on_worker_lost=True)
def run_job(self, job_id: str) -> str:
    job = GenerationJob.objects.select_related("model", "tenant", "project").filter(pk=job_id).first()
    if job is None or job.is_terminal:
        if job is not None:  # a worker that died after storing what a call returned past a cancel left it uncharged
            services.job_settle_late(job=job)
        return "ended"  # a redelivered or late message: no Bedrock call
    with services.job_execution_claim(job_id) as claimed:
        if not claimed:  # another delivery runs it: never two Bedrock calls for one job at once
            raise self.retry(countdown=CLAIM_RETRY_SECONDS)
        return _run_claimed(self, job)


def _run_claimed(task, job: GenerationJob) -> str:
    job_id = str(job.pk)
    quota = quota_from_settings(settings)
    grant = _acquire(quota, job.model.model_id)
    if not grant.granted:
        # No token: hand the job back to the queue, due a little before its token, instead of
        # holding a worker; the last few milliseconds are waited out in place (see _acquire).
        raise task.retry(countdown=max(0.0, grant.wait_seconds - QUOTA_WAIT_IN_PLACE_SECONDS / 2))
    try:
        job = services.job_start(job=job)
        if job is None:
            return "ended"
        try:
            images_stored, last_call = _generate(job)
        except (RetryableBedrockError, *STORE_RETRYABLE) as error:
            if isinstance(error, OperationalError | InterfaceError):
                close_old_connections()  # drop the broken connection: the writes below open a new one
            code, message = _describe(error)
            if job.attempts >= settings.ATELIER_JOB_MAX_ATTEMPTS:
                services.job_fail(job_id=job_id, code=code, message=f"Gave up after {job.attempts} attempts: {message}")
                return "failed"
            services.job_note_retry(job_id=job_id, code=code, message=message)
            raise task.retry(countdown=backoff_seconds(job.attempts)) from None
        except FinalBedrockError as error:
            services.job_fail(job_id=job_id, code=error.code, message=error.message)
            return "failed"
        except RequestInvalid as invalid:  # the catalog was narrowed after the job was queued
            services.job_fail(job_id=job_id, code="invalid_request", message=str(invalid))
            return "failed"
        except Exception as error:  # a bug must end the job with its reason, not strand it
            logger.exception("job %s failed unexpectedly", job_id)
            services.job_fail(job_id=job_id, code="internal_error", message=f"{type(error).__name__}: {error}")
            return "failed"
        return services.job_finish(job_id=job_id, images_stored=images_stored, last_call=last_call).status
    finally:
        quota.release(job.model.model_id, grant.lease_id)


def _describe(error: Exception) -> tuple[str, str]:
    if isinstance(error, BedrockError):
        return error.code, error.message
    if isinstance(error, StorageUnavailable):
        return "storage_unavailable", str(error)
    return "database_unavailable", str(error)


def _generate(job: GenerationJob) -> tuple[int, services.CallRecord | None]:
    """Make every Bedrock call the job needs, skipping calls whose images are already stored (a
    retry after a crash does not pay twice for them), and store each image as it arrives — also when
    the job was cancelled while Bedrock worked: AWS bills those images, so they are kept and charged.
    A cancelled job makes no further call. Returns how many images the job holds, and the last call's
    record, which job_finish saves with the outcome (one write instead of two)."""
    request = services.job_request(job)
    per_call = bodies.images_per_call(request)
    calls = bodies.build_calls(request)
    stored = set(Asset.objects.filter(job=job).values_list("index", flat=True)) if job.attempts > 1 else set()
    last, called = None, False
    for call_index, body in enumerate(calls):
        slots = range(call_index * per_call, (call_index + 1) * per_call)
        if all(slot in stored for slot in slots):
            continue
        # job_start saw the job running just before the first call; later calls look again.
        if called and GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.CANCELLED).exists():
            break
        response = invoke(bedrock_client(), job.model.invoked_id, body)
        called = True
        result = bodies.parse_response(request.family, response.payload, requested=per_call)
        for offset, data in enumerate(result.images):
            seed = result.seeds[offset] if result.seeds else request.seed
            if request.family is Family.STABILITY and seed is None:
                seed = body.get("seed")
            try:
                asset_ingest(job=job, index=slots[offset], data=data, seed=seed)
            except STORE_RETRYABLE:
                raise  # a retry stores them
            except Exception:  # the stamp failed: this image and the rest of the call's are lost, and billed
                services.job_record_unstored(job_id=job.pk, slots=[slots[o] for o in range(offset, len(result.images))])
                raise
            stored.add(slots[offset])
        if result.mask is not None:
            services.job_record_mask(job=job, data=result.mask)
        record = services.CallRecord(response.request_id, result.filtered, result.filter_reasons)
        if call_index < len(calls) - 1:
            services.job_record_call(job_id=job.pk, record=record)
        else:
            last = record
    return len(stored), last


def job_ids_in_broker() -> set[str] | None:
    """The ids of the jobs that have a run_job message in the broker, waiting or delivered and not yet
    acknowledged (a retry's delayed message included); None when the broker cannot be read this way
    (it is not Redis)."""
    from config.celery_app import app

    with app.connection_for_read() as connection:
        if connection.transport.driver_type != "redis":
            return None
        channel = connection.default_channel
        client = channel.client
        waiting = [
            json.loads(message)
            for queue in app.conf.task_queues
            for priority in channel.priority_steps
            for message in client.lrange(f"{queue.name}{channel.sep}{priority}" if priority else queue.name, 0, -1)
        ]
        delivered = [json.loads(value)[0] for value in client.hvals(channel.unacked_key)]  # [message, exchange, key]
    ids = set()
    for message in waiting + delivered:
        if message.get("headers", {}).get("task") != run_job.name:
            continue
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.add(str(args[0]))
    return ids


@shared_task(name="generation.requeue_stalled_jobs")
def requeue_stalled_jobs(older_than_seconds: float | None = None) -> list[str]:
    """Beat runs this every minute: jobs whose message was lost (a broker restarted without
    persistence, a worker dropped its delayed retries on a connection loss) go back on the queue."""
    in_broker = job_ids_in_broker()
    if in_broker is None:
        logger.warning("requeue_stalled_jobs: the broker is not Redis; cannot tell lost messages, nothing done")
        return []
    if older_than_seconds is None:
        older_than_seconds = settings.ATELIER_REQUEUE_STALLED_AFTER_SECONDS
    jobs = services.job_requeue_stalled(older_than_seconds=older_than_seconds, in_broker=in_broker)
    if jobs:
        logger.warning("requeued %d job(s) whose message was lost: %s", len(jobs), ", ".join(jobs))
    return jobs


@shared_task(name="generation.catalog_sync")
def catalog_sync() -> dict:
    """Beat runs this daily: the catalog takes Bedrock's lifecycle, inference types and profiles."""
    from .lifecycle import catalog_sync as sync

    report = sync()
    return {"changed": sorted(report.changed), "unsupported": [row.model_id for row in report.unsupported]}
