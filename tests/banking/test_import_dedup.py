"""The set-based move from staging into the ledger: dedup keys, ids, counts.

The dedup keys must stay byte-identical to the formula every earlier import used (else a
statement imported before a change would import again after it), so they are checked against
that formula written out here as the reference.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from banking.models import BankTransaction, ImportSource
from banking.services import transactions_import
from banking.statements import ParsedTransaction
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 3, 1)

# The dedup formula as the first imports computed it (two window functions over the import).
REFERENCE_KEYS = r"""
WITH s AS (
    SELECT * FROM unnest(%(seq)s::bigint[], %(account)s::text[], %(amount)s::numeric[],
                         %(currency)s::text[], %(day)s::date[], %(description)s::text[],
                         %(external_id)s::text[])
        AS u(seq, account, amount, currency, booking_date, description, external_id)
), staged AS (
    SELECT s.seq, s.account, s.amount::numeric(18, 4) AS amount, s.currency, s.booking_date,
           s.description, s.external_id,
           lower(btrim(regexp_replace(s.description, '\s+', ' ', 'g'))) AS normalized_description
    FROM s
), numbered AS (
    SELECT st.*,
           row_number() OVER (
               PARTITION BY st.account, st.booking_date, st.amount, st.currency, st.normalized_description
               ORDER BY st.seq
           ) AS position_in_day,
           row_number() OVER (
               PARTITION BY st.account, st.external_id ORDER BY st.seq
           ) AS position_of_reference
    FROM staged st
)
SELECT n.account,
       CASE WHEN n.external_id <> '' THEN 'ref:' || n.external_id
                 || CASE WHEN n.position_of_reference > 1 THEN '#' || n.position_of_reference ELSE '' END
            ELSE 'fp:' || md5(concat_ws('|', n.booking_date, n.amount, n.currency,
                                        n.normalized_description, n.position_in_day))
       END
