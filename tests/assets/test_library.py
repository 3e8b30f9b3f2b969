"""A project's reusable material: projects and their brand rules, approval stages, versioned prompts
with variables, saved seeds — the services' outcomes, rows and audit events."""

import pytest
from django.core.exceptions import ValidationError

from assets import library
from assets.models import ApprovalStage, Project, Prompt, PromptVersion, Seed
from assets.services import project_get_default
from config.errors import ApplicationError
from generation.models import BedrockModel, TenantModelAccess
from tenants.models import AuditEvent, Role

from ..factories import make_job

pytestmark = pytest.mark.django_db
NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v2:0"
STABILITY = "stability.stable-image-core-v1:1"
SIZE = {"default_width", "default_height"}


def model(model_id: str) -> BedrockModel:
    return BedrockModel.objects.get(model_id=model_id)


def fields_of(raised) -> set[str]:
    return set(raised.value.fields)


# Projects


def test_a_project_is_created_with_its_brand_rules_and_audited(tenant_a, admin_a):
    project = library.project_create(
        tenant=tenant_a, actor=admin_a, name="Spring Launch", brand_palette=["#aa0000", "#00BB00"],
        default_model=model(NOVA), default_negative_prompt="blurry, watermark", default_quality="premium",
        default_width=1024, default_height=768,
    )  # fmt: skip

    project.refresh_from_db()
    assert project.slug == "spring-launch" and not project.is_default and not project.archived
    assert project.brand_palette == ["#AA0000", "#00BB00"]
    assert (project.default_model.model_id, project.default_quality) == (NOVA, "premium")
    assert (project.default_width, project.default_height) == (1024, 768)
    event = AuditEvent.objects.get(verb="project.created")
    assert (event.actor_user, event.target_id) == (admin_a, str(project.pk))
    assert event.data["default_model"] == NOVA and event.data["slug"] == "spring-launch"


def test_a_slug_is_unique_per_tenant_only(tenant_a, tenant_b):
    library.project_create(tenant=tenant_a, actor=None, name="Spring", slug="spring")
    library.project_create(tenant=tenant_b, actor=None, name="Spring", slug="spring")  # another tenant: fine

    with pytest.raises(ApplicationError) as raised:
        library.project_create(tenant=tenant_a, actor=None, name="Spring again", slug="spring")

    assert fields_of(raised) == {"slug"} and raised.value.code == "slug_taken"
    assert Project.objects.filter(tenant=tenant_a, slug="spring").count() == 1


@pytest.mark.parametrize("palette", [["red"], ["#12345"], ["#ABCDEF"] * 11, "#ABCDEF", [1]], ids=str)
def test_a_bad_palette_is_refused_by_name(tenant_a, palette):
    with pytest.raises(ValidationError) as raised:
        library.project_create(tenant=tenant_a, actor=None, name="Spring", brand_palette=palette)

    assert set(raised.value.message_dict) == {"brand_palette"}
    assert not Project.objects.filter(tenant=tenant_a).exists()


@pytest.mark.parametrize(
    ("rules", "fields"),
    [
        ({"default_model": STABILITY, "default_quality": "premium"}, {"default_quality"}),
        ({"default_model": TITAN, "default_width": 1000, "default_height": 1000}, SIZE),
        ({"default_model": STABILITY, "default_width": 1024, "default_height": 1024}, SIZE),
        ({"default_width": 1024}, {"default_height"}),
        ({"default_quality": "ultra"}, {"default_quality"}),  # no model offers it
        ({"default_model": NOVA, "default_negative_prompt": "x" * 1025}, {"default_negative_prompt"}),
    ],
    ids=["quality-the-model-lacks", "size-the-model-lacks", "size-for-an-aspect-ratio-model", "half-a-size",
         "quality-no-model-has", "negative-too-long"],
)  # fmt: skip
def test_brand_rules_must_suit_the_default_model(tenant_a, rules, fields):
    if "default_model" in rules:
        rules["default_model"] = model(rules["default_model"])

    with pytest.raises(ApplicationError) as raised:
        library.project_create(tenant=tenant_a, actor=None, name="Spring", **rules)

    assert fields_of(raised) == fields
    assert not Project.objects.filter(tenant=tenant_a).exists()


