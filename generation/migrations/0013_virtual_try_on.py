"""Nova Canvas virtual try-on: the job's returned mask (its own asset), and the task on Nova's catalog row
where 0002 seeded the row before the task existed (a fresh database has it from 0002, which seeds the specs)."""

import django.db.models.deletion
from django.db import migrations, models

NOVA_CANVAS, TRY_ON = "amazon.nova-canvas-v1:0", "VIRTUAL_TRY_ON"


def add_task(apps, schema_editor):
    row = apps.get_model("generation", "BedrockModel").objects.filter(model_id=NOVA_CANVAS).first()
    if row is not None and TRY_ON not in row.task_types:
        row.task_types = [*row.task_types, TRY_ON]
        row.save(update_fields=["task_types"])


def remove_task(apps, schema_editor):
    row = apps.get_model("generation", "BedrockModel").objects.filter(model_id=NOVA_CANVAS).first()
    if row is not None and TRY_ON in row.task_types:
        row.task_types = [task for task in row.task_types if task != TRY_ON]
        row.save(update_fields=["task_types"])


class Migration(migrations.Migration):

    dependencies = [
        ('assets', '0005_asset_kind_mask'),
        ('generation', '0012_sd35_webp_output'),
    ]

    operations = [
        migrations.AddField(
            model_name='generationjob',
            name='mask_asset',
            field=models.ForeignKey(blank=True, help_text='Virtual try-on with return_mask: the mask Bedrock returned (black = changed), stored free.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='mask_of', to='assets.asset'),
        ),
        migrations.AlterField(
            model_name='generationjob',
            name='task_type',
            field=models.CharField(choices=[('TEXT_IMAGE', 'TEXT_IMAGE'), ('COLOR_GUIDED_GENERATION', 'COLOR_GUIDED_GENERATION'), ('IMAGE_VARIATION', 'IMAGE_VARIATION'), ('INPAINTING', 'INPAINTING'), ('OUTPAINTING', 'OUTPAINTING'), ('BACKGROUND_REMOVAL', 'BACKGROUND_REMOVAL'), ('IMAGE_TO_IMAGE', 'IMAGE_TO_IMAGE'), ('UPSCALE', 'UPSCALE'), ('SEARCH_REPLACE', 'SEARCH_REPLACE'), ('SEARCH_RECOLOR', 'SEARCH_RECOLOR'), ('ERASE_OBJECT', 'ERASE_OBJECT'), ('CONTROL_SKETCH', 'CONTROL_SKETCH'), ('CONTROL_STRUCTURE', 'CONTROL_STRUCTURE'), ('STYLE_GUIDE', 'STYLE_GUIDE'), ('STYLE_TRANSFER', 'STYLE_TRANSFER'), ('VIRTUAL_TRY_ON', 'VIRTUAL_TRY_ON')], max_length=32),
        ),
        migrations.RunPython(add_task, remove_task),
    ]
