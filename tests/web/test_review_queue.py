"""The review queue: approvers see one image at a time, longest waiting first, among those they may
decide (stages, named members, four-eyes); deciding writes the review and moves on to the next."""

import re

import pytest

from assets.models import ApprovalStage, Asset, Review
from assets.review import asset_submit
from tenants.models import Role

from ..factories import make_asset, make_job, make_project

pytestmark = pytest.mark.django_db
Status = Asset.Status
QUEUE = "/t/acme/review/"


def submitted(tenant, creator, n: int, title: str, **fields) -> Asset:
    asset = make_asset(tenant, sha256=f"{n:064x}", job=make_job(tenant), index=0, title=title, created_by=creator,
                       **fields)  # fmt: skip
    asset_submit(tenant=tenant, asset_id=asset.pk, actor=creator, comment=f"{title} is ready")
    return asset


@pytest.fixture
def maker(tenant_a, member):
    return member(tenant_a, Role.CREATOR, email="cara@acme.test")


@pytest.fixture
def three(tenant_a, maker):
    """Three images submitted in this order (the middle one made first: the queue goes by submission)."""
    second = make_asset(tenant_a, sha256="02" * 32, title="Second", created_by=maker)
    first = submitted(tenant_a, maker, 1, "First")
    asset_submit(tenant=tenant_a, asset_id=second.pk, actor=maker)
    third = submitted(tenant_a, maker, 3, "Third")
    return first, Asset.objects.get(pk=second.pk), third


def decide_form_id(response) -> str | None:
    match = re.search(r'action="/t/acme/review/([0-9a-f-]{36})/decide/"', response.content.decode())
    return match and match.group(1)


@pytest.mark.parametrize(("role", "status"), [(Role.VIEWER, 403), (Role.CREATOR, 403), (Role.APPROVER, 200),
                                              (Role.ADMIN, 200)])  # fmt: skip
def test_only_approvers_and_admins_open_the_queue(signed_in, role, status):
    client, _ = signed_in(role)

    assert client.get(QUEUE).status_code == status


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR])
def test_below_approver_cannot_decide(signed_in, three, role):
    client, _ = signed_in(role)

    assert client.post(f"{QUEUE}{three[0].pk}/decide/", {"decision": "approve"}).status_code == 403
    assert Asset.objects.get(pk=three[0].pk).status == Status.IN_REVIEW


def test_an_empty_queue_says_nothing_waits(signed_in):
    client, _ = signed_in(Role.APPROVER)

    body = client.get(QUEUE).content.decode()

    assert "Nothing waits for you" in body and "/t/acme/gallery/?status=in_review" in body


def test_one_image_at_a_time_longest_waiting_first_with_its_details(signed_in, three):
    client, _ = signed_in(Role.APPROVER)
    first, second, third = three

    response = client.get(QUEUE)

    body = response.content.decode()
    assert decide_form_id(response) == str(first.pk)
    assert "1 of 3" in body and "First" in body and "Second" not in body
    for shown in ("a lamp", "Default", "cara@acme.test", "Nova Canvas", "First is ready", "Approval"):
        assert shown in body, shown
    assert f'href="{QUEUE}?at={second.pk}"' in body  # next
    assert 'rel="prev"' not in body


def test_previous_and_next_walk_the_queue(signed_in, three):
    client, _ = signed_in(Role.APPROVER)
    first, second, third = three

    middle = client.get(QUEUE, {"at": str(second.pk)})
    last = client.get(QUEUE, {"at": str(third.pk)})

    assert decide_form_id(middle) == str(second.pk) and "2 of 3" in middle.content.decode()
    assert f'href="{QUEUE}?at={first.pk}"' in middle.content.decode()
    assert f'href="{QUEUE}?at={third.pk}"' in middle.content.decode()
    assert decide_form_id(last) == str(third.pk) and "3 of 3" in last.content.decode()


def test_approving_writes_the_review_and_moves_to_the_next(signed_in, three):
    client, approver = signed_in(Role.APPROVER)
    first, second, _ = three

    response = client.post(f"{QUEUE}{first.pk}/decide/", {"decision": "approve", "comment": "Lovely"})

    assert response.status_code == 302 and response["Location"] == f"{QUEUE}?at={second.pk}"
    assert Asset.objects.get(pk=first.pk).status == Status.APPROVED
    review = Review.objects.filter(asset=first).latest("at")
    assert (review.decision, review.comment, review.reviewer_id) == ("approved", "Lovely", approver.pk)
    after = client.get(response["Location"])
    assert "Approved First." in after.content.decode() and "1 of 2" in after.content.decode()


