"""Fixtures the OpenAI-compatible API's test files share."""

import pytest

from tenants.models import Role


@pytest.fixture
def no_worker(settings, tmp_path):
    """Without a worker nothing runs the job (and with the test's rolled-back transaction nothing is
    even enqueued): a request waits its short while and answers 504, leaving the job to inspect."""
    settings.ATELIER_OPENAI_WAIT_SECONDS = 0.1
    settings.MEDIA_ROOT = tmp_path
    return settings


@pytest.fixture
def creator(tenant_a, api_key, client_as):
    """A creator's API key (a file may define its own `creator`: test_prompt_and_seed_jobs uses a member)."""
    return client_as(key=api_key(tenant_a, Role.CREATOR))
