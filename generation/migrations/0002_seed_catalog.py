"""Every model of REFERENCE.md as a catalog row, with its facts read from specs.py (not copied)."""

from django.db import migrations

from generation.bedrock.specs import SPECS


def seed(apps, schema_editor):
    BedrockModel = apps.get_model("generation", "BedrockModel")
    for spec in SPECS.values():
        BedrockModel.objects.update_or_create(model_id=spec.model_id, defaults=spec.as_row())


def unseed(apps, schema_editor):
    apps.get_model("generation", "BedrockModel").objects.filter(model_id__in=list(SPECS)).delete()


class Migration(migrations.Migration):
    dependencies = [("generation", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
