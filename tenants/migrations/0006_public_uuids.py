"""Members, API keys and webhooks get the UUID the API and the studio name them by; their integer
pks stay internal (every foreign key keeps pointing at them). Django's recipe for a unique field on
rows that exist: add it nullable, give each row its own value, then make it unique and required (a
unique default added in one step would give every existing row the same value)."""

import uuid

from django.db import migrations, models

MODELS = ["membership", "apikey", "webhookendpoint"]


def give_each_row_a_uuid(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("tenants", name)
        rows = list(model.objects.filter(uuid__isnull=True).only("pk"))
        for row in rows:
            row.uuid = uuid.uuid4()
        model.objects.bulk_update(rows, ["uuid"], batch_size=1000)


def public_uuid():
    return models.UUIDField(default=uuid.uuid4, editable=False, unique=True, help_text="The id the API shows.")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_api_key_default_project")]

    operations = [
        *(
            migrations.AddField(model_name=name, name="uuid", field=models.UUIDField(editable=False, null=True))
            for name in MODELS
        ),
        migrations.RunPython(give_each_row_a_uuid, migrations.RunPython.noop),
        *(migrations.AlterField(model_name=name, name="uuid", field=public_uuid()) for name in MODELS),
    ]
