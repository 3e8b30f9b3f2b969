"""The gallery: every role sees the tenant's images, filters narrow them, pages keep the filters,
bulk review moves are all or nothing, and a zip download holds the stored originals."""

import datetime
import io
import re
import zipfile

import pytest
from django.utils import timezone

from assets import storage
from assets.models import Asset, Review
from assets.review import asset_submit
from generation.models import BedrockModel
from tenants.models import Role

from ..assets.provenance_helpers import emulator_image, ingest, use_local_storage
from ..factories import make_asset, make_job, make_project

pytestmark = pytest.mark.django_db
Status = Asset.Status


def gallery(client, **params):
    return client.get("/t/acme/gallery/", params)


def shown_ids(response) -> list[str]:
    return re.findall(r'name="assets" value="([0-9a-f-]{36})"', response.content.decode())


def an_asset(tenant, n: int, **fields) -> Asset:
    return make_asset(tenant, sha256=f"{n:064x}", **fields)


@pytest.mark.parametrize(
    ("role", "can_submit", "can_approve"),
    [(Role.VIEWER, False, False), (Role.CREATOR, True, False), (Role.APPROVER, True, True), (Role.ADMIN, True, True)],
)
def test_every_role_sees_the_images_with_the_moves_it_may_make(signed_in, tenant_a, role, can_submit, can_approve):
    client, _ = signed_in(role)
    hero = an_asset(tenant_a, 1, title="Hero banner", status=Status.IN_REVIEW)

    response = gallery(client)

    assert response.status_code == 200
    body = response.content.decode()
    assert shown_ids(response) == [str(hero.pk)]
    assert "Hero banner" in body and "In Review" in body
    assert f"/t/acme/assets/{hero.pk}/" in body
    assert ('value="submit"' in body) is can_submit
    assert ('value="approve"' in body) is can_approve
    assert "Download zip" in body


def test_an_empty_gallery_says_how_to_start(signed_in):
    client, _ = signed_in(Role.CREATOR)

    body = gallery(client).content.decode()

    assert "No images yet" in body and "/t/acme/compose/" in body


def test_another_tenants_images_are_not_shown(signed_in, tenant_a, tenant_b):
    client, _ = signed_in(Role.ADMIN)
    mine = an_asset(tenant_a, 1)
    an_asset(tenant_b, 2)

    assert shown_ids(gallery(client)) == [str(mine.pk)]


def test_each_filter_narrows_what_is_shown(signed_in, tenant_a, member):
    client, me = signed_in(Role.VIEWER)
    other = member(tenant_a, Role.CREATOR, email="olga@acme.test")
    spring = make_project(tenant_a, name="Spring", slug="spring")
    titan = BedrockModel.objects.get(model_id="amazon.titan-image-generator-v2:0")
    nova_job = make_job(tenant_a, params={"prompt": "a brass lamp", "task": "TEXT_IMAGE"})
    titan_job = make_job(tenant_a, model=titan, params={"prompt": "a red bicycle", "task": "TEXT_IMAGE"})
    lamp = an_asset(tenant_a, 1, title="Lamp", job=nova_job, index=0, tags=["launch"], created_by=other)
    bike = an_asset(tenant_a, 2, title="Bike", job=titan_job, index=0, project=spring, status=Status.APPROVED)
    old = an_asset(tenant_a, 3, title="Old poster", tags=["archive"], created_by=me)
    Asset.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    old_day = (timezone.localdate() - datetime.timedelta(days=40)).isoformat()

    assert set(shown_ids(gallery(client))) == {str(lamp.pk), str(bike.pk), str(old.pk)}
    assert shown_ids(gallery(client, status="approved")) == [str(bike.pk)]
    assert shown_ids(gallery(client, project=str(spring.pk))) == [str(bike.pk)]
    assert shown_ids(gallery(client, model=titan.model_id)) == [str(bike.pk)]
    assert shown_ids(gallery(client, tag="launch")) == [str(lamp.pk)]
    assert shown_ids(gallery(client, creator=str(other.pk))) == [str(lamp.pk)]
    assert shown_ids(gallery(client, created_before=old_day)) == [str(old.pk)]
    today = timezone.localdate().isoformat()
    assert set(shown_ids(gallery(client, created_after=today))) == {str(lamp.pk), str(bike.pk)}
    assert shown_ids(gallery(client, q="bicycle")) == [str(bike.pk)]  # the prompt's words
    assert shown_ids(gallery(client, q="poster")) == [str(old.pk)]  # the title's
    filtered = gallery(client, status="approved", tag="nothing-has-this").content.decode()
    assert "No images match these filters" in filtered


