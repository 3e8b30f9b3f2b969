"""The review workflow over REST: every move and every refused one, roles and named members per
stage, four-eyes, bulk all-or-nothing, notices, and lineage."""

import pytest
from django.core import mail

from assets.models import ApprovalStage, Asset, Review
from config.celery_app import app
from tenants.models import AuditEvent, Role

from ..factories import make_asset, make_job, make_project

pytestmark = pytest.mark.django_db
Status = Asset.Status
URL = "/api/v1/tenants/acme/assets"


@pytest.fixture
def people(tenant_a, member, client_as):
    """A creator, two approvers and a viewer of Acme, each with a signed-in client."""
    users = {
        "creator": member(tenant_a, Role.CREATOR, email="cara@acme.test"),
        "approver": member(tenant_a, Role.APPROVER, email="abe@acme.test"),
        "approver2": member(tenant_a, Role.APPROVER, email="ann@acme.test"),
        "viewer": member(tenant_a, Role.VIEWER, email="vic@acme.test"),
    }
    return {name: (user, client_as(user)) for name, user in users.items()}


@pytest.fixture
def draft(tenant_a, people):
    return make_asset(tenant_a, job=make_job(tenant_a), index=0, created_by=people["creator"][0], title="Hero")


def move(client, asset, action, comment=""):
    return client.post(f"{URL}/{asset.pk}/{action}/", {"comment": comment} if comment else {}, format="json")


def test_a_draft_goes_through_review_to_approved_and_archived(draft, people, django_capture_on_commit_callbacks):
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            submitted = move(people["creator"][1], draft, "submit", "Ready for launch")
        assert (submitted.status_code, submitted.json()["status"]) == (200, "in_review")
        assert sorted(mail.outbox[0].to) == ["abe@acme.test", "ann@acme.test"]  # the stage's deciders (and admins)
        assert "waits for" in mail.outbox[0].subject

        with django_capture_on_commit_callbacks(execute=True):
            approved = move(people["approver"][1], draft, "approve", "Lovely")
        assert (approved.status_code, approved.json()["status"]) == (200, "approved")
        assert mail.outbox[1].to == ["cara@acme.test"] and "approved" in mail.outbox[1].subject
    finally:
        app.conf.task_always_eager = False

    archived = move(people["approver"][1], draft, "archive")
    assert (archived.status_code, archived.json()["status"]) == (200, "archived")

    reviews = list(Review.objects.filter(asset=draft).order_by("at", "id").values_list("decision", "comment"))
    assert reviews == [("submitted", "Ready for launch"), ("approved", "Lovely"), ("archived", "")]
    verbs = list(AuditEvent.objects.filter(target_id=str(draft.pk)).order_by("at").values_list("verb", flat=True))
    assert verbs == ["asset.submitted", "asset.approved", "asset.archived"]
    listed = people["viewer"][1].get("/api/v1/tenants/acme/reviews/", {"asset": str(draft.pk)}).json()["results"]
    assert [r["decision"] for r in listed] == ["archived", "approved", "submitted"]
    assert listed[1]["reviewer"] == "abe@acme.test"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.DRAFT, "approve"), (Status.DRAFT, "reject"), (Status.DRAFT, "request-changes"),
        (Status.DRAFT, "archive"), (Status.IN_REVIEW, "submit"), (Status.IN_REVIEW, "archive"),
        (Status.APPROVED, "submit"), (Status.APPROVED, "approve"), (Status.APPROVED, "reject"),
        (Status.REJECTED, "submit"), (Status.REJECTED, "approve"), (Status.REJECTED, "archive"),
        (Status.CHANGES_REQUESTED, "approve"), (Status.CHANGES_REQUESTED, "archive"),
        (Status.ARCHIVED, "submit"), (Status.ARCHIVED, "archive"), (Status.ARCHIVED, "approve"),
    ],
)  # fmt: skip
def test_a_move_from_the_wrong_state_is_a_409_with_the_current_state(tenant_a, member, client_as, status, action):
    asset = make_asset(tenant_a, job=make_job(tenant_a), index=0, status=status, review_stage=0)

    response = move(client_as(member(tenant_a, Role.ADMIN)), asset, action)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert response.json()["error"]["status"] == status
    asset.refresh_from_db()
    assert asset.status == status and not Review.objects.exists()


