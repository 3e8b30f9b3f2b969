"""The thirteen Stability AI Image Services as catalog rows (specs.TOOL_SPECS). A fresh database has
them from 0002, which seeds every spec; this adds them where 0002 ran before they existed."""

from django.db import migrations

from generation.bedrock.specs import TOOL_SPECS


def seed(apps, schema_editor):
    BedrockModel = apps.get_model("generation", "BedrockModel")
    for spec in TOOL_SPECS:
        BedrockModel.objects.get_or_create(model_id=spec.model_id, defaults=spec.as_row())


def unseed(apps, schema_editor):
    apps.get_model("generation", "BedrockModel").objects.filter(model_id__in=[s.model_id for s in TOOL_SPECS]).delete()


class Migration(migrations.Migration):
    dependencies = [("generation", "0009_catalog_follows_bedrock")]
    operations = [migrations.RunPython(seed, unseed)]
