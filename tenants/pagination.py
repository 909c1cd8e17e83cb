"""Cursor pagination: stable under concurrent inserts, O(1) deep pages with a tenant-led index."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """``?cursor=`` opaque cursors, newest first; ``?page_size=`` up to 500."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated_response(view: Any, request: Any, queryset: Any, serializer_class: Any) -> Any:
    """One page of ``queryset`` serialised with ``serializer_class``, with next/previous links."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
