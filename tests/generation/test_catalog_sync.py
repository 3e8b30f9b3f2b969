"""The catalog follows Bedrock: catalog_sync reads ListFoundationModels and ListInferenceProfiles from
the emulator over HTTP through boto3's real `bedrock` client; a model switched to Legacy warns
wherever it is chosen, past end of life it is refused naming its successor (nothing reserved),
and a tenant that opted in to automatic successors gets the successor, recorded on the job."""

import datetime
from io import StringIO

import pytest
from botocore.exceptions import ClientError
from django.conf import settings as django_settings
from django.core.management import call_command

from billing.models import LedgerEntry
from generation.lifecycle import catalog_sync, control_client_from_settings
from generation.models import BedrockModel, GenerationJob, TenantAutoSuccessor, UnsupportedBedrockModel
from generation.tasks import run_job
from tenants.models import Role

from ..processes import start_emulator, stop

pytestmark = pytest.mark.django_db
TITAN_V2 = "amazon.titan-image-generator-v2:0"
NOVA = "amazon.nova-canvas-v1:0"
CORE = "stability.stable-image-core-v1:1"
TITAN_V1 = "amazon.titan-image-generator-v1"
UNSUPPORTED = "stability.sd3-large-v1:0"
LEGACY_UNTIL_2099 = "LEGACY:2026-01-15:2099-06-30"
ENDED = "LEGACY:2026-01-15:2026-06-30"  # end of life before today (the suite runs after it)
JOBS = "/api/v1/tenants/acme/jobs/"
JOB_BODY = {"model": TITAN_V2, "prompt": "a lamp", "width": 512, "height": 512, "seed": 7}


@pytest.fixture
def emulator(emulator_here):
    return emulator_here


def row(model_id: str) -> BedrockModel:
    return BedrockModel.objects.get(model_id=model_id)


def retire_titan_for_nova(emulator) -> None:
    """The operator names Nova Canvas as Titan v2's successor; Bedrock then ends Titan v2's life."""
    BedrockModel.objects.filter(model_id=TITAN_V2).update(successor=row(NOVA))
    emulator.lifecycle({TITAN_V2: ENDED})
    catalog_sync()


def test_sync_marks_a_switched_model_legacy_with_bedrocks_dates_and_profiles(emulator):
    emulator.lifecycle({TITAN_V2: LEGACY_UNTIL_2099})

    report = catalog_sync()

    titan = row(TITAN_V2)
    assert (titan.bedrock_status, titan.legacy_since, titan.end_of_life_on) == (
        "LEGACY", datetime.date(2026, 1, 15), datetime.date(2099, 6, 30),
    )  # fmt: skip
    assert titan.lifecycle() == BedrockModel.Lifecycle.LEGACY
    assert titan.inference_types == ["ON_DEMAND", "INFERENCE_PROFILE"]
    assert titan.inference_profiles == {"us-east-1": [f"eu.{TITAN_V2}", f"global.{TITAN_V2}", f"us.{TITAN_V2}"]}
    assert titan.bedrock_seen_at is not None
    assert report.changed[TITAN_V2]["end_of_life_on"] == (None, datetime.date(2099, 6, 30))
    nova = row(NOVA)
    assert (nova.bedrock_status, nova.legacy_since, nova.end_of_life_on) == ("ACTIVE", None, None)


def test_the_sync_is_idempotent(emulator):
    emulator.lifecycle({TITAN_V2: LEGACY_UNTIL_2099})
    catalog_sync()
    before = {model.model_id: model for model in BedrockModel.objects.all()}

    again = catalog_sync()

    assert again.changed == {}
    for model in BedrockModel.objects.all():
        assert (model.bedrock_status, model.legacy_since, model.end_of_life_on, model.inference_profiles) == (
            before[model.model_id].bedrock_status, before[model.model_id].legacy_since,
            before[model.model_id].end_of_life_on, before[model.model_id].inference_profiles,
        )  # fmt: skip
    assert UnsupportedBedrockModel.objects.filter(model_id=UNSUPPORTED).count() == 1


def test_the_command_lists_what_changed_and_the_models_known_to_bedrock_but_not_supported(emulator, tenant_a):
    emulator.lifecycle({TITAN_V2: LEGACY_UNTIL_2099})
    out = StringIO()

    call_command("catalog_sync", stdout=out)

    text = out.getvalue()
    assert f"{TITAN_V2}: bedrock_status '' → 'LEGACY'" in text
    assert "Known to Bedrock, not supported:" in text
    assert f"  {UNSUPPORTED} (Stable Diffusion 3 Large, Stability AI) ACTIVE" in text
    unsupported = UnsupportedBedrockModel.objects.get(model_id=UNSUPPORTED)
    assert unsupported.provider == "Stability AI" and unsupported.last_seen_at is not None
    assert not BedrockModel.objects.filter(model_id=UNSUPPORTED).exists()  # never offered to a tenant


