"""Migrations that change rows which exist: run them on real rows in PostgreSQL, from the state before."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE_PUBLIC_UUIDS = [("tenants", "0005_api_key_default_project"), ("billing", "0006_budget_running_figures")]


def migrate(targets=None):
    """Migrate to these targets (default: the latest of every app), and answer the models as they are there."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_members_keys_webhooks_and_budgets_each_get_their_own_uuid():
    old = migrate(BEFORE_PUBLIC_UUIDS)
    try:
        tenant = old.get_model("tenants", "Tenant").objects.create(slug="acme", name="Acme")
        users = [old.get_model("auth", "User").objects.create(username=f"p{n}@acme.test") for n in range(3)]
        for user in users:
            old.get_model("tenants", "Membership").objects.create(tenant=tenant, user=user, role="viewer")
        keys = [
            old.get_model("tenants", "ApiKey").objects.create(tenant=tenant, name=f"k{n}", prefix=f"pfx{n:05}")
            for n in range(3)
        ]
        for n in range(2):
            old.get_model("tenants", "WebhookEndpoint").objects.create(
                tenant=tenant, url=f"https://93.184.215.14/{n}", events=["job.failed"], secret="s" * 32
            )
        budgets = old.get_model("billing", "Budget").objects
        budgets.create(tenant=tenant, amount_usd=10)
        for key in keys:
            budgets.create(tenant=tenant, amount_usd=1, api_key=key)
    finally:
        new = migrate()  # and back to the latest, whatever happens: later tests need the whole schema

    for app, model, count in [("tenants", "Membership", 3), ("tenants", "ApiKey", 3),
                              ("tenants", "WebhookEndpoint", 2), ("billing", "Budget", 4)]:  # fmt: skip
        uuids = list(new.get_model(app, model).objects.values_list("uuid", flat=True))
        assert len(uuids) == count and None not in uuids, model
        assert len(set(uuids)) == count, f"{model}: rows share a uuid"
