"""Where the provenance stamp runs. Decoding, watermarking, encoding, signing and hashing an image is CPU work that
holds the GIL, while a worker's threads mostly wait on Bedrock: so each worker process hands stamps to a pool of
processes sized to the cores (ATELIER_STAMP_PROCESSES), made on first use and started with `spawn` (forking a
process that runs threads can copy a lock some other thread held). 0 stamps inline, in the calling thread: the
in-process tests, and anything that changes settings at run time (a pool process reads its own settings, from the
environment, once).

A pool process killed mid-stamp (the OOM killer) breaks the whole pool: the stamps it held are run again on a new
pool, in place, because the image they stamp was already paid for and must not be asked of Bedrock again."""

import logging
import os
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from .provenance.stamp import Stamped

# Imported lazily from here on: config.celery_app connects this module's signals before Django's apps are ready.

logger = logging.getLogger(__name__)

# A stamp whose pool broke this many times in a row gives up: the image itself kills its process.
STAMP_ATTEMPTS = 3


class StampFailed(Exception):
    """A stamp's own error that could not travel back from the pool process as itself."""


def _child_setup(settings_module: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()


def _stamp_in_child(arguments: dict) -> "Stamped":
    from .provenance.stamp import stamp_image

    try:
        return stamp_image(**arguments)
    except Exception as error:
        try:
            pickle.loads(pickle.dumps(error))  # noqa: S301 — our own bytes, this instant
        except (pickle.PickleError, TypeError, AttributeError, ValueError):  # sent back as text, not lost
            raise StampFailed(f"{type(error).__name__}: {error}") from None
        raise


def _warm() -> int:
    """Run once in each new pool process: Django and the imaging libraries are loaded before the first stamp."""
    from .provenance import stamp  # noqa: F401 — imported for its imports

    return os.getpid()


class StampPool:
    """One per process: a ProcessPoolExecutor made lazily, again after a fork (a pool is its maker's alone), and
    again after it broke."""

    def __init__(self):
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._owner_pid: int | None = None

    @staticmethod
    def processes() -> int:
        return max(0, int(settings.ATELIER_STAMP_PROCESSES))

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None or self._owner_pid != os.getpid():
                import multiprocessing

                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes(),
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_child_setup,
                    initargs=(os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.production"),),
                )
                self._owner_pid = os.getpid()
            return self._executor

    def _replace_broken(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:  # the first thread to see it broken replaces it; the others reuse that
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def warm(self) -> None:
        """Start every pool process now (a worker calls this once it is ready), without waiting for them."""
        if self.processes():
            executor = self.executor()
            for _ in range(self.processes()):
                executor.submit(_warm)

    def run(self, arguments: dict) -> "Stamped":
        for attempt in range(1, STAMP_ATTEMPTS + 1):
            executor = self.executor()
            try:
                return executor.submit(_stamp_in_child, arguments).result()
            except BrokenProcessPool:
                logger.warning("stamp pool broken (a pool process died), attempt %d of %d", attempt, STAMP_ATTEMPTS)
                self._replace_broken(executor)
                if attempt == STAMP_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and self._owner_pid == os.getpid():
            executor.shutdown(wait=True, cancel_futures=True)


stamp_pool = StampPool()


def stamp_for_job(*, job, watermark_id: str, data: bytes) -> "Stamped":
    """provenance_stamp (assets.provenance.stamp) with the job's facts, in this process's stamp pool."""
    from .provenance.stamp import prompt_sha256, provenance_stamp

    if not stamp_pool.processes():
        return provenance_stamp(job=job, watermark_id=watermark_id, data=data)
    arguments = {
        "data": data, "watermark_id": watermark_id, "model_id": job.model.model_id, "task": job.task_type,
        "tenant_slug": job.tenant.slug, "prompt_sha256": prompt_sha256(job), "fallback_title": str(job.pk),
    }  # fmt: skip
    return stamp_pool.run(arguments)


def connect_celery_signals() -> None:
    """A worker starts its stamp processes once it is ready, and stops them as it shuts down."""
    from celery import signals

    def warm(sender=None, **kwargs):
        if "prefork" not in type(getattr(sender, "pool", None)).__module__:  # forked children make their own
            stamp_pool.warm()

    signals.worker_ready.connect(warm, weak=False)
    signals.worker_shutdown.connect(lambda **kwargs: stamp_pool.shutdown(), weak=False)
