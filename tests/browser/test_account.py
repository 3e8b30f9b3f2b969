"""Signing in, the menu by role, and changing a password, in a real browser."""

import pytest

from tenants.models import Role

from .conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_sign_in_change_password_sign_out_and_back_in(browser_page, person, tenant_a, screenshot):
    user = person(Role.CREATOR, "cleo@acme.test")
    page = browser_page()

    page.goto(f"/t/{tenant_a.slug}/")
    assert "/accounts/login/" in page.url  # signed out: sent to sign in first
    screenshot(page, "sign-in")
    sign_in(page, user)
    assert page.locator("h1").first.inner_text()
    assert page.locator("nav.mainnav >> text=Compose").count() == 1
    assert page.locator("nav.mainnav >> text=Settings").count() == 0
    screenshot(page, "home")

    page.goto("/accounts/password/")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "another long passphrase 7")
    page.fill("#id_new_password2", "another long passphrase 7")
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password/done/")
    user.refresh_from_db()
    assert user.check_password("another long passphrase 7")

    page.goto(f"/t/{tenant_a.slug}/")
    page.click("details.usermenu summary")
    page.click("text=Sign out")
    page.wait_for_url("**/accounts/login/")
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    assert page.locator(".errors").inner_text()  # the old password no longer works
