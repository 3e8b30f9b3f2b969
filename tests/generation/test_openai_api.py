"""The OpenAI-compatible API through Django's test client: keys and roles, how OpenAI's fields map
onto jobs, every 400 in OpenAI's error envelope, the project header, the wait's timeout — and, with
the real worker, emulator and S3, output format conversion and transparent backgrounds."""

import base64
import io
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image
from rest_framework.test import APIClient

from assets.models import Asset
from assets.storage import read_object
from billing.models import LedgerEntry
from billing.services import budget_set_tenant_monthly
from generation.models import BedrockModel, GenerationJob, TenantModelAccess
from tenants.models import Role

from ..factories import make_project

NOVA = "amazon.nova-canvas-v1:0"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
STABILITY = "stability.stable-image-core-v1:1"
GENERATIONS = "/v1/images/generations"


def png(width: int, height: int, mode: str = "RGB", color=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), color if mode == "RGB" else (*color, 255)).save(out, format="PNG")
    return out.getvalue()


def upload(data: bytes, name: str = "image.png") -> io.BytesIO:
    """A file part for the test client's multipart encoder (a part without a file name is a text field)."""
    part = io.BytesIO(data)
    part.name = name
    return part


def rgba_png(width: int, height: int, transparent_box=None, alpha: int = 255) -> bytes:
    image = Image.new("RGBA", (width, height), (10, 20, 30, alpha))
    if transparent_box:
        image.paste((0, 0, 0, 0), transparent_box)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"message", "type", "param", "code"} <= set(body["error"]), body
    return body["error"]


@pytest.fixture
def openai_client(tenant_a, api_key, client_as):
    """openai_client(role) → a client with a key of that role in tenant acme."""

    def make(role=Role.CREATOR):
        return client_as(key=api_key(tenant_a, role))

    return make


def submitted(client, path: str, body: dict, *, multipart: bool = False, **headers) -> GenerationJob:
    """Send the request; it times out (no worker); the job it made."""
    before = set(GenerationJob.objects.values_list("pk", flat=True))
    if multipart:
        response = client.post(path, body, format="multipart", **headers)
    else:
        response = client.post(path, body, format="json", **headers)
    assert response.status_code == 504, response.json()
    (job,) = GenerationJob.objects.exclude(pk__in=before)
    assert error_of(response)["job"] == str(job.pk)
    return job


