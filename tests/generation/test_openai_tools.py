"""The Stability image services through /v1/images/edits (Django's test client): each tool by its
model id, OpenAI's fields mapped onto the tool's (image, a second image for style transfer, an alpha
mask turned into Atelier's black-is-change mask, output_format), the tool's own fields passed
through to the one validation (a bad one is a 400 naming it), and — with the real worker, emulator
and S3 — images of the size the tool's output rule gives, in the format asked for, charged the
tool's price for each image, invisible to another tenant. Also: a retired model's automatic
successor under /v1. What the emulator draws for a tool is not asserted here (its own tests do)."""

import base64
import io
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from assets.models import Asset
from assets.storage import read_object
from billing.models import LedgerEntry
from billing.services import budget_set_tenant_monthly
from generation.models import BedrockModel, GenerationJob, TenantAutoSuccessor
from tenants.models import Role

from .test_openai_api import error_of, png, rgba_png, submitted, upload

EDITS = "/v1/images/edits"
GENERATIONS = "/v1/images/generations"
FAST_UPSCALE = "stability.stable-fast-upscale-v1:0"
INPAINT = "stability.stable-image-inpaint-v1:0"
OUTPAINT = "stability.stable-outpaint-v1:0"
SEARCH_REPLACE = "stability.stable-image-search-replace-v1:0"
REMOVE_BACKGROUND = "stability.stable-image-remove-background-v1:0"
STYLE_TRANSFER = "stability.stable-style-transfer-v1:0"
STYLE_GUIDE = "stability.stable-image-style-guide-v1:0"
ERASE = "stability.stable-image-erase-object-v1:0"
TITAN_V1 = "amazon.titan-image-generator-v1"
TITAN_V2 = "amazon.titan-image-generator-v2:0"


def openai_mask(width: int, height: int, box) -> bytes:
    """OpenAI's convention: opaque everywhere, fully transparent in `box` (what to edit)."""
    mask = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), box)
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return out.getvalue()


def charged(tenant) -> Decimal:
    entries = LedgerEntry.objects.filter(tenant=tenant, kind=LedgerEntry.Kind.CHARGE)
    return sum((entry.amount_usd for entry in entries), Decimal(0))


def decoded(item: dict) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))


