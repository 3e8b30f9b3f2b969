"""The composer: who may use it, what it prefills, what it submits, how it shows the services'
errors beside their fields (with nothing written), the budget message, and the live estimate."""

import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from assets import library
from assets.services import project_get_default
from billing.models import LedgerEntry
from billing.services import budget_set_tenant_monthly
from generation.models import GenerationJob
from generation.services import job_quote
from tenants.models import Role
from web.templatetags.studio import usd
from web.views.compose import negative_hints, negative_with

from ..factories import make_asset, make_job

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"
COMPOSE = "/t/acme/compose/"
ESTIMATE = "/t/acme/compose/estimate/"


def field_block(html: str, name: str) -> str:
    """The markup of the form field wrapper for `name`: from its data-field to the next one."""
    start = html.index(f'data-field="{name}"')
    start = html.rindex("<", 0, start)
    following = html.find("data-field=", html.index(">", start))
    return html[start : following if following != -1 else len(html)]


def nothing_written() -> bool:
    return not GenerationJob.objects.exists() and not LedgerEntry.objects.filter(job__isnull=False).exists()


def png(width=256, height=256, colour=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def text_request(**fields) -> dict:
    return {"model": NOVA, "task_type": "TEXT_IMAGE", "prompt": "a ceramic lamp", "width": "512", "height": "512",
            "n": "1"} | fields  # fmt: skip


# Who may compose


@pytest.mark.parametrize(
    "role,status", [(Role.VIEWER, 403), (Role.CREATOR, 200), (Role.APPROVER, 200), (Role.ADMIN, 200)]
)
def test_the_composer_is_for_creators_and_up(signed_in, role, status):
    client, _ = signed_in(role)

    assert client.get(COMPOSE).status_code == status
    assert client.post(ESTIMATE, text_request()).status_code == status


def test_a_viewer_cannot_submit(signed_in):
    client, _ = signed_in(Role.VIEWER)

    assert client.post(COMPOSE, text_request()).status_code == 403
    assert nothing_written()


# What the page shows and prefills


def test_the_model_picker_shows_each_models_tasks_qualities_and_price(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)

    html = client.get(COMPOSE).content.decode()

    nova = html[html.index(f'value="{NOVA}"') :]
    nova = nova[: nova.index("</label>")]
    assert "Nova Canvas" in nova and "Inpaint" in nova and "Colour-guided" in nova
    assert "standard" in nova and "premium" in nova and "320–4096 px" in nova
    from billing.pricing import price_quote
    from generation.models import BedrockModel

    model = BedrockModel.objects.get(model_id=NOVA)
    standard = price_quote(model=model, width=1024, height=1024, quality="standard", n=1, tenant=tenant_a)
    assert usd(standard.unit_price) in nova
    assert 'name="task_type" value="BACKGROUND_REMOVAL"' in html
    assert 'id="compose-models"' in html  # the JSON blob compose.js narrows the form with


def test_a_project_prefills_its_palette_negative_prompt_and_size(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    project = library.project_create(
        tenant=tenant_a, actor=None, name="Spring", brand_palette=["#112233", "#AABBCC"],
        default_negative_prompt="watermark, text", default_width=768, default_height=768,
    )  # fmt: skip

    html = client.get(f"{COMPOSE}?project={project.pk}&task_type=COLOR_GUIDED_GENERATION").content.decode()

    palette = field_block(html, "colors")
    assert 'value="#112233"' in palette and 'value="#aabbcc"' in palette
    assert "watermark, text</textarea>" in field_block(html, "negative_prompt")
    assert 'value="768"' in field_block(html, "width")
    assert f'value="{project.pk}" selected' in html
    assert 'value="COLOR_GUIDED_GENERATION" id="task-COLOR_GUIDED_GENERATION" checked' in html


def test_regenerate_prefills_the_jobs_settings_with_a_fresh_seed(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    project = library.project_create(tenant=tenant_a, actor=None, name="Autumn")
    params = {"task": "TEXT_IMAGE", "prompt": "a red lamp on oak", "negative_prompt": "blur", "width": 768,
              "height": 768, "quality": "premium", "style": "PHOTOREALISM", "n": 2, "seed": 4242}  # fmt: skip
    job = make_job(tenant_a, project=project, params=params, quality="premium", seed=4242, tags=["autumn"])
    asset = make_asset(tenant_a, project=project, job=job, seed=4242, index=0)

    html = client.get(f"{COMPOSE}?from_asset={asset.pk}").content.decode()

    assert f'value="{NOVA}" id="model-' in html and re.search(
        rf'value="{re.escape(NOVA)}" id="model-\d+" checked', html
    )
    assert "a red lamp on oak</textarea>" in field_block(html, "prompt")
    assert "blur</textarea>" in field_block(html, "negative_prompt")
    assert 'value="768"' in field_block(html, "width")
    assert 'value="premium" selected' in field_block(html, "quality")
    assert 'value="PHOTOREALISM" selected' in field_block(html, "style")
    assert 'value="2"' in field_block(html, "n")
    assert f'value="{project.pk}" selected' in html
    seed = field_block(html, "seed")
    assert 'name="seed" value=""' in seed and "Keep the earlier seed (4242)" in seed
    assert 'value="autumn"' in html


def test_vary_and_edit_use_the_asset_as_the_input_image(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    asset = make_asset(tenant_a)

    vary = client.get(f"{COMPOSE}?source_asset={asset.pk}&task_type=IMAGE_VARIATION").content.decode()
    edit = client.get(f"{COMPOSE}?source_asset={asset.pk}&task_type=INPAINTING").content.decode()

    for html, task in ((vary, "IMAGE_VARIATION"), (edit, "INPAINTING")):
        source = field_block(html, "source")
        assert f'name="source_asset" value="{asset.pk}"' in source and "<img" in source
        assert 'type="file" id="id_image"' not in html  # the asset replaces the upload
        assert f'value="{task}" id="task-{task}" checked' in html
    assert 'name="mask_image"' in edit


def test_another_tenants_asset_is_not_found(signed_in, tenant_b):
    client, _ = signed_in(Role.CREATOR)
    theirs = make_asset(tenant_b)

    assert client.get(f"{COMPOSE}?from_asset={theirs.pk}").status_code == 404
    assert client.get(f"{COMPOSE}?source_asset={theirs.pk}").status_code == 404


# Submitting


def test_a_submission_creates_the_job_reserves_its_price_and_opens_the_job_page(signed_in, tenant_a):
    client, user = signed_in(Role.CREATOR)
    request = text_request(n="3", seed="7", quality="premium", tags="spring, hero", negative_prompt="blur")
    expected = job_quote(
        tenant=tenant_a, model_id=NOVA, raw={k: v for k, v in request.items() if k not in ("model", "tags")}
    )

    response = client.post(COMPOSE, request)

    job = GenerationJob.objects.get()
    assert response.status_code in (302, 303) and response["Location"] == f"/t/acme/jobs/{job.pk}/"
    assert (job.model.model_id, job.task_type, job.params["prompt"], job.n, job.seed) == (
        NOVA,
        "TEXT_IMAGE",
        "a ceramic lamp",
        3,
        7,
    )
    assert (job.quality, job.width, job.height, job.tags) == ("premium", 512, 512, ["spring", "hero"])
    assert job.params["negative_prompt"] == "blur" and job.requested_by_user == user
    reserve = LedgerEntry.objects.get(job=job)
    assert (reserve.kind, reserve.amount_usd) == ("reserve", expected.total)


def test_only_the_chosen_tasks_fields_are_sent(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    # A colour-guided request with leftovers of other tasks in the form: they are not sent.
    request = text_request(task_type="COLOR_GUIDED_GENERATION", mask_prompt="the sofa", style="PHOTOREALISM",
                           strength="0.4", outpainting_mode="PRECISE") | {"colors": ["#112233", "#445566"]}  # fmt: skip

    response = client.post(COMPOSE, request)

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert job.task_type == "COLOR_GUIDED_GENERATION" and job.params["colors"] == ["#112233", "#445566"]
    assert "mask_prompt" not in job.params and "style" not in job.params and "strength" not in job.params


def test_an_upload_is_sent_as_the_tasks_input_image(signed_in, tenant_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client, _ = signed_in(Role.CREATOR)
    upload = SimpleUploadedFile("chair.png", png(), content_type="image/png")

    response = client.post(COMPOSE, {"model": NOVA, "task_type": "BACKGROUND_REMOVAL", "image": upload})

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert job.task_type == "BACKGROUND_REMOVAL" and (job.width, job.height) == (256, 256)
    assert set(job.input_assets) == {"image"}


def test_a_variation_learns_from_every_uploaded_image(signed_in, tenant_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client, _ = signed_in(Role.CREATOR)
    uploads = [SimpleUploadedFile(f"{n}.png", png(colour=(n * 60, 90, 40)), content_type="image/png") for n in (1, 2)]

    response = client.post(
        COMPOSE, {"model": NOVA, "task_type": "IMAGE_VARIATION", "prompt": "a chair", "image": uploads, "n": "1"}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert job.task_type == "IMAGE_VARIATION" and len(job.input_assets["images"]) == 2
    assert job.source_assets.count() == 2


def test_a_variation_of_an_asset_may_learn_from_more_uploads(signed_in, tenant_a, settings, tmp_path):
    from assets.services import asset_store_upload, project_get_default
    from generation.bedrock.images import read_image

    settings.MEDIA_ROOT = tmp_path
    client, _ = signed_in(Role.CREATOR)
    source = asset_store_upload(tenant=tenant_a, project=project_get_default(tenant=tenant_a), image=read_image(png()))
    page = client.get(f"{COMPOSE}?source_asset={source.pk}&task_type=IMAGE_VARIATION").content.decode()
    assert 'id="id_more_images" name="image"' in page
    more = SimpleUploadedFile("more.png", png(colour=(10, 200, 90)), content_type="image/png")

    response = client.post(
        COMPOSE,
        {"model": NOVA, "task_type": "IMAGE_VARIATION", "source_asset": str(source.pk), "prompt": "a chair",
         "image": [more], "n": "1"},
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert job.input_assets["images"][0] == str(source.pk) and len(job.input_assets["images"]) == 2


def test_a_saved_prompt_with_variables_and_a_saved_seed_fill_the_job(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    project = project_get_default(tenant=tenant_a)
    prompt = library.prompt_create(
        tenant=tenant_a, actor=None, project=project, name="Hero", text="a {product} at dawn"
    )
    seed = library.seed_create(tenant=tenant_a, actor=None, project=project, value=31337, label="Warm")
    request = text_request(prompt="", saved_prompt=str(prompt.pk), var_product="sneaker", saved_seed=str(seed.pk))

    fields = client.get(f"/t/acme/compose/prompt-fields/?saved_prompt={prompt.pk}").content.decode()
    response = client.post(COMPOSE, request)

    assert 'name="var_product"' in fields
    assert response.status_code == 302, response.content.decode()[:3000]
    job = GenerationJob.objects.get()
    assert job.params["prompt"] == "a sneaker at dawn" and job.seed == 31337 and job.saved_seed == seed
    assert job.prompt_version == library.prompt_latest_version(prompt=prompt)


# Errors beside their fields, nothing written


def test_a_missing_prompt_is_shown_beside_the_prompt(signed_in):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, text_request(prompt=""))

    assert response.status_code == 400
    html = response.content.decode()
    prompt = field_block(html, "prompt")
    assert 'class="field invalid"' in prompt and "This field is required." in prompt
    assert 'id="error-summary"' in html and "Prompt: This field is required." in html
    assert nothing_written()


def test_a_bad_size_is_shown_beside_the_size_and_the_form_keeps_its_values(signed_in):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, text_request(width="500", prompt="a tall vase"))

    assert response.status_code == 400
    size = field_block(response.content.decode(), "width")
    assert "invalid" in size and "multiples of 16" in size and 'value="500"' in size
    assert "a tall vase</textarea>" in response.content.decode()
    assert nothing_written()


def test_an_upload_over_the_limit_is_refused_beside_the_upload(signed_in, settings):
    client, _ = signed_in(Role.CREATOR)
    too_big = SimpleUploadedFile("huge.png", b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024), content_type="image/png")

    response = client.post(COMPOSE, {"model": NOVA, "task_type": "BACKGROUND_REMOVAL", "image": too_big})

    assert response.status_code == 400
    image = field_block(response.content.decode(), "image")
    assert "invalid" in image and "the most is 5,242,880 (5 MB)" in image
    assert nothing_written()


def test_a_file_that_is_not_an_image_gets_the_services_reason_beside_the_upload(signed_in):
    client, _ = signed_in(Role.CREATOR)
    text = SimpleUploadedFile("notes.png", b"hello, not an image", content_type="image/png")

    response = client.post(COMPOSE, {"model": NOVA, "task_type": "INPAINTING", "image": text, "mask_prompt": "x"})

    assert response.status_code == 400
    assert "Must be a JPEG or PNG image." in field_block(response.content.decode(), "image")
    assert nothing_written()


def test_a_conditioned_task_needs_its_guide_image(signed_in):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(COMPOSE, text_request(task_type="CONDITIONED"))

    assert response.status_code == 400
    assert "Upload the guide image" in field_block(response.content.decode(), "condition_image")
    assert nothing_written()


def test_an_over_budget_attempt_shows_the_budget_message(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.05"), actor=None)

    response = client.post(COMPOSE, text_request(n="4"))

    assert response.status_code == 402
    html = response.content.decode()
    alert = html[html.index('id="budget-alert"') :]
    assert "Over budget." in alert and "the tenant budget has $0.050000 left" in alert
    assert nothing_written()


# The live estimate and the negative-word hint


@pytest.mark.parametrize("n", [1, 3, 12])
def test_the_estimate_is_the_unit_price_times_the_images(signed_in, tenant_a, n):
    client, _ = signed_in(Role.CREATOR)
    request = text_request(n=str(n), width="1024", height="1024", quality="premium")
    quote = job_quote(tenant=tenant_a, model_id=NOVA, raw={k: v for k, v in request.items() if k != "model"})

    html = client.post(ESTIMATE, request, headers={"HX-Request": "true"}).content.decode()

    assert f'data-total="{quote.total}"' in html and usd(quote.total) in html
    assert f"{usd(quote.unit_price)} × {n} image" in html
    assert "$1,000.00" in html  # the month's budget, untouched
    assert ("A batch: 3 calls" in html) == (n == 12)
    assert nothing_written()


def test_the_estimate_shows_what_to_fix(signed_in):
    client, _ = signed_in(Role.CREATOR)

    html = client.post(ESTIMATE, text_request(width="333")).content.decode()

    assert "No price yet" in html and "Width:" in html


def test_an_empty_prompt_is_priced_all_the_same(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    quote = job_quote(tenant=tenant_a, model_id=NOVA, raw={"prompt": "x", "width": 512, "height": 512})

    html = client.post(ESTIMATE, text_request(prompt="")).content.decode()

    assert f'data-total="{quote.total}"' in html and "No price yet" not in html


def test_the_estimate_warns_when_the_budget_is_short(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.05"), actor=None)

    html = client.post(ESTIMATE, text_request(n="5")).content.decode()

    assert "costs more than the budget has left" in html


def test_the_estimate_brings_the_negative_word_hint(signed_in):
    client, _ = signed_in(Role.CREATOR)

    html = client.post(ESTIMATE, text_request(prompt="a beach at dusk without people")).content.decode()

    assert 'id="negative-hint" hx-swap-oob="true"' in html
    assert 'data-phrase="without people" data-subject="people"' in html


@pytest.mark.parametrize(
    "prompt,subjects",
    [
        ("a beach at dusk without people", ["people"]),
        ("product shot, no text, no watermark", ["text", "watermark"]),
        ("a sofa, not blurry and sharp", ["blurry"]),
        ("Don't show any logos.", ["logos"]),
        ("a night sky with no clouds or moon", ["clouds or moon"]),
        ("a notebook on a table, nothing else", []),
        ("Tokyo at night, neon signs", []),
        ("", []),
    ],
)
def test_negative_hints_find_what_a_prompt_negates(prompt, subjects):
    assert [hint.subject for hint in negative_hints(prompt)] == subjects


def test_a_hints_phrase_is_what_the_prompt_says():
    [hint] = negative_hints("a beach without crowds, sunny")

    assert (hint.phrase, hint.subject) == ("without crowds", "crowds")
    assert negative_with("blur", negative_hints("no text, without people")) == "blur, text, people"
    assert negative_with("text", negative_hints("no text")) == "text"
