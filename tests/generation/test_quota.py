"""The Bedrock quota limiter against real Redis (db 15), from threads and from separate processes."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis

from generation.quota import (
    CONCURRENCY_RETRY_SECONDS,
    Grant,
    LocalQuota,
    QuotaLimits,
    RedisQuota,
    limits_for,
    quota_from_settings,
)

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "amazon.nova-canvas-v1:0"
PLENTY_OF_TOKENS = {"rpm": 600_000, "burst": 10}  # isolates the concurrency rule from the rate rule

# A separate worker process: it reports "ready" once imported, then hammers from the start time it is sent.
HAMMER_PROCESS = """
import json, sys, threading
import redis
from generation.quota import QuotaLimits, RedisQuota
from tests.generation.test_quota import hammer_in_threads
url, prefix, model_id, rpm, threads = sys.argv[1:]
quota = RedisQuota(redis.Redis.from_url(url), prefix=prefix)
limits = QuotaLimits(rpm=int(rpm), concurrency=1000)
print("ready", flush=True)
start, end = map(float, sys.stdin.readline().split())
print(json.dumps(hammer_in_threads(quota, model_id, limits, start, end, int(threads))), flush=True)
"""


def hammer(quota, model_id: str, limits: QuotaLimits, start: float, end: float, grant_times: list[float]) -> None:
    """Acquire and release at once, as fast as the quota allows, sleeping as long as each refusal says."""
    time.sleep(max(0.0, start - time.time()))
    while (now := time.time()) < end:
        grant = quota.acquire(model_id, limits)
        if grant.granted:
            grant_times.append(time.time())
            quota.release(model_id, grant.lease_id)
        else:
            time.sleep(min(grant.wait_seconds, end - now))


def hammer_in_threads(quota, model_id: str, limits: QuotaLimits, start: float, end: float, threads: int) -> list:
    grant_times: list[float] = []
    workers = [
        threading.Thread(target=hammer, args=(quota, model_id, limits, start, end, grant_times)) for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return grant_times


def assert_rate_kept(grant_times: list[float], start: float, end: float, per_second: float) -> None:
    grant_times = sorted(grant_times)
    assert grant_times and grant_times[0] >= start
    elapsed = max(end, grant_times[-1]) - start
    assert len(grant_times) <= per_second * elapsed + 1, "more grants than the rate allows"
    busiest = max(sum(1 for other in grant_times if first <= other < first + 1.0) for first in grant_times)
    assert busiest <= per_second + 1, f"{busiest} grants within one second"
    assert len(grant_times) >= 0.9 * per_second * (end - start), f"only {len(grant_times)} grants: too stingy"


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    prefix = f"test:quota:{uuid.uuid4().hex}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(params=["redis", "local"])
def make_quota(request, redis_client, prefix):
    """make_quota(lease_seconds=...) → a RedisQuota on this test's own keys, or a fresh LocalQuota."""

    def make(**kwargs):
        if request.param == "redis":
            return RedisQuota(redis_client, prefix=prefix, **kwargs)
        return LocalQuota(**kwargs)

    return make


