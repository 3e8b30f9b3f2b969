from .page import Page

PAGES = [
    Page("costs", "get", "/t/{slug}/costs/", 200),
    Page("costs_csv", "get", "/t/{slug}/costs/export.csv", 200, data={"group_by": "project"}),
]
