"""Budgets get the UUID the API, the studio and the budget.threshold_crossed payload name them by;
the integer pk stays internal. Django's recipe for a unique field on rows that exist: nullable,
then one value per row, then unique and required."""

import uuid

from django.db import migrations, models


def give_each_budget_a_uuid(apps, schema_editor):
    Budget = apps.get_model("billing", "Budget")
    budgets = list(Budget.objects.filter(uuid__isnull=True).only("pk"))
    for budget in budgets:
        budget.uuid = uuid.uuid4()
    Budget.objects.bulk_update(budgets, ["uuid"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_budget_running_figures")]

    operations = [
        migrations.AddField(model_name="budget", name="uuid", field=models.UUIDField(editable=False, null=True)),
        migrations.RunPython(give_each_budget_a_uuid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="budget",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, help_text="The id the API shows."),
        ),
    ]
