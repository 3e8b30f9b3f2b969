"""One asset's page: its preview, parameters and cost, lineage, provenance and reviews; editing the
title and tags, commenting, review moves, a provenance check, and finalizing at premium."""

from decimal import Decimal

import pytest
from django.db import transaction

from assets.models import Asset, ProvenanceCheck, Review
from assets.review import asset_request_changes, asset_submit
from billing.models import LedgerEntry
from billing.services import budget_reserve, budget_set_tenant_monthly, job_settle
from generation.models import GenerationJob
from tenants.models import AuditEvent, Role

from ..assets.provenance_helpers import emulator_image, ingest, use_local_storage
from ..factories import make_asset, make_job

pytestmark = pytest.mark.django_db
Status = Asset.Status
PARAMS = {"prompt": "a brass lamp on an oak desk", "negative_prompt": "blurry", "task": "TEXT_IMAGE", "n": 1,
          "seed": 9, "width": 512, "height": 512, "quality": "standard", "cfg_scale": 6.5}  # fmt: skip


def page(client, asset):
    return client.get(f"/t/acme/assets/{asset.pk}/")


@pytest.fixture
def draft(tenant_a, member):
    maker = member(tenant_a, Role.CREATOR, email="cara@acme.test")
    job = make_job(tenant_a, quality="standard", params=PARAMS, requested_by_user=maker)
    return make_asset(tenant_a, job=job, index=0, seed=9, title="Desk lamp", tags=["spring"], created_by=maker)


@pytest.mark.parametrize(
    ("role", "can_edit"),
    [(Role.VIEWER, False), (Role.CREATOR, True), (Role.APPROVER, True), (Role.ADMIN, True)],
)
def test_every_role_sees_the_page_and_only_creators_get_the_tools(signed_in, draft, role, can_edit):
    client, _ = signed_in(role)

    response = page(client, draft)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Desk lamp" in body and "Download original" in body
    assert (f'action="/t/acme/assets/{draft.pk}/edit/"' in body) is can_edit
    assert ("Finalize at premium" in body) is can_edit
    assert (f'action="/t/acme/assets/{draft.pk}/comment/"' in body) is can_edit
    assert (f"/t/acme/compose/?from_asset={draft.pk}" in body) is can_edit
    assert (f"/t/acme/compose/?source_asset={draft.pk}&amp;task_type=IMAGE_VARIATION" in body) is can_edit
    assert (f"/t/acme/compose/?source_asset={draft.pk}&amp;task_type=INPAINTING" in body) is can_edit
    assert ("Submit for review" in body) is can_edit  # a draft: creators and above may submit it


def test_the_page_shows_parameters_and_the_settled_cost(signed_in, tenant_a, draft):
    client, _ = signed_in(Role.VIEWER)
    job = draft.job
    GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", images_returned=1, unit_price_usd="0.04")
    job.refresh_from_db()
    with transaction.atomic():
        budget_reserve(job=job, amount_usd=Decimal("0.04"))
    job_settle(job=job)

    body = page(client, draft).content.decode()

    for shown in ("Nova Canvas", "amazon.nova-canvas-v1:0", "TEXT_IMAGE", "a brass lamp on an oak desk", "blurry",
                  "6.5", "standard", "$0.04", "cara@acme.test"):  # fmt: skip
        assert shown in body, shown


def test_a_cost_not_settled_yet_says_so(signed_in, draft):
    client, _ = signed_in(Role.VIEWER)

    assert "not settled yet" in page(client, draft).content.decode()


def test_the_lineage_shows_ancestors_and_descendants_as_links(signed_in, tenant_a, draft):
    client, _ = signed_in(Role.VIEWER)
    source = make_asset(tenant_a, sha256="a1" * 32, kind=Asset.Kind.UPLOAD, title="Original photo")
    draft.parents.set([source])
    variation = make_asset(tenant_a, sha256="a2" * 32, job=make_job(tenant_a, task_type="IMAGE_VARIATION"), index=0,
                           title="Variation A")  # fmt: skip
    variation.parents.set([draft])
    final = make_asset(tenant_a, sha256="a3" * 32, job=make_job(tenant_a, quality="premium", finalizes=variation),
                       index=0, title="Final of A")  # fmt: skip
    final.parents.set([variation])

    body = page(client, draft).content.decode()

    for linked in (source, variation, final):
        assert f'href="/t/acme/assets/{linked.pk}/"' in body
    assert body.index("Original photo") < body.index("Variation A") < body.index("Final of A")
    assert "IMAGE_VARIATION" in body and "final" in body


