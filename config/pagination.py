from rest_framework.pagination import PageNumberPagination


class Page(PageNumberPagination):
    """Lists that grow without bound answer in pages: `?page=2&page_size=50`, with `count`,
    `next`, `previous` and `results`."""

    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"
