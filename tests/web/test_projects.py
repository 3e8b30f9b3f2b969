"""Projects in the studio: the list, a new project, one project's brand rules, budget, approval
stages and archiving. Everyone reads; admins write (as the REST API)."""

import re
from decimal import Decimal

import pytest

from assets.models import ApprovalStage, Project
from billing.models import Budget, LedgerEntry
from billing.services import budget_set_monthly, period_start_for
from tenants.models import AuditEvent, Role
from tests.factories import make_asset, make_job, make_project

pytestmark = pytest.mark.django_db

NOVA = "amazon.nova-canvas-v1:0"
READERS = [Role.VIEWER, Role.CREATOR, Role.APPROVER, Role.ADMIN]
NOT_ADMINS = [Role.VIEWER, Role.CREATOR, Role.APPROVER]


def near(html: str, marker: str, text: str, within: int = 1500) -> bool:
    """`text` appears within `within` characters after `marker` (a field's name): beside that field."""
    start = html.find(marker)
    return start >= 0 and text in html[start : start + within]


def url(tenant, suffix=""):
    return f"/t/{tenant.slug}/projects/{suffix}"


@pytest.fixture
def spring(tenant_a):
    project = make_project(tenant_a)
    project.brand_palette = ["#1A2B3C", "#FFCC00"]
    project.save()
    return project


# The list


@pytest.mark.parametrize("role", READERS)
def test_everyone_sees_the_projects_with_palette_budget_and_counts(signed_in, tenant_a, spring, role):
    client, _ = signed_in(role)
    budget_set_monthly(tenant=tenant_a, amount_usd=Decimal("200"), actor=None, project=spring)
    make_job(tenant_a, project=spring)
    make_asset(tenant_a, project=spring)
    for kind, amount in (("reserve", "60"), ("charge", "50"), ("release", "10")):  # a settled job
        LedgerEntry.objects.create(
            tenant=tenant_a,
            kind=kind,
            amount_usd=Decimal(amount),
            period_start=period_start_for(tenant_a),
            project=spring,
        )

    response = client.get(url(tenant_a))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Spring" in html and 'title="#1A2B3C"' in html and 'title="#FFCC00"' in html
    assert "$50.00 of $200.00" in html and "25%" in html
    row = html[html.find("Spring") :]
    assert re.search(r'<td class="num">1</td>\s*<td class="num">1</td>', row)
    assert ("New project" in html) is (role == Role.ADMIN)


def test_archived_projects_are_listed_apart(signed_in, tenant_a, spring):
    client, _ = signed_in(Role.VIEWER)
    old = Project.objects.create(tenant=tenant_a, name="Old campaign", slug="old", archived=True)

    active = client.get(url(tenant_a)).content.decode()
    archived = client.get(url(tenant_a) + "?show=archived").content.decode()
    everything = client.get(url(tenant_a) + "?show=all").content.decode()

    assert "Spring" in active and old.name not in active
    assert old.name in archived and "Spring" not in archived
    assert old.name in everything and "Spring" in everything


def test_an_empty_tenant_says_how_to_start(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)

    response = client.get(url(tenant_a))

    assert "No projects yet" in response.content.decode()


# A new project


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_create_projects(signed_in, tenant_a, role):
    client, _ = signed_in(role)

    assert client.get(url(tenant_a, "new/")).status_code == 403
    assert client.post(url(tenant_a, "new/"), {"name": "Winter"}).status_code == 403
    assert not Project.objects.filter(tenant=tenant_a, name="Winter").exists()


def test_an_admin_creates_a_project_with_its_brand_rules_and_budget(signed_in, tenant_a):
    client, user = signed_in(Role.ADMIN)
    assert client.get(url(tenant_a, "new/")).status_code == 200

    response = client.post(
        url(tenant_a, "new/"),
        {
            "name": "Winter launch", "slug": "", "description": "Snow", "brand_palette": ["#112233", "", "#abcdef"],
            "default_model": NOVA, "default_quality": "premium", "default_width": "1024", "default_height": "768",
            "default_negative_prompt": "blurry", "budget_amount": "150.50",
        },
    )  # fmt: skip

    project = Project.objects.get(tenant=tenant_a, name="Winter launch")
    assert response.status_code == 302 and response["Location"] == url(tenant_a, f"{project.pk}/")
    assert project.slug == "winter-launch" and project.brand_palette == ["#112233", "#ABCDEF"]
    assert (project.default_model.model_id, project.default_quality) == (NOVA, "premium")
    assert (project.default_width, project.default_height, project.default_negative_prompt) == (1024, 768, "blurry")
    assert Budget.objects.get(project=project).amount_usd == Decimal("150.50")
    assert AuditEvent.objects.filter(verb="project.created", actor_user=user).exists()
    assert "Winter launch created" in client.get(response["Location"]).content.decode()


