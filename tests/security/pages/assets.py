from ...factories import make_asset, make_job
from .page import Page


def a_draft(tenant):
    """A generated draft whose job can be finalized at premium."""
    params = {"prompt": "a lamp", "task": "TEXT_IMAGE", "n": 1, "seed": 9, "width": 512, "height": 512,
              "quality": "standard"}  # fmt: skip
    return make_asset(tenant, job=make_job(tenant, quality="standard", params=params), index=0, seed=9, title="Lamp")


PAGES = [
    Page("gallery", "get", "/t/{slug}/gallery/", 200),
    Page("gallery_bulk", "post", "/t/{slug}/gallery/bulk/", 302, data={"action": "submit", "comment": "bulk"}),
    Page("gallery_download", "post", "/t/{slug}/gallery/download/", 302),
    Page("gallery_download", "get", "/t/{slug}/gallery/download/", 302),
    Page("asset", "get", "/t/{slug}/assets/{id}/", 200, target=a_draft),
    Page(
        "asset_update", "post", "/t/{slug}/assets/{id}/edit/", 302, target=a_draft, data={"title": "New", "tags": "x"}
    ),
    Page("asset_comment", "post", "/t/{slug}/assets/{id}/comment/", 302, target=a_draft, data={"comment": "Nice"}),
    Page("asset_finalize", "post", "/t/{slug}/assets/{id}/finalize/", 302, target=a_draft),
    Page("asset_check", "post", "/t/{slug}/assets/{id}/check/", 302, target=a_draft),
    Page("asset_transition", "post", "/t/{slug}/assets/{id}/submit/", 302, target=a_draft, data={"comment": "go"}),
]
