"""REST for projects, approval stages, prompts with their versions, and saved seeds: who may do
what, what is written, and foreign ids refused without saying whose they are."""

import pytest

from assets import library
from assets.models import ApprovalStage, Project, Prompt, PromptVersion, Seed
from assets.services import project_get_default
from generation.models import BedrockModel, TenantModelAccess
from tenants.models import AuditEvent, Role

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"
BASE = "/api/v1/tenants/acme"


def error_fields(response) -> set[str]:
    return set(response.json()["error"]["fields"])


# Projects


def test_admins_create_and_change_projects_everyone_reads_them(tenant_a, admin_a, member, client_as):
    admin = client_as(admin_a)

    created = admin.post(
        f"{BASE}/projects/",
        {"name": "Spring Launch", "brand_palette": ["#ff0000"], "default_model": NOVA, "default_quality": "premium",
         "default_width": 1024, "default_height": 1024, "default_negative_prompt": "blurry"},
        format="json",
    )  # fmt: skip
    project_id = created.json()["id"]
    changed = admin.patch(f"{BASE}/projects/{project_id}/", {"description": "Q2", "default_model": None}, "json")

    assert created.status_code == 201, created.json()
    assert created.json()["slug"] == "spring-launch" and created.json()["default_model"] == NOVA
    assert changed.status_code == 200 and changed.json()["default_model"] is None
    project = Project.objects.get(pk=project_id)
    assert (project.description, project.brand_palette, project.default_model) == ("Q2", ["#FF0000"], None)
    assert AuditEvent.objects.filter(verb__in=["project.created", "project.updated"], actor_user=admin_a).count() == 2
    viewer = client_as(member(tenant_a, Role.VIEWER))
    assert {p["slug"] for p in viewer.get(f"{BASE}/projects/").json()} == {"spring-launch"}
    assert viewer.get(f"{BASE}/projects/{project_id}/").json()["default_width"] == 1024


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CREATOR, Role.APPROVER])
def test_only_admins_write_projects_and_their_stages(tenant_a, member, client_as, role):
    client = client_as(member(tenant_a, role))
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    url = f"{BASE}/projects/{project.pk}/"

    assert client.post(f"{BASE}/projects/", {"name": "Autumn"}, format="json").status_code == 403
    assert client.patch(url, {"name": "Renamed"}, format="json").status_code == 403
    assert client.post(f"{url}archive/").status_code == 403
    assert client.put(f"{url}approval-stages/", {"stages": [{"name": "Legal"}]}, format="json").status_code == 403
    assert client.get(f"{url}approval-stages/").status_code == 200
    project.refresh_from_db()
    assert (project.name, project.archived, Project.objects.count()) == ("Spring", False, 1)
    assert not ApprovalStage.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Spring", "default_model": "acme.imaginary-v9"}, "default_model"),
        ({"name": "Spring", "default_model": TITAN}, "default_model"),  # not allowed for this tenant
        ({"name": "Spring", "default_model": NOVA, "default_width": 1000, "default_height": 1000}, "default_width"),
        ({"name": "Spring", "brand_palette": ["teal"]}, "brand_palette"),
        ({"name": "Spring", "slug": "default"}, "slug"),
        ({"name": "Spring", "slug": "not a slug"}, "slug"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_project_input_names_the_field(tenant_a, admin_a, client_as, body, field):
    TenantModelAccess.objects.create(tenant=tenant_a, model=BedrockModel.objects.get(model_id=NOVA))
    project_get_default(tenant=tenant_a)

    response = client_as(admin_a).post(f"{BASE}/projects/", body, format="json")

    assert response.status_code == 400, response.json()
    assert field in error_fields(response)
    assert Project.objects.filter(tenant=tenant_a).count() == 1


def test_archiving_a_project_and_the_default_refused(tenant_a, admin_a, client_as):
    client = client_as(admin_a)
    spring = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    default = project_get_default(tenant=tenant_a)

    archived = client.post(f"{BASE}/projects/{spring.pk}/archive/")
    refused = client.post(f"{BASE}/projects/{default.pk}/archive/")

    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert refused.status_code == 400 and error_fields(refused) == {"project"}
    assert [p["slug"] for p in client.get(f"{BASE}/projects/?archived=false").json()] == ["default"]
    assert client.post(f"{BASE}/projects/{spring.pk}/unarchive/").json()["archived"] is False


def test_approval_stages_are_read_and_replaced(tenant_a, tenant_b, admin_a, member, client_as):
    member(tenant_a, Role.APPROVER, email="lee@acme.test")
    member(tenant_b, Role.ADMIN, email="grace@globex.test")
    client = client_as(admin_a)
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    url = f"{BASE}/projects/{project.pk}/approval-stages/"

    before = client.get(url)
    stages = [{"name": "Brand", "role": "approver"}, {"name": "Legal", "members": ["lee@acme.test"]}]
    replaced = client.put(url, {"stages": stages}, format="json")
    foreign = client.put(url, {"stages": [{"name": "Legal", "members": ["grace@globex.test"]}]}, format="json")

    assert before.json() == {"default": True, "stages": [{"position": 0, "name": "Approval", "role": "approver",
                                                          "members": []}]}  # fmt: skip
    assert replaced.status_code == 200, replaced.json()
    assert (
        replaced.json()
        == client.get(url).json()
        == {
            "default": False,
            "stages": [
                {"position": 0, "name": "Brand", "role": "approver", "members": []},
                {"position": 1, "name": "Legal", "role": "approver", "members": ["lee@acme.test"]},
            ],
        }
    )
    assert foreign.status_code == 400 and error_fields(foreign) == {"stages.0.members"}
    assert list(ApprovalStage.objects.filter(project=project).values_list("name", flat=True)) == ["Brand", "Legal"]


# Prompts


def test_creators_save_prompts_and_revise_them_into_new_versions(tenant_a, member, client_as):
    creator = member(tenant_a, Role.CREATOR)
    client = client_as(creator)
    spring = library.project_create(tenant=tenant_a, actor=None, name="Spring")

    created = client.post(
        f"{BASE}/prompts/",
        {"project": str(spring.pk), "name": "Hero", "text": "a {product} on sand", "negative_text": "no {rival}"},
        format="json",
    )
    prompt_id = created.json()["id"]
    revised = client.post(f"{BASE}/prompts/{prompt_id}/versions/", {"text": "a {product} at dusk"}, format="json")

    assert created.status_code == 201, created.json()
    assert [v["number"] for v in created.json()["versions"]] == [1]
    assert created.json()["latest_version"]["variables"] == ["product", "rival"]
    assert revised.status_code == 201 and revised.json()["number"] == 2
    assert revised.json()["negative_text"] == "no {rival}" and revised.json()["created_by"] == creator.email
    detail = client.get(f"{BASE}/prompts/{prompt_id}/").json()
    assert [v["number"] for v in detail["versions"]] == [2, 1] and detail["latest_version"]["number"] == 2
    assert [v["text"] for v in client.get(f"{BASE}/prompts/{prompt_id}/versions/").json()] == [
        "a {product} at dusk", "a {product} on sand"
    ]  # fmt: skip
    assert PromptVersion.objects.get(prompt_id=prompt_id, number=1).text == "a {product} on sand"


def test_prompts_filter_by_project_and_default_to_the_default_project(tenant_a, member, client_as):
    client = client_as(member(tenant_a, Role.CREATOR))
    spring = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    library.prompt_create(tenant=tenant_a, actor=None, project=spring, name="Hero", text="x")

    loose = client.post(f"{BASE}/prompts/", {"name": "Loose", "text": "y"}, format="json")

    assert loose.status_code == 201 and loose.json()["project"] == str(project_get_default(tenant=tenant_a).pk)
    assert [p["name"] for p in client.get(f"{BASE}/prompts/?project={spring.pk}").json()] == ["Hero"]
    assert [p["name"] for p in client.get(f"{BASE}/prompts/").json()] == ["Hero", "Loose"]


def test_viewers_read_prompts_and_seeds_but_write_neither(tenant_a, member, client_as, api_key):
    project = project_get_default(tenant=tenant_a)
    prompt = library.prompt_create(tenant=tenant_a, actor=None, project=project, name="Hero", text="x")
    seed = library.seed_create(tenant=tenant_a, actor=None, project=project, value=7, label="Dusk")

    for client in (client_as(member(tenant_a, Role.VIEWER)), client_as(key=api_key(tenant_a, Role.VIEWER))):
        assert client.get(f"{BASE}/prompts/{prompt.pk}/versions/").status_code == 200
        assert client.get(f"{BASE}/seeds/{seed.pk}/").status_code == 200
        assert client.post(f"{BASE}/prompts/", {"name": "New", "text": "y"}, format="json").status_code == 403
        assert client.post(f"{BASE}/prompts/{prompt.pk}/versions/", {"text": "z"}, format="json").status_code == 403
        assert client.post(f"{BASE}/seeds/", {"value": 1, "label": "L"}, format="json").status_code == 403
        assert client.patch(f"{BASE}/seeds/{seed.pk}/", {"label": "L"}, format="json").status_code == 403
        assert client.delete(f"{BASE}/seeds/{seed.pk}/").status_code == 403
    assert (Prompt.objects.count(), PromptVersion.objects.count(), Seed.objects.get().label) == (1, 1, "Dusk")


def test_another_tenants_project_is_refused_by_name_without_saying_whose(tenant_a, tenant_b, member, client_as):
    client = client_as(member(tenant_a, Role.CREATOR))
    foreign = library.project_create(tenant=tenant_b, actor=None, name="Secret Plans")

    prompt = client.post(f"{BASE}/prompts/", {"project": str(foreign.pk), "name": "H", "text": "x"}, format="json")
    seed = client.post(f"{BASE}/seeds/", {"project": str(foreign.pk), "value": 1, "label": "L"}, format="json")

    for response in (prompt, seed):
        assert response.status_code == 400 and error_fields(response) == {"project"}
        assert "secret" not in response.content.decode().lower()
    assert not Prompt.objects.exists() and not Seed.objects.exists()


# Seeds


def test_creators_keep_saved_seeds(tenant_a, member, client_as):
    client = client_as(member(tenant_a, Role.CREATOR))
    spring = library.project_create(tenant=tenant_a, actor=None, name="Spring")

    created = client.post(
        f"{BASE}/seeds/", {"project": str(spring.pk), "value": 123456, "label": "Warm dusk"}, format="json"
    )
    seed_id = created.json()["id"]
    relabelled = client.patch(f"{BASE}/seeds/{seed_id}/", {"label": "Warm dusk (hero)", "notes": "Nova"}, "json")
    revalued = client.patch(f"{BASE}/seeds/{seed_id}/", {"value": 9}, format="json")
    client.post(f"{BASE}/seeds/", {"value": 1, "label": "Elsewhere"}, format="json")

    assert created.status_code == 201 and relabelled.status_code == 200
    assert revalued.status_code == 400 and error_fields(revalued) == {"value"}
    assert [s["label"] for s in client.get(f"{BASE}/seeds/?project={spring.pk}").json()] == ["Warm dusk (hero)"]
    assert Seed.objects.get(pk=seed_id).value == 123456
    assert client.delete(f"{BASE}/seeds/{seed_id}/").status_code == 204
    assert list(Seed.objects.values_list("label", flat=True)) == ["Elsewhere"]