def test_an_invalid_colour_is_shown_beside_the_palette_and_nothing_is_made(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)

    response = client.post(url(tenant_a, "new/"), {"name": "Winter", "brand_palette": ["#112233", "blue"]})

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html, 'name="brand_palette"', "colours written #RRGGBB")
    assert 'value="blue"' in html  # what was typed stays, to be corrected
    assert not Project.objects.filter(tenant=tenant_a, name="Winter").exists()


def test_a_refused_budget_leaves_no_project_behind(signed_in, tenant_a):
    client, _ = signed_in(Role.ADMIN)

    response = client.post(url(tenant_a, "new/"), {"name": "Winter", "budget_amount": "-5"})

    assert response.status_code == 400
    assert near(response.content.decode(), 'name="budget_amount"', "Give an amount in USD of 0 or more")
    assert not Project.objects.filter(tenant=tenant_a, name="Winter").exists()


def test_a_taken_slug_is_shown_beside_the_slug(signed_in, tenant_a, spring):
    client, _ = signed_in(Role.ADMIN)

    response = client.post(url(tenant_a, "new/"), {"name": "Another", "slug": "spring"})

    assert response.status_code == 400
    assert near(response.content.decode(), 'name="slug"', "already uses &#x27;spring&#x27;")
    assert Project.objects.filter(tenant=tenant_a).count() == 1


# One project


@pytest.mark.parametrize("role", READERS)
def test_everyone_reads_a_project_with_links_to_its_work(signed_in, tenant_a, spring, role):
    client, _ = signed_in(role)

    response = client.get(url(tenant_a, f"{spring.pk}/"))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"/t/acme/gallery/?project={spring.pk}" in html
    assert (f"/t/acme/compose/?project={spring.pk}" in html) is (role != Role.VIEWER)
    assert ('name="brand_palette"' in html) is (role == Role.ADMIN)
    assert "#1A2B3C" in html and "Approval" in html


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_change_a_project(signed_in, tenant_a, spring, role):
    client, _ = signed_in(role)
    base = url(tenant_a, f"{spring.pk}/")

    assert client.post(base, {"name": "Hacked"}).status_code == 403
    assert client.post(base + "stages/", {"stage_name": ["X"], "stage_role": ["creator"]}).status_code == 403
    assert client.post(base + "archive/", {"archived": "1"}).status_code == 403
    spring.refresh_from_db()
    assert (spring.name, spring.archived) == ("Spring", False)
    assert not ApprovalStage.objects.filter(project=spring).exists()


def test_an_admin_edits_the_brand_rules(signed_in, tenant_a, spring):
    client, _ = signed_in(Role.ADMIN)

    response = client.post(
        url(tenant_a, f"{spring.pk}/"),
        {
            "name": "Spring 26", "slug": "spring", "description": "", "brand_palette": ["#000000"],
            "default_model": NOVA, "default_quality": "standard", "default_width": "512", "default_height": "512",
            "default_negative_prompt": "", "budget_amount": "",
        },
    )  # fmt: skip

    assert response.status_code == 302
    spring.refresh_from_db()
    assert (spring.name, spring.brand_palette, spring.default_width) == ("Spring 26", ["#000000"], 512)
    assert spring.default_model.model_id == NOVA
    assert AuditEvent.objects.filter(verb="project.updated", target_id=str(spring.pk)).exists()


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"brand_palette": ["#12345"]}, "brand_palette", "colours written #RRGGBB"),
        ({"default_model": NOVA, "default_width": "5000", "default_height": "7"}, "default_width", "5000"),
        ({"default_width": "wide", "default_height": "512"}, "default_width", "Give a whole number of pixels"),
        ({"default_width": "1024", "default_height": ""}, "default_height", "Give both default_width"),
        ({"budget_amount": "-10"}, "budget_amount", "Give an amount in USD of 0 or more"),
        ({"name": ""}, "name", "This field cannot be blank"),
    ],
)
def test_a_refused_change_is_shown_beside_its_field_and_the_project_is_unchanged(
    signed_in, tenant_a, spring, form, field, message
):
    client, _ = signed_in(Role.ADMIN)
    before = Project.objects.filter(pk=spring.pk).values().get()

    response = client.post(url(tenant_a, f"{spring.pk}/"), {"name": "Changed name", **form})

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html, f'name="{field}"', message), html[html.find(f'name="{field}"') :][:1500]
    assert Project.objects.filter(pk=spring.pk).values().get() == before
    assert not Budget.objects.filter(project=spring).exists()
    assert "<h1>Spring" in html  # the page's header shows the project as stored, not the refused name