def test_the_default_model_must_be_one_the_tenant_may_use(tenant_a):
    TenantModelAccess.objects.create(tenant=tenant_a, model=model(TITAN))
    disabled = model("amazon.titan-image-generator-v1")
    disabled.enabled = False
    disabled.save()

    for candidate in (model(NOVA), disabled):
        with pytest.raises(ApplicationError) as raised:
            library.project_create(tenant=tenant_a, actor=None, name="Spring", default_model=candidate)
        assert fields_of(raised) == {"default_model"}
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring", default_model=model(TITAN))
    assert project.default_model.model_id == TITAN


def test_an_update_rechecks_the_rules_and_records_what_changed(tenant_a, admin_a):
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring", default_model=model(NOVA))

    library.project_update(project=project, actor=admin_a, name="Spring 26", default_quality="premium")
    with pytest.raises(ApplicationError) as raised:
        library.project_update(project=project, actor=admin_a, default_model=model(STABILITY))  # premium: no
    library.project_update(project=project, actor=admin_a, name="Spring 26")  # nothing changes, nothing recorded

    assert fields_of(raised) == {"default_quality"}
    project = Project.objects.get(pk=project.pk)
    assert (project.name, project.default_quality, project.default_model.model_id) == ("Spring 26", "premium", NOVA)
    [event] = AuditEvent.objects.filter(verb="project.updated")
    assert event.data == {
        "name": {"from": "Spring", "to": "Spring 26"},
        "default_quality": {"from": "", "to": "premium"},
    }


def test_a_project_is_archived_and_unarchived_but_never_the_default(tenant_a, admin_a):
    default = project_get_default(tenant=tenant_a)
    spring = library.project_create(tenant=tenant_a, actor=None, name="Spring")

    with pytest.raises(ApplicationError) as raised:
        library.project_archive(project=default, actor=admin_a)
    library.project_archive(project=spring, actor=admin_a)
    library.project_archive(project=spring, actor=admin_a)  # already archived: nothing more recorded

    assert fields_of(raised) == {"project"} and not Project.objects.get(pk=default.pk).archived
    assert Project.objects.get(pk=spring.pk).archived
    assert AuditEvent.objects.filter(verb="project.archived").count() == 1
    library.project_unarchive(project=spring, actor=admin_a)
    assert not Project.objects.get(pk=spring.pk).archived


# Approval stages


def test_approval_stages_replace_the_ordered_list(tenant_a, admin_a, member):
    lawyer = member(tenant_a, Role.APPROVER, email="lee@acme.test")
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    library.approval_stages_set(project=project, actor=admin_a, stages=[{"name": "Draft check", "role": "creator"}])

    library.approval_stages_set(
        project=project, actor=admin_a,
        stages=[{"name": "Brand"}, {"name": "Legal", "members": ["LEE@acme.test"]}],
    )  # fmt: skip

    stages = library.approval_stage_list(project=project)
    assert [(s.position, s.name, s.role) for s in stages] == [(0, "Brand", "approver"), (1, "Legal", "approver")]
    assert list(stages[1].members.all()) == [lawyer] and not stages[0].members.exists()
    event = AuditEvent.objects.filter(verb="project.approval_stages_set").latest("pk")
    assert event.data["stages"][1] == {"name": "Legal", "role": "approver", "members": ["lee@acme.test"]}
    library.approval_stages_set(project=project, actor=admin_a, stages=[])  # back to the default
    assert library.approval_stage_list(project=project) == []


@pytest.mark.parametrize(
    ("stages", "field"),
    [
        ([{"name": "Legal", "members": ["grace@globex.test"]}], "stages.0.members"),  # a member of another tenant
        ([{"name": "Legal", "members": ["nobody@acme.test"]}], "stages.0.members"),
        ([{"name": "Brand"}, {"name": "brand"}], "stages.1.name"),
        ([{"name": ""}], "stages.0.name"),
        ([{"name": "Brand", "role": "viewer"}], "stages.0.role"),
        ([{"name": "Brand", "role": "owner"}], "stages.0.role"),
        ([{"name": "Brand", "order": 1}], "stages.0.order"),
        ([{"name": f"S{i}"} for i in range(11)], "stages"),
        ({"name": "Brand"}, "stages"),
    ],
    ids=["foreign-member", "stranger", "same-name", "no-name", "viewer-role", "unknown-role", "unknown-field",
         "too-many", "not-a-list"],
)  # fmt: skip
def test_bad_approval_stages_are_refused_by_name_and_change_nothing(tenant_a, admin_a, admin_b, stages, field):
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    library.approval_stages_set(project=project, actor=admin_a, stages=[{"name": "Brand"}])

    with pytest.raises(ApplicationError) as raised:
        library.approval_stages_set(project=project, actor=admin_a, stages=stages)

    assert field in raised.value.fields
    assert [s.name for s in ApprovalStage.objects.filter(project=project)] == ["Brand"]


