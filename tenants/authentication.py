"""`Authorization: Bearer atl_…` for the REST and OpenAI-compatible APIs."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from .models import ApiKey
from .selectors import api_key_find_usable
from .services import api_key_mark_used


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
