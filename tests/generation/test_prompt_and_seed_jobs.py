"""Jobs that use a project's material: a saved prompt version filled with variables, a saved seed,
and the project's defaults — what the job stores, and what is refused before anything is created
or reserved."""

from decimal import Decimal

import pytest

from assets import library
from assets.services import project_get_default
from billing.models import LedgerEntry
from generation.models import BedrockModel, GenerationJob
from generation.services import job_quote, job_submit
from tenants.models import Role

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"
JOBS = "/api/v1/tenants/acme/jobs/"


@pytest.fixture
def creator(tenant_a, member, client_as):
    return client_as(member(tenant_a, Role.CREATOR))


@pytest.fixture
def spring(tenant_a):
    return library.project_create(tenant=tenant_a, actor=None, name="Spring")


@pytest.fixture
def hero(tenant_a, spring):
    return library.prompt_create(
        tenant=tenant_a, actor=None, project=spring, name="Hero", text="a {product} on {surface}",
        negative_text="{rival} logos", style="PHOTOREALISM",
    )  # fmt: skip


def nothing_created():
    return not GenerationJob.objects.exists() and not LedgerEntry.objects.exists()


def error_fields(response) -> set[str]:
    return set(response.json()["error"]["fields"])


def test_a_saved_prompt_fills_the_request_with_its_variables(creator, hero, spring):
    response = creator.post(
        JOBS,
        {"model": NOVA, "saved_prompt": str(hero.pk), "width": 512, "height": 512,
         "variables": {"product": "sneaker", "surface": "wet sand", "rival": "Globex"}},
        format="json",
    )  # fmt: skip

    assert response.status_code == 201, response.json()
    job = GenerationJob.objects.get(pk=response.json()["id"])
    version = library.prompt_latest_version(prompt=hero)
    assert job.prompt_version == version and response.json()["prompt_version"] == version.pk
    assert job.project == spring  # the prompt's project, as the request named none
    assert job.params["prompt"] == "a sneaker on wet sand" and response.json()["prompt"] == "a sneaker on wet sand"
    assert (job.params["negative_prompt"], job.params["style"]) == ("Globex logos", "PHOTOREALISM")
    assert LedgerEntry.objects.get(job=job).kind == "reserve"


def test_a_revised_prompt_leaves_old_jobs_on_the_old_version(tenant_a, creator, hero):
    variables = {"product": "lamp", "surface": "oak", "rival": "Initech"}
    first = creator.post(JOBS, {"model": NOVA, "saved_prompt": str(hero.pk), "variables": variables}, format="json")
    v1 = library.prompt_latest_version(prompt=hero)
    v2 = library.prompt_revise(prompt=hero, actor=None, text="a {product} on {surface} at dusk")

    latest = creator.post(JOBS, {"model": NOVA, "saved_prompt": str(hero.pk), "variables": variables}, format="json")
    pinned = creator.post(JOBS, {"model": NOVA, "prompt_version": v1.pk, "variables": variables}, format="json")

    jobs = {key: GenerationJob.objects.get(pk=r.json()["id"]) for key, r in
            (("first", first), ("latest", latest), ("pinned", pinned))}  # fmt: skip
    assert (jobs["first"].prompt_version, jobs["latest"].prompt_version, jobs["pinned"].prompt_version) == (v1, v2, v1)
    assert jobs["first"].params["prompt"] == jobs["pinned"].params["prompt"] == "a lamp on oak"
    assert jobs["latest"].params["prompt"] == "a lamp on oak at dusk"
    assert v1.text == "a {product} on {surface}"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"product": "sneaker", "rival": "Globex"}, "surface"),
        ({"product": "a", "surface": "b", "rival": "c", "colour": "red"}, "colour"),
        (None, "product"),
    ],
    ids=["missing", "unknown", "none"],
)
def test_a_missing_or_unknown_variable_is_a_400_naming_it_and_nothing_is_created(creator, hero, variables, named):
    response = creator.post(JOBS, {"model": NOVA, "saved_prompt": str(hero.pk), "variables": variables}, "json")

    assert response.status_code == 400
    assert error_fields(response) == {"variables"} and named in response.json()["error"]["message"]
    assert nothing_created()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"prompt": "a lamp"}, "prompt"),
        ({"prompt_version": 1}, "prompt_version"),
        ({"seed": 5, "saved_seed": "the saved seed"}, "seed"),
    ],
    ids=["prompt-text-too", "both-prompt-and-version", "seed-and-saved-seed"],
)
def test_a_saved_value_and_an_explicit_one_together_are_refused(tenant_a, creator, hero, extra, field):
    if "saved_seed" in extra:
        extra["saved_seed"] = str(library.seed_create(tenant=tenant_a, actor=None, project=hero.project, value=9,
                                                      label="x").pk)  # fmt: skip
    body = {"model": NOVA, "saved_prompt": str(hero.pk), "variables": {"product": "a", "surface": "b", "rival": "c"}}

    response = creator.post(JOBS, body | extra, format="json")

    assert response.status_code == 400 and error_fields(response) == {field}
    assert nothing_created()