# Prompts


def test_variables_are_the_placeholders_in_order_of_first_use():
    assert library.prompt_variables("a {product} on {surface_2}, {product}", "no {brand}") == [
        "product", "surface_2", "brand"
    ]  # fmt: skip
    assert library.prompt_variables("{not a var} {} {x-y}") == []


def test_a_prompt_is_created_with_its_first_version(tenant_a, member):
    creator = member(tenant_a, Role.CREATOR)
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")

    prompt = library.prompt_create(
        tenant=tenant_a, actor=creator, project=project, name="Hero", text="a {product} on a {surface}",
        negative_text="no {competitor}", style="PHOTOREALISM",
    )  # fmt: skip

    [version] = PromptVersion.objects.filter(prompt=prompt)
    assert (version.number, version.created_by, prompt.created_by) == (1, creator, creator)
    assert version.variables == ["product", "surface", "competitor"] and version.style == "PHOTOREALISM"
    assert AuditEvent.objects.get(verb="prompt.created").target_id == str(prompt.pk)


def test_a_revision_adds_the_next_version_and_never_edits_one(tenant_a, member):
    creator = member(tenant_a, Role.CREATOR)
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    prompt = library.prompt_create(
        tenant=tenant_a, actor=creator, project=project, name="Hero", text="a {product}", negative_text="blur"
    )

    second = library.prompt_revise(prompt=prompt, actor=creator, text="a {product} at dawn")
    third = library.prompt_revise(prompt=prompt, actor=creator, negative_text="", style="MAXIMALISM")

    versions = {v.number: v for v in PromptVersion.objects.filter(prompt=prompt)}
    assert sorted(versions) == [1, 2, 3] and (second.number, third.number) == (2, 3)
    assert (versions[1].text, versions[1].negative_text, versions[1].style) == ("a {product}", "blur", "")
    assert (versions[2].text, versions[2].negative_text) == ("a {product} at dawn", "blur")  # kept from v1
    assert (versions[3].text, versions[3].negative_text, versions[3].style) == ("a {product} at dawn", "", "MAXIMALISM")
    assert library.prompt_latest_version(prompt=prompt) == versions[3]
    assert AuditEvent.objects.filter(verb="prompt.revised").count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [({"text": "a {product}"}, "text"), ({"text": " "}, "text"), ({"style": "CUBISM"}, "style")],
    ids=["unchanged", "blank", "unknown-style"],
)
def test_a_bad_revision_is_refused_by_name(tenant_a, change, field):
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    prompt = library.prompt_create(tenant=tenant_a, actor=None, project=project, name="Hero", text="a {product}")

    with pytest.raises(ApplicationError) as raised:
        library.prompt_revise(prompt=prompt, actor=None, **change)

    assert fields_of(raised) == {field}
    assert PromptVersion.objects.filter(prompt=prompt).count() == 1


def test_prompt_names_are_unique_per_project_and_archived_projects_take_none(tenant_a):
    spring = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    autumn = library.project_create(tenant=tenant_a, actor=None, name="Autumn")
    library.prompt_create(tenant=tenant_a, actor=None, project=spring, name="Hero", text="x")
    library.prompt_create(tenant=tenant_a, actor=None, project=autumn, name="Hero", text="x")

    with pytest.raises(ApplicationError) as taken:
        library.prompt_create(tenant=tenant_a, actor=None, project=spring, name="Hero", text="y")
    library.project_archive(project=autumn, actor=None)
    with pytest.raises(ApplicationError) as archived:
        library.prompt_create(tenant=tenant_a, actor=None, project=autumn, name="Other", text="y")

    assert fields_of(taken) == {"name"} and fields_of(archived) == {"project"}
    assert Prompt.objects.count() == 2


