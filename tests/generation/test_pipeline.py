"""The pipeline end to end on real parts: the REST API, PostgreSQL, Redis, a Celery worker
process, the Bedrock emulator over HTTP and S3 (moto) over HTTP. Bytes in the bucket, rows in
the database, calls counted at the emulator."""

import base64
import hashlib
import io
import time
import urllib.request
from decimal import Decimal

import pytest
from PIL import Image

from assets.models import Asset
from billing.models import LedgerEntry
from generation.models import GenerationJob
from generation.tasks import run_job
from tenants.models import Role

from ..conftest import QUOTA_TEST_MODEL, QUOTA_TEST_RPM
from ..processes import ROOT, WorkerHandle, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOVA = "amazon.nova-canvas-v1:0"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
STABILITY = "stability.stable-image-core-v1:1"
Status = GenerationJob.Status


@pytest.fixture
def api(pipeline, tenant_a, api_key, client_as):
    return client_as(key=api_key(tenant_a, Role.CREATOR))


def submit(api, body: dict, **headers):
    return api.post("/api/v1/tenants/acme/jobs/", body, format="json", **headers)


def finished(api, job_id: str, timeout: float = 60) -> dict:
    def ended():
        job = api.get(f"/api/v1/tenants/acme/jobs/{job_id}/").json()
        return job if job["status"] in {s.value for s in GenerationJob.TERMINAL} else None

    return wait_for(ended, timeout, f"job {job_id} to end", interval=0.2)


def ledger(job_id) -> dict[str, Decimal]:
    return {entry.kind: entry.amount_usd for entry in LedgerEntry.objects.filter(job_id=job_id)}


def bucket_bytes(pipeline, key: str) -> bytes:
    return pipeline.s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"].read()


def test_submit_to_images_in_the_bucket(api, pipeline, tenant_a):
    response = submit(api, {"model": NOVA, "prompt": "a lighthouse", "width": 512, "height": 512, "n": 2, "seed": 42,
                            "tags": ["spring-sale", "hero"]})  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "queued" and response.json()["seed"] == 42
    assert response.json()["cost"] is None and response.json()["unit_price"] == "0.040000"

    job = finished(api, response.json()["id"])

    assert job["status"] == "succeeded"
    assert job["attempts"] == 1 and len(job["bedrock_request_ids"]) == 1
    assert len(job["assets"]) == 2
    assert ledger(job["id"]) == {"reserve": Decimal("0.08"), "charge": Decimal("0.08"), "release": Decimal("0")}
    assert (job["cost"], job["tags"]) == ("0.080000", ["spring-sale", "hero"])
    assert pipeline.emulator.invocations() == 1
    for asset in job["assets"]:
        row = Asset.objects.get(pk=asset["id"])
        stored = bucket_bytes(pipeline, row.file_key)
        assert row.file_key == f"tenants/{tenant_a.uuid}/{row.sha256[:2]}/{row.sha256}.png"
        assert hashlib.sha256(stored).hexdigest() == row.sha256 == asset["sha256"]
        assert (row.width, row.height, row.bytes, row.seed) == (512, 512, len(stored), 42)
        assert Image.open(io.BytesIO(stored)).info["atelier:emulator"] == "true"
        assert Image.open(io.BytesIO(bucket_bytes(pipeline, row.thumbnail_key))).format == "WEBP"
        with urllib.request.urlopen(asset["download_url"], timeout=10) as download:
            assert download.read() == stored


