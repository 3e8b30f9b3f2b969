"""`stream: true` on /v1/images/generations and edits, read by the official openai SDK from a live Atelier (uvicorn,
the real worker, Redis, the emulator, S3): server-sent events in OpenAI's shapes, whose images are the stored
bytes; a refusal before the stream starts is the usual JSON error, a failure after it an `error` event."""

import base64
import io
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from PIL import Image

from assets.models import Asset
from billing.services import budget_set_tenant_monthly
from generation.models import GenerationJob
from tenants.models import Role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
NOVA = "amazon.nova-canvas-v1:0"
STABILITY = "stability.stable-image-core-v1:0"


@pytest.fixture
def sdk(atelier_url, pipeline, tenant_a, api_key):
    return openai.OpenAI(api_key=api_key(tenant_a, Role.CREATOR), base_url=f"{atelier_url}/v1", max_retries=0)


def stored(pipeline, job: GenerationJob) -> list[bytes]:
    return [
        pipeline.s3.get_object(Bucket=pipeline.bucket, Key=asset.file_key)["Body"].read()
        for asset in Asset.objects.filter(job=job).order_by("index")
    ]


def test_a_streamed_generation_sends_each_image_completed_with_the_stored_bytes(sdk, pipeline):
    raw = sdk.images.with_raw_response.generate(
        model=NOVA, prompt="a lighthouse at dusk", size="512x512", n=2, stream=True, partial_images=2
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = list(raw.parse())

    job = GenerationJob.objects.get(pk=raw.headers["X-Atelier-Job"])
    images = stored(pipeline, job)
    completed = [event for event in events if event.type == "image_generation.completed"]
    partial = [event for event in events if event.type == "image_generation.partial_image"]
    assert job.status == GenerationJob.Status.SUCCEEDED and len(images) == 2
    assert [base64.b64decode(event.b64_json) for event in completed] == images  # the bytes in the bucket
    assert events[-len(completed) :] == completed  # the completed images come last
    assert len(partial) <= 2 and all(base64.b64decode(event.b64_json) in images for event in partial)
    assert [event.partial_image_index for event in partial] == list(range(len(partial)))
    for event in completed:
        assert (event.size, event.output_format, event.background) == ("512x512", "png", "opaque")
        assert event.usage.total_tokens == 0 and event.usage.model_extra["cost_usd"] == "0.080000"
        assert event.created_at > 0


def test_a_streamed_transparent_generation_previews_the_image_before_its_background_goes(sdk, pipeline):
    raw = sdk.images.with_raw_response.generate(
        model=NOVA, prompt="a red apple", size="512x512", background="transparent", stream=True, partial_images=1
    )
    events = list(raw.parse())

    generation = GenerationJob.objects.get(pk=raw.headers["X-Atelier-Job"])  # the stream starts with its first job
    removal = GenerationJob.objects.get(task_type="BACKGROUND_REMOVAL")
    assert removal.source_assets.get().job == generation
    (partial, completed) = events
    assert partial.type == "image_generation.partial_image" and partial.partial_image_index == 0
    assert base64.b64decode(partial.b64_json) == stored(pipeline, generation)[0]  # the opaque image, first
    assert completed.type == "image_generation.completed" and completed.background == "transparent"
    assert base64.b64decode(completed.b64_json) == stored(pipeline, removal)[0]
    assert Image.open(io.BytesIO(base64.b64decode(completed.b64_json))).mode == "RGBA"


def test_a_streamed_edit_sends_image_edit_events(sdk, pipeline):
    photo = (PHOTOS / "coffee.png").read_bytes()
    raw = sdk.images.with_raw_response.edit(
        image=("coffee.png", photo, "image/png"), prompt="a red cup", model=NOVA, stream=True,
        extra_body={"maskPrompt": "the cup"},
    )  # fmt: skip
    (completed,) = list(raw.parse())

    job = GenerationJob.objects.get(pk=raw.headers["X-Atelier-Job"])
    assert completed.type == "image_edit.completed" and job.task_type == "INPAINTING"
    assert base64.b64decode(completed.b64_json) == stored(pipeline, job)[0]


def test_a_refusal_is_json_before_the_stream_and_a_failure_an_error_event_in_it(sdk, pipeline, tenant_a):
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.01"), actor=None)
    with pytest.raises(openai.APIStatusError) as over_budget:
        sdk.images.generate(model=NOVA, prompt="a lighthouse", size="512x512", stream=True)
    assert over_budget.value.status_code == 402 and over_budget.value.code == "budget_exceeded"
    assert not GenerationJob.objects.exists()

    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("100"), actor=None)
    pipeline.emulator.configure(fault="access-denied")  # Bedrock refuses: the job fails, after the stream began
    stream = sdk.images.generate(model=NOVA, prompt="a lighthouse", size="512x512", stream=True)
    with pytest.raises(openai.APIError) as failed:
        list(stream)

    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.FAILED
    assert failed.value.code == "job_failed" and str(job.pk) in failed.value.message
