"""Cursor pagination: stable under concurrent inserts, O(1) deep pages with a tenant-led index."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination

from .serializers import RowRenderer


class CursorPagination(pagination.CursorPagination):
    """``?cursor=`` opaque cursors, newest first; ``?page_size=`` up to 500."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated_response(view: Any, request: Any, queryset: Any, output: Any) -> Any:
    """One page of ``queryset`` with next/previous links.

    ``output`` is an output serializer class, or a ``RowRenderer`` of one: then the page is
    read as ``.values()`` rows (the paginator takes the cursor position from the row) and
    rendered without building model instances.
    """
    paginator = view.pagination_class()
    if isinstance(output, RowRenderer):
        ordering = [name.lstrip("-") for name in paginator.ordering]
        rows = paginator.paginate_queryset(output.values(queryset, extra=ordering), request, view=view)
        return paginator.get_paginated_response(output.render(rows))
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output(page, many=True).data)
