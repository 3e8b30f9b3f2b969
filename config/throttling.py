"""Request rates: each API key, and each signed-in person, may make so many requests per period
(ATELIER_API_RATE_PER_KEY, ATELIER_API_RATE_PER_USER). Above it the API answers 429 in the error
envelope with a Retry-After header. Counters live in the default cache (Redis), shared by every
web process."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
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
