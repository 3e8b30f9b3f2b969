"""Per-model Bedrock quota: requests per minute and concurrent calls, shared by every Celery worker.

Why this design. Bedrock's quotas are per account and model, so every worker on every machine draws on the same
allowance; the state lives in Redis, the one thing all workers share. One Lua script takes a rate token AND a
concurrency slot, or neither, in one atomic step: no worker can see a half-taken quota, and a refused call
consumes nothing. The script reads the clock with ``redis.call('TIME')``, so machines whose clocks disagree still
agree on one timeline.

The rate limit is a token bucket holding ``burst`` tokens (1 by default, so no window of any length sees more
than the RPM) and refilling at rpm/60 tokens per second. With one token a full bucket wastes its refill until
someone takes it, so callers should come back on time: the wait a refusal returns is exact.

A concurrency slot is a lease: a lease id in a sorted set, scored by its expiry. A worker releases its lease when
its call ends, and until then a thread of its process renews it every third of ``lease_seconds``; a worker that
dies does neither, so its leases lapse, expired leases are dropped before counting, and its slots come back within
``lease_seconds`` (not after the longest call Bedrock allows). Both keys carry a TTL, so an idle model leaves
nothing behind.

A refusal says how long to wait: for a token, until the next token is due; for a slot, until the earliest lease
expires, but at most ``CONCURRENCY_RETRY_SECONDS``, because leases are nearly always released long before they
expire and a release wakes no one. ``LocalQuota`` applies the same rules in one process, for ``make run``.
"""

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass

import redis

logger = logging.getLogger(__name__)

# A Redis lease lapses this long after its holder's last renewal: a worker killed mid-call gives its slots back
# within it, while a live one renews (every third of it) for as long as its call runs.
DEFAULT_LEASE_SECONDS = 30.0
# Bedrock's read timeout is 300 s: a lease of LocalQuota, which dies with its one process, outlives any call.
LOCAL_LEASE_SECONDS = 360.0
# Releases are not announced, so a worker refused a slot looks again this soon rather than at the lease expiry.
CONCURRENCY_RETRY_SECONDS = 1.0
# Keys outlive the state that matters (a full bucket, the last lease) by this much, then vanish.
KEY_IDLE_MARGIN_SECONDS = 120.0
FALLBACK_LIMITS = {"rpm": 60, "concurrency": 4}

# KEYS: bucket hash {tokens, ts}, lease zset {lease id: expiry}; times in milliseconds of Redis server time.
# ARGV: tokens per ms, burst, concurrency, lease ms, lease id, concurrency retry cap ms, idle margin ms.
# Returns {1, "0"} when granted, else {0, wait ms as a string} (Lua numbers reach Python truncated to integers).
ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local concurrency = tonumber(ARGV[3])
local lease_ms = tonumber(ARGV[4])
local retry_cap_ms = tonumber(ARGV[6])
local margin_ms = tonumber(ARGV[7])

-- a lease whose worker died without releasing stops counting once it expires
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local held = redis.call('ZCARD', KEYS[2])

local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
-- max(0, ...): after a failover to a server whose clock is behind, time must not run backwards
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)

local refused = false
local wait = 0
if tokens < 1 then
  refused = true
  wait = (1 - tokens) / rate
end
if held >= concurrency then
  refused = true
  local earliest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  wait = math.max(wait, math.min(tonumber(earliest[2]) - now, retry_cap_ms))
end
if refused then
  -- nothing written: a refused call takes neither a token nor a slot
  return {0, string.format('%.3f', wait)}
end

-- %.17g: Lua's default number format keeps 14 digits, too few for a millisecond timestamp
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens - 1), 'ts', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(burst / rate + margin_ms)))
redis.call('ZADD', KEYS[2], string.format('%.17g', now + lease_ms), ARGV[5])
redis.call('PEXPIRE', KEYS[2], string.format('%d', math.ceil(lease_ms + margin_ms)))
return {1, '0'}
"""

# KEYS: lease zset; ARGV: lease ms, idle margin ms, lease ids. Extends the leases still held (XX: one that
# already lapsed stays gone), and the key's TTL with them.
RENEW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local lease_ms = tonumber(ARGV[1])
local expiry = string.format('%.17g', now + lease_ms)
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(lease_ms + tonumber(ARGV[2]))))
end
return 0
"""


@dataclass(frozen=True)
class QuotaLimits:
    rpm: int
    concurrency: int
    burst: float = 1

    def __post_init__(self):
        if self.rpm < 1 or self.concurrency < 1 or self.burst < 1:
            raise ValueError(f"quota limits must be at least 1: {self}")


@dataclass(frozen=True)
class Grant:
    lease_id: str | None  # None when refused
    wait_seconds: float  # 0 when granted

    @property
    def granted(self) -> bool:
        return self.lease_id is not None


