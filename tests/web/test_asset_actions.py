"""The asset page's actions: the Finalize panel (premium re-render, and the upscalers, each with its price
and output size before the click) and the image tools that open the composer with this image as input.
Only what the tenant's catalog offers is shown; the upscale form makes the job."""

import re
from decimal import Decimal
from html import unescape

import pytest

from billing.models import LedgerEntry, Price
from generation.bedrock.specs import MIN_INPUT_IMAGE_SIDE
from generation.models import BedrockModel, GenerationJob, TenantModelAccess
from tenants.models import Role

from ..assets.provenance_helpers import emulator_image, ingest, use_local_storage
from ..factories import make_asset, make_job

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"
FAST = "stability.stable-fast-upscale-v1:0"
CREATIVE = "stability.stable-creative-upscale-v1:0"
TOOLS = {
    "Erase": "stability.stable-image-erase-object-v1:0",
    "Replace": "stability.stable-image-search-replace-v1:0",
    "Recolor": "stability.stable-image-search-recolor-v1:0",
    "Restyle": "stability.stable-style-transfer-v1:0",
    "Remove background": "stability.stable-image-remove-background-v1:0",
    "Outpaint": "stability.stable-outpaint-v1:0",
    "Inpaint": "stability.stable-image-inpaint-v1:0",
}
TOOL_PRICES = {"Restyle": "$0.08", "Outpaint": "$0.06"}  # the others: $0.07
PARAMS = {"prompt": "a brass lamp on an oak desk", "task": "TEXT_IMAGE", "n": 1, "seed": 9, "width": 512,
          "height": 512, "quality": "standard"}  # fmt: skip


@pytest.fixture
def draft(tenant_a):
    return make_asset(tenant_a, job=make_job(tenant_a, quality="standard", params=PARAMS), index=0, seed=9)


def body_of(client, asset) -> str:
    response = client.get(f"/t/acme/assets/{asset.pk}/")
    assert response.status_code == 200
    return unescape(response.content.decode())


def offer(body: str, kind: str) -> str:
    match = re.search(rf'data-offer="{kind}">([^<]+)<', body)
    return match.group(1) if match else ""


def tool_links(body: str) -> dict[str, str]:
    """label → href of each tool shown as a link."""
    return {
        label: href for href, label in re.findall(r'<a class="button tool" href="([^"]+)"[^>]*>([^<]+?) <span', body)
    }


def test_a_creator_sees_every_final_with_its_price_and_size_before_the_click(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)

    body = body_of(client, draft)

    assert "Premium re-render" in body and "Finalize at premium" in body
    assert offer(body, "premium") == "$0.06 · 512×512"  # Nova's premium list price at the draft's size
    assert offer(body, "fast") == "$0.03 · 2048×2048"
    assert offer(body, "conservative") == "$0.40 · 2048×2048"
    assert offer(body, "creative") == "$0.60 · 2048×2048"
    for kind in ("fast", "conservative", "creative"):
        assert f'name="upscale" value="{kind}"' in body
    assert "a brass lamp on an oak desk</textarea>" in body  # the draft's prompt, for conservative and creative


def test_the_tools_link_to_the_composer_with_the_tool_and_this_image(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)

    body = body_of(client, draft)

    links = tool_links(body)
    assert list(links) == [*TOOLS, "Try on"]
    for label, model_id in TOOLS.items():
        assert links[label] == f"/t/acme/compose/?model={model_id.replace(':', '%3A')}&source_asset={draft.pk}"
        price = TOOL_PRICES.get(label, "$0.07")
        assert re.search(rf'>{label} <span class="price">\{price}</span>', body), label


