from .page import Page

PAGES = [
    Page("home", "get", "/t/{slug}/", 200),
]
