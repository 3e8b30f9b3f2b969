from .page import Page

PAGES = [
    Page("settings", "get", "/t/{slug}/settings/", 200),
]
