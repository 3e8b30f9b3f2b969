from ..endpoints import an_asset_in_review
from .page import Page

PAGES = [
    Page("review_queue", "get", "/t/{slug}/review/", 200),
    Page("review_decide", "post", "/t/{slug}/review/{id}/decide/", 302, target=an_asset_in_review,
         data={"decision": "approve", "comment": "Fine"}),
]  # fmt: skip