def test_a_worker_thread_keeps_its_database_connection_after_a_job(api, pipeline):
    """Celery's Django fixup closes a task's connection before and after every task, which costs every task a
    PostgreSQL backend of its own; the worker keeps it from task to task instead, as Django keeps a request
    thread's (config.celery_app). The backend that held each job's claim while it ran is still open after the job
    has ended, and a second later."""
    import psycopg

    from generation.services import JOB_CLAIM_LOCK_CLASS, job_claim_key

    from ..processes import test_database_url

    claim_holder = (
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND objsubid = 2"
    )
    pipeline.emulator.configure(latency=[1.0, 1.0])  # long enough to see who runs it
    with psycopg.connect(test_database_url(), autocommit=True) as admin:  # the view is one snapshot per transaction

        def backend_running(job_id):
            rows = admin.execute(claim_holder, [JOB_CLAIM_LOCK_CLASS, job_claim_key(job_id)]).fetchall()
            return rows[0][0] if rows else None

        for n in range(3):
            response = submit(api, {"model": NOVA, "prompt": f"a kept connection {n}", "width": 512, "height": 512})
            job_id = response.json()["id"]
            pid = wait_for(lambda job_id=job_id: backend_running(job_id), 30, "the job to be claimed", interval=0.02)
            assert finished(api, job_id)["status"] == "succeeded"
            time.sleep(1.0)  # the task's end (its job has ended a moment before), and a backend's exit after it
            assert admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchall(), (
                f"the backend of job {n} was closed with its task"
            )


def test_an_idempotency_key_replay_returns_the_first_job(api, pipeline):
    body = {"model": NOVA, "prompt": "a kite", "width": 512, "height": 512}

    first = submit(api, body, HTTP_IDEMPOTENCY_KEY="order-17")
    again = submit(api, body, HTTP_IDEMPOTENCY_KEY="order-17")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert GenerationJob.objects.count() == 1
    finished(api, first.json()["id"])
    assert pipeline.emulator.invocations() == 1


def test_a_seeded_repeat_returns_the_same_assets_without_calling_bedrock(api, pipeline):
    body = {"model": TITAN_V2, "prompt": "a red bicycle", "width": 512, "height": 512, "seed": 7}
    original = finished(api, submit(api, body).json()["id"])

    repeat = submit(api, body)

    assert repeat.status_code == 201
    assert repeat.json()["status"] == "succeeded"
    assert repeat.json()["deduplicated_from"] == original["id"]
    assert (original["cost"], repeat.json()["cost"]) == ("0.008000", "0.000000")
    assert [a["id"] for a in repeat.json()["assets"]] == [a["id"] for a in original["assets"]]
    assert pipeline.emulator.invocations() == 1


def test_an_unseeded_request_gets_a_stored_seed_that_reproduces_it(api, pipeline):
    first = finished(api, submit(api, {"model": NOVA, "prompt": "a fox", "width": 512, "height": 512}).json()["id"])
    seed = first["seed"]
    assert 0 <= seed <= 858_993_459

    again = finished(api, submit(api, {"model": NOVA, "prompt": "a fox", "width": 512, "height": 512, "seed": seed + 0,
                                       "negative_prompt": "rain"}).json()["id"])  # fmt: skip
    same = finished(api, submit(api, {"model": NOVA, "prompt": "a fox", "width": 512, "height": 512, "seed": seed,
                                      "cfg_scale": 6.5, "quality": "standard"}).json()["id"])  # fmt: skip

    # The stored seed names the same image: asking for it again costs nothing and returns it.
    assert same["deduplicated_from"] == first["id"]
    assert same["assets"][0]["sha256"] == first["assets"][0]["sha256"]
    assert again["assets"][0]["sha256"] != first["assets"][0]["sha256"]
    assert pipeline.emulator.invocations() == 2


