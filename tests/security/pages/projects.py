from .page import Page

PAGES = [
    Page("projects", "get", "/t/{slug}/projects/", 200),
]
