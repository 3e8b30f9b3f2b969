"""Provenance check in the studio: any member drops an image (a plain multipart form; the script only adds drag and
drop and a preview), is sent to the check's page, and reads the verdict, the matched asset and every detector's
evidence. Bad uploads are a 400 beside the file field with nothing written; earlier checks are listed, this
tenant's only."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assets.models import ProvenanceCheck
from billing.models import LedgerEntry
from generation.bedrock.specs import MAX_INPUT_IMAGE_BYTES
from tenants.models import AuditEvent, Role

from ..assets.provenance_helpers import PHOTOS, emulator_image, ingest, jpeg_q85, stored, use_local_storage

pytestmark = pytest.mark.django_db
URL = "/t/acme/provenance/"


@pytest.fixture(autouse=True)
def local_storage(settings, tmp_path):
    use_local_storage(settings, tmp_path)


@pytest.fixture
def generated(tenant_a):
    """A real asset: an emulator render ingested by the pipeline's asset_ingest (watermarked, C2PA-signed)."""
    return ingest(tenant_a, emulator_image(seed=41))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def upload(client, data: bytes, name: str = "image.png", content_type: str = "image/png"):
    return client.post(URL, {"image": SimpleUploadedFile(name, data, content_type=content_type)})


def detector_row(page: str, name: str) -> str:
    start = page.index(f'<tr id="detector-{name}">')
    return page[start : page.index("</tr>", start)]


def nothing_written(tenant) -> bool:
    return (
        not ProvenanceCheck.objects.exists()
        and not AuditEvent.objects.filter(tenant=tenant, verb="provenance.checked").exists()
    )


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER, Role.ADMIN])
def test_every_member_sees_the_drop_zone(signed_in, role):
    client, _ = signed_in(role)

    response = client.get(URL)

    assert response.status_code == 200
    page = text(response)
    assert 'enctype="multipart/form-data"' in page and 'type="file" name="image"' in page
    assert "Drop an image here" in page and "csrfmiddlewaretoken" in page
    assert "/static/web/provenance.js" in page
    assert "No image has been checked yet." in page


def test_a_viewer_checks_an_asset_and_reads_the_verdict_and_evidence(signed_in, tenant_a, generated):
    client, viewer = signed_in(Role.VIEWER)

    response = upload(client, stored(generated))

    check = ProvenanceCheck.objects.get()
    assert response.status_code in (302, 303)
    assert response["Location"] == f"/t/acme/provenance/{check.pk}/"
    assert (check.tenant, check.verdict, check.asset, check.checked_by) == (
        tenant_a,
        "atelier_asset",
        generated,
        viewer,
    )

    page = text(client.get(response["Location"]))
    assert "An Atelier asset of Acme" in page and "Checked. Here is what the image carries." in page
    matched = page[page.index('id="matched-asset"') :]
    assert f'href="/t/acme/assets/{generated.pk}/"' in matched and "<img src=" in matched
    assert "match" in detector_row(page, "exact_hash") and generated.sha256 in detector_row(page, "exact_hash")
    assert "Distance (bits)</dt><dd>0</dd>" in detector_row(page, "perceptual_hash")
    assert '<span class="badge valid">match</span>' in detector_row(page, "atelier_watermark")
    assert '<span class="badge valid">trusted</span>' in detector_row(page, "c2pa")
    assert "Signed by Atelier</dt><dd>yes</dd>" in detector_row(page, "c2pa")
    assert "bedrock_watermark" in page
    assert LedgerEntry.objects.count() == 0  # a check costs nothing


def test_a_re_encoded_copy_is_still_traced_without_its_manifest(signed_in, generated):
    client, _ = signed_in(Role.CREATOR)

    response = upload(client, jpeg_q85(stored(generated)), name="copy.jpg", content_type="image/jpeg")

    page = text(client.get(response["Location"]))
    assert "An Atelier asset of Acme" in page
    assert '<span class="badge ">no_match</span>' in detector_row(page, "exact_hash")
    assert '<span class="badge ">absent</span>' in detector_row(page, "c2pa")


def test_an_unrelated_photo_has_no_evidence(signed_in, generated):
    client, _ = signed_in(Role.VIEWER)

    response = upload(client, (PHOTOS / "rocket.jpg").read_bytes(), name="rocket.jpg", content_type="image/jpeg")

    check = ProvenanceCheck.objects.get()
    assert (check.verdict, check.asset) == ("no_evidence", None)
    page = text(client.get(response["Location"]))
    assert "No evidence found" in page and 'id="matched-asset"' not in page


def test_another_tenants_asset_is_only_ai_generated_here_and_never_named(signed_in, tenant_b):
    theirs = ingest(tenant_b, emulator_image(seed=42))
    client, _ = signed_in(Role.ADMIN)

    response = upload(client, stored(theirs))

    page = text(client.get(response["Location"]))
    assert ProvenanceCheck.objects.get().verdict == "ai_generated"
    assert "AI-generated, not one of your assets" in page
    assert str(theirs.pk) not in page and 'id="matched-asset"' not in page


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"just some text, not a picture", "JPEG, PNG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "cannot be read"),
        (b"", "The file is empty."),
    ],
    ids=["text", "corrupt-png", "empty"],
)
def test_a_file_that_is_not_an_image_is_a_400_beside_the_field_and_nothing_is_written(signed_in, tenant_a, data, words):
    client, _ = signed_in(Role.VIEWER)

    response = upload(client, data, name="notes.png")

    assert response.status_code == 400
    field = re.search(r'<div class="field invalid">.*?</div> </div>', text(response)).group(0)
    assert 'name="image"' in field and words in field
    assert nothing_written(tenant_a)


def test_an_image_over_5_mb_is_refused_beside_the_field(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)

    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_INPUT_IMAGE_BYTES)

    assert response.status_code == 400
    field = re.search(r'<div class="field invalid">.*?</div> </div>', text(response)).group(0)
    assert "the most is 5,242,880 (5 MB)" in field
    assert nothing_written(tenant_a)


def test_no_file_at_all(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)

    response = client.post(URL, {})

    assert response.status_code == 400 and "Choose an image to check." in text(response)
    assert nothing_written(tenant_a)


def test_earlier_checks_are_listed_newest_first_this_tenants_only(signed_in, tenant_a, tenant_b, generated):
    client, viewer = signed_in(Role.VIEWER)
    upload(client, stored(generated))
    upload(client, (PHOTOS / "chelsea.png").read_bytes())
    ProvenanceCheck.objects.create(tenant=tenant_b, input_sha256="f" * 64, verdict="no_evidence", detectors=[])
    first, second = ProvenanceCheck.objects.filter(tenant=tenant_a).order_by("created_at")

    listed = text(client.get(URL))
    listed = listed[listed.index('id="previous-checks"') :]

    assert listed.index(f"/t/acme/provenance/{second.pk}/") < listed.index(f"/t/acme/provenance/{first.pk}/")
    assert "No evidence" in listed and "An Atelier asset" in listed and viewer.email in listed
    assert "f" * 12 not in listed


def test_another_tenants_check_is_not_found(signed_in, tenant_b):
    theirs = ProvenanceCheck.objects.create(tenant=tenant_b, input_sha256="f" * 64, verdict="no_evidence", detectors=[])
    client, _ = signed_in(Role.ADMIN)

    assert client.get(f"/t/acme/provenance/{theirs.pk}/").status_code == 404
