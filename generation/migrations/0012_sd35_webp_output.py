"""SD3.5 Large answers in WebP too (specs.SD35_OUTPUT_FORMATS, from the AWS user guide). A fresh database has it from
0002, which seeds every spec; this adds webp where 0002 ran before, leaving any other narrowing by an operator."""

from django.db import migrations

SD35 = "stability.sd3-5-large-v1:0"


def add_webp(apps, schema_editor):
    BedrockModel = apps.get_model("generation", "BedrockModel")
    for model in BedrockModel.objects.filter(model_id=SD35):
        if "webp" not in model.output_formats:
            model.output_formats = [*model.output_formats, "webp"]
            model.save(update_fields=["output_formats"])


def remove_webp(apps, schema_editor):
    BedrockModel = apps.get_model("generation", "BedrockModel")
    for model in BedrockModel.objects.filter(model_id=SD35):
        model.output_formats = [name for name in model.output_formats if name != "webp"]
        model.save(update_fields=["output_formats"])


class Migration(migrations.Migration):
    dependencies = [("generation", "0011_bedrock_extended_access")]
    operations = [migrations.RunPython(add_webp, remove_webp)]