def test_roles_decide_who_may_move(draft, people):
    assert move(people["viewer"][1], draft, "submit").status_code == 403
    assert move(people["creator"][1], draft, "submit").status_code == 200
    refused = move(people["creator"][1], draft, "approve")
    assert refused.status_code == 403 and "approver role" in refused.json()["error"]["message"]
    assert move(people["viewer"][1], draft, "reject").status_code == 403
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW


def test_changes_requested_go_back_to_review_from_the_first_stage(draft, people):
    move(people["creator"][1], draft, "submit")
    assert move(people["approver"][1], draft, "request-changes", "Brighter").json()["status"] == "changes_requested"
    again = move(people["creator"][1], draft, "submit")
    assert (again.json()["status"], again.json()["review_stage"]) == ("in_review", 0)
    assert move(people["approver"][1], draft, "reject").json()["status"] == "rejected"
    assert move(people["creator"][1], draft, "submit").status_code == 409  # a rejection ends the review


def test_four_eyes_keeps_a_creator_from_approving_their_own_asset(tenant_a, people):
    tenant_a.four_eyes_approval = True
    tenant_a.save()
    approver, approver_client = people["approver"]
    own = make_asset(tenant_a, job=make_job(tenant_a), index=0, created_by=approver, status=Status.IN_REVIEW,
                     review_stage=0)  # fmt: skip

    refused = move(approver_client, own, "approve")
    allowed = move(people["approver2"][1], own, "approve")

    assert refused.status_code == 403 and "four-eyes" in refused.json()["error"]["message"].lower()
    assert allowed.status_code == 200 and allowed.json()["status"] == "approved"


def test_stages_approve_in_order_and_named_members_decide_theirs(tenant_a, people):
    project = make_project(tenant_a)
    ApprovalStage.objects.create(project=project, position=1, name="Brand", role=Role.APPROVER)
    legal = ApprovalStage.objects.create(project=project, position=2, name="Legal", role=Role.ADMIN)
    legal.members.add(people["approver2"][0])  # a named approver decides, though the stage's role is admin
    asset = make_asset(tenant_a, job=make_job(tenant_a), index=0, project=project, created_by=people["creator"][0])

    move(people["creator"][1], asset, "submit")
    brand = move(people["approver"][1], asset, "approve")
    not_named = move(people["approver"][1], asset, "approve")
    named = move(people["approver2"][1], asset, "approve")

    assert (brand.json()["status"], brand.json()["review_stage"]) == ("in_review", 1)
    assert not_named.status_code == 403 and "Legal" in not_named.json()["error"]["message"]
    assert named.json()["status"] == "approved"
    stages = list(Review.objects.filter(asset=asset).order_by("id").values_list("decision", "stage_name"))
    assert stages == [("submitted", "Brand"), ("approved", "Brand"), ("approved", "Legal")]


def test_a_rejection_at_an_early_stage_ends_the_review(tenant_a, people):
    project = make_project(tenant_a)
    ApprovalStage.objects.create(project=project, position=1, name="Brand", role=Role.APPROVER)
    ApprovalStage.objects.create(project=project, position=2, name="Legal", role=Role.APPROVER)
    asset = make_asset(tenant_a, job=make_job(tenant_a), index=0, project=project, status=Status.IN_REVIEW,
                       review_stage=0)  # fmt: skip

    assert move(people["approver"][1], asset, "reject").json()["status"] == "rejected"
    assert move(people["approver2"][1], asset, "approve").status_code == 409


