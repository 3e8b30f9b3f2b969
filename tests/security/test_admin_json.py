"""The admin's JSON fields (tags, palettes, thresholds, the catalog's rules) follow the API's rules: JSON nested
thousands of levels deep, or with a NUL or an unpaired surrogate inside, is a form error beside the field, not a
500 (Django's JSON form field lets RecursionError through, and PostgreSQL's jsonb refuses \\u0000)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from assets.models import Project
from config.parsers import MAX_JSON_DEPTH
from generation.models import BedrockModel

from ..factories import make_project

pytestmark = pytest.mark.django_db
DEEP = "[" * 5000 + "]" * 5000


def admin_form(model, instance, data: dict, user):
    request = RequestFactory().post("/admin/")
    request.user = user
    model_admin = admin.site._registry[model]
    form_class = model_admin.get_form(request, instance, change=True)
    initial = {name: value for name, value in form_class(instance=instance).initial.items() if value is not None}
    return form_class({**initial, **data}, instance=instance)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEEP, f"JSON nested deeper than {MAX_JSON_DEPTH} levels."),
        ('["#112233", "\\u0000"]', "Contains a NUL character or an unpaired surrogate"),
        ('["\\ud800"]', "Contains a NUL character or an unpaired surrogate"),
    ],
    ids=["deep", "nul", "surrogate"],
)
def test_a_projects_palette_in_the_admin_refuses_bad_json_beside_the_field(tenant_a, text, message, admin_user):
    project = make_project(tenant_a)

    form = admin_form(Project, project, {"brand_palette": text}, admin_user)

    assert not form.is_valid()
    assert message in form.errors["brand_palette"][0]
    str(form["brand_palette"])  # shown again as typed, without parsing it into a RecursionError
    project.refresh_from_db()
    assert project.brand_palette == []


def test_the_catalogs_json_in_the_admin_refuses_deep_json(admin_user):
    model = BedrockModel.objects.get(model_id="amazon.nova-canvas-v1:0")

    form = admin_form(BedrockModel, model, {"size_rule": DEEP}, admin_user)

    assert not form.is_valid() and "size_rule" in form.errors
