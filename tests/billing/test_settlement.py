"""Every image Bedrock returns is money: whatever a job's end — succeeded, failed or cancelled, a
single call, several, or a batch — what was made is charged at the quoted unit price and the rest
released, and reconcile_ledger proves the charges against the images stored. The jobs run in this
process (run_job called directly) against the emulator over HTTP, with files on local disk."""

from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from assets.models import Asset
from billing.models import Budget, LedgerEntry
from billing.selectors import job_cost
from billing.services import committed_usd, job_settle, period_start_for
from generation import services
from generation.models import GenerationJob
from generation.tasks import run_job
from tenants.models import Role

from ..factories import make_asset

NOVA = "amazon.nova-canvas-v1:0"  # 512×512 standard: $0.04 an image, up to 5 a call
STABILITY = "stability.stable-image-core-v1:1"  # $0.04 an image, one a call
UNIT = Decimal("0.040000")
Status = GenerationJob.Status


@pytest.fixture
def emulator(emulator_here):
    return emulator_here


def submit(tenant, model: str, n: int, **fields) -> GenerationJob:
    size = {"aspect_ratio": "1:1"} if model == STABILITY else {"width": 512, "height": 512}
    raw = {"prompt": "a lamp", "n": n, "seed": 5, **size, **fields}
    return services.job_submit(tenant=tenant, actor=None, model_id=model, raw=raw).job


def run(job: GenerationJob) -> str:
    return run_job.apply(args=[str(job.pk)]).get()


def cancel(job: GenerationJob) -> None:
    services.job_cancel(tenant=job.tenant, job=job, actor=None)


def ledger(job) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for entry in LedgerEntry.objects.filter(job=job):
        sums[entry.kind] = sums.get(entry.kind, Decimal(0)) + entry.amount_usd
    return sums


def stored(job) -> int:
    return Asset.objects.filter(kind=Asset.Kind.GENERATED, job__in=[job, *job.children.all()]).count()


def assert_books_prove(tenant, job, *, images: int) -> None:
    """The job is charged its quoted unit price for each image stored and nothing more; the budget's
    running figure is the ledger's; reconcile_ledger agrees."""
    job.refresh_from_db()
    assert stored(job) == images == job.images_returned
    assert job.unit_price_usd == UNIT
    assert job_cost(job) == UNIT * images
    assert committed_usd(tenant=tenant, period_start=period_start_for(tenant)) == UNIT * images
    assert Budget.objects.get(tenant=tenant, project=None, api_key=None).committed_usd == UNIT * images
    out = StringIO()
    call_command("reconcile_ledger", stdout=out)
    assert "the ledger balances to the cent" in out.getvalue()


@pytest.mark.django_db
def test_a_batch_of_20_cancelled_after_10_images_is_charged_for_the_10(tenant_a, emulator, member, client_as):
    batch = submit(tenant_a, NOVA, 20)
    children = list(batch.children.order_by("seed"))
    assert ledger(batch) == {"reserve": UNIT * 20}
    assert [run(child) for child in children[:2]] == [Status.SUCCEEDED, Status.SUCCEEDED]

    cancel(batch)

    batch.refresh_from_db()
    assert batch.status == Status.CANCELLED
    assert ledger(batch) == {"reserve": UNIT * 20, "charge": UNIT * 10, "release": UNIT * 10}
    assert_books_prove(tenant_a, batch, images=10)
    api = client_as(member(tenant_a, Role.VIEWER))
    shown = api.get(f"/api/v1/tenants/acme/jobs/{batch.pk}/").json()
    assert (shown["status"], shown["images_returned"], shown["cost"]) == ("cancelled", 10, "0.400000")
    assert len(shown["assets"]) == 10
    assert "10 / 20" in api.get("/t/acme/jobs/").content.decode()  # the studio's jobs list


def after_the_second_call(then):
    """`then()` runs once the task has stored the second call's images and recorded the call."""
    record_call = services.job_record_call
    recorded = []

    def record_and_then(*, job_id, record):
        record_call(job_id=job_id, record=record)
        recorded.append(record)
        if len(recorded) == 2:
            then()

    return mock.patch.object(services, "job_record_call", record_and_then)


@pytest.mark.django_db
def test_a_job_of_five_calls_cancelled_after_two_images_is_charged_for_two_and_calls_no_more(tenant_a, emulator):
    job = submit(tenant_a, STABILITY, 5)

    with after_the_second_call(lambda: cancel(job)):  # someone presses cancel as the second image is stored
        assert run(job) == Status.CANCELLED

    assert emulator.invocations() == 2  # no Bedrock call is paid for a cancelled job
    assert ledger(job) == {"reserve": UNIT * 5, "charge": UNIT * 2, "release": UNIT * 3}
    assert_books_prove(tenant_a, job, images=2)


def cancelling_while_bedrock_works(job: GenerationJob):
    """The Bedrock call of the task returns only after `job` was cancelled (from elsewhere)."""
    from generation import tasks

    invoke = tasks.invoke

    def invoke_and_cancel_meanwhile(*args, **kwargs):
        response = invoke(*args, **kwargs)
        cancel(job)
        return response

    return mock.patch.object(tasks, "invoke", invoke_and_cancel_meanwhile)