def test_bulk_moves_all_or_nothing_and_reports_each_refusal(tenant_a, tenant_b, people):
    ready = [make_asset(tenant_a, job=make_job(tenant_a), index=i, sha256=f"{i:02d}" * 32, status=Status.IN_REVIEW,
                        review_stage=0) for i in range(3)]  # fmt: skip
    not_ready = make_asset(tenant_a, job=make_job(tenant_a), index=5, sha256="ee" * 32)
    foreign = make_asset(tenant_b, job=make_job(tenant_b), index=0, status=Status.IN_REVIEW, review_stage=0)
    approver = people["approver"][1]

    refused = approver.post(f"{URL}/bulk/", {"ids": [str(a.pk) for a in [*ready, not_ready, foreign]],
                                             "action": "approve"}, format="json")  # fmt: skip

    assert refused.status_code == 400
    errors = {e["id"]: e["code"] for e in refused.json()["error"]["errors"]}
    assert errors == {str(not_ready.pk): "invalid_transition", str(foreign.pk): "not_found"}
    assert Asset.objects.filter(status=Status.APPROVED).count() == 0 and not Review.objects.exists()
    foreign.refresh_from_db()
    assert foreign.status == Status.IN_REVIEW

    done = approver.post(f"{URL}/bulk/", {"ids": [str(a.pk) for a in ready], "action": "approve"}, format="json")
    assert done.status_code == 200
    assert [a["status"] for a in done.json()["results"]] == ["approved"] * 3
    assert [a["id"] for a in done.json()["results"]] == [str(a.pk) for a in ready]

    bad_action = approver.post(f"{URL}/bulk/", {"ids": [str(ready[0].pk)], "action": "publish"}, format="json")
    assert bad_action.status_code == 400 and "action" in bad_action.json()["error"]["fields"]


def test_lineage_walks_ancestors_and_descendants(tenant_a, people):
    upload = make_asset(tenant_a, sha256="a1" * 32, kind=Asset.Kind.UPLOAD)
    edit = make_asset(tenant_a, sha256="a2" * 32, job=make_job(tenant_a, task_type="INPAINTING"), index=0)
    edit.parents.set([upload])
    final = make_asset(tenant_a, sha256="a3" * 32, job=make_job(tenant_a, finalizes=edit, quality="premium"), index=0)
    final.parents.set([edit])

    lineage = people["viewer"][1].get(f"{URL}/{final.pk}/lineage/").json()
    middle = people["viewer"][1].get(f"{URL}/{edit.pk}/lineage/").json()

    assert [a["id"] for a in lineage["ancestors"]] == [str(edit.pk), str(upload.pk)]
    assert lineage["ancestors"][0]["parents"] == [str(upload.pk)]
    assert lineage["asset"]["job"]["finalizes"] == str(edit.pk) and lineage["descendants"] == []
    assert middle["asset"]["parents"] == [str(upload.pk)] and middle["asset"]["children"] == [str(final.pk)]
    assert [a["id"] for a in middle["descendants"]] == [str(final.pk)]


def test_assets_filter_by_status_tag_and_words(tenant_a, people):
    hero = make_asset(tenant_a, job=make_job(tenant_a), index=0, title="Spring hero", tags=["spring", "hero"],
                      status=Status.APPROVED)  # fmt: skip
    make_asset(tenant_a, job=make_job(tenant_a), index=1, sha256="bb" * 32, title="Winter", tags=["winter"])
    viewer = people["viewer"][1]

    def ids(**params):
        return [a["id"] for a in viewer.get(f"{URL}/", params).json()["results"]]

    assert ids(status="approved") == [str(hero.pk)]
    assert ids(tag="spring") == [str(hero.pk)]
    assert ids(search="HERO") == [str(hero.pk)]
    assert len(ids(search="lamp")) == 2  # the jobs' prompt
    assert viewer.get(f"{URL}/", {"status": "published"}).status_code == 400


