"""The catalog: seeded from the specs, shaped per tenant, and the one validation entry point."""

import datetime

import pytest
from django.utils import timezone

from config.errors import ApplicationError
from generation.bedrock.specs import SPECS
from generation.catalog import model_list_for_tenant, request_validate
from generation.models import BedrockModel, TenantModelAccess
from tenants.models import Role

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"
TITAN_V2 = "amazon.titan-image-generator-v2:0"


def test_every_reference_model_is_seeded_with_the_specs_facts():
    rows = {row.model_id: row for row in BedrockModel.objects.all()}

    assert set(rows) == set(SPECS)
    for model_id, spec in SPECS.items():
        assert rows[model_id].spec() == spec
        assert rows[model_id].lifecycle() == "active"
        assert rows[model_id].invoked_id == model_id


def test_a_valid_request_comes_back_typed_with_the_model(tenant_a):
    validated = request_validate(tenant=tenant_a, model_id=NOVA, raw={"prompt": "a red chair", "size": "512x512"})

    assert validated.model.model_id == NOVA
    assert validated.request.output_size == (512, 512)
    assert validated.warnings == ()


def test_bad_fields_are_a_400_naming_each_field(tenant_a):
    with pytest.raises(ApplicationError) as raised:
        request_validate(tenant=tenant_a, model_id=NOVA, raw={"prompt": "", "n": 9, "size": "100x100"})

    assert raised.value.status_code == 400
    assert set(raised.value.fields) == {"prompt", "n", "size"}


def test_operators_narrow_a_limit_in_the_catalog_and_validation_follows(tenant_a):
    BedrockModel.objects.filter(model_id=NOVA).update(prompt_max_chars=20)

    with pytest.raises(ApplicationError) as raised:
        request_validate(tenant=tenant_a, model_id=NOVA, raw={"prompt": "x" * 21, "size": "512x512"})

    assert "1–20 characters" in raised.value.fields["prompt"][0]


def test_a_model_past_end_of_life_is_refused_with_its_successor_named(tenant_a):
    today = timezone.localdate()
    BedrockModel.objects.filter(model_id=TITAN_V2).update(
        legacy_since=today - datetime.timedelta(days=90),
        end_of_life_on=today,
        successor=BedrockModel.objects.get(model_id=NOVA),
    )

    with pytest.raises(ApplicationError) as raised:
        request_validate(tenant=tenant_a, model_id=TITAN_V2, raw={"prompt": "x"})

    assert "end of life" in raised.value.fields["model"][0]
    assert NOVA in raised.value.fields["model"][0]
    assert TITAN_V2 not in {m.model_id for m in model_list_for_tenant(tenant=tenant_a)}


def test_a_legacy_model_still_works_with_a_warning(tenant_a):
    today = timezone.localdate()
    BedrockModel.objects.filter(model_id=TITAN_V2).update(
        legacy_since=today - datetime.timedelta(days=1),
        end_of_life_on=today + datetime.timedelta(days=60),
        successor=BedrockModel.objects.get(model_id=NOVA),
    )

    validated = request_validate(tenant=tenant_a, model_id=TITAN_V2, raw={"prompt": "a no-frills logo"})

    assert validated.warnings[0].startswith(f"{TITAN_V2} is legacy")
    assert NOVA in validated.warnings[0]
    assert "negative_prompt" in validated.warnings[1]  # "no" in the prompt


def test_disabled_and_unknown_models_are_refused_on_the_model_field(tenant_a):
    BedrockModel.objects.filter(model_id=NOVA).update(enabled=False)

    for model_id in (NOVA, "amazon.nothing-v9"):
        with pytest.raises(ApplicationError) as raised:
            request_validate(tenant=tenant_a, model_id=model_id, raw={"prompt": "x"})
        assert list(raised.value.fields) == ["model"]


def test_platform_staff_restrict_a_tenant_to_some_models(tenant_a, tenant_b):
    TenantModelAccess.objects.create(tenant=tenant_a, model=BedrockModel.objects.get(model_id=NOVA))

    assert [m.model_id for m in model_list_for_tenant(tenant=tenant_a)] == [NOVA]
    assert len(model_list_for_tenant(tenant=tenant_b)) == len(SPECS)
    with pytest.raises(ApplicationError):
        request_validate(tenant=tenant_a, model_id=TITAN_V2, raw={"prompt": "x"})


def test_the_models_api_lists_what_the_tenant_may_use(tenant_a, member, client_as):
    TenantModelAccess.objects.create(tenant=tenant_a, model=BedrockModel.objects.get(model_id=NOVA))
    client = client_as(member(tenant_a, Role.VIEWER))

    listed = client.get("/api/v1/tenants/acme/models/")
    detail = client.get(f"/api/v1/tenants/acme/models/{NOVA}/")
    refused = client.get(f"/api/v1/tenants/acme/models/{TITAN_V2}/")

    assert [m["id"] for m in listed.json()] == [NOVA]
    assert detail.status_code == 200
    assert detail.json()["size_rule"]["max_pixels"] == 4_194_304
    assert "PHOTOREALISM" in detail.json()["styles"]
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["model"]
