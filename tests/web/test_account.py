"""Sign-in, sign-out, password change, the landing page, the tenant switcher, roles and CSRF."""

import pytest
from django.test import Client

from tenants.models import Role

pytestmark = pytest.mark.django_db


def test_signing_in_lands_on_my_tenants_home(tenant_a, member):
    user = member(tenant_a, Role.CREATOR, email="cy@acme.test")
    user.set_password("correct horse battery")
    user.save()
    client = Client()

    response = client.post("/accounts/login/", {"username": user.username, "password": "correct horse battery"})

    assert response.status_code == 302 and response["Location"] == "/"
    landing = client.get("/")
    assert landing.status_code == 302 and landing["Location"] == f"/t/{tenant_a.slug}/"
    home = client.get(landing["Location"])
    assert home.status_code == 200
    assert b"Acme" in home.content


def test_a_wrong_password_says_so_and_signs_nobody_in(tenant_a, member):
    user = member(tenant_a, Role.CREATOR)
    user.set_password("correct horse battery")
    user.save()
    client = Client()

    response = client.post("/accounts/login/", {"username": user.username, "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct" in response.content
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302


def test_sign_out_needs_a_post_and_ends_the_session(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)

    assert client.post("/accounts/logout/").status_code == 302
    assert client.get(f"/t/{tenant_a.slug}/")["Location"].startswith("/accounts/login/")


def test_password_change_checks_the_old_one_and_keeps_me_signed_in(signed_in, tenant_a):
    client, user = signed_in(Role.VIEWER)
    user.set_password("old secret phrase")
    user.save()
    client.force_login(user)

    wrong = client.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password1": "a new long phrase 9", "new_password2": "a new long phrase 9"},
    )
    assert wrong.status_code == 200 and b"Your old password was entered incorrectly" in wrong.content

    response = client.post(
        "/accounts/password/",
        {
            "old_password": "old secret phrase",
            "new_password1": "a new long phrase 9",
            "new_password2": "a new long phrase 9",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a new long phrase 9")
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200


def test_someone_in_no_tenant_is_told_so(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="lonely", email="lonely@x.test"))

    response = client.get("/")

    assert response.status_code == 200
    assert b"not in a tenant yet" in response.content


def test_the_tenant_switcher_lists_only_my_tenants(tenant_a, tenant_b, member, browser_as):
    from ..factories import MembershipFactory, TenantFactory

    user = member(tenant_a, Role.CREATOR)
    MembershipFactory(tenant=tenant_b, user=user, role=Role.VIEWER)
    TenantFactory(slug="initech", name="Initech")

    page = browser_as(user).get(f"/t/{tenant_a.slug}/").content.decode()

    assert 'id="tenant-switcher"' in page
    assert f'value="/t/{tenant_b.slug}/"' in page and "Globex" in page
    assert "Initech" not in page


@pytest.mark.parametrize(
    ("role", "menu"),
    [
        (Role.VIEWER, {"Gallery", "Costs"}),
        (Role.CREATOR, {"Compose"}),
        (Role.APPROVER, {"Compose", "Review"}),
        (Role.ADMIN, {"Compose", "Review", "Settings"}),
    ],
)
def test_the_menu_offers_what_my_role_may_do(role, menu, signed_in, tenant_a):
    client, _ = signed_in(role)

    page = client.get(f"/t/{tenant_a.slug}/").content.decode()

    offered = {name for name in ("Compose", "Gallery", "Review", "Costs", "Settings") if f">{name}</a>" in page}
    assert menu <= offered
    hidden = {"Compose": Role.CREATOR, "Review": Role.APPROVER, "Settings": Role.ADMIN}
    for name, minimum in hidden.items():
        assert (name in offered) == Role.at_least(role, minimum)


def test_forms_without_the_csrf_token_are_refused(tenant_a, member):
    user = member(tenant_a, Role.ADMIN)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post("/accounts/logout/").status_code == 403
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200  # still signed in
