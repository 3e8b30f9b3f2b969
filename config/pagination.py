from rest_framework.pagination import CursorPagination


class CursorPage(CursorPagination):
    """Lists that grow without bound answer in cursor pages: `{"next", "previous", "results"}`, where `next`
    and `previous` are links (or null) carrying an opaque `cursor`; `?page_size=` up to 1000. A cursor
    keeps its place while rows are added, so walking `next` to the end sees each row once.

    The order is the view's `cursor_ordering` (default: newest first); its first field is the cursor's
    position, the rest break ties."""

    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-pk")

    def get_ordering(self, request, queryset, view):
        return tuple(getattr(view, "cursor_ordering", None) or self.ordering)