@pytest.mark.django_db
class TestMappingWithoutAWorker:
    def test_the_alpha_mask_becomes_atelier_black_is_change_mask_and_tool_fields_reach_the_job(
        self, no_worker, creator
    ):
        box = (32, 16, 96, 80)
        job = submitted(
            creator, EDITS,
            {"model": INPAINT, "image": upload(png(128, 128)), "mask": upload(openai_mask(128, 128, box), "m.png"),
             "prompt": "a red cup", "grow_mask": "3", "style_preset": "anime", "negative_prompt": "blur",
             "seed": "42", "n": "2", "output_format": "webp"},
            multipart=True,
        )  # fmt: skip

        assert (job.model.model_id, job.task_type, job.n, job.seed) == (INPAINT, "INPAINTING", 2, 42)
        assert (job.width, job.height) == (128, 128)  # the output rule: the input's size
        params = job.params
        assert (params["grow_mask"], params["style"], params["negative_prompt"]) == (3, "anime", "blur")
        assert params["output_format"] == "webp"
        mask = np.asarray(
            Image.open(io.BytesIO(read_object(Asset.objects.get(pk=job.input_assets["mask_image"]).file_key)))
        )
        inside = np.zeros((128, 128), dtype=bool)
        inside[box[1] : box[3], box[0] : box[2]] = True
        assert (mask[inside] == 0).all() and (mask[~inside] == 255).all()  # black where OpenAI's was transparent

    def test_style_transfer_takes_its_two_images_as_image_array_or_as_style_image(self, no_worker, creator):
        content, style = png(128, 96, color=(10, 200, 10)), png(64, 64, color=(200, 10, 10))
        as_array = submitted(
            creator, EDITS,
            {"model": STYLE_TRANSFER, "image[]": [upload(content, "a.png"), upload(style, "b.png")], "prompt": "",
             "style_strength": "0.5", "composition_fidelity": 0.8, "change_strength": "0.4"},
            multipart=True,
        )  # fmt: skip
        as_field = submitted(
            creator, EDITS,
            {"model": STYLE_TRANSFER, "image": upload(content, "a.png"), "style_image": upload(style, "b.png"),
             "prompt": "in oils"},
            multipart=True,
        )  # fmt: skip

        for job in (as_array, as_field):
            assert job.task_type == "STYLE_TRANSFER" and (job.width, job.height) == (128, 96)
            stored = {name: Asset.objects.get(pk=pk) for name, pk in job.input_assets.items()}
            assert (stored["image"].width, stored["style_image"].width) == (128, 64)
        assert (as_array.params["style_strength"], as_array.params["change_strength"]) == (0.5, 0.4)
        assert as_field.params["prompt"] == "in oils" and "prompt" not in as_array.params

    def test_outpaint_sides_and_search_prompt_pass_through_and_set_the_priced_size(self, no_worker, creator):
        outpaint = submitted(
            creator, EDITS,
            {"model": OUTPAINT, "image": upload(png(128, 128)), "prompt": "", "left": "64", "up": "32"},
            multipart=True,
        )  # fmt: skip
        replace = submitted(
            creator, EDITS, {"model": SEARCH_REPLACE, "image": upload(png(128, 128)), "prompt": "a dog",
                             "search_prompt": "cat"}, multipart=True,
        )  # fmt: skip

        assert (outpaint.width, outpaint.height, outpaint.params["left"], outpaint.params["up"]) == (192, 160, 64, 32)
        assert replace.params["search_prompt"] == "cat" and replace.task_type == "SEARCH_REPLACE"

    @pytest.mark.parametrize(
        ("model", "fields", "param", "says"),
        [
            (INPAINT, {"grow_mask": "50", "prompt": "x"}, "grow_mask", "between 0 and 20"),
            (OUTPAINT, {"left": "-1"}, "left", "between 0 and 2,000"),
            (OUTPAINT, {"creativity": "high"}, "creativity", "number"),
            (SEARCH_REPLACE, {"prompt": "a dog"}, "search_prompt", "required"),
            (INPAINT, {"style_preset": "baroque", "prompt": "x"}, "style_preset", "not one of"),
            (FAST_UPSCALE, {"prompt": "sharper"}, "prompt", "does not take prompt"),
            (FAST_UPSCALE, {"creativity": "0.3"}, "creativity", "Unsupported field; Stable Fast Upscale takes"),
            (FAST_UPSCALE, {"size": "1024x1024"}, "size", "4x each side"),
            (FAST_UPSCALE, {"n": "2"}, "n", "does not take n"),
            (REMOVE_BACKGROUND, {"output_format": "jpeg"}, "output_format", "not one of: png, webp"),
            (STYLE_TRANSFER, {}, "style_image", "second image"),
            (ERASE, {"image": upload(png(128, 128))}, "mask", "Give a mask"),
            (INPAINT, {"prompt": "x", "taskType": "OUTPAINTING"}, "taskType", "INPAINTING only"),
            (INPAINT, {"prompt": "x", "quality": "hd"}, "quality", "no 'hd' quality"),
            (FAST_UPSCALE, {"background": "transparent"}, "background", "remove-background"),
            (REMOVE_BACKGROUND, {"background": "opaque"}, "background", "transparent"),
            (FAST_UPSCALE, {"mask": upload(png(128, 128), "m.png")}, "mask", "takes no mask"),
            (FAST_UPSCALE, {"image": [upload(png(64, 64)), upload(png(64, 64), "b.png")]}, "image", "one image"),
        ],
    )
    def test_a_bad_tool_field_is_a_400_naming_it_and_nothing_is_made(
        self, no_worker, creator, model, fields, param, says
    ):
        # An image with transparent pixels: the region, for the tools that take a mask and are given none.
        body = {"model": model, "image": upload(rgba_png(128, 128, (0, 0, 32, 32))), "prompt": ""} | fields
        response = creator.post(EDITS, body, format="multipart")

        assert response.status_code == 400, response.json()
        error = error_of(response)
        assert (error["param"], error["type"]) == (param, "invalid_request_error")
        assert says in error["message"], error["message"]
        assert not GenerationJob.objects.exists()

    def test_an_empty_prompt_is_no_prompt_for_a_tool_that_takes_none(self, no_worker, creator):
        job = submitted(creator, EDITS, {"model": FAST_UPSCALE, "image": upload(png(64, 48)), "prompt": "", "n": "1"},
                        multipart=True)  # fmt: skip

        assert (job.task_type, job.width, job.height, job.n) == ("UPSCALE", 256, 192, 1)

    def test_the_same_idempotency_key_answers_the_same_tool_job(self, no_worker, creator):
        body = {"model": SEARCH_REPLACE, "prompt": "a dog", "search_prompt": "cat", "seed": "5"}
        first = submitted(creator, EDITS, body | {"image": upload(png(128, 128))}, multipart=True,
                          HTTP_IDEMPOTENCY_KEY="tool-once")  # fmt: skip
        again = creator.post(EDITS, body | {"image": upload(png(128, 128))}, format="multipart",
                             HTTP_IDEMPOTENCY_KEY="tool-once")  # fmt: skip

        assert again.status_code == 504 and error_of(again)["job"] == str(first.pk)
        assert GenerationJob.objects.count() == 1

    @pytest.mark.parametrize("model", [FAST_UPSCALE, STYLE_GUIDE, REMOVE_BACKGROUND])
    def test_generations_and_variations_refuse_a_tool_naming_model(self, no_worker, creator, model):
        generated = creator.post(GENERATIONS, {"model": model, "prompt": "a kite"}, format="json")
        varied = creator.post("/v1/images/variations", {"model": model, "image": upload(png(64, 64))},
                              format="multipart")  # fmt: skip

        for response in (generated, varied):
            assert response.status_code == 400
            error = error_of(response)
            assert error["param"] == "model" and "/v1/images/edits" in error["message"]
        assert not GenerationJob.objects.exists()