def test_try_on_links_to_the_composer_with_nova_try_on_and_this_image_as_the_person(signed_in, tenant_a, draft):
    client, _ = signed_in(Role.CREATOR)

    body = body_of(client, draft)

    href = tool_links(body)["Try on"]
    assert href == f"/t/acme/compose/?model={NOVA.replace(':', '%3A')}&task_type=VIRTUAL_TRY_ON&source_asset={draft.pk}"
    # Nova Canvas at the image's size (512×512), standard.
    assert re.search(r'>Try on <span class="price">\$0\.04</span>', body)
    # The composer honours it: Nova, the try-on task, this image as the person, the garment upload.
    composer = client.get(href).content.decode()
    assert re.search(rf'value="{re.escape(NOVA)}" id="model-\d+" checked', composer)
    assert 'value="VIRTUAL_TRY_ON" id="task-VIRTUAL_TRY_ON" checked' in composer
    assert f'name="source_asset" value="{draft.pk}"' in composer and 'name="reference_image"' in composer

    Price.objects.filter(model__model_id=NOVA).delete()  # no price in force: not offered
    assert "Try on" not in tool_links(body_of(client, draft))


def test_try_on_says_why_an_image_too_large_for_nova_cannot_be_dressed(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    wide = make_asset(tenant_a, kind="upload", width=4200, height=800)

    body = body_of(client, wide)

    assert "Try on" not in tool_links(body)
    disabled = r'<span class="button tool" aria-disabled="true" title="([^"]*)">Try on</span>'
    assert re.search(disabled, body).group(1) == "The image is 4200x800 px; Nova Canvas takes sides of at most 4096 px."


def test_try_on_says_why_an_image_too_small_for_nova_cannot_be_dressed(signed_in, tenant_a):
    """The offer asks the request check's rule, so it never links to a job the composer would refuse."""
    client, _ = signed_in(Role.CREATOR)
    short = MIN_INPUT_IMAGE_SIDE - 1
    narrow = make_asset(tenant_a, kind="upload", width=1024, height=short)

    body = body_of(client, narrow)

    assert "Try on" not in tool_links(body)
    disabled = r'<span class="button tool" aria-disabled="true" title="([^"]*)">Try on</span>'
    assert re.search(disabled, body).group(1) == (
        f"The image is 1024x{short} px; Nova Canvas takes sides of at least {MIN_INPUT_IMAGE_SIDE} px."
    )


def test_a_viewer_sees_no_actions(signed_in, draft):
    client, _ = signed_in(Role.VIEWER)

    body = body_of(client, draft)

    assert "Download original" in body
    assert "Premium re-render" not in body and 'name="upscale"' not in body and tool_links(body) == {}


def test_what_the_catalog_does_not_offer_is_not_shown(signed_in, tenant_a, draft):
    client, _ = signed_in(Role.CREATOR)
    BedrockModel.objects.filter(model_id=TOOLS["Erase"]).update(enabled=False)
    Price.objects.filter(model__model_id__in=[CREATIVE, TOOLS["Recolor"]]).delete()

    body = body_of(client, draft)

    assert 'value="creative"' not in body and offer(body, "creative") == ""
    assert offer(body, "fast") and offer(body, "conservative")
    assert set(tool_links(body)) == set(TOOLS) - {"Erase", "Recolor"} | {"Try on"}

    allowed = BedrockModel.objects.filter(model_id__in=[NOVA, FAST, TOOLS["Inpaint"]])
    TenantModelAccess.objects.bulk_create(TenantModelAccess(tenant=tenant_a, model=model) for model in allowed)
    body = body_of(client, draft)

    assert offer(body, "premium") and offer(body, "fast")
    assert 'value="conservative"' not in body and list(tool_links(body)) == ["Inpaint", "Try on"]


def test_an_uploaded_image_offers_upscales_not_a_re_render(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    uploaded = make_asset(tenant_a, kind="upload", width=300, height=200)

    body = body_of(client, uploaded)

    assert "Premium re-render" not in body
    assert offer(body, "fast") == "$0.03 · 1200×800"
    assert "<details open>" in body  # no prompt to reuse: the prompt field is open to be filled


def test_an_image_too_large_for_an_upscaler_says_why_beside_it(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    large = make_asset(tenant_a, kind="upload", width=1600, height=1600)

    body = body_of(client, large)

    assert re.search(r'value="fast" data-upscale="fast" disabled', body)
    assert re.search(r'value="creative" data-upscale="creative" disabled', body)
    assert "takes sides of at most 1536 px" in body and "takes at most 1,048,576" in body
    assert offer(body, "fast") == offer(body, "creative") == ""  # no price for what cannot be made
    assert offer(body, "conservative") == "$0.40 · 2048×2048"  # about 4 MP
    assert not re.search(r'value="conservative" data-upscale="conservative" disabled', body)


@pytest.fixture
def stored_draft(settings, tmp_path, tenant_a):
    use_local_storage(settings, tmp_path)
    return ingest(tenant_a, emulator_image(seed=9), job=make_job(tenant_a, quality="standard", params=PARAMS))


def upscale_form_token(client, asset) -> str:
    body = body_of(client, asset)
    form = body[body.index('class="stack upscale"') :]
    return re.search(r'name="form_token" value="([^"]+)"', form).group(1)


def test_the_upscale_form_makes_the_job_and_goes_to_it(signed_in, stored_draft):
    client, _ = signed_in(Role.CREATOR)
    token = upscale_form_token(client, stored_draft)

    # The one form holds the prompt for conservative and creative: fast, which takes none, is sent without it.
    response = client.post(
        f"/t/acme/assets/{stored_draft.pk}/finalize/",
        {"form_token": token, "upscale": "fast", "prompt": "a brass lamp on an oak desk", "creativity": ""},
        follow=True,
    )

    job = GenerationJob.objects.get(finalizes=stored_draft)
    assert response.redirect_chain == [(f"/t/acme/jobs/{job.pk}/", 302)]
    assert "Upscaling (fast (4x)): job queued (2048×2048)" in unescape(response.content.decode())
    assert (job.model.model_id, job.input_assets, job.width, job.height) == (
        FAST,
        {"image": str(stored_draft.pk)},
        2048,
        2048,
    )
    assert LedgerEntry.objects.get(job=job, kind=LedgerEntry.Kind.RESERVE).amount_usd == Decimal("0.03")


def test_a_creative_upscale_takes_the_prompt_and_creativity_given(signed_in, stored_draft):
    client, _ = signed_in(Role.CREATOR)
    token = upscale_form_token(client, stored_draft)

    fields = {"form_token": token, "upscale": "creative", "prompt": "polished brass", "creativity": "0.4"}
    client.post(f"/t/acme/assets/{stored_draft.pk}/finalize/", fields)

    job = GenerationJob.objects.get(finalizes=stored_draft)
    assert (job.model.model_id, job.params["prompt"], job.params["creativity"]) == (CREATIVE, "polished brass", 0.4)
    assert job.unit_price_usd == Decimal("0.60")


def test_a_bad_creativity_is_a_message_on_the_page_and_nothing_is_made(signed_in, stored_draft):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(f"/t/acme/assets/{stored_draft.pk}/finalize/",
                           {"upscale": "creative", "creativity": "0.9"}, follow=True)  # fmt: skip

    assert response.redirect_chain == [(f"/t/acme/assets/{stored_draft.pk}/", 302)]
    assert "creativity: Must be between 0.1 and 0.5" in unescape(response.content.decode())
    assert not GenerationJob.objects.filter(finalizes=stored_draft).exists() and not LedgerEntry.objects.exists()


def test_a_viewer_cannot_upscale(signed_in, stored_draft):
    client, _ = signed_in(Role.VIEWER)

    assert client.post(f"/t/acme/assets/{stored_draft.pk}/finalize/", {"upscale": "fast"}).status_code == 403
    assert not GenerationJob.objects.filter(finalizes=stored_draft).exists()
