"""Who waits for a job hears when it changes. Once a job's end, or one of its images, commits, the process that
wrote it publishes the job's id on Redis (channel `atelier:job:<id>`). A waiter subscribes first, then reads the
row, then waits for a message: the database is the truth and a message only says "look again", so a message
lost costs no more than ATELIER_JOB_WAIT_FALLBACK_SECONDS, the longest a waiter goes without reading the row.
Without Redis (`make run`'s embedded defaults) a waiter polls the row. A waiting request holds no thread and
no database connection: the row is read, and the connection given back (to the web process's pool, in production:
config.database.pooled), each time it wakes."""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction

from .models import GenerationJob

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "atelier:job:"
ENDED, IMAGE = "ended", "image"
POLL_PAUSES = (0.05, 0.5)  # without Redis: the first and the longest pause between looks at the row
SUBSCRIBED_WITHIN_SECONDS = 2.0

_publisher: redis.Redis | None = None


def job_channel(job_id) -> str:
    return f"{CHANNEL_PREFIX}{job_id}"


def job_changed_on_commit(*, job: GenerationJob, event: str) -> None:
    """Tell the job's waiters (and its batch's) once the transaction that changed it commits."""
    ids = [job.pk] + ([job.parent_id] if job.parent_id else [])
    transaction.on_commit(lambda: _publish(ids, event))


def _publish(job_ids, event: str) -> None:
    global _publisher
    if not (settings.REDIS_URL and settings.ATELIER_JOB_EVENTS_PUBLISH):
        return
    try:
        if _publisher is None:
            _publisher = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        for job_id in job_ids:
            _publisher.publish(job_channel(job_id), event)
    except redis.RedisError as error:  # the waiters read the row again soon enough: the job goes on
        logger.warning("could not announce job %s (%s): %s", job_ids[0], event, error)


def released(function: Callable) -> Callable:
    """`function` for an async view: run on the request's thread, and its database connection given back after it
    (closed, or returned to the process's pool; unless a transaction is open: a test's), so the request holds none
    while it waits."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return sync_to_async(run)


_read_job = released(lambda job_id: GenerationJob.objects.select_related("tenant", "model").get(pk=job_id))


def _status(job_id) -> str | None:
    """The job's status alone: what a waiter that wants only the ended row looks at each time it wakes. Plain SQL,
    as the ORM's building of a query was most of a wake's cost (bench/openai_compat.py)."""
    pk = GenerationJob._meta.pk.get_db_prep_value(job_id, connection)  # a UUID as this database stores it
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {GenerationJob._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else None


_read_status = released(_status)


async def job_watch(job_id, *, deadline: float) -> AsyncIterator[GenerationJob]:
    """The job's row now, and again each time it may have changed (its images land, it ends), until a row that
    has ended (the last one yielded) or until `deadline` (time.monotonic()). Use it inside contextlib.aclosing."""
    async with _wakeups(job_id) as wake:
        while True:
            job = await _read_job(job_id)
            yield job
            left = deadline - time.monotonic()
            if job.is_terminal or left <= 0:
                return
            await wake(left)


async def job_wait(job_id, *, deadline: float) -> GenerationJob | None:
    """The job once it has ended, or None when `deadline` (time.monotonic()) comes first. Until then each wake
    reads its status alone; the whole row is read once, when it has ended."""
    async with _wakeups(job_id) as wake:
        while True:
            if await _read_status(job_id) in GenerationJob.TERMINAL:
                return await _read_job(job_id)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            await wake(left)


@contextlib.asynccontextmanager
async def _wakeups(job_id):
    """A function to await: it returns when the job may have changed, or after `left` seconds at most."""
    if not settings.REDIS_URL:
        yield _poller()
        return
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    pubsub = client.pubsub()
    try:
        await _subscribe(pubsub, job_channel(job_id))
    except (redis.RedisError, OSError, TimeoutError) as error:
        logger.warning("job %s: no Redis to hear it end (%s); reading its row every %g s", job_id, error,
                       settings.ATELIER_JOB_WAIT_FALLBACK_SECONDS)  # fmt: skip
        await _closed(pubsub, client)
        yield _every(settings.ATELIER_JOB_WAIT_FALLBACK_SECONDS)
        return
    try:
        yield _listener(pubsub)
    finally:
        await _closed(pubsub, client)


async def _subscribe(pubsub, channel: str) -> None:
    """Subscribed once Redis confirms it: a message published after the row is read cannot be missed."""
    await pubsub.subscribe(channel)
    async with asyncio.timeout(SUBSCRIBED_WITHIN_SECONDS):
        while True:
            message = await pubsub.get_message(timeout=SUBSCRIBED_WITHIN_SECONDS)
            if message and message["type"] == "subscribe":
                return


def _listener(pubsub):
    async def wake(left: float) -> None:
        try:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=min(left, _fallback()))
            while message is not None:  # several changes at once: one look at the row answers them all
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
        except (redis.RedisError, OSError) as error:  # Redis went away mid-wait: the fallback's pace from now on
            logger.warning("lost Redis while waiting for a job: %s", error)
            await asyncio.sleep(min(left, _fallback()))

    return wake


def _fallback() -> float:
    return max(settings.ATELIER_JOB_WAIT_FALLBACK_SECONDS, 0.05)


def _every(seconds: float):
    async def wake(left: float) -> None:
        await asyncio.sleep(min(left, max(seconds, 0.05)))

    return wake


def _poller():
    pause, longest = POLL_PAUSES

    async def wake(left: float) -> None:
        nonlocal pause
        await asyncio.sleep(min(left, pause))
        pause = min(pause * 1.5, longest)

    return wake


async def _closed(pubsub, client) -> None:
    with contextlib.suppress(redis.RedisError, OSError):
        await pubsub.aclose()
    with contextlib.suppress(redis.RedisError, OSError):
        await client.aclose()


def sse_event(event: str, data: dict) -> bytes:
    """One server-sent event: its name, and its data as one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
