from decimal import Decimal
from unittest import mock

import pytest

from billing.models import Budget
from generation.services import job_submit
from tenants.models import AuditEvent, Role

from ..factories import make_project

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"


def test_everyone_reads_the_budgets_with_the_months_figures(tenant_a, member, client_as):
    with mock.patch("generation.services._enqueue_on_commit"):
        job_submit(tenant=tenant_a, actor=None, model_id=NOVA, raw={"prompt": "x", "width": 512, "height": 512})

    response = client_as(member(tenant_a, Role.VIEWER)).get("/api/v1/tenants/acme/budgets/")

    assert response.status_code == 200
    [budget] = response.json()
    assert (budget["scope"], budget["amount"]) == ("tenant", "1000.000000")
    assert budget["month"]["spent"] == "0.000000"
    assert budget["month"]["reserved"] == "0.040000"
    assert budget["month"]["remaining"] == "999.960000"


def test_admins_set_project_budgets_and_key_caps(tenant_a, admin_a, api_key, client_as):
    client = client_as(admin_a)
    spring = make_project(tenant_a)
    api_key(tenant_a)
    key = tenant_a.api_keys.get()

    by_project = client.post("/api/v1/tenants/acme/budgets/", {"amount": "25.5", "project": str(spring.pk)},
                             format="json")  # fmt: skip
    by_key = client.post("/api/v1/tenants/acme/budgets/", {"amount": "3", "api_key": str(key.uuid),
                                                            "alert_thresholds": [75, 100]}, format="json")  # fmt: skip
    changed = client.patch(f"/api/v1/tenants/acme/budgets/{by_project.json()['id']}/", {"amount": "30"}, format="json")

    assert (by_project.status_code, by_key.status_code, changed.status_code) == (201, 201, 200)
    assert Budget.objects.get(project=spring).amount_usd == Decimal("30")
    assert Budget.objects.get(api_key=key).alert_thresholds == [75, 100]
    assert AuditEvent.objects.filter(verb__in=["budget.set", "budget.changed"], actor_user=admin_a).count() == 4
    assert client.delete(f"/api/v1/tenants/acme/budgets/{by_key.json()['id']}/").status_code == 204
    assert not Budget.objects.filter(api_key=key).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": "1.0000001"}, "amount"),
        ({"amount": "5"}, "non_field_errors"),  # the tenant budget exists already
        ({"amount": "5", "project": "00000000-0000-0000-0000-000000000000"}, "project"),
        ({"amount": "5", "alert_thresholds": [0]}, "alert_thresholds.0"),
    ],
)
def test_bad_budget_input_names_the_field(tenant_a, admin_a, client_as, body, field):
    response = client_as(admin_a).post("/api/v1/tenants/acme/budgets/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Budget.objects.filter(tenant=tenant_a).count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER])
def test_only_admins_change_budgets(tenant_a, member, client_as, role):
    client = client_as(member(tenant_a, role))
    budget = Budget.objects.get(tenant=tenant_a)
    url = f"/api/v1/tenants/acme/budgets/{budget.uuid}/"

    assert client.patch(url, {"amount": "1e9"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    budget.refresh_from_db()
    assert budget.amount_usd == Decimal("1000")
