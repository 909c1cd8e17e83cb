"""Cursor pagination: stable under concurrent inserts, O(1) deep pages with a tenant-led index."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from .serializers import RowRenderer

INVALID_CURSOR = "Invalid cursor: pass the cursor of a `next` or `previous` link unchanged."


def parse_cursor_time(text: object) -> dt.datetime:
    """The time a cursor carries; ValueError unless it is an ISO 8601 time in UTC.

    Cursors are opaque to clients but not tamper-proof. Every cursor we issue holds a time in UTC
    (PostgreSQL returns them so); any other offset is a tampered cursor. Checked here because
    PostgreSQL refuses offsets of 16 hours and more that Python accepts (a DataError, a 500), and
    a time without offset would be read in the server's zone.
    """
    if not isinstance(text, str):
        raise ValueError("not a time")
    moment = dt.datetime.fromisoformat(text)
    if moment.utcoffset() != dt.timedelta(0):
        raise ValueError("not a time in UTC")
    return moment


class CursorPagination(pagination.CursorPagination):
    """``?cursor=`` opaque cursors, newest first; ``?page_size=`` from 1 to 500.

    A ``page_size`` outside that range is 400 naming it, as the schema declares: DRF would
    silently serve the default size instead of ``0`` or ``abc``, and 500 rows instead of 1000,
    and a client would page on believing it got what it asked for. A cursor that is not one we
    issued is a 400 naming ``cursor`` (DRF answers 404, and passes the time it carries to
    PostgreSQL unchecked).
    """

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return int(self.page_size or 0)
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError(
                {self.page_size_query_param: [f"Ensure this is an integer from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters

    def decode_cursor(self, request: Any) -> pagination.Cursor | None:
        try:
            cursor = super().decode_cursor(request)
            if cursor is None or cursor.position is None:
                return cursor
            parse_cursor_time(cursor.position)
        except (NotFound, ValueError) as error:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from error
        return cursor


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
