"""Time-ordered ids for bulk writes: valid UUIDv7, growing with the row order, same in SQL and Python."""

from __future__ import annotations

import pytest
from django.db import connection

from common.ids import OrderedIds


def test_ids_are_uuid7_and_grow_with_the_row_order() -> None:
    ids = OrderedIds.new()
    values = [ids(seq) for seq in (0, 1, 2, 1_000_000, 2**32 - 1)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert all(value.version == 7 and value.variant == "specified in RFC 4122" for value in values)


def test_batches_do_not_share_their_ids() -> None:
    first, second = OrderedIds.new(), OrderedIds.new()
    assert {first(seq) for seq in range(100)}.isdisjoint(second(seq) for seq in range(100))


@pytest.mark.django_db
def test_postgresql_computes_the_same_ids() -> None:
    ids = OrderedIds.new()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + OrderedIds.sql("row", "seq") + " FROM unnest(%(seqs)s::int[]) AS seq ORDER BY seq",
            {**ids.params("row"), "seqs": [0, 1, 7, 123_456]},
        )
        from_sql = [row[0] for row in cursor.fetchall()]
    assert from_sql == [ids(seq) for seq in (0, 1, 7, 123_456)]