@pytest.mark.django_db
def test_images_landing_after_the_job_was_cancelled_are_stored_and_charged(tenant_a, emulator):
    job = submit(tenant_a, NOVA, 2)

    with cancelling_while_bedrock_works(job):
        assert run(job) == Status.CANCELLED

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    # Nothing was stored at cancel time, so all was released; the two images are a late charge on top.
    assert ledger(job) == {"reserve": UNIT * 2, "release": UNIT * 2, "adjust": UNIT * 2}
    late = LedgerEntry.objects.get(job=job, kind="adjust")
    assert "after the job was settled" in late.reason and late.project_id == job.project_id
    assert_books_prove(tenant_a, job, images=2)
    entries = list(LedgerEntry.objects.filter(job=job).values_list("pk", flat=True))
    job_settle(job=job)  # settling again changes nothing
    assert run(job) == "ended"
    assert list(LedgerEntry.objects.filter(job=job).values_list("pk", flat=True)) == entries


@pytest.mark.django_db
def test_a_batch_part_in_flight_when_the_batch_is_cancelled_is_charged_when_its_images_land(tenant_a, emulator):
    batch = submit(tenant_a, NOVA, 10)
    first, second = batch.children.order_by("seed")
    assert run(first) == Status.SUCCEEDED

    with cancelling_while_bedrock_works(batch):
        run(second)

    batch.refresh_from_db()
    assert batch.status == Status.CANCELLED
    # Settled at cancel time with the first part's five; the second part's five are a late charge on top.
    assert ledger(batch) == {"reserve": UNIT * 10, "charge": UNIT * 5, "release": UNIT * 5, "adjust": UNIT * 5}
    assert GenerationJob.objects.get(pk=second.pk).images_returned == 5
    assert_books_prove(tenant_a, batch, images=10)


@pytest.mark.django_db
def test_a_job_that_fails_after_storing_images_is_charged_for_them(tenant_a, emulator):
    job = submit(tenant_a, STABILITY, 3)

    with after_the_second_call(lambda: emulator.configure(fault="model-error")):  # a final error: no retry
        assert run(job) == "failed"

    job.refresh_from_db()
    assert (job.status, job.error_code) == (Status.FAILED, "ModelErrorException")
    assert ledger(job) == {"reserve": UNIT * 3, "charge": UNIT * 2, "release": UNIT * 1}
    assert_books_prove(tenant_a, job, images=2)


@pytest.mark.django_db
def test_reconciliation_names_a_job_charged_other_than_for_its_stored_images(tenant_a, emulator):
    kept = submit(tenant_a, NOVA, 2)
    drifting = submit(tenant_a, NOVA, 2, prompt="a chair")
    assert (run(kept), run(drifting)) == (Status.SUCCEEDED, Status.SUCCEEDED)
    out = StringIO()
    call_command("reconcile_ledger", stdout=out)
    assert "2 finished jobs and 1 budgets checked: the ledger balances" in out.getvalue()

    make_asset(tenant_a, job=drifting, index=2, sha256="cd" * 32)  # an image stored that nobody charged

    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 finished jobs are not charged for exactly the images they made"):
        call_command("reconcile_ledger", stdout=out)
    assert f"job {drifting.pk} (acme): 3 images made at 0.040000, due 0.120000, charged 0.080000" in out.getvalue()
    assert f"job {kept.pk}" not in out.getvalue()


@pytest.mark.django_db
def test_the_next_message_of_a_cancelled_job_charges_an_image_its_dead_task_stored_too_late(tenant_a, emulator):
    from assets.services import asset_ingest

    from ..assets.provenance_helpers import emulator_image

    job = submit(tenant_a, NOVA, 1)
    cancel(job)  # settled with nothing stored: all released
    # The task's call answered after the cancel and it stored the image, then its worker was killed -9.
    asset_ingest(job=job, index=0, data=emulator_image(), seed=5)

    assert run(job) == "ended"  # the redelivered message: no Bedrock call, but the image is charged

    assert emulator.invocations() == 0
    assert ledger(job) == {"reserve": UNIT, "release": UNIT, "adjust": UNIT}
    assert_books_prove(tenant_a, job, images=1)


@pytest.mark.django_db
def test_where_withheld_images_are_charged_a_job_failed_by_the_filter_is_charged_for_them(tenant_a, emulator, settings):
    settings.ATELIER_CHARGE_FILTERED_IMAGES = True
    titan = "amazon.titan-image-generator-v2:0"  # 512×512 standard: $0.008 an image
    job = services.job_submit(
        tenant=tenant_a, actor=None, model_id=titan, raw={"prompt": "forbidden fruit", "width": 512, "height": 512}
    ).job

    assert run(job) == Status.FAILED

    job.refresh_from_db()
    assert (job.error_code, job.images_returned, job.images_filtered) == ("content_filtered", 0, 1)
    assert ledger(job) == {"reserve": Decimal("0.008"), "charge": Decimal("0.008"), "release": Decimal(0)}
    out = StringIO()
    call_command("reconcile_ledger", stdout=out)
    assert "each job is charged for exactly the images it made" in out.getvalue()
