"""Request rates: each API key, and each signed-in person, may make so many requests per period
(ATELIER_API_RATE_PER_KEY, ATELIER_API_RATE_PER_USER). Above it the API answers 429 in the error
envelope with a Retry-After header. Counters live in the default cache (Redis), shared by every
web process. Failed sign-ins are counted here too (ATELIER_SIGN_IN_*)."""

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from tenants.models import ApiKey


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from settings at each request (DRF's THROTTLE_RATES is fixed at import)."""

    cache_format = "throttle:%(scope)s:%(ident)s"
    rate_setting = ""

    def get_rate(self) -> str | None:
        rate = getattr(settings, self.rate_setting, "")
        return None if rate in ("", "off", None) else rate

    def identity(self, request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request, view) -> str | None:
        ident = self.identity(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyRateThrottle(_SettingsRateThrottle):
    scope = "api_key"
    rate_setting = "ATELIER_API_RATE_PER_KEY"

    def identity(self, request) -> str | None:
        return str(request.auth.pk) if isinstance(request.auth, ApiKey) else None


class UserRateThrottle(_SettingsRateThrottle):
    """Signed-in people (session). A call made with an API key counts against the key instead."""

    scope = "user"
    rate_setting = "ATELIER_API_RATE_PER_USER"

    def identity(self, request) -> str | None:
        user = request.user
        if isinstance(request.auth, ApiKey) or not isinstance(user, AbstractBaseUser) or not user.is_authenticated:
            return None
        return str(user.pk)


# Failed sign-ins: counted per account and per address in a fixed window; reaching the limit pauses
# sign-in there for a while, the right password included. Cache keys start with "throttle:" like the
# request counters, so tests start without any.


def _sign_in_key(kind: str, scope: str, ident: str) -> str:
    return f"throttle:sign_in_{kind}:{scope}:{hashlib.sha256(ident.encode()).hexdigest()}"


def _sign_in_idents(*, account: str | None, address: str | None) -> list[tuple[str, str, int]]:
    """(scope, identity, limit) for what a sign-in attempt is counted against."""
    idents = []
    if account:
        idents.append(("account", account.strip().lower(), settings.ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT))
    if address:
        idents.append(("address", address, settings.ATELIER_SIGN_IN_FAILURES_PER_ADDRESS))
    return idents


def sign_in_paused_for(*, account: str | None, address: str | None) -> int:
    """Seconds until sign-in may be tried again for this account and address; 0 when it may now."""
    now = time.time()
    ends = [cache.get(_sign_in_key("paused", scope, ident)) for scope, ident, _ in _sign_in_idents(
        account=account, address=address)]  # fmt: skip
    return max((math.ceil(end - now) for end in ends if end and end > now), default=0)


def sign_in_failed(*, account: str | None, address: str | None) -> list[str]:
    """Count one failure; answers the scopes ("account", "address") this failure paused."""
    paused = []
    pause = settings.ATELIER_SIGN_IN_PAUSE_SECONDS
    for scope, ident, limit in _sign_in_idents(account=account, address=address):
        key = _sign_in_key("failures", scope, ident)
        cache.add(key, 0, timeout=settings.ATELIER_SIGN_IN_FAILURE_WINDOW_SECONDS)
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr: this failure starts a new window
            cache.add(key, 1, timeout=settings.ATELIER_SIGN_IN_FAILURE_WINDOW_SECONDS)
            failures = 1
        if failures >= limit:
            cache.set(_sign_in_key("paused", scope, ident), time.time() + pause, timeout=pause)
            cache.delete(key)  # after the pause, a fresh count
            paused.append(scope)
    return paused


def sign_in_succeeded(*, account: str | None) -> None:
    """The account's failures are forgotten (not the address's: one good account must not wash
    an address's guesses at others)."""
    for scope, ident, _ in _sign_in_idents(account=account, address=None):
        cache.delete(_sign_in_key("failures", scope, ident))


def client_address(request) -> str | None:
    """The caller's address: REMOTE_ADDR, or with ATELIER_TRUSTED_PROXY_COUNT proxies in front, the
    address the outermost of them saw (X-Forwarded-For entries before theirs could be anything)."""
    proxies = settings.ATELIER_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:64]
    return request.META.get("REMOTE_ADDR") or None
