"""The one page shape and pagination helper of every GraphQL list field.

Lists are keyset-paginated, newest first (``created_at``, ``id`` descending, the REST
``CursorPagination``'s ordering and bound): ``first`` (1-500, default 50) and ``after`` (the
``endCursor`` of the previous page); a list whose order is its meaning pages ``oldest_first``
(a match's allocations, in a remittance advice's order). Cursors are opaque and only narrow the tenant's own
queryset. Every app's list field returns ``Page[ItsType]`` from ``paginate``; strawberry names
the page type after the item (``InvoicePage``, ``EventPage``, ...).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from django.db.models import Q, QuerySet

from common.errors import InvalidInput

from ..pagination import CursorPagination, parse_cursor_time
from ..parsers import loads_decimal

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = CursorPagination.max_page_size
ORDERING = CursorPagination.ordering
OLDEST_FIRST = ("created_at", "id")

T = TypeVar("T")

# The bound is enforced by ``paginate``; declared on the argument so a client reads it in the schema.
PageSize = Annotated[
    int,
    strawberry.argument(
        description=f"Page size from 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}); others are an error."
    ),
]


@strawberry.type(description="One page, newest first. Pass endCursor as `after` for the next page.")
class Page(Generic[T]):
    items: list[T]
    end_cursor: str | None
    has_next_page: bool
    _queryset: strawberry.Private[Any]

    @strawberry.field(description="Rows matching the filters (counted only when asked for).")
    def total_count(self) -> int:
        return int(self._queryset.count())


def _encode_cursor(row: Any) -> str:
    raw = json.dumps([row.created_at.isoformat(), str(row.pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, pk = loads_decimal(base64.urlsafe_b64decode(padded.encode()))
        return parse_cursor_time(created_at), uuid.UUID(pk)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput("Invalid cursor.", errors={"after": ["Pass the endCursor of a page."]}) from exc


def paginate(
    queryset: QuerySet[Any], *, first: int, after: str | None, oldest_first: bool = False
) -> Page[Any]:
    """One page of ``queryset``, newest first, keyset on (created_at, id).

    ``oldest_first`` reverses the order for a list whose order is its meaning (a match's
    allocations in the order the run wrote them: a remittance advice's order); the cursor and
    the bound are the same.
    """
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"`first` must be between 1 and {MAX_PAGE_SIZE}.",
            errors={"first": [f"Ensure this value is between 1 and {MAX_PAGE_SIZE}."]},
        )
    ordered = queryset.order_by(*(OLDEST_FIRST if oldest_first else ORDERING))
    if after:
        created_at, pk = _decode_cursor(after)
        if oldest_first:
            ordered = ordered.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk))
        else:
            ordered = ordered.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    rows = list(ordered[: first + 1])
    has_next_page = len(rows) > first
    rows = rows[:first]
    return Page(
        items=rows,
        end_cursor=_encode_cursor(rows[-1]) if rows else None,
        has_next_page=has_next_page,
        _queryset=queryset,
    )
