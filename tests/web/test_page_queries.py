"""The studio's list pages — jobs, gallery, review queue, costs — make as many queries for a dozen jobs as for two,
and the jobs page still shows each settled job's cost."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Role

from ..billing.test_spend import NOVA, finished_job
from ..factories import make_asset

pytestmark = pytest.mark.django_db
PAGES = ["/t/acme/jobs/", "/t/acme/gallery/", "/t/acme/review/", "/t/acme/costs/"]


def add_jobs(tenant, numbers) -> None:
    for number in numbers:
        job = finished_job(tenant, NOVA, [], images=1 + number % 2)  # $0.04 or $0.08
        make_asset(tenant, job=job, index=0, sha256=f"{number:064x}", status="in_review")


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", PAGES)
def test_a_list_page_costs_the_same_queries_for_two_jobs_as_for_twelve(signed_in, tenant_a, url):
    client, _ = signed_in(Role.ADMIN)
    add_jobs(tenant_a, range(2))
    few = queries(client, url)

    add_jobs(tenant_a, range(2, 12))

    assert queries(client, url) == few


def test_the_jobs_page_shows_each_settled_jobs_cost(signed_in, tenant_a):
    client, _ = signed_in(Role.VIEWER)
    add_jobs(tenant_a, range(4))

    page = client.get("/t/acme/jobs/").content.decode()

    assert page.count('<td class="num">$0.04</td>') == 2 and page.count('<td class="num">$0.08</td>') == 2
    assert "held" not in page  # every job is settled: none shows its reservation