def test_variables_without_a_saved_prompt_are_refused(creator):
    response = creator.post(JOBS, {"model": NOVA, "prompt": "a lamp", "variables": {"a": "b"}}, format="json")

    assert response.status_code == 400 and error_fields(response) == {"variables"}
    assert nothing_created()


def test_a_saved_seed_fills_the_seed_and_is_recorded(tenant_a, creator, spring):
    seed = library.seed_create(tenant=tenant_a, actor=None, project=spring, value=4242, label="Warm dusk")

    response = creator.post(JOBS, {"model": NOVA, "prompt": "a kite", "saved_seed": str(seed.pk)}, format="json")

    assert response.status_code == 201, response.json()
    job = GenerationJob.objects.get(pk=response.json()["id"])
    assert (job.seed, job.params["seed"], job.saved_seed, job.project) == (4242, 4242, seed, spring)
    assert response.json()["saved_seed"] == str(seed.pk)


def test_the_projects_defaults_fill_what_the_request_leaves_out(tenant_a, creator):
    brand = library.project_create(
        tenant=tenant_a, actor=None, name="Brand", default_model=BedrockModel.objects.get(model_id=NOVA),
        default_negative_prompt="blurry, watermark", default_quality="premium", default_width=1024,
        default_height=768, brand_palette=["#112233"],
    )  # fmt: skip

    defaulted = creator.post(JOBS, {"project": str(brand.pk), "prompt": "a kite"}, format="json")
    explicit = creator.post(
        JOBS,
        {"project": str(brand.pk), "model": TITAN, "prompt": "a kite", "negative_prompt": "people",
         "quality": "standard", "width": 512, "height": 512},
        format="json",
    )  # fmt: skip
    colour = creator.post(JOBS, {"project": str(brand.pk), "task_type": "COLOR_GUIDED_GENERATION", "prompt": "a kite"},
                          format="json")  # fmt: skip

    assert (defaulted.status_code, explicit.status_code, colour.status_code) == (201, 201, 201), defaulted.json()
    job = GenerationJob.objects.get(pk=defaulted.json()["id"])
    assert (job.model.model_id, job.quality, job.width, job.height) == (NOVA, "premium", 1024, 768)
    assert job.params["negative_prompt"] == "blurry, watermark"
    job = GenerationJob.objects.get(pk=explicit.json()["id"])
    assert (job.model.model_id, job.quality, job.width, job.height) == (TITAN, "standard", 512, 512)
    assert job.params["negative_prompt"] == "people"
    assert GenerationJob.objects.get(pk=colour.json()["id"]).params["colors"] == ["#112233"]


def test_defaults_a_model_cannot_honour_are_left_to_the_models_own(tenant_a, creator):
    # 1024×768 is not a Titan size: the request gets Titan's default size instead of a 400 it did not cause.
    brand = library.project_create(tenant=tenant_a, actor=None, name="Brand", default_width=1024, default_height=768)

    response = creator.post(JOBS, {"project": str(brand.pk), "model": TITAN, "prompt": "a kite"}, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["width"], response.json()["height"]) == (1024, 1024)


def test_model_is_required_when_the_project_has_no_default_model(creator, spring):
    response = creator.post(JOBS, {"project": str(spring.pk), "prompt": "a kite"}, format="json")

    assert response.status_code == 400 and error_fields(response) == {"model"}
    assert "spring" in response.json()["error"]["message"]
    assert nothing_created()


def test_an_archived_project_takes_no_new_jobs(tenant_a, creator, spring, hero):
    library.project_archive(project=spring, actor=None)
    variables = {"product": "a", "surface": "b", "rival": "c"}

    named = creator.post(JOBS, {"model": NOVA, "prompt": "a kite", "project": str(spring.pk)}, format="json")
    by_prompt = creator.post(JOBS, {"model": NOVA, "saved_prompt": str(hero.pk), "variables": variables}, "json")

    for response in (named, by_prompt):
        assert response.status_code == 400 and error_fields(response) == {"project"}
        assert response.json()["error"]["code"] == "project_archived"
    assert nothing_created()