def test_a_stored_image_shows_its_provenance_and_a_check_detects_the_watermark(signed_in, settings, tmp_path, tenant_a):
    use_local_storage(settings, tmp_path)
    asset = ingest(tenant_a, emulator_image(seed=5))
    client, user = signed_in(Role.VIEWER)

    before = page(client, asset).content.decode()
    assert asset.watermark_id and asset.watermark_id in before
    assert asset.provenance["manifest_label"] in before and asset.sha256 in before and asset.phash in before
    assert "Not checked yet" in before

    checked = client.post(f"/t/acme/assets/{asset.pk}/check/", follow=True)

    check = ProvenanceCheck.objects.get(input_asset=asset)
    assert (check.verdict, check.asset_id, check.checked_by_id) == ("atelier_asset", asset.pk, user.pk)
    body = checked.content.decode()
    assert "Provenance checked: Atelier Asset." in body
    assert "Atelier watermark" in body and "match" in body


def test_the_review_history_is_shown_newest_first(signed_in, tenant_a, draft, member):
    client, _ = signed_in(Role.VIEWER)
    asset_submit(tenant=tenant_a, asset_id=draft.pk, actor=draft.created_by, comment="Ready for launch")
    approver = member(tenant_a, Role.APPROVER, email="abe@acme.test")
    asset_request_changes(tenant=tenant_a, asset_id=draft.pk, actor=approver, comment="Warmer light please")

    body = page(client, draft).content.decode()

    assert body.index("Warmer light please") < body.index("Ready for launch")
    assert "Changes Requested" in body and "abe@acme.test" in body and "at Approval" in body