FROM numbered n
ORDER BY n.seq
"""


def tx(description: str = "Payment", *, amount: str = "10.00", account: str = "", ref: str = "", day=DAY):
    return ParsedTransaction(
        account=account,
        amount=Decimal(amount),
        currency="EUR",
        booking_date=day,
        description=description,
        external_id=ref,
    )


# Repeated references (also across accounts), a literal "A#2" colliding with the second "A",
# identical rows told apart by position, rows with a reference sharing the fingerprint fields
# of rows without one, whitespace and case variants, other scales of one amount, non-ASCII.
TRICKY = [
    tx("Payment INV-1", ref="A"),
    tx("Payment INV-1"),
    tx("payment   inv-1 "),
    tx("Payment INV-1", amount="10"),
    tx("Payment INV-1", ref="A"),
    tx("Payment INV-1", ref="A#2"),
    tx("Payment INV-1", ref="A", account="DE02120300000000202051"),
    tx("Payment INV-1", account="DE02120300000000202051"),
    tx("Überweisung\tMÜLLER\nGmbH\u00a0 x"),
    tx("Überweisung MÜLLER GmbH\u00a0 x"),
    tx("Payment INV-1", ref="B"),
    tx("Payment INV-1", ref="A"),
    tx("Fee", amount="-2.5", day=DAY + dt.timedelta(days=1)),
    tx("Fee", amount="-2.50", day=DAY + dt.timedelta(days=1)),
    tx(""),
    tx(""),
]


def reference_keys(rows: list[ParsedTransaction], default_account: str) -> list[tuple[str, str]]:
    params = {
        "seq": list(range(len(rows))),
        "account": [r.account or default_account for r in rows],
        "amount": [r.amount for r in rows],
        "currency": [r.currency for r in rows],
        "day": [r.booking_date for r in rows],
        "description": [r.description for r in rows],
        "external_id": [r.external_id for r in rows],
    }
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE_KEYS, params)
        return [(account, key) for account, key in cursor.fetchall()]


def stored_keys(batch_id: uuid.UUID) -> set[tuple[str, str]]:
    rows = BankTransaction.objects.filter(import_batch_id=batch_id)
    return set(rows.values_list("account__identifier", "dedup_key"))


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(TRICKY, id="mixed"),
        pytest.param([r for r in TRICKY if r.external_id], id="references-only"),
        pytest.param([r for r in TRICKY if not r.external_id], id="fingerprints-only"),
        pytest.param([tx(f"Row {n}", ref=f"R{n}") for n in range(5)], id="unique-references"),
    ],
)
def test_dedup_keys_are_the_reference_formula_and_a_reimport_is_all_duplicates(world_a, rows):
    expected = reference_keys(rows, "default")
    with tenant_context(world_a.tenant.id):
        first = transactions_import(rows=rows, source=ImportSource.API)
        # ON CONFLICT keeps the first of keys repeated inside one import ("A#2" here).
        assert stored_keys(first.batch.id) == set(expected)
        assert first.imported == len(set(expected))
        assert first.duplicates == len(rows) - len(set(expected))

        again = transactions_import(rows=rows, source=ImportSource.COMMAND, return_ids=False)
        assert (again.imported, again.duplicates) == (0, len(rows))
        assert BankTransaction.objects.count() == len(set(expected))


def test_returned_ids_follow_the_input_order_and_are_time_ordered_uuids(world_a):
    rows = [tx(f"Row {n}") for n in range(50)][::-1] + [tx("Row 7")]  # the last one is new: position 2
    with tenant_context(world_a.tenant.id):
        result = transactions_import(rows=rows, source=ImportSource.API)
        assert result.imported == len(rows)
        descriptions = dict(BankTransaction.objects.values_list("id", "description"))
        assert [descriptions[pk] for pk in result.transaction_ids] == [r.description for r in rows]
        assert result.transaction_ids == sorted(result.transaction_ids)
        assert {pk.version for pk in result.transaction_ids} == {7}
        assert {pk.variant for pk in result.transaction_ids} == {uuid.RFC_4122}
        # The first 48 bits are the Unix time in milliseconds of the import.
        millis = result.transaction_ids[0].int >> 80
        assert abs(millis / 1000 - dt.datetime.now(dt.UTC).timestamp()) < 600

        later = transactions_import(rows=[tx("Another")], source=ImportSource.API)
        assert later.transaction_ids[0] not in result.transaction_ids


def test_duplicates_keep_the_order_of_the_new_rows(world_a):
    with tenant_context(world_a.tenant.id):
        transactions_import(rows=[tx("Old", ref="OLD")], source=ImportSource.API)
        rows = [tx("New 1", ref="N1"), tx("Old", ref="OLD"), tx("New 2", ref="N2")]
        result = transactions_import(rows=rows, source=ImportSource.API)
        assert (result.imported, result.duplicates) == (2, 1)
        refs = dict(BankTransaction.objects.values_list("id", "external_id"))
        assert [refs[pk] for pk in result.transaction_ids] == ["N1", "N2"]


@pytest.mark.parametrize("currency", ["EUR", "JPY", "BHD", "XYZ", ""])
@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "-0.00",
        "10",
        "10.5",
        "10.50",
        "10.500",
        "10.501",
        "1.0000001",
        "1E+2",
        "1E-9",
        "-2.5E-1",
        "99999999999999.99",
        "100000000000000",
        "1E+30",
        "NaN",
        "Infinity",
        "-Infinity",
    ],
)
def test_quick_row_check_agrees_with_the_explained_one(currency, amount):
    from banking.services import _explained_row_errors, row_errors

    row = ParsedTransaction(amount=Decimal(amount), currency=currency, booking_date=DAY, description="x")
    assert row_errors(row) == _explained_row_errors(row)


@pytest.mark.parametrize(
    "field", ["account", "description", "counterparty_name", "external_id", "return_reason"]
)
def test_quick_row_check_finds_overlong_text(field):
    from banking.services import _TEXT_LIMITS, row_errors

    too_long = "x" * (_TEXT_LIMITS[field] + 1)
    row = ParsedTransaction(amount=Decimal(1), currency="EUR", booking_date=DAY, **{field: too_long})
    assert row_errors(row) == [f"{field} is longer than {_TEXT_LIMITS[field]} characters"]
    fits = ParsedTransaction(amount=Decimal(1), currency="EUR", booking_date=DAY, **{field: too_long[1:]})
    assert row_errors(fits) == []


def test_the_collector_is_back_on_after_an_api_import_even_a_rejected_one(world_a):
    import gc

    from banking.services import ImportRejected, api_transactions_import

    good = [{"amount": "1.00", "date": "2024-03-01", "currency": "EUR"}]
    with tenant_context(world_a.tenant.id):
        assert api_transactions_import(items=good, created_by=None, default_account=None).imported == 1
        assert gc.isenabled()
        with pytest.raises(ImportRejected):
            api_transactions_import(items=[{"amount": "x"}], created_by=None, default_account=None)
        assert gc.isenabled()
        gc.disable()  # someone else paused it: it stays paused
        try:
            api_transactions_import(items=good, created_by=None, default_account="other")
            assert not gc.isenabled()
        finally:
            gc.enable()