@pytest.mark.django_db
class TestAutomaticSuccessor:
    @pytest.fixture
    def titan_v1_retired(self):
        retired = BedrockModel.objects.get(model_id=TITAN_V1)
        retired.end_of_life_on = timezone.localdate() - timedelta(days=1)
        retired.successor = BedrockModel.objects.get(model_id=TITAN_V2)
        retired.save()
        return retired

    def test_without_the_opt_in_a_retired_model_is_a_400_naming_model_and_its_successor(
        self, no_worker, creator, titan_v1_retired
    ):
        response = creator.post(GENERATIONS, {"model": TITAN_V1, "prompt": "a kite", "size": "512x512"}, format="json")

        assert response.status_code == 400
        error = error_of(response)
        assert error["param"] == "model" and TITAN_V2 in error["message"]
        assert not GenerationJob.objects.exists()

    def test_with_the_opt_in_the_job_runs_on_the_successor_and_records_it(
        self, no_worker, creator, tenant_a, titan_v1_retired
    ):
        TenantAutoSuccessor.objects.create(tenant=tenant_a)

        job = submitted(creator, GENERATIONS, {"model": TITAN_V1, "prompt": "a kite", "size": "512x512"})

        assert (job.model.model_id, job.substituted_from.model_id) == (TITAN_V2, TITAN_V1)
        assert any("automatic successor" in warning for warning in job.warnings)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestWithTheWorker:
    def test_fast_upscale_answers_4x_images_in_the_format_asked_and_charges_the_tool_price(
        self, pipeline, creator, tenant_a
    ):
        response = creator.post(
            EDITS,
            {"model": FAST_UPSCALE, "image": upload(png(80, 64)), "prompt": "", "output_format": "webp",
             "response_format": "b64_json"},
            format="multipart",
        )  # fmt: skip

        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["model"], body["output_format"], body["size"]) == (FAST_UPSCALE, "webp", "320x256")
        image = decoded(body["data"][0])
        assert (image.format, image.size) == ("WEBP", (320, 256))
        assert charged(tenant_a) == Decimal("0.03") == Decimal(response["X-Atelier-Cost"])
        assert body["usage"]["images"] == 1 and response["X-Atelier-Model"] == FAST_UPSCALE

    def test_inpaint_with_an_alpha_mask_two_images_charged_twice_the_price(self, pipeline, creator, tenant_a):
        response = creator.post(
            EDITS,
            {"model": INPAINT, "image": upload(png(128, 128)), "mask": upload(openai_mask(128, 128, (0, 0, 64, 64))),
             "prompt": "a red cup", "n": 2, "response_format": "b64_json", "output_format": "jpeg"},
            format="multipart",
        )  # fmt: skip

        assert response.status_code == 200, response.json()
        body = response.json()
        assert [(decoded(item).format, decoded(item).size) for item in body["data"]] == [("JPEG", (128, 128))] * 2
        assert charged(tenant_a) == Decimal("0.14") == Decimal(body["usage"]["cost_usd"])
        assert body["usage"]["images"] == 2

    def test_remove_background_and_style_transfer_sizes_formats_and_money(self, pipeline, creator, tenant_a):
        removed = creator.post(
            EDITS, {"model": REMOVE_BACKGROUND, "image": upload(png(96, 128)), "prompt": "",
                    "response_format": "b64_json"}, format="multipart",
        )  # fmt: skip
        styled = creator.post(
            EDITS, {"model": STYLE_TRANSFER, "image[]": [upload(png(128, 128)), upload(png(64, 64), "s.png")],
                    "prompt": "", "response_format": "b64_json", "output_format": "jpeg"}, format="multipart",
        )  # fmt: skip

        for response in (removed, styled):
            assert response.status_code == 200, response.json()
        cut_out = decoded(removed.json()["data"][0])
        assert (cut_out.format, cut_out.size, removed.json()["background"]) == ("PNG", (96, 128), "transparent")
        assert cut_out.mode == "RGBA" and cut_out.getextrema()[3][0] == 0  # some of it is see-through
        restyled = decoded(styled.json()["data"][0])
        assert (restyled.format, restyled.size) == ("JPEG", (128, 128))
        assert charged(tenant_a) == Decimal("0.07") + Decimal("0.08")
        assert pipeline.emulator.invocations() == 2

    def test_outpaint_answers_the_input_plus_its_sides(self, pipeline, creator, tenant_a):
        response = creator.post(
            EDITS, {"model": OUTPAINT, "image": upload(png(128, 96)), "prompt": "", "right": 64, "down": 32,
                    "response_format": "b64_json"}, format="multipart",
        )  # fmt: skip

        assert response.status_code == 200, response.json()
        assert decoded(response.json()["data"][0]).size == (192, 128)
        assert charged(tenant_a) == Decimal("0.06")

    def test_search_and_replace_by_url_is_the_tenants_own_and_no_other_tenants(
        self, pipeline, creator, tenant_a, tenant_b, api_key, client_as
    ):
        response = creator.post(
            EDITS, {"model": SEARCH_REPLACE, "image": upload(png(128, 128)), "prompt": "a dog", "search_prompt": "cat"},
            format="multipart", HTTP_IDEMPOTENCY_KEY="same-key",
        )  # fmt: skip

        assert response.status_code == 200, response.json()
        job = GenerationJob.objects.get(pk=response["X-Atelier-Job"])
        asset = Asset.objects.get(job=job)
        assert (asset.tenant, asset.width, asset.height) == (tenant_a, 128, 128)
        other = client_as(key=api_key(tenant_b, Role.ADMIN))
        assert other.get(f"/api/v1/tenants/{tenant_a.slug}/jobs/{job.pk}/").status_code in (403, 404)
        assert other.get(f"/api/v1/tenants/{tenant_b.slug}/jobs/{job.pk}/").status_code == 404
        assert other.get(f"/api/v1/tenants/{tenant_b.slug}/assets/{asset.pk}/").status_code == 404
        # The same idempotency key from another tenant is its own request: a job of its own, never acme's.
        budget_set_tenant_monthly(tenant=tenant_b, amount_usd=Decimal("0.01"), actor=None)
        refused = other.post(
            EDITS, {"model": SEARCH_REPLACE, "image": upload(png(128, 128)), "prompt": "a dog", "search_prompt": "cat"},
            format="multipart", HTTP_IDEMPOTENCY_KEY="same-key",
        )  # fmt: skip
        assert refused.status_code == 402 and error_of(refused)["code"] == "budget_exceeded"
        assert charged(tenant_b) == 0 and charged(tenant_a) == Decimal("0.07")
        assert GenerationJob.objects.filter(tenant=tenant_b).count() == 0

    def test_a_retired_model_runs_on_the_tenants_automatic_successor_and_says_so(self, pipeline, creator, tenant_a):
        retired = BedrockModel.objects.get(model_id=TITAN_V1)
        retired.end_of_life_on = timezone.localdate() - timedelta(days=1)
        retired.successor = BedrockModel.objects.get(model_id=TITAN_V2)
        retired.save()
        TenantAutoSuccessor.objects.create(tenant=tenant_a)

        response = creator.post(GENERATIONS, {"model": TITAN_V1, "prompt": "a kite", "size": "512x512",
                                              "response_format": "b64_json"}, format="json")  # fmt: skip

        assert response.status_code == 200, response.json()
        body = response.json()
        assert (response["X-Atelier-Model"], response["X-Atelier-Substituted-From"]) == (TITAN_V2, TITAN_V1)
        assert body["model"] == TITAN_V2 and any("automatic successor" in w for w in body["warnings"])
        assert decoded(body["data"][0]).size == (512, 512)
        job = GenerationJob.objects.get(pk=response["X-Atelier-Job"])
        assert (job.model.model_id, job.substituted_from.model_id) == (TITAN_V2, TITAN_V1)
        assert charged(tenant_a) == Decimal(response["X-Atelier-Cost"]) > 0
