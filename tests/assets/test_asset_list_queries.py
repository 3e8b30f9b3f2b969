"""The asset list answers in a constant number of queries, whatever the page holds: the REST list (plain,
filtered, and a later cursor page) and the studio's gallery make as many queries for a tenant with 5 images
as for one with 60 whose full page has jobs, models, creators, parents, tags and reviews. Another tenant's
images are there too, and never in the answer. bench/load.py seeds 100k rows with `bulk_assets`."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants.models import Role

from ..factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

MODEL_ID = "amazon.nova-canvas-v1:0"
PAGE = 50  # the REST page asked for; the gallery's is its own (48)
# Ceilings, whatever the page holds. The gallery's page also asks for the session, the membership, the count and
# the filter menus' projects, models and creators.
API_QUERIES_MAX = 4
GALLERY_QUERIES_MAX = 10


def bulk_assets(tenant, count: int, *, creators: list, model=None) -> list:
    """`count` generated images of `tenant` in a handful of bulk inserts, as `make_asset` would make them one by
    one, with what a page shows filled in: each from its own succeeded job (the model, the prompt), a creator,
    tags, a thumbnail; every third one edited from the one before (a parent), and every other one submitted for
    review (with its review rows)."""
    from assets import storage
    from assets.models import Asset, Review
    from assets.services import project_get_default
    from generation.models import BedrockModel, GenerationJob

    model = model or BedrockModel.objects.get(model_id=MODEL_ID)
    project = project_get_default(tenant=tenant)
    jobs = GenerationJob.objects.bulk_create(
        GenerationJob(
            tenant=tenant, project=project, model=model, task_type="TEXT_IMAGE",
            params={"prompt": f"a lamp, take {number}", "task": "TEXT_IMAGE", "n": 1, "seed": number},
            seed=number, n=1, width=512, height=512, images_requested=1, images_returned=1,
            status=GenerationJob.Status.SUCCEEDED, requested_by_user=creators[number % len(creators)],
            fingerprint=f"{number:064x}",
        )
        for number in range(count)
    )  # fmt: skip
    assets = []
    for number, job in enumerate(jobs):
        sha256 = uuid.uuid4().hex * 2
        in_review = number % 2 == 1
        assets.append(
            Asset(
                tenant=tenant, project=project, job=job, index=0, seed=job.seed, width=512, height=512, format="png",
                bytes=1000 + number, sha256=sha256, title=f"Lamp {number}", tags=["spring", f"shot-{number % 7}"],
                file_key=storage.object_key(tenant=tenant, sha256=sha256, ext="png"),
                thumbnail_key=storage.thumbnail_key(tenant=tenant, sha256=sha256),
                created_by=creators[number % len(creators)],
                status=Asset.Status.IN_REVIEW if in_review else Asset.Status.DRAFT,
                review_stage=0 if in_review else None,
            )
        )  # fmt: skip
    assets = Asset.objects.bulk_create(assets)
    Parent = Asset.parents.through
    Parent.objects.bulk_create(
        Parent(from_asset_id=asset.pk, to_asset_id=assets[number - 1].pk)
        for number, asset in enumerate(assets)
        if number % 3 == 1
    )
    Review.objects.bulk_create(
        Review(asset=asset, decision=decision, stage=0, stage_name="Approval", reviewer=creators[0], comment="ok")
        for asset in assets
        if asset.status == Asset.Status.IN_REVIEW
        for decision in (Review.Decision.SUBMITTED, Review.Decision.COMMENTED)
    )
    return assets


@pytest.fixture
def creators(tenant_a):
    return [MembershipFactory(tenant=tenant_a, role=Role.CREATOR, user=UserFactory()).user for _ in range(3)]


@pytest.fixture
def other_tenant_images(tenant_b):
    """Images of another tenant, in the same table: never counted, never shown."""
    creator = MembershipFactory(tenant=tenant_b, role=Role.CREATOR, user=UserFactory()).user
    return {str(asset.pk) for asset in bulk_assets(tenant_b, 30, creators=[creator])}


def queries_for(request) -> tuple[int, object]:
    """(number of queries, response) of one request."""
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert response.status_code == 200, response.content[:500]
    return len(queries), response


API_LISTS = {
    "plain": {},
    "filtered": {"status": ["draft", "in_review"], "tag": "spring", "model": MODEL_ID, "search": "lamp"},
    "by kind and date": {"kind": "generated", "created_after": "2000-01-01T00:00:00Z"},
}


@pytest.mark.parametrize("query", API_LISTS.values(), ids=API_LISTS.keys())
def test_the_api_asset_list_makes_as_many_queries_for_a_full_page_as_for_two_images(
    query, tenant_a, creators, other_tenant_images, api_key, client_as, django_assert_num_queries
):
    client = client_as(key=api_key(tenant_a, Role.VIEWER))
    url = f"/api/v1/tenants/{tenant_a.slug}/assets/"
    params = {**query, "page_size": PAGE}
    bulk_assets(tenant_a, 5, creators=creators)
    client.get(url)  # a key's first use of the minute also notes when it was used: one more query, not per row
    few, response = queries_for(lambda: client.get(url, params))
    assert few <= API_QUERIES_MAX  # the key with its tenant, the page, its parents
    assert len(response.json()["results"]) == 5

    bulk_assets(tenant_a, 55, creators=creators)
    with django_assert_num_queries(few):
        page = client.get(url, params).json()
    with django_assert_num_queries(few):
        second = client.get(page["next"]).json()

    shown = [asset["id"] for asset in page["results"] + second["results"]]
    assert (len(page["results"]), len(second["results"])) == (PAGE, 60 - PAGE)
    assert len(set(shown)) == 60 and not set(shown) & other_tenant_images
    full = page["results"]
    assert sum(bool(asset["parents"]) for asset in full) >= PAGE // 3 - 1  # the links are in the page, not lost
    assert {asset["model"] for asset in full} == {MODEL_ID} and all(asset["prompt"] for asset in full)
    assert {asset["created_by"] for asset in full} == {creator.email for creator in creators}
    assert all(asset["thumbnail_url"] and asset["download_url"] for asset in full)


@pytest.mark.parametrize("query", [{}, {"status": "in_review", "q": "lamp"}, {"page": "2"}], ids=str)
def test_the_gallery_makes_as_many_queries_for_a_full_page_as_for_two_images(
    query, tenant_a, admin_a, creators, other_tenant_images, django_assert_num_queries
):
    from web.views.assets import PAGE_SIZE

    browser = Client()
    browser.force_login(admin_a)
    url = f"/t/{tenant_a.slug}/gallery/"
    bulk_assets(tenant_a, 5 if "page" not in query else PAGE_SIZE + 5, creators=creators)
    few, response = queries_for(lambda: browser.get(url, query))
    assert few <= GALLERY_QUERIES_MAX
    assert len(response.context["assets"]) == (5 if query.get("status") != "in_review" else 2)

    bulk_assets(tenant_a, 2 * PAGE_SIZE + 10, creators=creators)
    with django_assert_num_queries(few):
        response = browser.get(url, query)

    page = list(response.context["assets"])
    assert len(page) == PAGE_SIZE
    assert all(asset.tenant_id == tenant_a.pk for asset in page)
    assert not {str(asset.pk) for asset in page} & other_tenant_images
    assert response.content.count(b'class="thumb"') == PAGE_SIZE
