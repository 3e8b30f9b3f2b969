"""The catalog's admin pages: a Stability image service's row shows the fields its spec declares
and its output-size rule, read-only (what the spec owns cannot be edited out of step with it);
the list filters by task, the new tools' tasks among them."""

import pytest
from django.test import Client

from generation.models import BedrockModel

from ..factories import UserFactory

INPAINT = "stability.stable-image-inpaint-v1:0"
OUTPAINT = "stability.stable-outpaint-v1:0"
NOVA = "amazon.nova-canvas-v1:0"
PAGE = "/admin/generation/bedrockmodel/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory(email="ops@atelier.test", is_staff=True, is_superuser=True))
    return client


def row(model_id: str) -> BedrockModel:
    return BedrockModel.objects.get(model_id=model_id)


def test_a_tool_row_shows_its_declared_fields_and_output_rule_read_only(operator):
    page = operator.get(f"{PAGE}{row(OUTPAINT).pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('<table class="tool-fields">') : html.index("</table>", html.index("tool-fields"))]
    for cells in (
        "<td><code>left</code></td><td>side</td><td></td><td>0–2000</td><td></td>",
        "<td><code>creativity</code></td><td>number</td><td></td><td>0.1–1</td><td>0.5</td>",
        "<td><code>style</code></td><td>choice</td>",
        "<td><code>image</code></td><td>image</td><td>yes</td>",
    ):
        assert cells in table, cells
    assert "<code>style_preset</code>" in table  # the body key where it differs
    assert "the input image&#x27;s size plus the sides asked for" in html and "(outpaint)" in html
    for spec_owned in ("task_types", "output_formats", "size_rule", "model_id"):
        assert f'name="{spec_owned}"' not in html  # shown, not editable

    nova = operator.get(f"{PAGE}{row(NOVA).pk}/change/").content.decode()
    assert "tool-fields" not in nova and 'name="output_formats"' in nova  # an operator may narrow Nova's limits


def test_saving_a_tool_row_leaves_what_its_spec_owns_as_it_was(operator):
    inpaint = row(INPAINT)
    before = inpaint.spec()

    response = operator.post(
        f"{PAGE}{inpaint.pk}/change/",
        {"name": "Inpaint (renamed)", "enabled": "on", "invoke_id": "", "legacy_since": "", "end_of_life_on": "",
         "successor": "", "task_types": '["TEXT_IMAGE"]', "output_formats": '["gif"]', "max_images_per_call": "9"},
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    inpaint.refresh_from_db()
    assert inpaint.name == "Inpaint (renamed)"
    assert inpaint.spec().tasks == before.tasks and inpaint.output_formats == list(before.output_formats)
    assert inpaint.max_images_per_call == 1


def test_the_list_filters_by_task_the_tools_tasks_among_them(operator):
    listed = operator.get(PAGE).content.decode()
    for task in ("UPSCALE", "SEARCH_REPLACE", "STYLE_TRANSFER", "TEXT_IMAGE"):
        assert f"?task={task}" in listed

    upscalers = operator.get(f"{PAGE}?task=UPSCALE").content.decode()
    assert "stability.stable-fast-upscale-v1:0" in upscalers and "stable-creative-upscale" in upscalers
    assert NOVA not in upscalers and INPAINT not in upscalers
    inpainters = operator.get(f"{PAGE}?task=INPAINTING").content.decode()
    assert INPAINT in inpainters and NOVA in inpainters and OUTPAINT not in inpainters
