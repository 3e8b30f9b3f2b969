"""Four-eyes holds for images made through API keys. A key's owner (the member who made it) is the
image's creator for four-eyes: neither that person, nor the key itself (even one without an owner),
nor another key of the same owner may approve it — over REST, in the studio's queue, on the asset's
buttons and on the home page. Someone else may."""

import pytest
from django.test import Client

from assets.models import Asset, Review
from tenants import services
from tenants.models import Role

from ..factories import make_api_key, make_asset, make_job

pytestmark = pytest.mark.django_db
Status = Asset.Status
URL = "/api/v1/tenants/acme/assets"


@pytest.fixture
def four_eyes(tenant_a):
    tenant_a.four_eyes_approval = True
    tenant_a.save()
    return tenant_a


@pytest.fixture
def owner(tenant_a, member):
    return member(tenant_a, Role.APPROVER, email="owen@acme.test")


def owned_key(tenant, owner, name="CMS"):
    """(row, secret) of an approver key made by `owner` through the service."""
    return services.api_key_create(tenant=tenant, name=name, role=Role.APPROVER, actor=owner)


def key_made_asset(tenant, api_key, n=1) -> Asset:
    """An image of a job asked for with `api_key`, as ingest stores it: no person as its creator."""
    job = make_job(tenant, requested_by_key=api_key)
    return make_asset(tenant, sha256=f"{n:064x}", job=job, index=0, title=f"Key image {n}")


def approve(client, asset):
    return client.post(f"{URL}/{asset.pk}/approve/", {}, format="json")


def test_a_key_may_not_approve_what_it_made_and_submitted(four_eyes, owner, client_as):
    row, secret = owned_key(four_eyes, owner)
    asset = key_made_asset(four_eyes, row)
    key_client = client_as(key=secret)

    assert key_client.post(f"{URL}/{asset.pk}/submit/", {}, format="json").status_code == 200
    refused = approve(key_client, asset)

    assert refused.status_code == 403 and "four-eyes" in refused.json()["error"]["message"].lower()
    asset.refresh_from_db()
    assert asset.status == Status.IN_REVIEW
    assert not Review.objects.filter(asset=asset, decision="approved").exists()


def test_a_key_without_an_owner_may_not_approve_what_it_made(four_eyes, client_as):
    row, secret = make_api_key(four_eyes, Role.APPROVER)  # made by the platform: no owner
    _, other_secret = make_api_key(four_eyes, Role.APPROVER, name="other ownerless key")
    asset = key_made_asset(four_eyes, row)
    client_as(key=secret).post(f"{URL}/{asset.pk}/submit/", {}, format="json")

    assert approve(client_as(key=secret), asset).status_code == 403
    assert approve(client_as(key=other_secret), asset).status_code == 200  # another key is another pair of eyes


def test_the_keys_owner_may_not_approve_what_the_key_made(four_eyes, owner, client_as):
    row, secret = owned_key(four_eyes, owner)
    asset = key_made_asset(four_eyes, row)
    client_as(key=secret).post(f"{URL}/{asset.pk}/submit/", {}, format="json")

    refused = approve(client_as(owner), asset)

    assert refused.status_code == 403 and "four-eyes" in refused.json()["error"]["message"].lower()


def test_another_key_of_the_same_owner_may_not_approve_either(four_eyes, owner, client_as, member):
    row, secret = owned_key(four_eyes, owner)
    _, second_secret = owned_key(four_eyes, owner, name="Second")
    asset = key_made_asset(four_eyes, row)
    client_as(key=secret).post(f"{URL}/{asset.pk}/submit/", {}, format="json")

    assert approve(client_as(key=second_secret), asset).status_code == 403
    colleague = member(four_eyes, Role.APPROVER, email="col@acme.test")
    allowed = approve(client_as(colleague), asset)
    assert allowed.status_code == 200 and allowed.json()["status"] == "approved"


def test_a_persons_own_key_may_not_approve_what_they_made_in_person(four_eyes, owner, client_as):
    _, secret = owned_key(four_eyes, owner)
    asset = make_asset(four_eyes, job=make_job(four_eyes, requested_by_user=owner), index=0, created_by=owner)
    client_as(owner).post(f"{URL}/{asset.pk}/submit/", {}, format="json")

    assert approve(client_as(key=secret), asset).status_code == 403


def test_a_key_made_by_a_key_has_the_first_keys_owner(four_eyes, admin_a, client_as):
    """Else an owner's key could mint keys that four-eyes (and the owner's removal) never reach."""
    _, admin_secret = services.api_key_create(tenant=four_eyes, name="Ops", role=Role.ADMIN, actor=admin_a)

    made = client_as(key=admin_secret).post(
        "/api/v1/tenants/acme/api-keys/", {"name": "Minted", "role": "approver"}, format="json"
    )

    assert made.status_code == 201
    assert made.json()["created_by"] == "ada@acme.test"


def test_without_four_eyes_a_key_approves_its_own_image(tenant_a, owner, client_as):
    row, secret = owned_key(tenant_a, owner)
    asset = key_made_asset(tenant_a, row)
    client_as(key=secret).post(f"{URL}/{asset.pk}/submit/", {}, format="json")

    assert approve(client_as(key=secret), asset).status_code == 200


def test_the_studio_leaves_a_key_made_image_out_of_its_owners_queue_buttons_and_home(four_eyes, owner, member):
    row, secret = owned_key(four_eyes, owner)
    asset = key_made_asset(four_eyes, row)
    submit = Client().post(
        f"{URL}/{asset.pk}/submit/", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert submit.status_code == 200
    browser = Client()
    browser.force_login(owner)

    queue = browser.get("/t/acme/review/").content.decode()
    page = browser.get(f"/t/acme/assets/{asset.pk}/").content.decode()
    home = browser.get("/t/acme/").content.decode()
    decided = browser.post(f"/t/acme/review/{asset.pk}/decide/", {"decision": "approve"})

    assert str(asset.pk) not in queue and "Nothing waits for you" in queue
    approve_button, reject_button = (f"/t/acme/assets/{asset.pk}/{move}/" for move in ("approve", "reject"))
    assert approve_button not in page and reject_button in page  # four-eyes stops approving, not rejecting
    assert "Key image 1" not in home
    assert decided.status_code == 302
    asset.refresh_from_db()
    assert asset.status == Status.IN_REVIEW

    colleague = Client()
    colleague.force_login(member(four_eyes, Role.APPROVER, email="col@acme.test"))
    assert f"/t/acme/review/{asset.pk}/decide/" in colleague.get("/t/acme/review/").content.decode()
    assert "Key image 1" in colleague.get("/t/acme/").content.decode()
