from .page import Page

PAGES = [
    Page("review_queue", "get", "/t/{slug}/review/", 200),
]
