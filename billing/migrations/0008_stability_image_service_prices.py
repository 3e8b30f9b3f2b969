"""List prices for the thirteen Stability AI Image Services, per output image, any size (Bedrock
bills each tool flat per image; the quote still goes by the output size, so a tier can be added as
data). Source: https://aws.amazon.com/bedrock/pricing/ (Stability AI, US regions us-east-1,
us-east-2, us-west-2), as a public table transcribed from that page ("pricing-page per-generation
rates") gives it in 2026: creative upscale $0.60, conservative $0.40, fast $0.03, outpaint $0.06,
style transfer $0.08, the eight other tools $0.07; a second public list agrees on fast upscale and
outpaint. AWS's page renders its figures client-side, so they were not read from it directly: like
REFERENCE.md's seeds they are representative. Confirm them before budgeting, and record a
correction as a new Price row with a later effective_from."""

import datetime
from decimal import Decimal

from django.db import migrations

EFFECTIVE_FROM = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
TOOL_PRICES = {
    "stability.stable-creative-upscale-v1:0": "0.60",
    "stability.stable-conservative-upscale-v1:0": "0.40",
    "stability.stable-fast-upscale-v1:0": "0.03",
    "stability.stable-image-inpaint-v1:0": "0.07",
    "stability.stable-outpaint-v1:0": "0.06",
    "stability.stable-image-search-replace-v1:0": "0.07",
    "stability.stable-image-search-recolor-v1:0": "0.07",
    "stability.stable-image-erase-object-v1:0": "0.07",
    "stability.stable-image-remove-background-v1:0": "0.07",
    "stability.stable-image-control-sketch-v1:0": "0.07",
    "stability.stable-image-control-structure-v1:0": "0.07",
    "stability.stable-image-style-guide-v1:0": "0.07",
    "stability.stable-style-transfer-v1:0": "0.08",
}


def seed(apps, schema_editor):
    BedrockModel = apps.get_model("generation", "BedrockModel")
    Price = apps.get_model("billing", "Price")
    for model in BedrockModel.objects.filter(model_id__in=TOOL_PRICES):
        Price.objects.get_or_create(
            model=model, tier_rule="any", tier_bound=None, quality="standard", tenant=None,
            effective_from=EFFECTIVE_FROM, defaults={"unit_price_usd": Decimal(TOOL_PRICES[model.model_id])},
        )  # fmt: skip


def unseed(apps, schema_editor):
    apps.get_model("billing", "Price").objects.filter(model__model_id__in=TOOL_PRICES, tenant=None).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_budget_uuid"), ("generation", "0010_stability_image_services")]
    operations = [migrations.RunPython(seed, unseed)]
