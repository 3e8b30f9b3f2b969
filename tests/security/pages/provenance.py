from .page import Page

PAGES = [
    Page("provenance", "get", "/t/{slug}/provenance/", 200),
]