def test_the_admin_review_queue_approves_in_bulk_through_the_services(tenant_a, people, client):
    from django.urls import reverse

    approver = people["approver"][0]
    approver.is_staff = True
    approver.set_password("pw")
    approver.save()
    client.force_login(approver)
    waiting = [make_asset(tenant_a, job=make_job(tenant_a), index=i, sha256=f"{i:02d}" * 32, status=Status.IN_REVIEW,
                          review_stage=0) for i in range(2)]  # fmt: skip
    draft = make_asset(tenant_a, job=make_job(tenant_a), index=9, sha256="dd" * 32)
    changelist = reverse("admin:assets_asset_changelist")

    queue = client.get(changelist, {"status__exact": "in_review"})
    mixed = [str(waiting[0].pk), str(draft.pk)]
    refused = client.post(changelist, {"action": "assets_approve", "_selected_action": mixed}, follow=True)
    approved = client.post(changelist, {"action": "assets_approve", "_selected_action": [str(a.pk) for a in waiting]},
                           follow=True)  # fmt: skip
    page = client.get(reverse("admin:assets_asset_change", args=[waiting[0].pk]))

    assert queue.status_code == 200 and str(waiting[0].pk) in queue.content.decode()
    assert "could not approve; nothing was changed" in refused.content.decode()
    assert "2 assets approved" in approved.content.decode()
    assert set(Asset.objects.filter(pk__in=[a.pk for a in waiting]).values_list("status", flat=True)) == {"approved"}
    assert Review.objects.filter(decision="approved", reviewer=approver).count() == 2
    assert page.status_code == 200 and "Provenance" in page.content.decode()


def test_an_ingested_image_is_a_draft_of_whoever_asked_with_the_jobs_tags(tenant_a, people, settings, tmp_path):
    from .provenance_helpers import emulator_image, ingest, use_local_storage

    use_local_storage(settings, tmp_path)
    creator = people["creator"][0]

    asset = ingest(tenant_a, emulator_image(), requested_by_user=creator, tags=["spring"])

    assert (asset.status, asset.created_by, asset.tags) == (Status.DRAFT, creator, ["spring"])
    assert move(people["creator"][1], asset, "submit").status_code == 200
    # Its thumbnail shows the stored (marked) pixels, made while they were decoded.
    import io

    from PIL import Image, ImageChops, ImageStat

    from assets.storage import read_object

    thumbnail = Image.open(io.BytesIO(read_object(asset.thumbnail_key)))
    final = Image.open(io.BytesIO(read_object(asset.file_key))).convert("RGB").resize((256, 256))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (256, 256))
    assert max(ImageStat.Stat(ImageChops.difference(thumbnail.convert("RGB"), final)).mean) < 8


def test_an_asset_is_named_and_tagged_and_nothing_else_changes(draft, people):
    url = f"{URL}/{draft.pk}/"

    named = people["creator"][1].patch(url, {"title": "  Spring hero ", "tags": ["spring", "hero", "spring"]},
                                       format="json")  # fmt: skip
    too_many = people["creator"][1].patch(url, {"tags": [f"t{i}" for i in range(21)]}, format="json")
    not_mine = people["creator"][1].patch(url, {"status": "approved"}, format="json")
    viewer = people["viewer"][1].patch(url, {"title": "Mine"}, format="json")

    assert named.status_code == 200 and (named.json()["title"], named.json()["tags"]) == (
        "Spring hero",
        ["spring", "hero"],
    )
    assert too_many.status_code == 400 and list(too_many.json()["error"]["fields"]) == ["tags"]
    assert not_mine.status_code == 400 and list(not_mine.json()["error"]["fields"]) == ["status"]
    assert viewer.status_code == 403
    draft.refresh_from_db()
    assert (draft.title, draft.tags, draft.status) == ("Spring hero", ["spring", "hero"], Status.DRAFT)
    assert AuditEvent.objects.filter(verb="asset.updated", target_id=str(draft.pk)).count() == 1
