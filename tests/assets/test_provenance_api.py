"""Provenance checks over REST: any member uploads an image (multipart or base64) or names an asset and gets the
verdict with every detector's evidence; bad input is a 400 naming the field; another tenant's asset is "No such
asset."; a check costs nothing; earlier checks are listed, paginated, and read one by one."""

import base64
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assets.models import ProvenanceCheck
from billing.models import LedgerEntry
from generation.bedrock.specs import MAX_INPUT_IMAGE_BYTES
from tenants.models import AuditEvent, Role

from .provenance_helpers import PHOTOS, emulator_image, ingest, stored, use_local_storage

pytestmark = pytest.mark.django_db

URL = "/api/v1/tenants/{slug}/provenance-checks/"
DETECTOR_NAMES = ["exact_hash", "perceptual_hash", "atelier_watermark", "c2pa", "bedrock_watermark"]


@pytest.fixture(autouse=True)
def local_storage(settings, tmp_path):
    use_local_storage(settings, tmp_path)


@pytest.fixture
def viewer_a(tenant_a, member, client_as):
    return client_as(member(tenant_a, Role.VIEWER))


@pytest.fixture
def generated(tenant_a):
    return ingest(tenant_a, emulator_image(seed=31))


def upload(client, data: bytes, *, name: str = "image.png", slug: str = "acme", content_type: str = "image/png"):
    return client.post(
        URL.format(slug=slug), {"image": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart"
    )


def field_errors(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def test_a_viewer_uploads_an_asset_and_gets_the_verdict_with_every_detector(tenant_a, viewer_a, generated):
    child = ingest(tenant_a, emulator_image(seed=32), finalizes=generated)

    response = upload(viewer_a, stored(generated))

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "verdict", "asset", "lineage", "detectors", "input_sha256", "created_at"}
    assert (body["verdict"], body["asset"]) == ("atelier_asset", str(generated.pk))
    assert body["lineage"] == {"parents": [], "children": [str(child.pk)]}
    assert [item["name"] for item in body["detectors"]] == DETECTOR_NAMES
    assert all(set(item) == {"name", "result", "confidence", "details"} for item in body["detectors"])
    assert body["input_sha256"] == generated.sha256 and body["input_asset"] is None
    row = ProvenanceCheck.objects.get(pk=body["id"])
    assert (row.tenant, row.verdict, row.asset, row.checked_by.memberships.get().role) == (
        tenant_a, "atelier_asset", generated, Role.VIEWER,
    )  # fmt: skip


def test_a_viewer_key_checks_an_asset_by_id_and_the_childs_lineage_names_its_parent(
    tenant_a, generated, api_key, client_as
):
    child = ingest(tenant_a, emulator_image(seed=33), finalizes=generated)
    client = client_as(key=api_key(tenant_a, Role.VIEWER))

    response = client.post(URL.format(slug="acme"), {"asset": str(child.pk)}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["verdict"], body["asset"], body["input_asset"]) == ("atelier_asset", str(child.pk), str(child.pk))
    assert body["lineage"] == {"parents": [str(generated.pk)], "children": []}
    assert ProvenanceCheck.objects.get(pk=body["id"]).checked_by_key.role == Role.VIEWER


def test_a_base64_image_in_json_is_checked_too(viewer_a, generated):
    response = viewer_a.post(
        URL.format(slug="acme"), {"image": base64.b64encode(stored(generated)).decode()}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["verdict"] == "atelier_asset"


def test_a_jpeg_photo_upload_has_no_evidence(viewer_a, generated):
    response = upload(viewer_a, (PHOTOS / "rocket.jpg").read_bytes(), name="rocket.jpg", content_type="image/jpeg")

    assert response.status_code == 201, response.content
    assert (response.json()["verdict"], response.json()["asset"], response.json()["lineage"]) == (
        "no_evidence", None, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"just some text, not a picture", "JPEG, PNG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "cannot be read"),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 20, "cannot be read"),
        (b"", "empty"),
    ],
    ids=["text", "corrupt-png", "corrupt-jpeg", "empty"],
)
def test_a_file_that_is_not_a_readable_image_is_a_400_naming_image(viewer_a, data, words):
    fields = field_errors(upload(viewer_a, data))

    assert list(fields) == ["image"] and words in fields["image"][0]
    assert ProvenanceCheck.objects.count() == 0


def test_an_image_over_the_size_cap_is_a_400_naming_image(viewer_a):
    too_big = b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_INPUT_IMAGE_BYTES

    fields = field_errors(upload(viewer_a, too_big))

    assert list(fields) == ["image"] and "the most is 5,242,880" in fields["image"][0]


def test_a_decompression_bomb_is_refused_before_it_is_decoded(viewer_a):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, "PNG")  # a few kB that claim 25 million pixels

    fields = field_errors(upload(viewer_a, buffer.getvalue()))

    assert list(fields) == ["image"] and "px" in fields["image"][0]


