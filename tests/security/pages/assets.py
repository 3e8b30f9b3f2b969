from .page import Page

PAGES = [
    Page("gallery", "get", "/t/{slug}/gallery/", 200),
]