def test_a_bad_filter_value_is_named_and_the_rest_still_apply(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    an_asset(tenant_a, 1, title="Lamp")

    response = gallery(client, status="nonsense", created_after="not-a-date")

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode() and "Enter a valid date" in response.content.decode()


def test_pages_of_48_keep_the_filters_in_their_links(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    for n in range(50):
        an_asset(tenant_a, n + 1, title=f"Draft {n}")
    an_asset(tenant_a, 99, title="Approved one", status=Status.APPROVED)

    first = gallery(client, status="draft")
    second = gallery(client, status="draft", page=2)

    assert len(shown_ids(first)) == 48 and len(shown_ids(second)) == 2
    assert set(shown_ids(first)).isdisjoint(shown_ids(second))
    assert "Page 1 of 2" in first.content.decode()
    assert "?status=draft&amp;page=2" in first.content.decode()  # the next-page link and the scroll loader


def test_infinite_scroll_asks_htmx_for_the_next_page_as_a_fragment(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    for n in range(50):
        an_asset(tenant_a, n + 1)

    first = gallery(client).content.decode()
    fragment = client.get("/t/acme/gallery/", {"page": 2}, HTTP_HX_REQUEST="true")

    assert 'hx-trigger="revealed"' in first and 'hx-get="?page=2"' in first
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode() and len(shown_ids(fragment)) == 2
    assert 'hx-trigger="revealed"' not in fragment.content.decode()  # the last page loads nothing more


def test_a_title_is_shown_escaped(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    an_asset(tenant_a, 1, title="<script>alert(1)</script>")

    body = gallery(client).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- bulk moves -----------------------------------------------------------------------------------


def bulk(client, action, assets, comment="", follow=True):
    data = {"action": action, "assets": [str(a.pk) for a in assets], "comment": comment, "next": "/t/acme/gallery/"}
    return client.post("/t/acme/gallery/bulk/", data, follow=follow)


def test_bulk_approve_moves_every_picked_image_and_writes_their_reviews(signed_in, tenant_a):
    client, approver = signed_in(Role.APPROVER)
    waiting = [an_asset(tenant_a, n, status=Status.IN_REVIEW, review_stage=0) for n in (1, 2)]
    untouched = an_asset(tenant_a, 3, status=Status.IN_REVIEW, review_stage=0)

    response = bulk(client, "approve", waiting, comment="On brand")

    assert response.redirect_chain[-1] == ("/t/acme/gallery/", 302)
    assert "2 images approved." in response.content.decode()
    assert {a.status for a in Asset.objects.filter(pk__in=[a.pk for a in waiting])} == {Status.APPROVED}
    assert Asset.objects.get(pk=untouched.pk).status == Status.IN_REVIEW
    reviews = Review.objects.filter(asset__in=waiting)
    assert sorted(reviews.values_list("decision", "comment", "reviewer")) == [("approved", "On brand", approver.pk)] * 2


def test_bulk_submit_and_request_changes_use_the_same_services(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)
    draft = an_asset(tenant_a, 1)

    bulk(client, "submit", [draft])
    assert Asset.objects.get(pk=draft.pk).status == Status.IN_REVIEW
    bulk(client, "request_changes", [draft], comment="Warmer light")
    assert Asset.objects.get(pk=draft.pk).status == Status.CHANGES_REQUESTED
    assert Review.objects.filter(asset=draft).latest("at").comment == "Warmer light"


def test_bulk_is_all_or_nothing_and_names_each_refusal(signed_in, tenant_a):
    client, _ = signed_in(Role.APPROVER)
    waiting = an_asset(tenant_a, 1, status=Status.IN_REVIEW, review_stage=0, title="Waiting one")
    draft = an_asset(tenant_a, 2, title="Still a draft")

    response = bulk(client, "approve", [waiting, draft])

    body = response.content.decode()
    assert "1 of 2 assets could not approve; nothing was changed." in body
    assert "Still a draft: Cannot approve an asset that is draft." in body
    assert Asset.objects.get(pk=waiting.pk).status == Status.IN_REVIEW
    assert Review.objects.count() == 0


def test_a_creator_cannot_bulk_approve(signed_in, tenant_a):
    client, _ = signed_in(Role.CREATOR)
    waiting = an_asset(tenant_a, 1, status=Status.IN_REVIEW, review_stage=0)

    body = bulk(client, "approve", [waiting]).content.decode()

    assert "nothing was changed" in body and "decided by the approver role or higher" in body
    assert Asset.objects.get(pk=waiting.pk).status == Status.IN_REVIEW


def test_another_tenants_id_in_the_bulk_list_is_a_404_and_nothing_moves(signed_in, tenant_a, tenant_b):
    client, _ = signed_in(Role.ADMIN)
    mine = an_asset(tenant_a, 1, status=Status.IN_REVIEW, review_stage=0)
    theirs = an_asset(tenant_b, 2, status=Status.IN_REVIEW, review_stage=0)

    response = bulk(client, "approve", [mine, theirs], follow=False)

    assert response.status_code == 404
    assert set(Asset.objects.values_list("status", flat=True)) == {Status.IN_REVIEW}
    assert Review.objects.count() == 0


def test_bulk_without_a_pick_or_with_an_unknown_action_says_so(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)
    draft = an_asset(tenant_a, 1)

    nothing = client.post("/t/acme/gallery/bulk/", {"action": "approve"}, follow=True).content.decode()
    unknown = bulk(client, "publish", [draft]).content.decode()

    assert "Pick at least one image first." in nothing
    assert "action: One of: submit, approve, reject, request-changes, archive." in unknown
    assert Asset.objects.get(pk=draft.pk).status == Status.DRAFT


# --- zip download ---------------------------------------------------------------------------------


@pytest.fixture
def stored_images(settings, tmp_path, tenant_a):
    use_local_storage(settings, tmp_path)
    return [ingest(tenant_a, emulator_image(seed=seed)) for seed in (1, 2)]


def test_the_zip_holds_the_stored_originals_named_by_asset_id(signed_in, stored_images):
    client, _ = signed_in(Role.VIEWER)

    response = client.post("/t/acme/gallery/download/", {"assets": [str(a.pk) for a in stored_images]})

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="atelier-acme-2-images.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"{a.pk}.png" for a in stored_images)
    for asset in stored_images:
        assert archive.read(f"{asset.pk}.png") == storage.read_object(asset.file_key)
        assert archive.read(f"{asset.pk}.png").startswith(b"\x89PNG")


def test_a_download_link_with_ids_works_too(signed_in, stored_images):
    client, _ = signed_in(Role.VIEWER)

    response = client.get("/t/acme/gallery/download/", {"assets": str(stored_images[0].pk)})

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"{stored_images[0].pk}.png"]


def test_an_image_missing_from_storage_is_listed_in_the_zip(signed_in, stored_images, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    lost = an_asset(tenant_a, 7)

    response = client.post("/t/acme/gallery/download/", {"assets": [str(stored_images[0].pk), str(lost.pk)]})

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted([f"{stored_images[0].pk}.png", "MISSING.txt"])
    assert str(lost.pk) in archive.read("MISSING.txt").decode()


def test_a_download_of_another_tenants_image_is_a_404(signed_in, stored_images, tenant_b):
    client, _ = signed_in(Role.ADMIN)
    theirs = an_asset(tenant_b, 5)

    response = client.post("/t/acme/gallery/download/", {"assets": [str(stored_images[0].pk), str(theirs.pk)]})

    assert response.status_code == 404


def test_a_download_of_more_than_100_or_of_nothing_is_refused(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    many = [an_asset(tenant_a, n + 1) for n in range(101)]

    too_many = client.post("/t/acme/gallery/download/", {"assets": [str(a.pk) for a in many]}, follow=True)
    nothing = client.post("/t/acme/gallery/download/", {}, follow=True)

    assert "Download at most 100 images at a time; 101 were picked." in too_many.content.decode()
    assert "Pick at least one image to download." in nothing.content.decode()


def test_submitted_images_show_their_status(signed_in, tenant_a):
    client, creator = signed_in(Role.CREATOR)
    draft = an_asset(tenant_a, 1, title="Poster")
    asset_submit(tenant=tenant_a, asset_id=draft.pk, actor=creator)

    body = gallery(client, status="in_review").content.decode()

    assert shown_ids(gallery(client, status="in_review")) == [str(draft.pk)] and "In Review" in body
