"""Whatever people type comes back escaped. One tenant is filled with script in every text a person
or an API client can set — the tenant's name, a project's name, a job's prompt and campaign tag, an
asset's title and tags, a review comment, a saved prompt, a member's email, an API key's name, a
webhook's description — with real spend on the ledger so the cost charts (pygal SVG inlined in the
page) draw the project and the tag. Then every studio page (the GET pages of the cross-tenant list,
tests/security/pages, so a new page is visited too) is rendered for an admin: no payload may appear
unescaped, and the pages that show a text must show its escaped form (so an empty page cannot pass).

Single fields are already checked escaped in tests/web (a title in the gallery, asset and review
queue; chart labels in test_charts.py); this is the whole studio at once."""

import html
import re
from unittest import mock

import pytest
from django.test import Client

from assets import library
from assets.models import Asset, Project, ProvenanceCheck
from assets.review import asset_comment, asset_submit
from generation import services as generation
from tenants.models import Role
from tenants.webhooks import webhook_endpoint_create

from ..factories import MembershipFactory, UserFactory, make_api_key, make_asset, public_id
from ..streams import events_of
from .pages import PAGES

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
# What must never reach a page raw: the start of either payload's live markup.
RAW = ("<script>alert(1)", "<img src=x onerror")


def tainted(label: str) -> str:
    return f"{label} {SCRIPT}{BREAKOUT}"


# Tags hold at most 50 characters: one payload each.
TAGS = [f"s{SCRIPT}", f"t{BREAKOUT}"]


@pytest.fixture
def world(tenant_a, member):
    tenant_a.name = tainted("Acme")
    tenant_a.save(update_fields=["name"])
    admin = member(tenant_a, Role.ADMIN, email="ada@acme.test")
    project = Project.objects.create(tenant=tenant_a, name=tainted("Autumn"), slug="autumn")
    with mock.patch("generation.services._enqueue_on_commit"):
        job = generation.job_submit(
            tenant=tenant_a, actor=admin, model_id="amazon.nova-canvas-v1:0", project_id=project.pk,
            tags=TAGS, raw={"prompt": tainted("a lamp"), "width": 512, "height": 512, "n": 1},
        ).job  # fmt: skip
    generation.job_start(job=job)
    job = generation.job_finish(job_id=job.pk, images_stored=1)
    asset = make_asset(tenant_a, job=job, index=0, project=project, title=tainted("Hero"), tags=TAGS,
                       created_by=admin)  # fmt: skip
    asset_submit(tenant=tenant_a, asset_id=asset.pk, actor=admin, comment=tainted("Please"))
    asset_comment(tenant=tenant_a, asset_id=asset.pk, actor=admin, comment=tainted("Warmer"))
    prompt = library.prompt_create(tenant=tenant_a, actor=admin, project=project, name=tainted("Saved"),
                                   text=tainted("a {product}"))  # fmt: skip
    MembershipFactory(tenant=tenant_a, role=Role.VIEWER, user=UserFactory(email=f"{BREAKOUT}@acme.test"))
    make_api_key(tenant_a, Role.CREATOR, name=tainted("CMS key"))
    webhook_endpoint_create(tenant=tenant_a, actor=admin, url="https://93.184.215.14/hook", events=["job.failed"],
                            description=tainted("Slack relay"))  # fmt: skip
    check = ProvenanceCheck.objects.create(tenant=tenant_a, input_sha256=asset.sha256, verdict="atelier_asset",
                                           asset=asset, detectors=[])  # fmt: skip
    browser = Client()
    browser.force_login(admin)
    objects = {"asset": asset, "job": job, "project": project, "prompt": prompt, "check": check}
    return browser, objects


# Which seeded object fills {id} for each page that needs one.
TARGET_OF = {
    "asset": "asset", "asset_update": "asset", "asset_comment": "asset", "asset_finalize": "asset",
    "asset_check": "asset", "asset_transition": "asset", "job": "job", "job_progress": "job", "job_events": "job",
    "job_cancel": "job",
    "project": "project", "compose_prompt_fields": "prompt", "provenance_check": "check",
}  # fmt: skip
GET_PAGES = [page for page in PAGES if page.method == "get"]

# Texts that a page must show (escaped): proof that the page rendered the tainted data at all.
SHOWN_ON = {
    "gallery": ["Hero"],
    "asset": ["Hero", TAGS[0], TAGS[1], "Please", "Warmer", "a lamp", "Autumn"],
    "jobs": ["a lamp"],
    "job": ["a lamp"],
    "review_queue": ["Hero"],
    "home": ["Acme"],
    "projects": ["Autumn"],
    "project": ["Autumn"],
    "compose": ["Saved", "Autumn"],
    "compose_prompt_fields": ["a {product}"],
    "costs": ["Autumn"],
    "settings_members": [""],  # the email is checked below: it has no label
    "settings_keys": ["CMS key"],
    "settings_webhooks": ["Slack relay"],
    "provenance_check": ["Hero"],
}


def unescaped(body: str) -> list[str]:
    return [raw for raw in RAW if raw in body]


def shows_escaped(body: str, label: str) -> bool:
    """The text, as Django's escaping writes it (or as JSON in a json_script block, or XML in an SVG)."""
    text = label if label in TAGS else tainted(label)
    forms = (html.escape(text), text.replace("<", "&lt;").replace(">", "&gt;"),
             text.replace("<", "\\u003C").replace(">", "\\u003E"))  # fmt: skip
    return any(form in body for form in forms)


@pytest.mark.parametrize("page", GET_PAGES, ids=lambda p: p.route)
def test_every_page_shows_typed_text_escaped(page, world, tenant_a):
    browser, objects = world
    target = objects[TARGET_OF[page.route]] if page.route in TARGET_OF else None

    response = browser.get(page.path.format(slug=tenant_a.slug, id=target and public_id(target)), page.data)

    assert response.status_code == page.own_status, response.content[:1000]
    if not response["Content-Type"].startswith(("text/html", "text/event-stream")):  # a CSV or a zip: a file
        assert response["Content-Type"].split(";")[0] in ("text/csv", "application/zip")
        assert response["Content-Disposition"].startswith("attachment")
        return
    if response["Content-Type"] == "text/event-stream":  # the job page's stream: the fragments it sends
        body = "".join(data.get("html", "") for _, data in events_of(response))
        assert 'id="job-progress"' in body
    else:
        body = response.content.decode()
    assert not unescaped(body), f"raw markup on {page.route}: {unescaped(body)}"
    for label in SHOWN_ON.get(page.route, []):
        if label:
            assert shows_escaped(body, label), f"{page.route} does not show {label!r} (escaped)"
    if page.route == "settings_members":
        assert html.escape(f"{BREAKOUT}@acme.test") in body


def test_the_cost_charts_draw_names_as_svg_text_not_markup(world, tenant_a):
    browser, _ = world

    body = browser.get(f"/t/{tenant_a.slug}/costs/").content.decode()

    svgs = re.findall(r"<svg\b.*?</svg>", body, re.DOTALL)
    assert svgs, "no chart on the costs page"
    assert any("Autumn" in svg for svg in svgs), "the by-project chart does not name the project"
    for svg in svgs:
        assert not unescaped(svg)
        assert "<script" not in svg and "onerror" not in svg.replace("onerror=alert(1)&gt;", "")


def test_titles_and_prompts_are_stored_as_typed(world):
    """Escaping happens on output: the data itself keeps what the person typed."""
    _, objects = world
    assert Asset.objects.get(pk=objects["asset"].pk).title == tainted("Hero")
    assert objects["job"].params["prompt"] == tainted("a lamp")
