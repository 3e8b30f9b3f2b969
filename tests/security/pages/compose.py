from .page import Page

PAGES = [
    Page("compose", "get", "/t/{slug}/compose/", 200),
]