@pytest.mark.django_db
class TestWithoutAWorker:
    def test_models_are_the_image_models_the_tenant_may_use_in_openais_list_shape(self, tenant_a, openai_client):
        viewer = openai_client(Role.VIEWER)
        listed = viewer.get("/v1/models")

        assert listed.status_code == 200
        body = listed.json()
        assert body["object"] == "list"
        assert {m["id"] for m in body["data"]} == set(BedrockModel.objects.values_list("model_id", flat=True))
        nova = next(m for m in body["data"] if m["id"] == NOVA)
        assert set(nova) == {"id", "object", "created", "owned_by"}
        assert (nova["object"], nova["owned_by"]) == ("model", "amazon") and isinstance(nova["created"], int)

        TenantModelAccess.objects.create(tenant=tenant_a, model=BedrockModel.objects.get(model_id=TITAN_V2))
        assert [m["id"] for m in viewer.get("/v1/models").json()["data"]] == [TITAN_V2]
        assert viewer.get(f"/v1/models/{TITAN_V2}").json()["id"] == TITAN_V2
        refused = viewer.get(f"/v1/models/{NOVA}")
        assert refused.status_code == 404 and error_of(refused)["code"] == "model_not_found"

    def test_no_key_or_a_bad_key_is_a_401_and_a_viewer_key_may_not_generate(self, client_as, openai_client):
        anonymous = client_as().post(GENERATIONS, {"prompt": "a kite"}, format="json")
        assert anonymous.status_code == 401
        assert error_of(anonymous)["code"] == "invalid_api_key"
        assert anonymous["WWW-Authenticate"].startswith("Bearer")
        forged = client_as(key="atl_00000000_" + "x" * 30).get("/v1/models")
        assert forged.status_code == 401 and error_of(forged)["type"] == "invalid_request_error"

        refused = openai_client(Role.VIEWER).post(GENERATIONS, {"prompt": "a kite"}, format="json")
        assert refused.status_code == 403
        assert error_of(refused)["type"] == "permission_error"
        assert GenerationJob.objects.count() == 0

    @pytest.mark.parametrize(
        ("body", "param", "says"),
        [
            ({"prompt": "a kite", "colour": "red"}, "colour", "Unsupported field"),
            ({"prompt": "a kite", "quality": "ultra"}, "quality", "not one of"),
            ({"prompt": "a kite", "model": STABILITY, "quality": "hd"}, "quality", "offers: standard"),
            ({"prompt": "a kite", "response_format": "gif"}, "response_format", "not one of"),
            ({"prompt": "a kite", "size": "big"}, "size", "1024x1024"),
            ({"prompt": "a kite", "size": "1000x1000"}, "size", "multiples of 16"),
            ({"prompt": "a kite", "model": TITAN_V2, "size": "600x600"}, "size", "not a supported size"),
            ({"prompt": "a kite", "model": STABILITY, "size": "1000x700"}, "size", "aspect ratios"),
            ({"prompt": "a kite", "output_format": "gif"}, "output_format", "not one of"),
            ({"prompt": "a kite", "output_compression": 50}, "output_compression", "jpeg and webp"),
            ({"prompt": "a kite", "output_format": "jpeg", "background": "transparent"}, "background", "JPEG"),
            ({"prompt": "a kite", "model": STABILITY, "background": "transparent"}, "background", "cannot remove"),
            ({"prompt": "a kite", "stream": True, "partial_images": 4}, "partial_images", "between 0 and 3"),
            ({"prompt": "a kite", "stream": "sometimes"}, "stream", "true or false"),
            ({"prompt": "a kite", "n": 11}, "n", "between 1 and 10"),
            ({"prompt": "a kite", "taskType": "INPAINTING"}, "taskType", "/v1/images/edits"),
            ({"prompt": "a kite", "textToImageParams": {"text": "x"}}, "textToImageParams.text", "prompt"),
            ({"prompt": "a kite", "textToImageParams": {"width": 5}}, "textToImageParams.width", "Unsupported"),
            ({"prompt": "a kite", "style": "vivid"}, "style", "PHOTOREALISM"),
            ({"prompt": "a kite", "negativeText": "rain", "negative_prompt": "fog"}, "negative_prompt", "twice"),
            ({"prompt": "a kite", "cfgScale": 42}, "cfgScale", "between"),
            ({"prompt": "", "model": NOVA}, "prompt", "required"),
            ({"prompt": "a kite", "model": "dall-e-3"}, "model", "Unknown"),
            ({"prompt": "a kite", "moderation": "low"}, "moderation", "content filter"),
        ],
    )
    def test_every_bad_field_is_a_400_naming_it_as_sent_and_nothing_is_made(self, openai_client, body, param, says):
        response = openai_client().post(GENERATIONS, body, format="json")

        assert response.status_code == 400, response.json()
        error = error_of(response)
        assert (error["param"], error["type"]) == (param, "invalid_request_error")
        assert says in error["message"], error
        assert GenerationJob.objects.count() == 0

    def test_all_bad_fields_are_named_at_once(self, openai_client):
        response = openai_client().post(GENERATIONS, {"prompt": "x", "quality": "ultra", "size": "big"}, format="json")

        assert set(error_of(response)["fields"]) == {"quality", "size"}

    def test_openai_and_bedrock_fields_map_onto_the_job(self, tenant_a, openai_client, no_worker):
        client = openai_client()

        nova = submitted(client, GENERATIONS, {
            "prompt": "a lighthouse", "size": "512x768", "quality": "hd", "n": 2, "style": "PHOTOREALISM",
            "negativeText": "fog", "seed": 7, "cfgScale": 8, "user": "customer-42",
        })  # fmt: skip
        assert (nova.model.model_id, nova.task_type, nova.quality, nova.width, nova.height, nova.n, nova.seed) == (
            NOVA, "TEXT_IMAGE", "premium", 512, 768, 2, 7,
        )  # fmt: skip
        assert nova.params["style"] == "PHOTOREALISM" and nova.params["negative_prompt"] == "fog"
        assert nova.params["cfg_scale"] == 8.0 and nova.requested_by_key.tenant == tenant_a

        guided = submitted(client, GENERATIONS, {
            "prompt": "a sunset", "model": TITAN_V2, "size": "512x512",
            "colorGuidedGenerationParams": {"colors": ["#FF6B6B", "#FFD93D"], "negativeText": "people"},
            "imageGenerationConfig": {"seed": 3},
        })  # fmt: skip
        assert guided.task_type == "COLOR_GUIDED_GENERATION" and guided.params["colors"] == ["#FF6B6B", "#FFD93D"]
        assert (guided.params["negative_prompt"], guided.seed) == ("people", 3)

        stability = submitted(client, GENERATIONS, {
            "prompt": "a canyon", "model": STABILITY, "size": "1344x768", "negative_prompt": "haze",
            "quality": "auto",
        })  # fmt: skip
        assert stability.params["aspect_ratio"] == "16:9" and (stability.width, stability.height) == (1344, 768)
        square = submitted(client, GENERATIONS, {"prompt": "a dune", "model": STABILITY, "size": "512x512"})
        assert square.params["aspect_ratio"] == "1:1"

    def test_edits_take_openais_mask_and_variations_their_images(self, openai_client, no_worker):
        client = openai_client()
        mask = rgba_png(320, 320, transparent_box=(100, 100, 200, 200))  # transparent: edit here

        edit = submitted(client, "/v1/images/edits", {
            "image": upload(png(320, 320)), "mask": upload(mask, "mask.png"), "prompt": "a red door",
            "size": "320x320", "negativeText": "people", "seed": "5",
        }, multipart=True)  # fmt: skip
        assert (edit.task_type, edit.seed, edit.params["negative_prompt"]) == ("INPAINTING", 5, "people")
        stored = Image.open(io.BytesIO(read_object(Asset.objects.get(pk=edit.input_assets["mask_image"]).file_key)))
        assert stored.mode == "RGB"
        pixels = np.asarray(stored)
        assert (pixels[100:200, 100:200] == 0).all() and (pixels[:100] == 255).all() and (pixels[200:] == 255).all()

        by_prompt = submitted(client, "/v1/images/edits", {
            "image": upload(png(320, 320)), "prompt": "a blue door", "mask_prompt": "the door",
        }, multipart=True)  # fmt: skip
        assert by_prompt.params["mask_prompt"] == "the door" and "mask_image" not in by_prompt.input_assets

        transparent = rgba_png(320, 320, transparent_box=(0, 0, 160, 320))  # no mask: its own transparency is
        from_alpha = submitted(client, "/v1/images/edits", {
            "image": upload(transparent), "prompt": "a garden",
        }, multipart=True)  # fmt: skip
        derived = np.asarray(Image.open(io.BytesIO(read_object(
            Asset.objects.get(pk=from_alpha.input_assets["mask_image"]).file_key))))  # fmt: skip
        assert (derived[:, :160] == 0).all() and (derived[:, 160:] == 255).all()
        flattened = Image.open(io.BytesIO(read_object(Asset.objects.get(pk=from_alpha.input_assets["image"]).file_key)))
        assert flattened.mode == "RGB"

        variation = submitted(client, "/v1/images/variations", {
            "image": upload(png(512, 512)), "size": "512x512", "n": "2", "similarityStrength": "0.9",
        }, multipart=True)  # fmt: skip
        assert (variation.task_type, variation.n, variation.params["similarity_strength"]) == (
            "IMAGE_VARIATION",
            2,
            0.9,
        )

    @pytest.mark.parametrize(
        ("body", "param", "says"),
        [
            ({"prompt": "x"}, "image", "required"),
            ({"prompt": "x", "image": "png"}, "mask", "transparent"),
            ({"prompt": "x", "image": "png", "mask": "png", "mask_prompt": "the sky"}, "mask", "not both"),
            ({"prompt": "x", "image": "png", "mask_prompt": "the sky", "size": "512x512"}, "size", "320x320"),
            ({"prompt": "x", "image": "png", "mask": "small"}, "mask", "same size"),
            ({"prompt": "x", "image": "png", "mask": "opaque"}, "mask", "nothing to edit"),
            ({"prompt": "x", "image": "jpeg-text", "mask_prompt": "the sky"}, "image", "JPEG or PNG"),
        ],
    )
    def test_bad_edits_are_400s_naming_the_field(self, openai_client, body, param, says):
        uploads = {
            "png": png(320, 320),
            "small": rgba_png(64, 64, alpha=0),
            "opaque": rgba_png(320, 320),
            "jpeg-text": b"not an image",
        }
        form = {key: upload(uploads[value]) if key in ("image", "mask") else value for key, value in body.items()}

        response = openai_client().post("/v1/images/edits", form, format="multipart")

        assert response.status_code == 400, response.json()
        error = error_of(response)
        assert error["param"] == param and says in error["message"], error
        assert GenerationJob.objects.count() == 0

    def test_x_atelier_project_names_a_project_of_the_keys_tenant(self, tenant_a, tenant_b, openai_client, no_worker):
        client = openai_client()
        spring = make_project(tenant_a)
        spring.default_model = BedrockModel.objects.get(model_id=TITAN_V2)
        spring.save()
        foreign = make_project(tenant_b, name="Theirs", slug="theirs")

        by_slug = submitted(
            client, GENERATIONS, {"prompt": "a kite", "size": "512x512"}, HTTP_X_ATELIER_PROJECT="spring"
        )
        by_id = submitted(
            client, GENERATIONS, {"prompt": "a kite", "size": "512x512"}, HTTP_X_ATELIER_PROJECT=str(spring.pk)
        )
        default = submitted(client, GENERATIONS, {"prompt": "a kite", "size": "512x512"})
        assert by_slug.project == by_id.project == spring and default.project.is_default
        assert by_slug.model.model_id == TITAN_V2 and default.model.model_id == NOVA  # the project's default model

        for reference in (str(foreign.pk), "theirs", "nowhere"):
            refused = client.post(
                GENERATIONS, {"prompt": "a kite"}, format="json", HTTP_X_ATELIER_PROJECT=reference
            )  # fmt: skip
            assert refused.status_code == 400
            error = error_of(refused)
            assert error["param"] == "X-Atelier-Project" and reference in error["message"]
        assert GenerationJob.objects.count() == 3

    def test_a_keys_default_project_is_used_when_the_header_names_none(
        self, tenant_a, tenant_b, admin_a, client_as, no_worker
    ):
        spring = make_project(tenant_a)
        admin = client_as(admin_a)
        keys = "/api/v1/tenants/acme/api-keys/"
        theirs = make_project(tenant_b, name="Theirs", slug="theirs")
        created = admin.post(keys, {"name": "dam", "role": "creator", "default_project": str(spring.pk)}, format="json")
        foreign = admin.post(keys, {"name": "x", "default_project": str(theirs.pk)}, format="json")
        client = client_as(key=created.json()["secret"])

        job = submitted(client, GENERATIONS, {"prompt": "a kite", "size": "512x512"})

        assert created.status_code == 201 and created.json()["default_project"] == str(spring.pk)
        assert job.project == spring
        assert foreign.status_code == 400 and list(foreign.json()["error"]["fields"]) == ["default_project"]

    def test_a_request_that_outlasts_its_wait_is_a_504_and_the_job_goes_on(self, openai_client, no_worker):
        response = openai_client().post(GENERATIONS, {"prompt": "a kite", "size": "512x512"}, format="json")

        assert response.status_code == 504
        assert response["x-should-retry"] == "false"  # a retry would make (and charge) another job
        error = error_of(response)
        assert (error["type"], error["code"]) == ("timeout_error", "job_timeout")
        job = GenerationJob.objects.get()
        assert error["job"] == str(job.pk) and f"/api/v1/tenants/acme/jobs/{job.pk}/" in error["message"]
        assert job.status == GenerationJob.Status.QUEUED

    def test_an_idempotency_key_waits_for_the_first_job_again(self, openai_client, no_worker):
        client = openai_client()
        body = {"prompt": "a kite", "size": "512x512"}

        first = submitted(client, GENERATIONS, body, HTTP_IDEMPOTENCY_KEY="campaign-7")
        again = client.post(GENERATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="campaign-7")

        assert error_of(again)["job"] == str(first.pk) and GenerationJob.objects.count() == 1

    def test_no_room_for_background_removal_is_a_402_before_anything_is_charged(self, tenant_a, openai_client):
        budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.05"), actor=None)  # one $0.04 image fits

        response = openai_client().post(
            GENERATIONS, {"prompt": "a kite", "size": "512x512", "background": "transparent"}, format="json"
        )

        assert response.status_code == 402
        error = error_of(response)
        assert (error["code"], error["type"], error["estimate"]) == (
            "budget_exceeded",
            "insufficient_quota",
            "0.040000",
        )
        assert error["remaining"] == {"tenant": "0.010000"}
        job = GenerationJob.objects.get()
        assert job.status == GenerationJob.Status.CANCELLED
        assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()

    def test_a_replay_after_the_budget_shrank_gets_its_job_back_uncancelled(self, tenant_a, openai_client, no_worker):
        """The first call found room for removing its background; its replay answers with the same job, still
        running, and is not checked (nor its job cancelled) against today's smaller budget."""
        client = openai_client()
        body = {"prompt": "a kite", "size": "512x512", "background": "transparent"}
        first = client.post(GENERATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="kite-1")
        budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.05"), actor=None)  # no room for a removal

        again = client.post(GENERATIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="kite-1")

        assert (first.status_code, again.status_code) == (504, 504)  # no worker: the job waits, and goes on
        job = GenerationJob.objects.get()
        assert error_of(again)["job"] == str(job.pk)
        assert job.status == GenerationJob.Status.QUEUED

    def test_other_v1_paths_answer_404_in_openais_envelope(self, openai_client):
        response = openai_client().get("/v1/chat/completions")

        assert response.status_code == 404 and error_of(response)["code"] == "unknown_url"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestWithTheWorker:
    def test_output_format_and_compression_convert_the_stored_image(self, pipeline, openai_client):
        client = openai_client()

        webp = client.post(
            GENERATIONS,
            {"prompt": "a lighthouse", "size": "512x512", "output_format": "webp", "response_format": "b64_json"},
            format="json",
        )
        assert webp.status_code == 200, webp.json()
        body = webp.json()
        assert (body["output_format"], body["size"], body["usage"]["images"]) == ("webp", "512x512", 1)
        image = Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"])))
        assert (image.format, image.size) == ("WEBP", (512, 512))
        stored = Asset.objects.get(job__pk=webp["X-Atelier-Job"])
        assert stored.format == "png"  # the library keeps the original, with its provenance

        jpeg = client.post(
            GENERATIONS,
            {"prompt": "a lighthouse", "size": "512x512", "output_format": "jpeg", "output_compression": 40},
            format="json",
        )
        assert jpeg.status_code == 200, jpeg.json()
        (item,) = jpeg.json()["data"]
        assert set(item) == {"url"} and item["url"].startswith("http://testserver/v1/images/files/")
        path = item["url"].removeprefix("http://testserver")
        fetched = APIClient().get(path)  # no key: the signed, expiring link is the capability
        assert fetched.status_code == 200 and fetched["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(fetched.content)).format == "JPEG"
        assert APIClient().get(path[:-3] + "xyz").status_code == 404  # a forged link

    def test_a_transparent_background_is_an_extra_priced_background_removal(self, pipeline, openai_client):
        response = openai_client().post(
            GENERATIONS,
            {"prompt": "a red kite", "size": "512x512", "background": "transparent", "response_format": "b64_json"},
            format="json",
        )

        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["background"] == "transparent" and body["usage"]["images"] == 2
        generation_id, removal_id = response["X-Atelier-Job"].split(", ")
        generation, removal = GenerationJob.objects.get(pk=generation_id), GenerationJob.objects.get(pk=removal_id)
        assert (generation.task_type, removal.task_type) == ("TEXT_IMAGE", "BACKGROUND_REMOVAL")
        charged = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, job__in=[generation, removal])
        assert sum(entry.amount_usd for entry in charged) == Decimal("0.08") == Decimal(response["X-Atelier-Cost"])
        assert body["usage"]["cost_usd"] == "0.080000"
        generated = Asset.objects.get(job=generation)
        assert list(removal.source_assets.all()) == [generated]  # lineage: cut out of the generated image
        image = Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"])))
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
        assert image.mode == "RGBA" and (alpha == 0).any() and (alpha == 255).any()
