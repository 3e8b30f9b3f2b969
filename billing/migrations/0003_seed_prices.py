"""The representative 2026 list prices of REFERENCE.md. Tier bounds are data: Titan's line is
drawn by pixels at 512×512, Nova's by side length at 1024 (REFERENCE.md explains both)."""

import datetime
from decimal import Decimal

from django.db import migrations

EFFECTIVE_FROM = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
TITAN = ("amazon.titan-image-generator-v1", "amazon.titan-image-generator-v2:0")
# (model ids, tier rule, bound, {quality: USD per image})
LIST_PRICES = [
    (TITAN, "max_pixels", 512 * 512, {"standard": "0.008", "premium": "0.010"}),
    (TITAN, "max_pixels", 1408 * 1408, {"standard": "0.010", "premium": "0.012"}),
    (("amazon.nova-canvas-v1:0",), "max_side", 1024, {"standard": "0.040", "premium": "0.060"}),
    (("amazon.nova-canvas-v1:0",), "max_pixels", 4_194_304, {"standard": "0.060", "premium": "0.080"}),
    (("stability.stable-image-core-v1:0", "stability.stable-image-core-v1:1"), "any", None, {"standard": "0.04"}),
    (("stability.sd3-5-large-v1:0",), "any", None, {"standard": "0.08"}),
    (("stability.stable-image-ultra-v1:0", "stability.stable-image-ultra-v1:1"), "any", None, {"standard": "0.14"}),
]


def seed(apps, schema_editor):
    BedrockModel = apps.get_model("generation", "BedrockModel")
    Price = apps.get_model("billing", "Price")
    for model_ids, rule, bound, by_quality in LIST_PRICES:
        for model in BedrockModel.objects.filter(model_id__in=model_ids):
            for quality, usd in by_quality.items():
                Price.objects.get_or_create(
                    model=model, tier_rule=rule, tier_bound=bound, quality=quality, tenant=None,
                    effective_from=EFFECTIVE_FROM, defaults={"unit_price_usd": Decimal(usd)},
                )  # fmt: skip


def unseed(apps, schema_editor):
    apps.get_model("billing", "Price").objects.filter(effective_from=EFFECTIVE_FROM, tenant=None).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_price"), ("generation", "0002_seed_catalog")]
    operations = [migrations.RunPython(seed, unseed)]