def test_rate_is_shared_by_threads_and_processes(redis_client, prefix):
    rpm, duration = 600, 2.0
    limits = QuotaLimits(rpm=rpm, concurrency=1000)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER_PROCESS, REDIS_URL, prefix, MODEL, str(rpm), "2"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        start = time.time() + 0.2
        end = start + duration
        for process in processes:
            process.stdin.write(f"{start!r} {end!r}\n")
            process.stdin.flush()
        grant_times = hammer_in_threads(RedisQuota(redis_client, prefix=prefix), MODEL, limits, start, end, 3)
        per_process = [json.loads(process.communicate(timeout=10)[0]) for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert all(per_process), "every process got some grants"
    assert_rate_kept(grant_times + [t for times in per_process for t in times], start, end, rpm / 60)


def test_local_quota_keeps_the_rate_across_threads():
    rpm, start = 600, time.time()
    end = start + 1.5
    grant_times = hammer_in_threads(LocalQuota(), MODEL, QuotaLimits(rpm=rpm, concurrency=1000), start, end, 4)
    assert_rate_kept(grant_times, start, end, rpm / 60)


def test_concurrency_is_capped_until_a_release(make_quota):
    quota, limits = make_quota(), QuotaLimits(concurrency=2, **PLENTY_OF_TOKENS)
    first, second = quota.acquire(MODEL, limits), quota.acquire(MODEL, limits)
    assert first.granted and second.granted and first.lease_id != second.lease_id

    refused = quota.acquire(MODEL, limits)
    assert refused == Grant(lease_id=None, wait_seconds=refused.wait_seconds) and not refused.granted
    # The leases run until released (a lapse only frees a dead holder's), so the wait is capped.
    assert 0 < refused.wait_seconds <= CONCURRENCY_RETRY_SECONDS

    quota.release(MODEL, first.lease_id)
    assert quota.acquire(MODEL, limits).granted


def test_a_local_lease_expires_without_a_release():
    quota, limits = LocalQuota(lease_seconds=0.3), QuotaLimits(concurrency=2, **PLENTY_OF_TOKENS)
    assert quota.acquire(MODEL, limits).granted and quota.acquire(MODEL, limits).granted
    refused = quota.acquire(MODEL, limits)
    assert not refused.granted and 0 < refused.wait_seconds <= 0.3  # until the earliest lease expires
    time.sleep(refused.wait_seconds + 0.02)
    assert quota.acquire(MODEL, limits).granted


def test_a_live_holder_keeps_its_slot_past_the_lease_time(redis_client, prefix):
    """The holder's process renews its lease while the call runs: a call longer than lease_seconds keeps its
    slot, and the slot is free again the moment it is released."""
    limits = QuotaLimits(concurrency=1, **PLENTY_OF_TOKENS)
    holder, other = (RedisQuota(redis_client, prefix=prefix, lease_seconds=0.6) for _ in range(2))
    held = holder.acquire(MODEL, limits)
    assert held.granted
    time.sleep(1.5)  # two and a half lease times
    assert not other.acquire(MODEL, limits).granted
    holder.release(MODEL, held.lease_id)
    assert other.acquire(MODEL, limits).granted


# A worker that takes two slots and is then killed -9 mid-call: it never releases, and stops renewing.
HOLDER_PROCESS = """
import sys, time
import redis
from generation.quota import QuotaLimits, RedisQuota
url, prefix, model_id, lease_seconds = sys.argv[1:]
quota = RedisQuota(redis.Redis.from_url(url), prefix=prefix, lease_seconds=float(lease_seconds))
limits = QuotaLimits(rpm=600000, burst=10, concurrency=2)
assert quota.acquire(model_id, limits).granted and quota.acquire(model_id, limits).granted
print("held", flush=True)
time.sleep(600)
"""


def test_a_killed_holders_slots_come_back_within_the_lease_time(redis_client, prefix):
    lease_seconds = 1.0
    limits = QuotaLimits(concurrency=2, **PLENTY_OF_TOKENS)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER_PROCESS, REDIS_URL, prefix, MODEL, str(lease_seconds)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        time.sleep(2 * lease_seconds)  # alive, it renews: both slots stay taken past the lease time
        quota = RedisQuota(redis_client, prefix=prefix)
        assert not quota.acquire(MODEL, limits).granted
        holder.kill()
        killed_at = time.monotonic()
        holder.wait()
    finally:
        holder.kill()
    while not (grant := quota.acquire(MODEL, limits)).granted:
        time.sleep(grant.wait_seconds)
    assert time.monotonic() - killed_at <= lease_seconds + 0.3
    assert quota.acquire(MODEL, limits).granted  # both of the dead holder's slots came back


def test_a_refusal_for_want_of_a_slot_takes_no_token(make_quota):
    quota, limits = make_quota(), QuotaLimits(rpm=600, concurrency=1)
    held = quota.acquire(MODEL, limits)
    assert held.granted
    time.sleep(0.15)  # the bucket refills its one token
    assert not quota.acquire(MODEL, limits).granted  # no slot
    quota.release(MODEL, held.lease_id)
    assert quota.acquire(MODEL, limits).granted  # the token is still there


def test_a_refusal_for_want_of_a_token_takes_no_slot(make_quota):
    quota, limits = make_quota(), QuotaLimits(rpm=600, concurrency=1)
    quota.release(MODEL, quota.acquire(MODEL, limits).lease_id)
    refused = quota.acquire(MODEL, limits)
    assert not refused.granted
    time.sleep(refused.wait_seconds)
    assert quota.acquire(MODEL, limits).granted  # the one slot is free


@pytest.mark.parametrize(("rpm", "burst"), [(60, 1), (120, 3)])
def test_wait_for_a_token_is_the_time_to_the_next_one(make_quota, rpm, burst):
    quota, limits = make_quota(), QuotaLimits(rpm=rpm, concurrency=100, burst=burst)
    for _ in range(burst):
        assert quota.acquire(MODEL, limits).granted
    refused = quota.acquire(MODEL, limits)
    assert not refused.granted
    assert 60 / rpm - 0.05 < refused.wait_seconds <= 60 / rpm


def test_models_have_separate_quotas(make_quota):
    quota, limits = make_quota(), QuotaLimits(rpm=60, concurrency=1)
    assert quota.acquire(MODEL, limits).granted
    assert not quota.acquire(MODEL, limits).granted
    assert quota.acquire("stability.sd3-5-large-v1:0", limits).granted


def test_release_is_idempotent(make_quota):
    quota, limits = make_quota(), QuotaLimits(concurrency=1, **PLENTY_OF_TOKENS)
    grant = quota.acquire(MODEL, limits)
    quota.release(MODEL, grant.lease_id)
    quota.release(MODEL, grant.lease_id)
    quota.release("never.used-v1", "no-such-lease")
    assert quota.acquire(MODEL, limits).granted
    assert not quota.acquire(MODEL, limits).granted  # a second release did not make room for two


def test_redis_keys_expire_so_idle_models_leave_nothing(redis_client, prefix):
    quota = RedisQuota(redis_client, prefix=prefix, lease_seconds=60)
    quota.acquire(MODEL, QuotaLimits(rpm=60, concurrency=1))
    bucket, leases = (
        redis_client.pttl(f"{prefix}:{{{MODEL}}}:bucket"),
        redis_client.pttl(f"{prefix}:{{{MODEL}}}:leases"),
    )
    assert 0 < bucket <= 1_000 + 120_000  # a full bucket is no different from no bucket
    assert 60_000 < leases <= 60_000 + 120_000  # past the last lease's expiry


def test_limits_for_merges_the_model_overrides():
    settings = SimpleNamespace(
        ATELIER_QUOTA_DEFAULT={"rpm": 100, "concurrency": 10},
        ATELIER_QUOTA_OVERRIDES={MODEL: {"rpm": "5", "burst": 2}},
    )
    assert limits_for(MODEL, settings) == QuotaLimits(rpm=5, concurrency=10, burst=2)
    assert limits_for("other.model-v1", settings) == QuotaLimits(rpm=100, concurrency=10, burst=1)


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        QuotaLimits(rpm=0, concurrency=1)


def test_quota_from_settings_uses_redis_only_when_configured():
    local = quota_from_settings(SimpleNamespace(REDIS_URL=""))
    assert isinstance(local, LocalQuota) and quota_from_settings(SimpleNamespace(REDIS_URL="")) is local
    shared = quota_from_settings(SimpleNamespace(REDIS_URL=REDIS_URL))
    assert isinstance(shared, RedisQuota) and quota_from_settings(SimpleNamespace(REDIS_URL=REDIS_URL)) is shared
