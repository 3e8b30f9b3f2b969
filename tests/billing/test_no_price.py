"""A model with no price in force cannot be used, never free by default: every surface answers a 400
naming `model` before anything is reserved or written. A later-dated price (Bedrock's extended access
for a Legacy model) takes over on its date, and a job quoted before it keeps its quoted unit price."""

import datetime
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from assets.services import project_get_default
from billing.models import LedgerEntry, Price
from billing.pricing import price_quote
from billing.services import committed_usd, job_settle, period_start_for
from generation import services
from generation.models import BedrockModel, GenerationJob
from tenants.models import Role

pytestmark = pytest.mark.django_db
CORE = "stability.stable-image-core-v1:0"  # $0.04 an image, any size, standard only
NOVA = "amazon.nova-canvas-v1:0"
JOBS, ESTIMATE = "/api/v1/tenants/acme/jobs/", "/api/v1/tenants/acme/estimate/"
COMPOSE = "/t/acme/compose/"


def nothing_written() -> bool:
    return not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


def assert_no_price(response, model_id: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "no_price"
    assert model_id in error["message"] and "no price" in error["message"].lower()
    # The /v1 routes answer in OpenAI's envelope, which names the field as `param`.
    assert (list(error["fields"]) if "fields" in error else [error["param"]]) == ["model"]


def unpriced(model_id: str) -> BedrockModel:
    Price.objects.filter(model__model_id=model_id).delete()
    return BedrockModel.objects.get(model_id=model_id)


@pytest.fixture
def creator_api(tenant_a, member, client_as):
    return client_as(member(tenant_a, Role.CREATOR))


@pytest.fixture
def key_client(tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


CORE_BODY = {"model": CORE, "prompt": "a lamp", "aspect_ratio": "1:1"}


@pytest.mark.parametrize("path", [JOBS, ESTIMATE])
def test_a_catalog_model_with_no_price_row_is_a_400_on_jobs_and_estimates(creator_api, path):
    unpriced(CORE)

    assert_no_price(creator_api.post(path, CORE_BODY, format="json"), CORE)
    assert nothing_written()


def test_an_api_key_gets_the_same_400(key_client):
    unpriced(CORE)

    assert_no_price(key_client.post(JOBS, CORE_BODY, format="json"), CORE)
    assert nothing_written()


def test_a_quality_with_no_row_is_a_400_and_the_priced_one_still_works(creator_api):
    Price.objects.filter(model__model_id=NOVA, quality="premium").delete()
    body = {"model": NOVA, "prompt": "a lamp", "width": 512, "height": 512}

    assert_no_price(creator_api.post(JOBS, body | {"quality": "premium"}, format="json"), NOVA)
    assert nothing_written()
    assert creator_api.post(JOBS, body | {"quality": "standard"}, format="json").status_code == 201


def test_a_size_beyond_every_priced_tier_is_a_400(creator_api):
    Price.objects.filter(model__model_id=NOVA, tier_rule="max_pixels").delete()  # only the ≤1024-a-side tier left

    response = creator_api.post(JOBS, {"model": NOVA, "prompt": "a lamp", "width": 2048, "height": 1024}, format="json")

    assert_no_price(response, NOVA)
    assert nothing_written()


def test_a_price_that_starts_tomorrow_is_not_in_force_today(creator_api):
    model = unpriced(CORE)
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    Price.objects.create(model=model, tier_rule="any", quality="standard", unit_price_usd=Decimal("0.05"),
                         effective_from=tomorrow)  # fmt: skip

    assert_no_price(creator_api.post(JOBS, CORE_BODY, format="json"), CORE)
    assert nothing_written()
    with mock.patch("django.utils.timezone.now", return_value=tomorrow):
        response = creator_api.post(ESTIMATE, CORE_BODY, format="json")
    assert response.status_code == 200 and response.json()["unit_price"] == "0.050000"


def test_another_tenants_negotiated_price_is_not_a_price_for_this_one(tenant_a, tenant_b, member, client_as):
    model = unpriced(CORE)
    Price.objects.create(model=model, tier_rule="any", quality="standard", unit_price_usd=Decimal("0.03"),
                         effective_from=timezone.now(), tenant=tenant_b)  # fmt: skip

    assert_no_price(client_as(member(tenant_a, Role.CREATOR)).post(JOBS, CORE_BODY, format="json"), CORE)
    assert nothing_written()
    other = client_as(member(tenant_b, Role.CREATOR)).post("/api/v1/tenants/globex/estimate/", CORE_BODY, format="json")
    assert other.status_code == 200 and other.json()["unit_price"] == "0.030000"


def test_openai_generations_with_an_unpriced_model_is_a_400_naming_model(key_client):
    unpriced(CORE)

    response = key_client.post("/v1/images/generations", {"model": CORE, "prompt": "a lamp"}, format="json")

    assert_no_price(response, CORE)
    assert nothing_written()


def test_openai_generations_default_model_unpriced_is_a_400_too(key_client, settings):
    settings.ATELIER_OPENAI_DEFAULT_MODEL = CORE
    unpriced(CORE)

    assert_no_price(key_client.post("/v1/images/generations", {"prompt": "a lamp"}, format="json"), CORE)
    assert nothing_written()


# The composer


@pytest.fixture
def studio(tenant_a, member):
    client = Client()
    client.force_login(member(tenant_a, Role.CREATOR))
    return client


def model_card(html: str, model_id: str) -> str:
    start = html.rindex("<label", 0, html.index(f'value="{model_id}"'))
    return html[start : html.index("</label>", start)]


def test_the_composer_shows_an_unpriced_model_as_unavailable_and_never_starts_on_it(studio, settings):
    settings.ATELIER_DEFAULT_MODEL = CORE
    unpriced(CORE)

    html = studio.get(COMPOSE).content.decode()

    card = model_card(html, CORE)
    assert "disabled" in card and "checked" not in card and "no price is in force" in card
    assert re.search(r'value="([^"]+)"[^>]*checked', html).group(1) != CORE
    assert "disabled" not in model_card(html, NOVA)


def test_the_composer_refuses_to_submit_an_unpriced_model_with_nothing_written(studio):
    unpriced(CORE)

    response = studio.post(COMPOSE, {"model": CORE, "task_type": "TEXT_IMAGE", "prompt": "a lamp",
                                     "aspect_ratio": "1:1", "n": "1"})  # fmt: skip

    html = response.content.decode()
    assert response.status_code == 400, response.status_code
    assert f"No price is set for {CORE}" in html
    assert nothing_written()


def test_the_composer_starts_on_the_default_model_an_active_one(studio, settings):
    settings.ATELIER_DEFAULT_MODEL = CORE

    html = studio.get(COMPOSE).content.decode()

    assert re.search(r'value="([^"]+)"[^>]*checked', html).group(1) == CORE
    assert BedrockModel.objects.get(model_id=CORE).lifecycle() == BedrockModel.Lifecycle.ACTIVE


def test_the_composer_starts_on_a_model_that_does_the_task_when_the_default_does_not(studio, settings):
    settings.ATELIER_DEFAULT_MODEL = CORE  # text to image only

    html = studio.get(COMPOSE + "?task_type=INPAINTING").content.decode()

    chosen = re.search(r'value="([^"]+)"[^>]*checked', html).group(1)
    assert chosen != CORE and "INPAINTING" in BedrockModel.objects.get(model_id=chosen).task_types


def test_the_shipped_defaults_are_an_active_priced_catalog_model():
    from config.settings import base

    for model_id in (base.ATELIER_DEFAULT_MODEL, base.ATELIER_OPENAI_DEFAULT_MODEL):
        model = BedrockModel.objects.get(model_id=model_id)
        assert model.enabled and model.lifecycle() == BedrockModel.Lifecycle.ACTIVE
        assert model.family == "stability"  # not Titan G1 v2 (end of life 2026-06-30) nor Nova Canvas (Legacy)
        assert price_quote(model=model, width=1024, height=1024, quality="standard", n=1).unit_price > 0


# Extended access: a later-dated price for the same model


def test_an_extended_access_price_takes_over_on_its_date_and_quoted_jobs_keep_theirs(tenant_a):
    model = BedrockModel.objects.get(model_id=CORE)
    extended_from = timezone.now() + datetime.timedelta(days=30)
    Price.objects.create(model=model, tier_rule="any", quality="standard", unit_price_usd=Decimal("0.07"),
                         effective_from=extended_from)  # fmt: skip
    raw = {"prompt": "a lamp", "aspect_ratio": "1:1", "n": 2, "seed": 7}
    with mock.patch("generation.services._enqueue_on_commit"):
        before = services.job_submit(tenant=tenant_a, actor=None, model_id=CORE, raw=raw).job
        just_before = extended_from - datetime.timedelta(seconds=1)
        with mock.patch("django.utils.timezone.now", return_value=just_before):
            assert services.job_quote(tenant=tenant_a, model_id=CORE, raw=raw).unit_price == Decimal("0.04")
        with mock.patch("django.utils.timezone.now", return_value=extended_from):
            after = services.job_submit(tenant=tenant_a, actor=None, model_id=CORE, raw=raw | {"seed": 8}).job

            before.images_returned = 2
            before.save(update_fields=["images_returned"])
            job_settle(job=before)

    assert (before.unit_price_usd, after.unit_price_usd) == (Decimal("0.04"), Decimal("0.07"))
    charge = LedgerEntry.objects.get(job=before, kind=LedgerEntry.Kind.CHARGE)
    assert charge.amount_usd == Decimal("0.08")  # 2 × the quoted $0.04, not the extended $0.07
    assert LedgerEntry.objects.get(job=after, kind=LedgerEntry.Kind.RESERVE).amount_usd == Decimal("0.14")


def test_an_unpriced_background_removal_cancels_the_generation_it_follows_and_holds_no_money(tenant_a, key_client):
    # Nova priced at premium only: the generation (hd → premium) is priced, its background removal (standard) is not.
    Price.objects.filter(model__model_id=NOVA, quality="standard").delete()
    body = {"model": NOVA, "prompt": "a kite", "size": "512x512", "quality": "hd", "background": "transparent"}

    response = key_client.post("/v1/images/generations", body, format="json")

    assert_no_price(response, NOVA)
    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.CANCELLED
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()
    assert committed_usd(tenant=tenant_a, period_start=period_start_for(tenant_a)) == 0


def test_the_composer_does_not_start_a_task_on_a_project_default_model_that_cannot_do_it(studio, tenant_a):
    project = project_get_default(tenant=tenant_a)
    project.default_model = BedrockModel.objects.get(model_id=CORE)  # as create_demo sets it
    project.save(update_fields=["default_model"])

    text = studio.get(COMPOSE).content.decode()
    inpainting = studio.get(COMPOSE + "?task_type=INPAINTING").content.decode()

    assert re.search(r'value="([^"]+)"[^>]*checked', text).group(1) == CORE
    chosen = re.search(r'value="([^"]+)"[^>]*checked', inpainting).group(1)
    assert "INPAINTING" in BedrockModel.objects.get(model_id=chosen).task_types
