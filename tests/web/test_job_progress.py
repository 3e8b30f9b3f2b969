"""The job pages: the job with its live progress (a server-sent event stream until it ends, the fragment it
streams also on its own URL), a batch's parts, the results grid, cancelling, and the list of recent jobs; end to
end with the real worker."""

import hashlib
import html as html_lib
import re
import urllib.request

import pytest

from assets.models import Asset
from billing.models import LedgerEntry
from generation.models import GenerationJob
from tenants.models import Role

from ..factories import make_asset, make_job
from ..processes import wait_for
from ..streams import events_of

NOVA = "amazon.nova-canvas-v1:0"
FOLLOWING = "data-events="
Status = GenerationJob.Status


def following(job) -> str:
    return f'data-events="/t/acme/jobs/{job.pk}/events/"'


def job_url(job, suffix=""):
    return f"/t/acme/jobs/{job.pk}/{suffix}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER, Role.ADMIN])
def test_everyone_in_the_tenant_may_follow_a_job(signed_in, tenant_a, role):
    client, _ = signed_in(role)
    job = make_job(tenant_a)

    assert client.get(job_url(job)).status_code == 200
    assert client.get(job_url(job, "progress/")).status_code == 200
    ended = make_job(tenant_a, status=Status.SUCCEEDED)
    assert [event for event, _ in events_of(client.get(job_url(ended, "events/")))] == ["progress", "end"]
    assert client.get("/t/acme/jobs/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("loses_access", ["removed from the tenant", "account deactivated"])
def test_a_stream_stops_when_its_watcher_loses_access_meanwhile(signed_in, tenant_a, loses_access):
    """The stream lasts minutes: access is asked again before each event, so nothing more is sent."""
    from asgiref.sync import async_to_sync, sync_to_async

    from generation.job_events import _publish

    client, person = signed_in(Role.VIEWER)
    running = make_job(tenant_a, status=Status.RUNNING)
    streamed = client.get(job_url(running, "events/"))
    assert streamed.status_code == 200

    def lose_access_then_finish():
        if loses_access == "account deactivated":
            type(person).objects.filter(pk=person.pk).update(is_active=False)
        else:
            person.memberships.filter(tenant=tenant_a).delete()
        GenerationJob.objects.filter(pk=running.pk).update(status=Status.SUCCEEDED)
        _publish([running.pk], "ended")  # what the worker says when the job ends: the stream wakes

    async def read():
        chunks = aiter(streamed.streaming_content)
        before = b""
        while b"event: progress" not in before:
            before += await anext(chunks)
        await sync_to_async(lose_access_then_finish)()
        after = b"".join([chunk async for chunk in chunks])
        return before, after

    before, after = async_to_sync(read)()

    assert b'"terminal":false' in before  # it streamed while the person could see the job
    assert after == b""  # woken by the job's end, it sent nothing: no progress, no images, no end
    assert client.get(job_url(running, "events/")).status_code in (302, 404)  # the next try is refused


@pytest.mark.django_db
def test_a_running_job_shows_its_request_and_polls_for_progress(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    job = make_job(tenant_a, status=Status.RUNNING, n=3, images_requested=3,
                   params={"task": "TEXT_IMAGE", "prompt": "a <b>lamp</b>", "n": 3, "seed": 1})  # fmt: skip
    make_asset(tenant_a, job=job, index=0, seed=1)

    html = client.get(job_url(job)).content.decode()

    assert "Nova Canvas" in html and "Text to image" in html and "a &lt;b&gt;lamp&lt;/b&gt;" in html
    assert following(job) in html and f'data-fallback="/t/acme/jobs/{job.pk}/progress/"' in html
    assert '<noscript><meta http-equiv="refresh"' in html  # without JavaScript the page reloads itself
    assert "1 of 3</strong> images done" in html
    assert html.count('class="thumb slot rendering"') == 2
    assert "Cancel job" in html


@pytest.mark.django_db
def test_a_finished_job_stops_polling_and_shows_its_results(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    job = make_job(tenant_a, status=Status.PARTIALLY_FILTERED, n=3, images_requested=3, images_returned=2,
                   images_filtered=1, error_message="One image was withheld by the content filter.")  # fmt: skip
    assets = [make_asset(tenant_a, job=job, index=i, seed=1, sha256=f"{i:02d}" * 32) for i in range(2)]

    html = client.get(job_url(job, "progress/"), headers={"HX-Request": "true"}).content.decode()

    assert FOLLOWING not in html and "<html" not in html  # a fragment, with nothing more to follow
    assert "2 of 3</strong> images done" in html and "1 withheld by the content filter" in html
    assert "One image was withheld" in html and 'class="thumb slot filtered"' in html
    for asset in assets:
        assert f'href="/t/acme/assets/{asset.pk}/"' in html
    assert "Cancel job" not in client.get(job_url(job)).content.decode()


@pytest.mark.django_db
def test_a_batch_shows_each_part_and_its_state(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    batch = make_job(tenant_a, status=Status.RUNNING, n=7, images_requested=7, queue="batch")
    done = make_job(tenant_a, parent=batch, status=Status.SUCCEEDED, n=5, images_requested=5, images_returned=5,
                    queue="batch", seed=10)  # fmt: skip
    make_job(tenant_a, parent=batch, status=Status.QUEUED, n=2, images_requested=2, queue="batch", seed=11)
    for index in range(5):
        make_asset(tenant_a, job=done, index=index, sha256=f"{index:02d}" * 32)

    html = client.get(job_url(batch)).content.decode()

    assert "2 parts of the batch" in html and "5 of 7</strong> images done" in html
    assert "5 / 5" in html and "0 / 2" in html and '<span class="badge queued">' in html
    assert html.count('class="thumb done"') == 5 and html.count('class="thumb slot queued"') == 2
    assert following(batch) in html


@pytest.mark.django_db
def test_a_creator_cancels_a_job_and_its_reservation_is_released(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    response = client.post("/t/acme/compose/", {"model": NOVA, "prompt": "a lamp", "width": "512", "height": "512"})
    job = GenerationJob.objects.get()
    assert response.status_code == 302

    response = client.post(job_url(job, "cancel/"))

    job.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == job_url(job)
    assert job.status == Status.CANCELLED
    kinds = {entry.kind: entry.amount_usd for entry in LedgerEntry.objects.filter(job=job)}
    assert kinds["release"] == kinds["reserve"]
    assert "The job was cancelled" in client.get(job_url(job)).content.decode()


@pytest.mark.django_db
def test_a_viewer_cannot_cancel_and_an_ended_job_says_so(signed_in, tenant_a, member, browser_as):
    viewer, _ = signed_in(Role.VIEWER)
    creator = browser_as(member(tenant_a, Role.CREATOR))
    running = make_job(tenant_a, status=Status.RUNNING)
    ended = make_job(tenant_a, status=Status.SUCCEEDED)

    assert viewer.post(job_url(running, "cancel/")).status_code == 403
    response = creator.post(job_url(ended, "cancel/"), follow=True)

    running.refresh_from_db()
    assert running.status == Status.RUNNING
    assert "The job has already ended (succeeded)." in response.content.decode()


@pytest.mark.django_db
def test_the_jobs_list_pages_through_the_tenants_jobs(signed_in, tenant_a, tenant_b):
    client, _ = signed_in(Role.VIEWER)
    jobs = [make_job(tenant_a, params={"task": "TEXT_IMAGE", "prompt": f"lamp {i}", "n": 1}) for i in range(27)]
    make_job(tenant_a, parent=jobs[0], params={"task": "TEXT_IMAGE", "prompt": "a part", "n": 1})
    make_job(tenant_b, params={"task": "TEXT_IMAGE", "prompt": "globex secret", "n": 1})

    first = client.get("/t/acme/jobs/").content.decode()
    second = client.get("/t/acme/jobs/?page=2").content.decode()
    failed = client.get("/t/acme/jobs/?status=failed").content.decode()

    assert first.count('<span class="badge queued">') == 25 and second.count('<span class="badge queued">') == 2
    assert "Page 1 of 2" in first and "lamp 26" in first and "lamp 0" in second
    assert "a part" not in first + second and "globex secret" not in first + second
    assert "No jobs with this status yet." in failed


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_compose_then_follow_the_job_to_its_images(pipeline, signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)

    response = client.post("/t/acme/compose/", {"model": NOVA, "task_type": "TEXT_IMAGE", "prompt": "a lighthouse",
                                                "width": "512", "height": "512", "n": "2", "seed": "42"})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    progress = response["Location"] + "progress/"

    def ended():
        fragment = client.get(progress, headers={"HX-Request": "true"}).content.decode()
        return fragment if FOLLOWING not in fragment else None

    fragment = wait_for(ended, 60, "the job to end", interval=0.3)

    job = GenerationJob.objects.get()
    assert job.status == Status.SUCCEEDED and "2 of 2</strong> images done" in fragment
    assert "Cost: <strong>$0.08</strong>" in fragment
    assets = list(Asset.objects.filter(job=job).order_by("index"))
    assert len(assets) == 2
    thumbnails = [html_lib.unescape(src) for src in re.findall(r'<img src="([^"]+)" alt="Image', fragment)]
    assert len(thumbnails) == 2
    for asset, src in zip(assets, thumbnails, strict=True):
        assert f'href="/t/acme/assets/{asset.pk}/"' in fragment
        with urllib.request.urlopen(src, timeout=10) as download:
            thumbnail = download.read()
        stored = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=asset.thumbnail_key)["Body"].read()
        assert hashlib.sha256(thumbnail).digest() == hashlib.sha256(stored).digest() and thumbnail[8:12] == b"WEBP"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_job_page_streams_its_progress_as_the_worker_makes_the_images(pipeline, signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    creator, _ = signed_in(Role.CREATOR)
    pipeline.emulator.configure(latency=[1.0, 1.0])  # the job is still running when the stream starts
    response = creator.post("/t/acme/compose/", {"model": NOVA, "task_type": "TEXT_IMAGE", "prompt": "a lighthouse",
                                                 "width": "512", "height": "512", "n": "2"})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]

    streamed = client.get(response["Location"] + "events/")

    assert streamed.status_code == 200 and streamed["Content-Type"] == "text/event-stream"
    events = events_of(streamed)
    job = GenerationJob.objects.get()
    (first, *_, last), end = [data for event, data in events if event == "progress"], events[-1]
    assert not first["terminal"] and FOLLOWING in first["html"] and "0 of 2</strong> images done" in first["html"]
    assert last["terminal"] and last["status"] == job.status == Status.SUCCEEDED
    assert "2 of 2</strong> images done" in last["html"] and FOLLOWING not in last["html"]
    stored = Asset.objects.filter(job=job)
    assert stored.count() == 2
    for asset in stored:
        assert f'href="/t/acme/assets/{asset.pk}/"' in last["html"]
    assert end == ("end", {"status": "succeeded"})
