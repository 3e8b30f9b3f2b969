from .page import Page

PAGES = [
    Page("costs", "get", "/t/{slug}/costs/", 200),
]
