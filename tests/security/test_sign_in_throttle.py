"""Password guessing is paused at every sign-in door — the studio's /accounts/login/, the Django
admin's /admin/login/ and the browsable API's /api-auth/login/. After too many failures for one
account (from any addresses) or from one address (for any accounts) within the window, sign-in is
refused, even with the right password, with a 429 that says so and for how long; success resets the
account's count, and the pause ends by itself. The pause is written to the audit log of the
account's tenants."""

import pytest
from django.test import Client

from tenants.models import AuditEvent, Role

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
DOORS = ["/accounts/login/", "/admin/login/", "/api-auth/login/"]


@pytest.fixture
def person(tenant_a, tenant_b, member):
    """A staff admin of Acme who is also a viewer of Globex (staff: the admin's door lets them in too)."""
    from tenants.models import Membership

    user = member(tenant_a, Role.ADMIN, email="pat@acme.test")
    user.is_staff = True
    user.save()
    Membership.objects.create(user=user, tenant=tenant_b, role=Role.VIEWER)
    return user


def sign_in(door: str, username: str, password: str, address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).post(door, {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


@pytest.mark.parametrize("door", DOORS)
def test_forty_wrong_passwords_for_one_account_then_the_right_one_is_refused(door, person):
    for attempt in range(40):  # from forty addresses: an address limit alone would not stop this
        assert not signed_in(sign_in(door, person.username, f"guess {attempt}", address=f"198.51.100.{attempt}"))

    refused = sign_in(door, person.username, PASSWORD, address="192.0.2.99")

    assert refused.status_code == 429 and not signed_in(refused)
    assert int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "Sign-in is paused" in page and "minutes" in page


@pytest.mark.parametrize("door", DOORS)
def test_forty_wrong_passwords_from_one_address_then_the_right_one_is_refused(door, person):
    for attempt in range(40):  # a different account each time: an account limit alone would not stop this
        assert not signed_in(sign_in(door, f"someone{attempt}@acme.test", "guess"))

    refused = sign_in(door, person.username, PASSWORD)

    assert refused.status_code == 429 and not signed_in(refused)
    assert "Sign-in is paused" in refused.content.decode()
    assert signed_in(sign_in(door, person.username, PASSWORD, address="192.0.2.50"))  # another address is not paused


def test_a_pause_at_one_door_holds_at_the_others(person):
    for attempt in range(40):
        sign_in("/accounts/login/", person.username, f"guess {attempt}", address=f"198.51.100.{attempt}")

    for door in DOORS:
        assert sign_in(door, person.username, PASSWORD, address="192.0.2.99").status_code == 429


def test_a_few_failures_then_the_right_password_signs_in_and_starts_the_count_again(person, settings):
    limit = settings.ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT
    for attempt in range(limit - 1):
        sign_in("/accounts/login/", person.username, f"guess {attempt}", address=f"198.51.100.{attempt}")

    assert signed_in(sign_in("/accounts/login/", person.username, PASSWORD, address="192.0.2.1"))

    for attempt in range(limit - 1):  # the count started again: as many failures again do not pause
        sign_in("/accounts/login/", person.username, f"again {attempt}", address=f"198.51.100.{attempt}")
    assert signed_in(sign_in("/accounts/login/", person.username, PASSWORD, address="192.0.2.1"))


def test_the_pause_ends_by_itself(person, settings):
    settings.ATELIER_SIGN_IN_PAUSE_SECONDS = 1
    for attempt in range(settings.ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT):
        sign_in("/accounts/login/", person.username, f"guess {attempt}", address=f"198.51.100.{attempt}")
    assert sign_in("/accounts/login/", person.username, PASSWORD).status_code == 429

    import time

    time.sleep(1.1)

    assert signed_in(sign_in("/accounts/login/", person.username, PASSWORD))


def test_the_pause_is_in_the_audit_log_of_each_of_the_accounts_tenants(person, tenant_a, tenant_b, settings):
    for attempt in range(40):
        sign_in("/admin/login/", person.username, f"guess {attempt}", address=f"198.51.100.{attempt}")

    for tenant in (tenant_a, tenant_b):
        event = AuditEvent.objects.get(tenant=tenant, verb="auth.sign_in_paused")
        assert (event.target_type, event.target_id) == ("auth.user", str(person.pk))
        assert event.actor_user is None and event.actor_api_key is None
        assert event.data == {
            "email": "pat@acme.test", "scope": "account", "failures": settings.ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT,
            "paused_seconds": settings.ATELIER_SIGN_IN_PAUSE_SECONDS,
            "address": f"198.51.100.{settings.ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT - 1}",
        }  # fmt: skip


def test_an_address_pause_is_audited_for_the_account_it_stopped(person, tenant_a, settings):
    for attempt in range(settings.ATELIER_SIGN_IN_FAILURES_PER_ADDRESS - 1):
        sign_in("/accounts/login/", f"someone{attempt}@acme.test", "guess")
    sign_in("/accounts/login/", person.username, "guess")

    event = AuditEvent.objects.get(tenant=tenant_a, verb="auth.sign_in_paused")
    assert event.data["scope"] == "address" and event.data["address"] == "203.0.113.7"


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(person, settings):
    settings.ATELIER_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for attempt in range(40):  # every request comes from the proxy, each for a client of its own
        Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"spoofed, 198.51.100.{attempt}").post(
            "/accounts/login/", {"username": f"someone{attempt}@acme.test", "password": "guess"}
        )

    answer = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.44").post(
        "/accounts/login/", {"username": person.username, "password": PASSWORD}
    )

    assert answer.status_code == 302  # one client's guesses do not pause everyone behind the proxy
