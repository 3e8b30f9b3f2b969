"""The price book: tiers at their boundaries, versions by date, negotiated rates."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Price
from billing.pricing import price_quote
from config.errors import ApplicationError
from generation.models import BedrockModel, GenerationJob
from tenants.models import Role

pytestmark = pytest.mark.django_db
TITAN = "amazon.titan-image-generator-v2:0"
NOVA = "amazon.nova-canvas-v1:0"


def unit_price(model_id: str, width: int, height: int, quality: str = "standard", **kwargs) -> Decimal:
    model = BedrockModel.objects.get(model_id=model_id)
    return price_quote(model=model, width=width, height=height, quality=quality, n=1, **kwargs).unit_price


@pytest.mark.parametrize(
    ("model_id", "size", "quality", "expected"),
    [
        (TITAN, (512, 512), "standard", "0.008"),  # ≤ 512×512 px
        (TITAN, (512, 576), "standard", "0.010"),  # more pixels than 512×512
        (TITAN, (512, 512), "premium", "0.010"),
        (TITAN, (1024, 1024), "premium", "0.012"),
        (NOVA, (1024, 1024), "standard", "0.040"),  # both sides ≤ 1024
        (NOVA, (1024, 1040), "standard", "0.060"),  # one side over 1024
        (NOVA, (512, 2048), "standard", "0.060"),  # fewer pixels than 1024², but a side over 1024
        (NOVA, (2048, 2048), "premium", "0.080"),
        ("stability.stable-image-core-v1:1", (1344, 768), "standard", "0.04"),
        ("stability.stable-image-ultra-v1:0", (1024, 1024), "standard", "0.14"),
        ("stability.sd3-5-large-v1:0", (1024, 1024), "standard", "0.08"),
    ],
)
def test_list_prices_by_tier(model_id, size, quality, expected):
    assert unit_price(model_id, *size, quality) == Decimal(expected)


def test_a_new_price_applies_from_its_date_only():
    model = BedrockModel.objects.get(model_id=NOVA)
    change = timezone.now() + datetime.timedelta(days=1)
    Price.objects.create(model=model, tier_rule="max_side", tier_bound=1024, quality="standard",
                         unit_price_usd=Decimal("0.035"), effective_from=change)  # fmt: skip

    assert unit_price(NOVA, 1024, 1024) == Decimal("0.040")
    assert unit_price(NOVA, 1024, 1024, at=change) == Decimal("0.035")
    assert unit_price(NOVA, 1024, 1040, at=change) == Decimal("0.060")  # the other tier is unchanged


def test_a_tenants_negotiated_rate_wins(tenant_a, tenant_b):
    model = BedrockModel.objects.get(model_id=TITAN)
    Price.objects.create(model=model, tier_rule="max_pixels", tier_bound=1408 * 1408, quality="standard",
                         unit_price_usd=Decimal("0.0075"), effective_from=timezone.now(), tenant=tenant_a)  # fmt: skip

    assert unit_price(TITAN, 1024, 1024, tenant=tenant_a) == Decimal("0.0075")
    assert unit_price(TITAN, 1024, 1024, tenant=tenant_b) == Decimal("0.010")


def test_totals_are_exact_decimals():
    model = BedrockModel.objects.get(model_id=TITAN)

    quote = price_quote(model=model, width=512, height=512, quality="standard", n=3)

    assert quote.total == Decimal("0.024000")
    assert quote.as_dict() == {"currency": "USD", "unit_price": "0.008000", "n": 3, "total": "0.024000",
                               "price_id": quote.price.pk, "width": 512, "height": 512}  # fmt: skip


def test_no_price_is_refused_by_name():
    Price.objects.filter(model__model_id=NOVA).delete()

    with pytest.raises(ApplicationError) as raised:
        unit_price(NOVA, 1024, 1024)

    assert raised.value.code == "no_price" and "model" in raised.value.fields


def test_the_estimate_endpoint_quotes_without_creating_anything(tenant_a, member, client_as):
    client = client_as(member(tenant_a, Role.VIEWER))

    response = client.post(
        "/api/v1/tenants/acme/estimate/",
        {"model": TITAN, "prompt": "a lamp", "width": 512, "height": 512, "n": 12},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["currency"], body["unit_price"], body["n"], body["total"]) == ("USD", "0.008000", 12, "0.096000")
    assert GenerationJob.objects.count() == 0
    bad = client.post("/api/v1/tenants/acme/estimate/", {"model": TITAN, "prompt": "x", "width": 1000}, format="json")
    assert bad.status_code == 400 and "width" in bad.json()["error"]["fields"]


def test_a_job_stores_the_price_it_was_quoted(tenant_a, member, client_as):
    response = client_as(member(tenant_a, Role.CREATOR)).post(
        "/api/v1/tenants/acme/jobs/", {"model": NOVA, "prompt": "a lamp", "width": 512, "height": 2048}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["unit_price"] == "0.060000"
    job = GenerationJob.objects.get()
    assert job.unit_price_usd == Decimal("0.06") and job.price.tier_rule == "max_pixels"