def test_bad_input_is_a_400_naming_the_fields_and_creates_nothing(api, pipeline):
    response = submit(api, {"model": TITAN_V2, "prompt": "", "width": 1000, "height": 1000, "n": 500})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"n"}
    response = submit(api, {"model": TITAN_V2, "prompt": "", "width": 1000, "height": 1000, "colour": "red"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"prompt", "width", "height", "colour"}
    assert submit(api, {"prompt": "x"}).json()["error"]["fields"] == {"model": ["This field is required."]}
    assert GenerationJob.objects.count() == 0 and Asset.objects.count() == 0
    assert pipeline.emulator.invocations() == 0


def test_an_edit_of_an_existing_asset_records_its_lineage(api, pipeline):
    source = finished(
        api, submit(api, {"model": TITAN_V2, "prompt": "a vase", "width": 512, "height": 512}).json()["id"]
    )
    source_id = source["assets"][0]["id"]

    edit = submit(api, {"model": TITAN_V2, "task_type": "INPAINTING", "source_asset": source_id,
                        "mask_prompt": "the vase", "prompt": "a blue vase"})  # fmt: skip
    job = finished(api, edit.json()["id"])

    assert job["status"] == "succeeded"
    assert job["assets"][0]["parents"] == [source_id]
    edited = Asset.objects.get(pk=job["assets"][0]["id"])
    assert Asset.objects.get(pk=source_id) in edited.parents.all()
    assert (edited.width, edited.height) == (512, 512)


def test_a_variation_of_an_asset_may_learn_from_more_images(api, pipeline):
    source_id = finished(api, submit(api, {"model": NOVA, "prompt": "a vase", "size": "512x512"}).json()["id"])[
        "assets"
    ][0]["id"]
    photo = (ROOT / "tests/fixtures/photos/coffee.png").read_bytes()

    job = finished(api, submit(api, {"model": NOVA, "task_type": "IMAGE_VARIATION", "source_asset": source_id,
                                     "images": [base64.b64encode(photo).decode()], "prompt": "the same vase",
                                     "size": "512x512"}).json()["id"])  # fmt: skip

    assert job["status"] == "succeeded", job["error"]
    upload = Asset.objects.get(kind=Asset.Kind.UPLOAD, sha256=hashlib.sha256(photo).hexdigest())
    assert set(job["assets"][0]["parents"]) == {source_id, str(upload.pk)}
    stored = GenerationJob.objects.get(pk=job["id"]).input_assets["images"]
    assert stored == [source_id, str(upload.pk)]  # the source asset first


def test_uploaded_inputs_become_assets_and_parents(api, pipeline):
    photo = (ROOT / "tests/fixtures/photos/coffee.png").read_bytes()

    job = finished(api, submit(api, {"model": NOVA, "task_type": "BACKGROUND_REMOVAL",
                                     "image": base64.b64encode(photo).decode()}).json()["id"])  # fmt: skip

    assert job["status"] == "succeeded", job["error"]
    upload = Asset.objects.get(kind=Asset.Kind.UPLOAD)
    assert upload.sha256 == hashlib.sha256(photo).hexdigest()
    assert bucket_bytes(pipeline, upload.file_key) == photo
    assert job["assets"][0]["parents"] == [str(upload.pk)]
    assert (
        Image.open(io.BytesIO(bucket_bytes(pipeline, Asset.objects.get(pk=job["assets"][0]["id"]).file_key))).mode
        == "RGBA"
    )


def test_a_batch_fans_out_with_a_seed_sweep_and_reports_progress(api, pipeline):
    response = submit(api, {"model": NOVA, "prompt": "a tile", "width": 512, "height": 512, "n": 12, "seed": 100})
    assert response.status_code == 201
    assert response.json()["progress"] == {"done": 0, "total": 12}

    job = finished(api, response.json()["id"])

    assert job["status"] == "succeeded"
    assert [(child["n"], child["seed"]) for child in job["children"]] == [(5, 100), (5, 101), (2, 102)]
    assert job["progress"] == {"done": 12, "total": 12}
    assert len(job["assets"]) == 12 and len({a["sha256"] for a in job["assets"]}) == 12
    assert pipeline.emulator.invocations() == 3
    listed = api.get("/api/v1/tenants/acme/jobs/").json()["results"]
    assert [j["id"] for j in listed] == [job["id"]]  # the parts are inside the batch, not beside it


def test_stability_jobs_make_one_call_per_image(api, pipeline):
    job = finished(api, submit(api, {"model": STABILITY, "prompt": "a city", "aspect_ratio": "16:9", "n": 3,
                                     "seed": 9}).json()["id"])  # fmt: skip

    assert job["status"] == "succeeded"
    assert [a["seed"] for a in job["assets"]] == [9, 10, 11]
    assert {(a["width"], a["height"]) for a in job["assets"]} == {(1344, 768)}
    assert pipeline.emulator.invocations() == 3


def test_content_filtered_images_end_partially_filtered_or_failed(api, pipeline):
    partial = finished(api, submit(api, {"model": TITAN_V2, "prompt": "forbidden fruit", "width": 512,
                                         "height": 512, "n": 4}).json()["id"])  # fmt: skip
    nothing = finished(api, submit(api, {"model": TITAN_V2, "prompt": "forbidden fruit", "width": 512,
                                         "height": 512, "n": 1}).json()["id"])  # fmt: skip

    assert (partial["status"], partial["images_returned"], partial["images_filtered"]) == ("partially_filtered", 2, 2)
    assert "content filters" in partial["error"]["message"]
    assert (nothing["status"], nothing["error"]["code"], nothing["assets"]) == ("failed", "content_filtered", [])
    # Titan 512² standard is $0.008 an image: withheld images are released, not charged.
    assert ledger(partial["id"]) == {
        "reserve": Decimal("0.032"),
        "charge": Decimal("0.016"),
        "release": Decimal("0.016"),
    }
    assert ledger(nothing["id"]) == {"reserve": Decimal("0.008"), "release": Decimal("0.008")}


def test_a_final_bedrock_error_fails_at_once(api, pipeline):
    pipeline.emulator.configure(fault="access-denied")

    job = finished(api, submit(api, {"model": NOVA, "prompt": "x", "width": 512, "height": 512}).json()["id"])

    assert (job["status"], job["attempts"], job["error"]["code"]) == ("failed", 1, "AccessDeniedException")
    assert pipeline.emulator.invocations() == 1


def test_throttling_at_30_percent_every_job_succeeds_with_retries_recorded(api, pipeline):
    pipeline.emulator.configure(throttle_rate=0.3)
    ids = [submit(api, {"model": NOVA, "prompt": f"a flag {i}", "width": 512, "height": 512}).json()["id"]
           for i in range(20)]  # fmt: skip

    jobs = [finished(api, job_id, timeout=120) for job_id in ids]

    assert {job["status"] for job in jobs} == {"succeeded"}
    attempts = sum(job["attempts"] for job in jobs)
    throttled = sum(1 for call in pipeline.emulator.calls() if call["status"] == 429)
    assert throttled > 0
    assert attempts == 20 + throttled  # every throttled call was retried, and counted
    assert Asset.objects.filter(kind=Asset.Kind.GENERATED).count() == 20


def test_a_redelivered_message_makes_no_second_call(api, pipeline):
    job = finished(api, submit(api, {"model": NOVA, "prompt": "a boat", "width": 512, "height": 512}).json()["id"])
    calls = pipeline.emulator.invocations()

    assert run_job.apply_async(args=[job["id"]], queue="interactive").get(timeout=30) == "ended"

    assert pipeline.emulator.invocations() == calls
    assert Asset.objects.filter(job_id=job["id"]).count() == 1


def test_cancelling_a_running_job_is_final_and_the_image_in_flight_is_kept_and_charged(api, pipeline):
    pipeline.emulator.configure(latency=[2.0, 2.0])
    job_id = submit(api, {"model": NOVA, "prompt": "a slow one", "width": 512, "height": 512}).json()["id"]
    wait_for(lambda: GenerationJob.objects.get(pk=job_id).status == Status.RUNNING, 30, "the job to start")

    cancelled = api.post(f"/api/v1/tenants/acme/jobs/{job_id}/cancel/")
    again = api.post(f"/api/v1/tenants/acme/jobs/{job_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"
    assert cancelled.json()["cost"] == "0.000000"  # nothing made yet: all released

    # Bedrock answers meanwhile: AWS bills that image, so it is stored and charged, and the job stays cancelled.
    wait_for(lambda: api.get(f"/api/v1/tenants/acme/jobs/{job_id}/").json()["cost"] == "0.040000", 30, "the charge")
    job = api.get(f"/api/v1/tenants/acme/jobs/{job_id}/").json()
    assert (job["status"], job["images_returned"], len(job["assets"])) == ("cancelled", 1, 1)
    assert ledger(job_id) == {"reserve": Decimal("0.04"), "release": Decimal("0.04"), "adjust": Decimal("0.04")}
    assert pipeline.emulator.invocations() == 1


def test_s3_down_for_a_while_the_job_retries_and_leaves_no_orphan(api, pipeline, tenant_a):
    pipeline.proxy.down()
    job_id = submit(api, {"model": NOVA, "prompt": "a bridge", "width": 512, "height": 512}).json()["id"]
    wait_for(lambda: GenerationJob.objects.get(pk=job_id).attempts >= 2, 30, "retries while S3 is down")
    assert GenerationJob.objects.get(pk=job_id).error_code == "storage_unavailable"
    pipeline.proxy.up()

    job = finished(api, job_id)

    assert job["status"] == "succeeded"
    listing = pipeline.s3.list_objects_v2(Bucket=pipeline.bucket, Prefix=f"tenants/{tenant_a.uuid}/")
    keys = {obj["Key"] for obj in listing.get("Contents", [])}
    referenced = {k for a in Asset.objects.filter(tenant=tenant_a) for k in (a.file_key, a.thumbnail_key)}
    assert keys == referenced  # every row's object exists, and every object has its row


def test_a_worker_killed_mid_job_completes_the_job_exactly_once_after_restart(api, pipeline):
    pipeline.emulator.configure(latency=[3.0, 3.0])
    job_id = submit(api, {"model": NOVA, "prompt": "a survivor", "width": 512, "height": 512, "n": 2}).json()["id"]
    wait_for(lambda: len(pipeline.emulator.calls()) or GenerationJob.objects.get(pk=job_id).attempts, 30, "the call")
    time.sleep(0.5)

    pipeline.worker.kill()
    pipeline.emulator.configure(latency=[0.0, 0.0])
    pipeline.worker.restart()
    job = finished(api, job_id, timeout=90)

    assert job["status"] == "succeeded"
    assert job["attempts"] == 2
    assert Asset.objects.filter(job_id=job_id).count() == 2


def test_two_workers_never_exceed_the_models_rpm(api, pipeline, tmp_path):
    second = WorkerHandle(tmp_path, pipeline.worker.env, name="second")
    try:
        ids = [submit(api, {"model": QUOTA_TEST_MODEL, "prompt": f"a stamp {i}", "width": 512, "height": 512}
                      ).json()["id"] for i in range(10)]  # fmt: skip
        jobs = [finished(api, job_id, timeout=60) for job_id in ids]
    finally:
        second.stop()

    assert {job["status"] for job in jobs} == {"succeeded"}
    times = sorted(call["at"] for call in pipeline.emulator.calls(QUOTA_TEST_MODEL))
    assert len(times) == 10
    per_second = QUOTA_TEST_RPM / 60
    # k calls take k - 1 tokens after the one-token burst, so they span at least (k - 2) / rate; the emulator sees a
    # call a little after its token (on a busy machine up to JITTER later), which can bunch it with the next ones.
    jitter = 0.3
    for first, start in enumerate(times):
        for last in range(first + 1, len(times)):
            assert times[last] - start >= (last - first - 1) / per_second - jitter, (first, last, times)
    assert times[-1] - times[0] >= (len(times) - 2) / per_second - jitter


def test_storage_down_while_taking_a_request_is_a_503_and_creates_nothing(api, pipeline, settings):
    from botocore.config import Config

    settings.AWS_S3_CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
    settings.STORAGES = dict(settings.STORAGES)  # rebuild the storage with that client config
    photo = (ROOT / "tests/fixtures/photos/coffee.png").read_bytes()
    pipeline.proxy.down()

    response = submit(
        api, {"model": NOVA, "task_type": "BACKGROUND_REMOVAL", "image": base64.b64encode(photo).decode()}
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert GenerationJob.objects.count() == 0 and Asset.objects.count() == 0
    assert pipeline.emulator.invocations() == 0