def test_material_of_another_project_is_refused(tenant_a, creator, hero):
    autumn = library.project_create(tenant=tenant_a, actor=None, name="Autumn")
    seed = library.seed_create(tenant=tenant_a, actor=None, project=autumn, value=1, label="x")
    variables = {"product": "a", "surface": "b", "rival": "c"}

    prompt = creator.post(JOBS, {"model": NOVA, "project": str(autumn.pk), "saved_prompt": str(hero.pk),
                                 "variables": variables}, format="json")  # fmt: skip
    mixed = creator.post(JOBS, {"model": NOVA, "saved_prompt": str(hero.pk), "saved_seed": str(seed.pk),
                                "variables": variables}, format="json")  # fmt: skip

    assert prompt.status_code == 400 and error_fields(prompt) == {"saved_prompt"}
    assert mixed.status_code == 400 and error_fields(mixed) == {"saved_seed"}
    assert nothing_created()


@pytest.mark.parametrize("field", ["saved_prompt", "prompt_version", "saved_seed"])
def test_another_tenants_material_is_refused_by_name(tenant_a, tenant_b, creator, field):
    project_b = project_get_default(tenant=tenant_b)
    prompt_b = library.prompt_create(tenant=tenant_b, actor=None, project=project_b, name="Secret", text="x")
    ids = {
        "saved_prompt": str(prompt_b.pk),
        "prompt_version": library.prompt_latest_version(prompt=prompt_b).pk,
        "saved_seed": str(library.seed_create(tenant=tenant_b, actor=None, project=project_b, value=1, label="s").pk),
    }

    response = creator.post(JOBS, {"model": NOVA, field: ids[field]}, format="json")

    assert response.status_code == 400 and error_fields(response) == {field}
    assert "secret" not in response.content.decode().lower() and "globex" not in response.content.decode()
    assert not GenerationJob.objects.filter(tenant=tenant_a).exists()


def test_a_quote_applies_the_same_material_and_defaults(tenant_a, hero, spring):
    library.project_update(
        project=spring, actor=None, default_model=BedrockModel.objects.get(model_id=NOVA), default_quality="premium"
    )

    quote = job_quote(
        tenant=tenant_a, raw={"width": 512, "height": 512}, saved_prompt_id=hero.pk,
        variables={"product": "a", "surface": "b", "rival": "c"},
    )  # fmt: skip
    submission = job_submit(
        tenant=tenant_a, actor=None, raw={"width": 512, "height": 512}, saved_prompt_id=hero.pk,
        variables={"product": "a", "surface": "b", "rival": "c"},
    )  # fmt: skip

    assert quote.unit_price == submission.job.unit_price_usd == Decimal("0.06")  # Nova premium, not standard
    assert submission.job.quality == "premium"


def test_a_final_re_renders_its_draft_without_todays_project_defaults(tenant_a):
    from generation.services import job_finalize

    from ..factories import make_asset, make_job

    params = {"task": "TEXT_IMAGE", "prompt": "a lamp", "n": 1, "seed": 1, "width": 512, "height": 512}
    draft_job = make_job(tenant_a, params=params, width=512, height=512)
    draft = make_asset(tenant_a, job=draft_job, index=0, seed=1)
    library.project_update(
        project=draft.project, actor=None, default_negative_prompt="blurry", default_width=1024, default_height=1024
    )

    final = job_finalize(tenant=tenant_a, actor=None, asset=draft).job

    assert "negative_prompt" not in final.params and (final.width, final.height) == (512, 512)
    assert (final.quality, final.params["prompt"], final.seed) == ("premium", "a lamp", 1)


def test_an_estimate_takes_a_saved_prompt_and_a_final_keeps_the_drafts_version(tenant_a, creator, hero):
    from unittest import mock

    from ..factories import make_asset

    body = {"model": NOVA, "saved_prompt": str(hero.pk), "width": 512, "height": 512, "n": 2,
            "variables": {"product": "sneaker", "surface": "sand", "rival": "Globex"}}  # fmt: skip
    estimate = creator.post("/api/v1/tenants/acme/estimate/", body, format="json")
    assert (estimate.status_code, estimate.json()["total"]) == (200, "0.080000")
    assert nothing_created()

    with mock.patch("generation.services._enqueue_on_commit"):
        draft_job = GenerationJob.objects.get(pk=creator.post(JOBS, body, format="json").json()["id"])
        draft = make_asset(tenant_a, job=draft_job, index=0, seed=draft_job.seed)
        final = creator.post(f"/api/v1/tenants/acme/assets/{draft.pk}/finalize/", {}, format="json")

    assert final.status_code == 201, final.json()
    assert final.json()["prompt_version"] == draft_job.prompt_version_id is not None
    assert final.json()["prompt"] == "a sneaker on sand"