def test_a_version_renders_with_its_variables(tenant_a):
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    prompt = library.prompt_create(
        tenant=tenant_a, actor=None, project=project, name="Hero", text="a {product} on {surface}",
        negative_text="{competitor} logos", style="PHOTOREALISM",
    )  # fmt: skip
    version = library.prompt_latest_version(prompt=prompt)

    rendered = library.prompt_version_render(
        version=version, variables={"product": "sneaker {surface}", "surface": "sand", "competitor": 3}
    )

    assert rendered.text == "a sneaker {surface} on sand"  # values are not filled again
    assert (rendered.negative_text, rendered.style) == ("3 logos", "PHOTOREALISM")


@pytest.mark.parametrize(
    ("variables", "missing", "unknown"),
    [
        ({"product": "sneaker"}, ["surface"], []),
        ({"product": "sneaker", "surface": " "}, ["surface"], []),
        ({"product": "sneaker", "surface": "sand", "colour": "red"}, [], ["colour"]),
        (None, ["product", "surface"], []),
    ],
    ids=["missing", "blank", "unknown", "none-given"],
)
def test_missing_or_unknown_variables_are_refused_by_name(tenant_a, variables, missing, unknown):
    project = library.project_create(tenant=tenant_a, actor=None, name="Spring")
    prompt = library.prompt_create(
        tenant=tenant_a, actor=None, project=project, name="Hero", text="{product} {surface}"
    )

    with pytest.raises(ApplicationError) as raised:
        library.prompt_version_render(version=library.prompt_latest_version(prompt=prompt), variables=variables)

    assert fields_of(raised) == {"variables"}
    assert raised.value.extra == {"missing": missing, "unknown": unknown}
    assert all(name in raised.value.message for name in missing + unknown)


# Saved seeds


def test_a_saved_seed_is_created_relabelled_and_deleted_and_jobs_keep_their_seed(tenant_a, member):
    creator = member(tenant_a, Role.CREATOR)
    project = project_get_default(tenant=tenant_a)
    seed = library.seed_create(tenant=tenant_a, actor=creator, project=project, value=4242, label="Warm dusk")
    job = make_job(tenant_a, seed=4242, saved_seed=seed)

    library.seed_update(seed=seed, actor=creator, label="Warm dusk (hero)", notes="Best with Nova", value=4242)
    with pytest.raises(ApplicationError) as raised:
        library.seed_update(seed=seed, actor=creator, value=7)
    assert fields_of(raised) == {"value"}
    seed.refresh_from_db()
    assert (seed.value, seed.label, seed.notes, seed.created_by) == (
        4242,
        "Warm dusk (hero)",
        "Best with Nova",
        creator,
    )

    library.seed_delete(seed=seed, actor=creator)

    job.refresh_from_db()
    assert not Seed.objects.exists() and (job.saved_seed, job.seed) == (None, 4242)
    verbs = list(AuditEvent.objects.filter(verb__startswith="seed.").order_by("pk").values_list("verb", flat=True))
    assert verbs == ["seed.created", "seed.updated", "seed.deleted"]


@pytest.mark.parametrize("value", [-1, 4_294_967_296, "12", True, 1.5])
def test_a_seed_value_must_be_one_some_model_takes(tenant_a, value):
    with pytest.raises(ApplicationError) as raised:
        library.seed_create(tenant=tenant_a, actor=None, project=project_get_default(tenant=tenant_a), value=value,
                            label="x")  # fmt: skip

    assert fields_of(raised) == {"value"} and not Seed.objects.exists()


def test_material_goes_only_into_the_tenants_own_projects(tenant_a, tenant_b):
    foreign = project_get_default(tenant=tenant_b)

    with pytest.raises(ApplicationError) as prompt:
        library.prompt_create(tenant=tenant_a, actor=None, project=foreign, name="Hero", text="x")
    with pytest.raises(ApplicationError) as seed:
        library.seed_create(tenant=tenant_a, actor=None, project=foreign, value=1, label="x")

    assert fields_of(prompt) == fields_of(seed) == {"project"}
    assert "globex" not in prompt.value.message and "default" not in seed.value.message
    assert not Prompt.objects.exists() and not Seed.objects.exists()