def test_a_legacy_model_warns_in_the_rest_models_list_and_on_the_composers_model_card(
    emulator, tenant_a, member, client_as
):
    from django.test import Client

    emulator.lifecycle({TITAN_V2: LEGACY_UNTIL_2099})
    catalog_sync()
    creator = member(tenant_a, Role.CREATOR)
    expected = f"{TITAN_V2} is legacy since 2026-01-15; it reaches end of life on 2099-06-30."

    models = {model["id"]: model for model in client_as(creator).get("/api/v1/tenants/acme/models/").json()}
    browser = Client()
    browser.force_login(creator)
    page = browser.get("/t/acme/compose/").content.decode()

    assert models[TITAN_V2]["lifecycle"] == "legacy" and models[TITAN_V2]["end_of_life_on"] == "2099-06-30"
    assert models[TITAN_V2]["warnings"] == [expected]
    assert models[NOVA]["warnings"] == []
    assert f'<span class="hint model-warning" role="note">{expected}</span>' in page


def test_after_end_of_life_a_job_naming_the_model_is_a_400_naming_its_successor_and_reserves_nothing(
    emulator, tenant_a, member, client_as
):
    from django.test import Client

    retire_titan_for_nova(emulator)
    creator = member(tenant_a, Role.CREATOR)

    response = client_as(creator).post(JOBS, JOB_BODY, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_model"
    assert error["fields"]["model"] == [f"{TITAN_V2} reached end of life on 2026-06-30. Use {NOVA} instead."]
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()
    listed = [model["id"] for model in client_as(creator).get("/api/v1/tenants/acme/models/").json()]
    assert TITAN_V2 not in listed and NOVA in listed
    browser = Client()
    browser.force_login(creator)
    assert f'value="{TITAN_V2}"' not in browser.get("/t/acme/compose/").content.decode()


def test_the_emulator_refuses_to_invoke_a_model_past_end_of_life(emulator, bedrock_client):
    emulator.lifecycle({TITAN_V2: ENDED})
    body = b'{"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a lamp"}}'

    with pytest.raises(ClientError) as raised:
        bedrock_client.invoke_model(modelId=TITAN_V2, body=body, contentType="application/json")

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "reached the end of its life" in raised.value.response["Error"]["Message"]


def test_a_tenant_opted_in_to_automatic_successors_gets_the_successor_and_the_job_says_so(
    emulator, tenant_a, tenant_b, member, client_as
):
    retire_titan_for_nova(emulator)
    TenantAutoSuccessor.objects.create(tenant=tenant_a)
    creator = member(tenant_a, Role.CREATOR)

    response = client_as(creator).post(JOBS, JOB_BODY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["model"], body["substituted_from"]) == (NOVA, TITAN_V2)
    assert body["warnings"][0] == (
        f"{TITAN_V2} reached end of life on 2026-06-30; this job runs on {NOVA}, the tenant's automatic successor."
    )
    job = GenerationJob.objects.get(pk=body["id"])
    assert run_job.apply(args=[str(job.pk)]).get() == "succeeded"
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED and job.images_returned == 1
    assert [call["status"] for call in emulator.calls(NOVA)] == [200] and emulator.calls(TITAN_V2) == []
    body = client_as(creator).get(f"{JOBS}{job.pk}/").json()
    assert (body["model"], body["substituted_from"]) == (NOVA, TITAN_V2)
    # Another tenant, not opted in, is still refused.
    other = member(tenant_b, Role.CREATOR)
    assert client_as(other).post("/api/v1/tenants/globex/jobs/", JOB_BODY, format="json").status_code == 400


def test_a_tenants_own_successor_for_a_model_overrides_the_operators(emulator, tenant_a, member, client_as):
    retire_titan_for_nova(emulator)
    TenantAutoSuccessor.objects.create(tenant=tenant_a, model=row(TITAN_V2), successor=row(TITAN_V1))
    TenantAutoSuccessor.objects.create(tenant=tenant_a)  # for every other model: the operator's successor
    creator = member(tenant_a, Role.CREATOR)

    response = client_as(creator).post(JOBS, JOB_BODY, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["model"], response.json()["substituted_from"]) == (TITAN_V1, TITAN_V2)


def test_an_opted_in_tenant_whose_successor_is_not_allowed_to_it_is_refused(emulator, tenant_a, member, client_as):
    from generation.models import TenantModelAccess

    retire_titan_for_nova(emulator)
    TenantAutoSuccessor.objects.create(tenant=tenant_a)
    TenantModelAccess.objects.create(tenant=tenant_a, model=row(CORE))  # Nova is not on its allow-list
    creator = member(tenant_a, Role.CREATOR)

    response = client_as(creator).post(JOBS, JOB_BODY, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["model"] == [f"Model {NOVA!r} is not available to this tenant."]
    assert not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


def test_the_emulators_lifecycle_flag_is_what_list_foundation_models_reports(tmp_path, settings):
    url, process = start_emulator(tmp_path / "emulator.log", "--lifecycle", f"{NOVA}=LEGACY:2026-09-30")
    try:
        settings.ATELIER_BEDROCK_ENDPOINT_URL = url
        summaries = control_client_from_settings().list_foundation_models(byOutputModality="IMAGE")["modelSummaries"]
    finally:
        stop(process)

    lifecycles = {summary["modelId"]: summary["modelLifecycle"] for summary in summaries}
    assert lifecycles[NOVA]["status"] == "LEGACY"
    assert lifecycles[NOVA]["endOfLifeTime"] == datetime.datetime(2026, 9, 30, tzinfo=datetime.UTC)
    assert lifecycles[TITAN_V2] == {"status": "ACTIVE"}
    assert UNSUPPORTED in lifecycles


def test_beat_runs_the_sync_daily():
    entry = django_settings.CELERY_BEAT_SCHEDULE["catalog-sync"]

    assert (entry["task"], entry["schedule"]) == ("generation.catalog_sync", 86400.0)


def test_platform_staff_see_the_unsupported_models_in_the_admin_and_a_tenants_staff_do_not(emulator, tenant_a, member):
    from django.test import Client

    from ..factories import UserFactory

    catalog_sync()
    operator, tenant_staff = Client(), Client()
    operator.force_login(UserFactory(email="ops@atelier.test", is_staff=True, is_superuser=True))
    tenant_staff.force_login(member(tenant_a, Role.ADMIN, email="staff@acme.test", is_staff=True))
    page = "/admin/generation/unsupportedbedrockmodel/"

    listed = operator.get(page)
    row_page = operator.get(f"{page}{UnsupportedBedrockModel.objects.get(model_id=UNSUPPORTED).pk}/change/")

    assert listed.status_code == 200 and UNSUPPORTED in listed.content.decode()
    assert row_page.status_code == 200 and b'name="_save"' not in row_page.content  # read only
    assert operator.get(f"{page}add/").status_code == 403
    assert tenant_staff.get(page).status_code == 403
    titan_page = operator.get(f"/admin/generation/bedrockmodel/{row(TITAN_V2).pk}/change/")
    assert titan_page.status_code == 200 and f"us.{TITAN_V2}" in titan_page.content.decode()


FAST_UPSCALE = "stability.stable-fast-upscale-v1:0"


def small_png_b64(size=(96, 64)) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_model_bedrock_serves_only_through_profiles_is_called_by_the_regions_profile(
    emulator, tenant_a, member, client_as, settings
):
    emulator.configure(profile_only=[FAST_UPSCALE])
    body = {"model": FAST_UPSCALE, "image": small_png_b64()}
    creator = member(tenant_a, Role.CREATOR)
    # Before a sync the catalog does not know, so the bare id goes out and Bedrock refuses it: the job fails.
    first = GenerationJob.objects.get(pk=client_as(creator).post(JOBS, body, format="json").json()["id"])
    assert run_job.apply(args=[str(first.pk)]).get() == "failed"
    first.refresh_from_db()
    assert "on-demand throughput isn't supported" in first.error_message
    assert [call["status"] for call in emulator.calls(FAST_UPSCALE)] == [400]

    catalog_sync()

    upscale = row(FAST_UPSCALE)
    assert upscale.inference_types == ["INFERENCE_PROFILE"]
    assert upscale.invoked_id == f"us.{FAST_UPSCALE}"  # us-east-1 → the us. profile
    settings.ATELIER_BEDROCK_REGION = "eu-west-1"  # a region the sync did not read: no profile known there
    assert upscale.invoked_id == FAST_UPSCALE
    settings.ATELIER_BEDROCK_REGION = "us-east-1"
    second = GenerationJob.objects.get(pk=client_as(creator).post(JOBS, body, format="json").json()["id"])
    assert run_job.apply(args=[str(second.pk)]).get() == "succeeded"
    assert [call["status"] for call in emulator.calls(f"us.{FAST_UPSCALE}")] == [200]
    # An operator's explicit id still wins.
    BedrockModel.objects.filter(model_id=FAST_UPSCALE).update(invoke_id=f"global.{FAST_UPSCALE}")
    assert row(FAST_UPSCALE).invoked_id == f"global.{FAST_UPSCALE}"


def test_public_extended_access_is_synced_and_named_in_the_warning(emulator, tenant_a, member, client_as):
    emulator.lifecycle({NOVA: "LEGACY:2026-01-15:2026-04-15:2099-06-30"})

    catalog_sync()

    nova = row(NOVA)
    assert (nova.legacy_since, nova.extended_access_from, nova.end_of_life_on) == (
        datetime.date(2026, 1, 15), datetime.date(2026, 4, 15), datetime.date(2099, 6, 30),
    )  # fmt: skip
    models = {m["id"]: m for m in client_as(member(tenant_a, Role.VIEWER)).get("/api/v1/tenants/acme/models/").json()}
    assert models[NOVA]["extended_access_from"] == "2026-04-15"
    assert models[NOVA]["warnings"] == [
        f"{NOVA} is legacy since 2026-01-15; it reaches end of life on 2099-06-30; in public extended access "
        "since 2026-04-15, at higher prices."
    ]
