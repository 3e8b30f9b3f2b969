"""`Authorization: Bearer atl_…` for the REST and OpenAI-compatible APIs, and the one password
backend behind every sign-in door, which pauses password guessing."""

import logging
import math

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework import authentication, exceptions

from config.throttling import client_address, sign_in_failed, sign_in_paused_for, sign_in_succeeded

from .models import ApiKey
from .selectors import api_key_find_usable
from .services import api_key_mark_used, sign_in_pause_record

logger = logging.getLogger(__name__)


class ApiKeyUser(AnonymousUser):
    """request.user for a call made with an API key: authenticated, but no person. The key itself
    is request.auth."""

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"API key {self.api_key}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None  # another scheme: leave it to the other authenticators
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <API key>'.")
        api_key = api_key_find_usable(secret=parts[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        api_key_mark_used(api_key=api_key)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class ThrottledModelBackend(ModelBackend):
    """Django's username and password check, behind a pause on guessing: after
    ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT failures for one account, or ATELIER_SIGN_IN_FAILURES_PER_ADDRESS
    from one address, within ATELIER_SIGN_IN_FAILURE_WINDOW_SECONDS, every attempt there is refused for
    ATELIER_SIGN_IN_PAUSE_SECONDS, the right password too. The studio's, the admin's and the browsable
    API's sign-in forms all authenticate through here.

    A paused attempt raises ValidationError, which Django's authenticate() lets through to the sign-in
    form: it shows the message, and config.middleware.SignInPausedMiddleware makes the answer a 429
    with Retry-After. Called outside a request (no form to tell), it is a plain refusal."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        account = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        address = client_address(request) if request is not None else None
        paused_for = sign_in_paused_for(account=account, address=address)
        if paused_for:
            self._refuse(request, paused_for)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            sign_in_succeeded(account=account)
            return user
        paused = sign_in_failed(account=account, address=address)
        if paused:
            self._record_pause(account=account, address=address, scopes=paused)
            self._refuse(request, settings.ATELIER_SIGN_IN_PAUSE_SECONDS)
        return None

    @staticmethod
    def _refuse(request, seconds: int):
        if request is None:
            raise PermissionDenied
        request.sign_in_paused_seconds = seconds
        minutes = max(1, math.ceil(seconds / 60))
        raise ValidationError(
            f"Sign-in is paused after too many failed attempts. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            code="sign_in_paused",
        )

    @staticmethod
    def _record_pause(*, account: str | None, address: str | None, scopes: list[str]) -> None:
        logger.warning("Sign-in paused for %s (account %r, address %s).", " and ".join(scopes), account, address)
        user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: account}).first()
        if user is None:
            return  # no such account: no tenant's log to write in; the warning above is the record
        for scope in scopes:
            sign_in_pause_record(user=user, scope=scope, address=address)
