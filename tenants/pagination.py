"""Cursor pagination: stable under concurrent inserts, O(1) deep pages with a tenant-led index."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from .serializers import RowRenderer

INVALID_CURSOR = "Invalid cursor: pass the cursor of a `next` or `previous` link unchanged."


def parse_cursor_time(text: object) -> dt.datetime:
    """The time a cursor carries, in UTC; ValueError unless it is an ISO 8601 time with an offset.

    Cursors are opaque to clients but not tamper-proof: PostgreSQL refuses offsets of 16 hours
    or more that Python accepts (a DataError, a 500), and a time without an offset would be read
    in the server's zone. Converted to UTC, any time Python can hold is one PostgreSQL takes.
    """
    if not isinstance(text, str):
        raise ValueError("not a time")
    moment = dt.datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError("the time has no UTC offset")
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError as error:
        raise ValueError("the time is out of range") from error


class CursorPagination(pagination.CursorPagination):
    """``?cursor=`` opaque cursors, newest first; ``?page_size=`` up to 500.

    A cursor that is not one we issued is a 400 naming ``cursor`` (DRF answers 404, and passes
    the time it carries to PostgreSQL unchecked).
    """

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Any) -> pagination.Cursor | None:
        try:
            cursor = super().decode_cursor(request)
            if cursor is None or cursor.position is None:
                return cursor
            # str(): the text DRF makes of a row's value, which it compares positions with.
            position = str(parse_cursor_time(cursor.position))
        except (NotFound, ValueError) as error:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from error
        # DRF's Cursor stub types position as int; it holds the ordering field's value as text.
        return pagination.Cursor(offset=cursor.offset, reverse=cursor.reverse, position=position)  # type: ignore[arg-type]


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