def test_the_project_budget_is_set_changed_and_removed_from_its_page(signed_in, tenant_a, spring):
    client, _ = signed_in(Role.ADMIN)
    page = url(tenant_a, f"{spring.pk}/")

    assert client.post(page, {"budget_amount": "300"}).status_code == 302
    assert Budget.objects.get(project=spring).amount_usd == Decimal("300")
    assert "of $300.00" in client.get(page).content.decode()

    assert client.post(page, {"budget_amount": "$1,250.00"}).status_code == 302
    assert Budget.objects.get(project=spring).amount_usd == Decimal("1250")

    assert client.post(page, {"budget_amount": ""}).status_code == 302
    assert not Budget.objects.filter(project=spring).exists()


def test_approval_stages_are_set_in_order_and_reset(signed_in, tenant_a, spring, member):
    client, _ = signed_in(Role.ADMIN)
    legal = member(tenant_a, Role.APPROVER, email="lee@acme.test")
    stages_url = url(tenant_a, f"{spring.pk}/stages/")

    response = client.post(
        stages_url,
        {"stage_name": ["Brand", "Legal", ""], "stage_role": ["creator", "approver", "approver"],
         "stage_members": ["", "LEE@acme.test", ""]},
    )  # fmt: skip

    assert response.status_code == 302
    stages = list(ApprovalStage.objects.filter(project=spring).order_by("position"))
    assert [(s.name, s.role) for s in stages] == [("Brand", "creator"), ("Legal", "approver")]
    assert list(stages[1].members.all()) == [legal]
    html = client.get(url(tenant_a, f"{spring.pk}/")).content.decode()
    assert 'value="Brand"' in html and 'value="lee@acme.test"' in html

    assert client.post(stages_url, {"stage_name": [""], "stage_role": ["approver"], "stage_members": [""]}).status_code
    assert not ApprovalStage.objects.filter(project=spring).exists()


def test_a_stranger_in_a_stage_is_shown_beside_that_stage_and_nothing_changes(
    signed_in, tenant_a, tenant_b, spring, member
):
    client, _ = signed_in(Role.ADMIN)
    member(tenant_b, Role.ADMIN, email="outsider@globex.test")
    ApprovalStage.objects.create(project=spring, position=0, name="Existing")

    response = client.post(
        url(tenant_a, f"{spring.pk}/stages/"),
        {"stage_name": ["Brand", "Legal"], "stage_role": ["approver", "approver"],
         "stage_members": ["", "outsider@globex.test"]},
    )  # fmt: skip

    html = response.content.decode()
    assert response.status_code == 400
    assert near(html, 'value="Legal"', "Not members of this tenant: outsider@globex.test")
    assert not near(html, 'value="Brand"', "Not members of this tenant", within=600)
    assert [s.name for s in ApprovalStage.objects.filter(project=spring)] == ["Existing"]


def test_a_project_is_archived_and_restored(signed_in, tenant_a, spring):
    client, _ = signed_in(Role.ADMIN)
    archive = url(tenant_a, f"{spring.pk}/archive/")

    response = client.post(archive, {"archived": "1"})
    spring.refresh_from_db()
    assert response.status_code == 302 and spring.archived
    assert "is archived" in client.get(url(tenant_a, f"{spring.pk}/")).content.decode()

    client.post(archive, {"archived": "0"})
    spring.refresh_from_db()
    assert not spring.archived


def test_the_default_project_cannot_be_archived(signed_in, tenant_a):
    from assets.services import project_get_default

    client, _ = signed_in(Role.ADMIN)
    default = project_get_default(tenant=tenant_a)

    response = client.post(url(tenant_a, f"{default.pk}/archive/"), {"archived": "1"}, follow=True)

    default.refresh_from_db()
    assert not default.archived
    assert "The default project cannot be archived" in response.content.decode()


def test_another_tenants_project_is_not_found(signed_in, tenant_b):
    client, _ = signed_in(Role.ADMIN)
    theirs = make_project(tenant_b)

    assert client.get(f"/t/acme/projects/{theirs.pk}/").status_code == 404