class RedisQuota:
    """The quota shared by all workers on all machines that use the same Redis."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = "atelier:quota", lease_seconds: float = DEFAULT_LEASE_SECONDS
    ):
        self.client = client
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self._acquire = client.register_script(ACQUIRE_LUA)
        self._renew = client.register_script(RENEW_LUA)
        self._held_lock = threading.Lock()
        self._held: dict[str, set[str]] = {}  # model id -> this process's lease ids, renewed until released
        self._renewer_pid = 0  # the process whose renewer thread runs (a forked child starts its own)

    def _keys(self, model_id: str) -> list[str]:
        # The {hash tag} keeps both keys in one Redis Cluster slot, as a script touching both requires.
        return [f"{self.prefix}:{{{model_id}}}:bucket", f"{self.prefix}:{{{model_id}}}:leases"]

    def acquire(self, model_id: str, limits: QuotaLimits) -> Grant:
        lease_id = uuid.uuid4().hex
        granted, wait_ms = self._acquire(
            keys=self._keys(model_id),
            args=[
                limits.rpm / 60_000,
                limits.burst,
                limits.concurrency,
                self.lease_seconds * 1000,
                lease_id,
                CONCURRENCY_RETRY_SECONDS * 1000,
                KEY_IDLE_MARGIN_SECONDS * 1000,
            ],
        )
        if not granted:
            return Grant(lease_id=None, wait_seconds=float(wait_ms) / 1000)
        with self._held_lock:
            if self._renewer_pid != os.getpid():  # the first grant in this process, or in a forked child
                self._held = {}  # a parent's leases are the parent's to renew
                self._renewer_pid = os.getpid()
                threading.Thread(target=self._renew_forever, name="quota-lease-renewer", daemon=True).start()
            self._held.setdefault(model_id, set()).add(lease_id)
        return Grant(lease_id=lease_id, wait_seconds=0.0)

    def release(self, model_id: str, lease_id: str) -> None:
        with self._held_lock:
            self._held.get(model_id, set()).discard(lease_id)
        # ZREM of an absent member is a no-op, so releasing twice (or after expiry) is harmless.
        self.client.zrem(self._keys(model_id)[1], lease_id)

    def renew_held(self) -> None:
        """Extend every lease this process holds by a whole ``lease_seconds``."""
        with self._held_lock:
            held = {model_id: sorted(leases) for model_id, leases in self._held.items() if leases}
        for model_id, lease_ids in held.items():
            lease_key = self._keys(model_id)[1]
            self._renew(keys=[lease_key], args=[self.lease_seconds * 1000, KEY_IDLE_MARGIN_SECONDS * 1000, *lease_ids])

    def _renew_forever(self) -> None:
        pid = os.getpid()
        while self._renewer_pid == pid:
            time.sleep(self.lease_seconds / 3)
            try:
                self.renew_held()
            except redis.RedisError as error:  # Redis is away: the next round tries again, a lapse frees a slot
                logger.warning("could not renew the Bedrock quota leases: %s", error)


class LocalQuota:
    """The same rules in one process (``make run`` has one worker): no Redis, a lock and the monotonic clock."""

    def __init__(self, *, lease_seconds: float = LOCAL_LEASE_SECONDS):
        self.lease_seconds = lease_seconds
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # model id -> (tokens, time of that count)
        self._leases: dict[str, dict[str, float]] = {}  # model id -> {lease id: expiry}

    def acquire(self, model_id: str, limits: QuotaLimits) -> Grant:
        rate = limits.rpm / 60
        with self._lock:
            now = time.monotonic()
            leases = {lease: expiry for lease, expiry in self._leases.get(model_id, {}).items() if expiry > now}
            self._leases[model_id] = leases
            tokens, since = self._buckets.get(model_id, (limits.burst, now))
            tokens = min(limits.burst, tokens + (now - since) * rate)

            refused = False
            wait = 0.0
            if tokens < 1:
                refused = True
                wait = (1 - tokens) / rate
            if len(leases) >= limits.concurrency:
                refused = True
                wait = max(wait, min(min(leases.values()) - now, CONCURRENCY_RETRY_SECONDS))
            if refused:
                return Grant(lease_id=None, wait_seconds=wait)

            lease_id = uuid.uuid4().hex
            self._buckets[model_id] = (tokens - 1, now)
            leases[lease_id] = now + self.lease_seconds
            return Grant(lease_id=lease_id, wait_seconds=0.0)

    def release(self, model_id: str, lease_id: str) -> None:
        with self._lock:
            self._leases.get(model_id, {}).pop(lease_id, None)


def limits_for(model_id: str, settings) -> QuotaLimits:
    """The default limits, with this model's overrides on top."""
    merged = {
        **getattr(settings, "ATELIER_QUOTA_DEFAULT", FALLBACK_LIMITS),
        **getattr(settings, "ATELIER_QUOTA_OVERRIDES", {}).get(model_id, {}),
    }
    # The dicts come from env JSON, where "60" and 60 are equally likely.
    return QuotaLimits(**{name: float(value) if name == "burst" else int(value) for name, value in merged.items()})


_local_quota = LocalQuota()
_redis_quotas: dict[str, RedisQuota] = {}
_redis_quotas_lock = threading.Lock()


def quota_from_settings(settings) -> RedisQuota | LocalQuota:
    """Redis when REDIS_URL is set (the quota is shared by every worker), else this process's LocalQuota."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return _local_quota
    # One client (and connection pool) per URL per process, not one per task; redis-py resets pools after fork.
    with _redis_quotas_lock:
        if url not in _redis_quotas:
            lease_seconds = getattr(settings, "ATELIER_QUOTA_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
            _redis_quotas[url] = RedisQuota(redis.Redis.from_url(url), lease_seconds=lease_seconds)
        return _redis_quotas[url]
