"""An image Bedrock returned is money even when it cannot be stored: when its stamp fails, the job fails, the images
stored before it are kept, and every image the call returned is charged — once, however often the task runs."""

from decimal import Decimal
from unittest import mock

import pytest

from assets import services as asset_services
from assets.models import Asset
from assets.stamping import StampFailed
from billing.models import LedgerEntry
from generation import services
from generation.models import GenerationJob
from generation.tasks import run_job

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"  # $0.04 an image at 512²


def submitted(tenant, n: int) -> GenerationJob:
    raw = {"prompt": "a paper lantern", "width": 512, "height": 512, "n": n, "seed": 4}
    return services.job_submit(tenant=tenant, actor=None, model_id=NOVA, raw=raw).job


def stamp_failing_from(index: int):
    """The real stamp for the images before `index`; a stamp's own error from it on."""
    real = asset_services.stamp_for_job

    def stamp(*, job, watermark_id, data):
        if asset_services.Asset.objects.filter(job=job).count() >= index:
            raise StampFailed("ValueError: the C2PA signer refused the image")
        return real(job=job, watermark_id=watermark_id, data=data)

    return stamp


def test_a_stamp_that_fails_mid_call_charges_every_image_bedrock_returned(emulator_here, tenant_a):
    job = submitted(tenant_a, n=3)

    with mock.patch.object(asset_services, "stamp_for_job", stamp_failing_from(1)):
        assert run_job.apply(args=[str(job.pk)]).get() == "failed"

    job.refresh_from_db()
    assert emulator_here.invocations() == 1  # one call returned all three
    assert (job.status, job.error_code) == (GenerationJob.Status.FAILED, "internal_error")
    assert "StampFailed" in job.error_message
    assert list(Asset.objects.filter(job=job).values_list("index", flat=True)) == [0]  # stored before the failure
    assert (job.unstored_slots, job.images_returned) == ([1, 2], 3)
    ledger = {entry.kind: entry.amount_usd for entry in LedgerEntry.objects.filter(job=job)}
    assert ledger == {"reserve": Decimal("0.12"), "charge": Decimal("0.12"), "release": Decimal("0")}


def test_a_slot_recorded_unstored_and_then_stored_is_charged_once(emulator_here, tenant_a):
    job = submitted(tenant_a, n=2)
    services.job_record_unstored(job_id=job.pk, slots=[1])
    services.job_record_unstored(job_id=job.pk, slots=[1])  # a second delivery says so again

    assert run_job.apply(args=[str(job.pk)]).get() == "succeeded"  # the stamp works this time: both stored

    job.refresh_from_db()
    assert (job.unstored_slots, job.images_returned, Asset.objects.filter(job=job).count()) == ([1], 2, 2)
    assert LedgerEntry.objects.get(job=job, kind="charge").amount_usd == Decimal("0.08")
