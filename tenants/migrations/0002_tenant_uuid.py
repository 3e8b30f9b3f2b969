import uuid

from django.db import migrations, models


def give_each_tenant_a_uuid(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    for tenant in Tenant.objects.filter(uuid__isnull=True):
        tenant.uuid = uuid.uuid4()
        tenant.save(update_fields=["uuid"])


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.AddField(model_name="tenant", name="uuid", field=models.UUIDField(editable=False, null=True)),
        migrations.RunPython(give_each_tenant_a_uuid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tenant",
            name="uuid",
            field=models.UUIDField(
                default=uuid.uuid4, editable=False, unique=True, help_text="Names the tenant's storage."
            ),
        ),
    ]
