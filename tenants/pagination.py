"""Cursor pagination: stable under concurrent inserts, O(1) deep pages with a tenant-led index."""

from __future__ import annotations

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """``?cursor=`` opaque cursors, newest first; ``?page_size=`` up to 500."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500
