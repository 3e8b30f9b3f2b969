"""Fixtures for the studio's view tests: a browser-like client signed in with a role."""

import pytest
from django.test import Client

from tenants.models import Role


@pytest.fixture
def browser_as():
    """browser_as(user) → a Django test client with that person signed in (sessions, CSRF as a browser)."""

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def signed_in(tenant_a, member, browser_as):
    """signed_in(role) → (client, user): a member of tenant A with that role, signed in."""

    def make(role=Role.CREATOR, **user_fields):
        user = member(tenant_a, role, **user_fields)
        return browser_as(user), user

    return make
