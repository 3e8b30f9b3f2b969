"""Every studio page under /t/{slug}/, for the cross-tenant matrix: one module per area of
web/views; test_every_page_is_in_the_matrix fails until a new route joins its area's list."""

from . import assets, compose, costs, home, projects, provenance, review, settings

PAGES = [
    *home.PAGES,
    *projects.PAGES,
    *compose.PAGES,
    *assets.PAGES,
    *review.PAGES,
    *costs.PAGES,
    *provenance.PAGES,
    *settings.PAGES,
]