@pytest.mark.parametrize("body", [{}, {"image": ""}, {"asset": None}], ids=["nothing", "empty-image", "null-asset"])
def test_neither_image_nor_asset_is_a_400(viewer_a, body):
    assert "image" in field_errors(viewer_a.post(URL.format(slug="acme"), body, format="json"))


def test_both_image_and_asset_is_a_400(viewer_a, generated):
    body = {"asset": str(generated.pk), "image": base64.b64encode(stored(generated)).decode()}

    assert set(field_errors(viewer_a.post(URL.format(slug="acme"), body, format="json"))) == {"image", "asset"}


def test_another_tenants_asset_or_a_missing_one_is_no_such_asset(tenant_a, tenant_b, viewer_a):
    asset_b = ingest(tenant_b, emulator_image(seed=34))

    answers = [
        viewer_a.post(URL.format(slug="acme"), {"asset": value}, format="json")
        for value in (str(asset_b.pk), "7d3c6a9e-0000-4000-8000-000000000000", "not-a-uuid")
    ]

    for response in answers:
        assert field_errors(response) == {"asset": ["No such asset."]}
        assert str(asset_b.pk) not in response.content.decode()
    assert ProvenanceCheck.objects.count() == 0


def test_tenant_b_checking_tenant_as_image_never_learns_which_asset_it_is(tenant_a, tenant_b, member, client_as):
    asset_a = ingest(tenant_a, emulator_image(seed=35))
    viewer_b = client_as(member(tenant_b, Role.VIEWER))

    response = upload(viewer_b, stored(asset_a), slug="globex")

    assert response.status_code == 201, response.content
    assert response.json()["verdict"] == "ai_generated" and response.json()["asset"] is None
    text = response.content.decode()
    assert str(asset_a.pk) not in text and asset_a.watermark_id not in text
    assert ProvenanceCheck.objects.get().tenant == tenant_b


def test_a_check_costs_nothing(tenant_a, viewer_a, generated):
    ledger_before = list(LedgerEntry.objects.order_by("pk").values())

    upload(viewer_a, stored(generated))

    assert list(LedgerEntry.objects.order_by("pk").values()) == ledger_before
    assert AuditEvent.objects.filter(tenant=tenant_a, verb="provenance.checked").count() == 1


def test_checks_are_listed_newest_first_in_pages_and_read_one_by_one(viewer_a, generated):
    first = upload(viewer_a, stored(generated)).json()
    second = upload(viewer_a, (PHOTOS / "chelsea.png").read_bytes()).json()

    listed = viewer_a.get(URL.format(slug="acme") + "?page_size=1").json()
    rest = viewer_a.get(listed["next"]).json()
    one = viewer_a.get(URL.format(slug="acme") + f"{first['id']}/")

    assert [c["id"] for c in listed["results"]] == [second["id"]] and listed["previous"] is None
    assert [c["id"] for c in rest["results"]] == [first["id"]] and rest["next"] is None
    assert one.status_code == 200 and json.loads(one.content) == first
