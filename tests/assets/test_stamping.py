"""The stamp pool (assets/stamping.py): a worker's provenance stamps run in processes of its own. What comes back is
what the stamp makes inline — Atelier's mark in the pixels, a trusted C2PA manifest, the same perceptual hash — also
when a pool process is killed with stamps in its hands, and a stamp's own error comes back as itself."""

import io
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from PIL import Image

from assets.provenance import marks
from assets.provenance.manifest import manifest_read
from assets.stamping import StampPool, stamp_for_job

from .provenance_helpers import NOVA, emulator_image

WATERMARK_ID = "0123456789abcdef"


def job_like(pk: str = "job-1"):
    return SimpleNamespace(
        pk=pk, model=SimpleNamespace(model_id=NOVA), task_type="TEXT_IMAGE", tenant=SimpleNamespace(slug="acme"),
        params={"prompt": "a brass lamp"},
    )  # fmt: skip


@pytest.fixture
def pool(settings, monkeypatch):
    """This process's stamp pool with one process (a new pool: none is left running after the test)."""
    import assets.stamping

    settings.ATELIER_STAMP_PROCESSES = 1
    fresh = StampPool()
    monkeypatch.setattr(assets.stamping, "stamp_pool", fresh)
    yield fresh
    fresh.shutdown()


def pool_process_pids(pool: StampPool) -> set[int]:
    return {process.pid for process in pool.executor()._processes.values()}


def test_a_stamp_from_the_pool_is_the_inline_stamp(pool, settings):
    data = emulator_image(seed=3)

    pooled = stamp_for_job(job=job_like(), watermark_id=WATERMARK_ID, data=data)
    settings.ATELIER_STAMP_PROCESSES = 0
    inline = stamp_for_job(job=job_like(), watermark_id=WATERMARK_ID, data=data)

    assert pool_process_pids(pool) and os.getpid() not in pool_process_pids(pool)
    assert marks.read(Image.open(io.BytesIO(pooled.data))) == WATERMARK_ID
    assert manifest_read(data=pooled.data, image_format="png").result == "trusted"
    assert (pooled.phash, pooled.watermark_id) == (inline.phash, inline.watermark_id)
    assert pooled.provenance.keys() == inline.provenance.keys()
    assert pooled.provenance["prompt_sha256"] == inline.provenance["prompt_sha256"] is not None
    assert Image.open(io.BytesIO(pooled.thumbnail)).format == "WEBP"


def test_a_pool_process_killed_mid_stamp_costs_no_stamp(pool, caplog):
    data = emulator_image(seed=4)
    stamp_for_job(job=job_like(), watermark_id=WATERMARK_ID, data=data)  # the pool process is up and warm
    (victim,) = pool_process_pids(pool)

    # Four threads of a worker waiting on their stamps, with far more stamps than the 50 ms before the kill
    # can finish (a stamp of this image takes about 10 ms): the kill lands mid-stamp.
    with ThreadPoolExecutor(4) as threads:
        futures = [threads.submit(stamp_for_job, job=job_like(f"job-{i}"), watermark_id=WATERMARK_ID, data=data)
                   for i in range(40)]  # fmt: skip
        time.sleep(0.05)
        os.kill(victim, signal.SIGKILL)
        stamps = [future.result(timeout=120) for future in futures]

    assert victim not in pool_process_pids(pool)
    assert "stamp pool broken" in caplog.text  # the kill broke stamps in flight, and they were run again
    for stamped in stamps:
        assert marks.read(Image.open(io.BytesIO(stamped.data))) == WATERMARK_ID
        assert manifest_read(data=stamped.data, image_format="png").result == "trusted"


def test_a_stamps_own_error_comes_back_as_itself(pool):
    buffer = io.BytesIO()
    Image.new("RGB", (128, 128), "teal").save(buffer, format="GIF")

    with pytest.raises(KeyError):  # stamp_image's answer to a format Bedrock never returns
        stamp_for_job(job=job_like(), watermark_id=WATERMARK_ID, data=buffer.getvalue())
    assert stamp_for_job(job=job_like(), watermark_id=WATERMARK_ID, data=emulator_image(seed=5)).watermark_id
