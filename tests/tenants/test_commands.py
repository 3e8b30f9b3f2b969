from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from assets.models import Project
from billing.models import Budget
from generation.models import BedrockModel
from tenants.models import ApiKey, Membership, Role, Tenant
from tenants.selectors import api_key_find_usable

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def printed_key(output: str) -> str:
    return next(line.removeprefix("API key: ") for line in output.splitlines() if line.startswith("API key: "))


def test_create_tenant_with_budget_admin_and_key(client_as):
    output = run("create_tenant", "initech", "--name", "Initech", "--budget", "125.50",
                 "--admin-email", "Bill@Initech.test", "--api-key", "--role", "approver")  # fmt: skip

    tenant = Tenant.objects.get(slug="initech")
    assert tenant.name == "Initech"
    assert Budget.objects.get(tenant=tenant).amount_usd == Decimal("125.500000")
    password = next(line.rsplit(": ", 1)[1] for line in output.splitlines() if "password" in line)
    admin = get_user_model().objects.get(email="bill@initech.test")
    assert admin.check_password(password)
    assert Membership.objects.get(tenant=tenant, user=admin).role == Role.ADMIN
    key = api_key_find_usable(secret=printed_key(output))
    assert key.tenant == tenant and key.role == Role.APPROVER
    assert client_as(key=printed_key(output)).get("/api/v1/tenants/initech/").status_code == 200


def test_create_tenant_twice_updates_instead_of_duplicating():
    run("create_tenant", "initech", "--name", "Initech", "--admin-email", "bill@initech.test")
    output = run("create_tenant", "initech", "--name", "Initech Corp", "--admin-email", "bill@initech.test")

    assert "exists" in output
    assert "password" not in output  # an existing person's password is left alone
    assert Tenant.objects.get(slug="initech").name == "Initech Corp"
    assert Membership.objects.filter(tenant__slug="initech").count() == 1
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "ten"], "--budget"),
        (["--budget", "-5"], "--budget"),
        (["--budget", "1.0000001"], "--budget"),
        (["--timezone", "Nowhere/City"], "timezone"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_created(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_tenant", "initech", "--name", "Initech", *args)

    assert not Tenant.objects.filter(slug="initech").exists()


def test_a_bad_slug_is_refused():
    with pytest.raises(CommandError, match="slug"):
        run("create_tenant", "Not A Slug", "--name", "X")
    assert not Tenant.objects.exists()


def test_create_demo_is_idempotent_and_prints_working_credentials(tmp_path, settings, client_as):
    settings.VAR_DIR = tmp_path

    first = run("create_demo")
    second = run("create_demo")

    assert printed_key(first) == printed_key(second)
    assert Tenant.objects.filter(slug="demo").count() == 1
    assert ApiKey.objects.filter(tenant__slug="demo").count() == 1
    assert Budget.objects.get(tenant__slug="demo").amount_usd == Decimal("100")
    response = client_as(key=printed_key(second)).get("/api/v1/tenants/demo/members/")
    assert [m["email"] for m in response.json()] == ["admin@demo.local"]
    password = second.split("admin@demo.local / ")[1].split()[0]
    assert get_user_model().objects.get(email="admin@demo.local").check_password(password)


def test_create_demo_starts_the_demo_on_an_active_model(tmp_path, settings, client_as):
    settings.VAR_DIR = tmp_path

    output = run("create_demo")

    project = Project.objects.get(tenant__slug="demo", is_default=True)
    assert project.default_model.model_id == "stability.stable-image-core-v1:0"
    assert project.default_model.lifecycle() == BedrockModel.Lifecycle.ACTIVE
    demo = client_as(key=printed_key(output))
    body = {"model": project.default_model.model_id, "prompt": "a kite", "aspect_ratio": "1:1"}
    assert demo.post("/api/v1/tenants/demo/estimate/", body, format="json").status_code == 200