@pytest.mark.parametrize(
    ("decision", "status"), [("reject", Status.REJECTED), ("request_changes", Status.CHANGES_REQUESTED)]
)
def test_reject_and_request_changes_keep_the_comment(signed_in, three, decision, status):
    client, _ = signed_in(Role.APPROVER)
    first = three[0]

    client.post(f"{QUEUE}{first.pk}/decide/", {"decision": decision, "comment": "Too dark"})

    assert Asset.objects.get(pk=first.pk).status == status
    assert Review.objects.filter(asset=first).latest("at").comment == "Too dark"


def test_deciding_the_last_one_returns_to_the_start(signed_in, three):
    client, _ = signed_in(Role.APPROVER)

    response = client.post(f"{QUEUE}{three[2].pk}/decide/", {"decision": "approve"})

    assert response["Location"] == QUEUE


def test_an_unknown_decision_or_a_decided_image_is_a_message(signed_in, three):
    client, _ = signed_in(Role.APPROVER)
    first = three[0]

    unknown = client.post(f"{QUEUE}{first.pk}/decide/", {"decision": "publish"}, follow=True)
    client.post(f"{QUEUE}{first.pk}/decide/", {"decision": "approve"})
    twice = client.post(f"{QUEUE}{first.pk}/decide/", {"decision": "reject"}, follow=True)

    assert "Choose approve, reject or request changes." in unknown.content.decode()
    assert "Cannot reject an asset that is approved." in twice.content.decode()
    assert Asset.objects.get(pk=first.pk).status == Status.APPROVED


def test_four_eyes_leaves_out_the_approvers_own_images(signed_in, tenant_a, maker):
    tenant_a.four_eyes_approval = True
    tenant_a.save()
    client, approver = signed_in(Role.APPROVER)
    submitted(tenant_a, approver, 1, "Mine")
    theirs = submitted(tenant_a, maker, 2, "Theirs")

    response = client.get(QUEUE)

    assert decide_form_id(response) == str(theirs.pk) and "1 of 1" in response.content.decode()


def test_a_stage_of_named_members_is_only_in_their_queue(signed_in, tenant_a, maker, member, browser_as):
    legal = make_project(tenant_a, name="Legal-reviewed", slug="legal")
    stage = ApprovalStage.objects.create(project=legal, position=0, name="Legal", role=Role.APPROVER)
    lawyer = member(tenant_a, Role.APPROVER, email="law@acme.test")
    stage.members.set([lawyer])
    contract = submitted(tenant_a, maker, 1, "Contract art", project=legal)
    client, _ = signed_in(Role.APPROVER)

    assert "Nothing waits for you" in client.get(QUEUE).content.decode()
    assert decide_form_id(browser_as(lawyer).get(QUEUE)) == str(contract.pk)


def test_a_later_stage_waits_for_its_own_deciders(signed_in, tenant_a, maker, member, browser_as):
    staged = make_project(tenant_a, name="Two stages", slug="two")
    ApprovalStage.objects.create(project=staged, position=0, name="Brand", role=Role.APPROVER)
    ApprovalStage.objects.create(project=staged, position=1, name="Director", role=Role.ADMIN)
    poster = submitted(tenant_a, maker, 1, "Poster", project=staged)
    client, _ = signed_in(Role.APPROVER)
    admin = browser_as(member(tenant_a, Role.ADMIN))

    client.post(f"{QUEUE}{poster.pk}/decide/", {"decision": "approve"})

    assert Asset.objects.get(pk=poster.pk).review_stage == 1
    assert "Nothing waits for you" in client.get(QUEUE).content.decode()
    admin_view = admin.get(QUEUE)
    assert decide_form_id(admin_view) == str(poster.pk) and "Director" in admin_view.content.decode()


def test_the_keyboard_legend_and_its_script_are_on_the_page(signed_in, three):
    client, _ = signed_in(Role.APPROVER)

    body = client.get(QUEUE).content.decode()

    for key in ("<kbd>a</kbd> approve", "<kbd>r</kbd> reject", "<kbd>c</kbd> request changes", "<kbd>←</kbd>",
                "<kbd>→</kbd>"):  # fmt: skip
        assert key in body, key
    assert 'data-key="a"' in body and 'data-key="r"' in body and 'data-key="c"' in body
    assert "/static/web/review.js" in body
    assert client.get("/static/web/review.js").status_code == 200


def test_a_title_is_shown_escaped(signed_in, tenant_a, maker):
    client, _ = signed_in(Role.APPROVER)
    submitted(tenant_a, maker, 1, "<script>alert(1)</script>")

    body = client.get(QUEUE).content.decode()

    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