def test_a_title_is_shown_escaped(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    asset = make_asset(tenant_a, title="<script>alert(1)</script>")

    body = page(client, asset).content.decode()

    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- title and tags -------------------------------------------------------------------------------


def test_a_creator_renames_and_retags(signed_in, draft):
    client, user = signed_in(Role.CREATOR)

    response = client.post(f"/t/acme/assets/{draft.pk}/edit/", {"title": " Hero ", "tags": "spring, launch,,spring"})

    assert response.status_code == 302 and response["Location"] == f"/t/acme/assets/{draft.pk}/"
    draft.refresh_from_db()
    assert (draft.title, draft.tags) == ("Hero", ["spring", "launch"])
    assert AuditEvent.objects.filter(verb="asset.updated", actor_user=user).exists()


def test_a_bad_title_is_shown_beside_the_field_and_nothing_changes(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(f"/t/acme/assets/{draft.pk}/edit/", {"title": "x" * 201, "tags": "a"})

    assert response.status_code == 400
    body = response.content.decode()
    field = body[body.index('id="id_title"') : body.index('id="id_tags"')]
    assert "Ensure this value has at most 200 characters" in field
    draft.refresh_from_db()
    assert (draft.title, draft.tags) == ("Desk lamp", ["spring"])


def test_too_many_tags_are_refused_beside_the_tags(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(f"/t/acme/assets/{draft.pk}/edit/", {"title": "Hero", "tags": ",".join(map(str, range(21)))})

    assert response.status_code == 400
    body = response.content.decode()
    assert "Up to 20 tags" in body[body.index('id="id_tags"') :]
    assert Asset.objects.get(pk=draft.pk).title == "Desk lamp"


def test_a_viewer_cannot_edit(signed_in, draft):
    client, _ = signed_in(Role.VIEWER)

    response = client.post(f"/t/acme/assets/{draft.pk}/edit/", {"title": "Mine now"})

    assert response.status_code == 403
    assert Asset.objects.get(pk=draft.pk).title == "Desk lamp"


# --- comments and review moves --------------------------------------------------------------------


def test_a_comment_is_kept_in_the_history_without_moving_the_status(signed_in, draft):
    client, user = signed_in(Role.CREATOR)

    response = client.post(f"/t/acme/assets/{draft.pk}/comment/", {"comment": "Try it <b>bolder</b>"}, follow=True)

    review = Review.objects.get(asset=draft)
    assert (review.decision, review.comment, review.reviewer_id) == ("commented", "Try it <b>bolder</b>", user.pk)
    assert Asset.objects.get(pk=draft.pk).status == Status.DRAFT
    assert AuditEvent.objects.filter(verb="asset.commented", target_id=str(draft.pk)).exists()
    body = response.content.decode()
    assert "Comment added." in body and "Try it &lt;b&gt;bolder&lt;/b&gt;" in body and "Commented" in body


def test_an_empty_comment_is_refused_beside_the_box(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)

    response = client.post(f"/t/acme/assets/{draft.pk}/comment/", {"comment": "   "})

    assert response.status_code == 400
    body = response.content.decode()
    assert "Write a comment of 1 to 5000 characters." in body[body.index('id="id_comment"') :]
    assert Review.objects.count() == 0


def test_a_viewer_cannot_comment(signed_in, draft):
    client, _ = signed_in(Role.VIEWER)

    response = client.post(f"/t/acme/assets/{draft.pk}/comment/", {"comment": "Hello"}, follow=True)

    assert "Commenting needs the creator role or higher" in response.content.decode()
    assert Review.objects.count() == 0


def test_a_draft_is_submitted_then_approved_from_its_page(signed_in, tenant_a, draft, member, browser_as):
    creator, _ = signed_in(Role.CREATOR)
    approver = browser_as(member(tenant_a, Role.APPROVER))

    submitted = creator.post(f"/t/acme/assets/{draft.pk}/submit/", {"comment": "Ready"}, follow=True)
    assert "Desk lamp was submitted for review." in submitted.content.decode()
    assert Asset.objects.get(pk=draft.pk).status == Status.IN_REVIEW
    assert "/approve/" not in submitted.content.decode()  # a creator may not decide

    approver_page = page(approver, draft).content.decode()
    assert "/approve/" in approver_page and "/reject/" in approver_page and "/request_changes/" in approver_page
    approved = approver.post(f"/t/acme/assets/{draft.pk}/approve/", {"comment": "Lovely"}, follow=True)

    assert "Desk lamp was approved." in approved.content.decode()
    assert Asset.objects.get(pk=draft.pk).status == Status.APPROVED
    assert list(Review.objects.filter(asset=draft).order_by("at").values_list("decision", "comment")) == [
        ("submitted", "Ready"),
        ("approved", "Lovely"),
    ]


def test_a_refused_move_is_a_message_and_changes_nothing(signed_in, draft):
    client, _ = signed_in(Role.APPROVER)

    response = client.post(f"/t/acme/assets/{draft.pk}/approve/", follow=True)

    assert response.redirect_chain == [(f"/t/acme/assets/{draft.pk}/", 302)]
    assert "Cannot approve an asset that is draft." in response.content.decode()
    assert Asset.objects.get(pk=draft.pk).status == Status.DRAFT and Review.objects.count() == 0


def test_an_unknown_move_is_a_404(signed_in, draft):
    client, _ = signed_in(Role.ADMIN)

    assert client.post(f"/t/acme/assets/{draft.pk}/publish/").status_code == 404


# --- finalize at premium --------------------------------------------------------------------------


def test_finalize_queues_a_premium_job_reserves_its_price_and_goes_to_the_job(signed_in, draft):
    client, user = signed_in(Role.CREATOR)

    response = client.post(f"/t/acme/assets/{draft.pk}/finalize/")

    job = GenerationJob.objects.get(finalizes=draft)
    assert response.status_code == 302 and response["Location"] == f"/t/acme/jobs/{job.pk}/"
    assert (job.quality, job.width, job.height, job.seed, job.requested_by_user_id) == ("premium", 512, 512, 9, user.pk)
    reserve = LedgerEntry.objects.get(job=job)
    assert (reserve.kind, reserve.amount_usd) == ("reserve", Decimal("0.06"))


def test_finalize_larger_and_a_bad_size_is_a_message(signed_in, draft):
    client, _ = signed_in(Role.CREATOR)

    bad = client.post(f"/t/acme/assets/{draft.pk}/finalize/", {"width": "256"}, follow=True)
    assert "no smaller than the draft" in bad.content.decode() and not GenerationJob.objects.filter(finalizes=draft)

    client.post(f"/t/acme/assets/{draft.pk}/finalize/", {"width": "1024", "height": "1024"})
    assert GenerationJob.objects.get(finalizes=draft).width == 1024


def test_finalize_over_budget_says_so_and_queues_nothing(signed_in, tenant_a, draft):
    client, _ = signed_in(Role.CREATOR)
    budget_set_tenant_monthly(tenant=tenant_a, amount_usd=Decimal("0.05"), actor=None)

    response = client.post(f"/t/acme/assets/{draft.pk}/finalize/", follow=True)

    assert response.redirect_chain == [(f"/t/acme/assets/{draft.pk}/", 302)]
    assert "This request would cost $0.060000" in response.content.decode()
    assert not GenerationJob.objects.filter(finalizes=draft).exists() and LedgerEntry.objects.count() == 0


def test_a_viewer_cannot_finalize(signed_in, draft):
    client, _ = signed_in(Role.VIEWER)

    assert client.post(f"/t/acme/assets/{draft.pk}/finalize/").status_code == 403
    assert not GenerationJob.objects.filter(finalizes=draft).exists()
