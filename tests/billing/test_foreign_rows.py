"""Money is never booked against another tenant's project or API key: the billing services refuse
it themselves, so no surface (API, studio, admin, a command) can get it wrong."""

from decimal import Decimal

import pytest

from billing.models import Budget, LedgerEntry
from billing.services import budget_set_monthly, ledger_adjust
from config.errors import ApplicationError

from ..factories import make_api_key, make_project


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["project", "api_key"])
def test_a_budget_cannot_name_another_tenants_project_or_key(tenant_a, tenant_b, field):
    foreign = make_project(tenant_b) if field == "project" else make_api_key(tenant_b)[0]
    budgets_before = Budget.objects.count()

    with pytest.raises(ApplicationError) as refused:
        budget_set_monthly(tenant=tenant_a, amount_usd=Decimal("5"), actor=None, **{field: foreign})

    assert refused.value.fields == {field: [f"No such {field.replace('_', ' ')}."]}
    assert Budget.objects.count() == budgets_before


@pytest.mark.django_db
def test_a_credit_cannot_name_another_tenants_project(tenant_a, tenant_b):
    with pytest.raises(ApplicationError) as refused:
        ledger_adjust(tenant=tenant_a, amount_usd=Decimal("-10"), reason="goodwill", actor=None,
                      project=make_project(tenant_b))  # fmt: skip

    assert "project" in refused.value.fields
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUST).exists()


@pytest.mark.django_db
def test_the_tenants_own_project_takes_a_budget_and_a_credit(tenant_a):
    project = make_project(tenant_a)

    budget = budget_set_monthly(tenant=tenant_a, amount_usd=Decimal("5"), actor=None, project=project)
    entry = ledger_adjust(tenant=tenant_a, amount_usd=Decimal("-1"), reason="goodwill", actor=None, project=project)

    assert budget.project == project and entry.project == project
