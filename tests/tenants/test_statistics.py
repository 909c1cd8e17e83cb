"""Planner statistics after a bulk import: a new tenant is not left looking like "one row"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from banking.models import BankTransaction, ImportSource
from banking.services import transactions_import
from banking.statements import ParsedTransaction
from invoices.models import Invoice
from invoices.services import invoice_bulk_import
from tenants.context import tenant_context
from tenants.statistics import STALE_CHECK_MIN_ROWS, tenant_rows_estimate
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db


def _rows(count: int):
    for n in range(count):
        yield (
            n + 2,
            {"number": f"B-{n:06d}", "amount": "10.00", "currency": "EUR", "issue_date": "2024-01-05"},
        )


def _analyze_with_only(world) -> None:
    """Statistics that know one tenant only: every other tenant is estimated at one row."""
    for n in range(50):
        make_invoice(world.tenant, amount="1.00", number=f"A-{n}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices_invoice")


def test_a_large_import_by_an_unknown_tenant_refreshes_the_statistics(
    world_a, world_b, django_capture_on_commit_callbacks
):
    _analyze_with_only(world_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with tenant_context(world_b.tenant.id):
            assert tenant_rows_estimate(Invoice) <= 1
            invoice_bulk_import(rows=_rows(STALE_CHECK_MIN_ROWS + 200))
    assert len(callbacks) == 1
    with tenant_context(world_b.tenant.id):
        assert tenant_rows_estimate(Invoice) >= STALE_CHECK_MIN_ROWS


def test_a_small_import_schedules_nothing(world_a, world_b, django_capture_on_commit_callbacks):
    _analyze_with_only(world_a)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with tenant_context(world_b.tenant.id):
            invoice_bulk_import(rows=_rows(STALE_CHECK_MIN_ROWS - 1))
    assert callbacks == []


def test_a_large_bank_statement_import_refreshes_the_statistics(
    world_a, world_b, django_capture_on_commit_callbacks
):
    def rows(tenant_tag: str, count: int):
        for n in range(count):
            yield ParsedTransaction(
                account="DE-1",
                amount=Decimal("12.34"),
                currency="EUR",
                booking_date=dt.date(2024, 1, 1),
                description=f"{tenant_tag} {n}",
                external_id=f"{tenant_tag}-{n}",
            )

    with tenant_context(world_a.tenant.id):
        transactions_import(rows=rows("A", 50), source=ImportSource.API)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE banking_banktransaction")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with tenant_context(world_b.tenant.id):
            assert tenant_rows_estimate(BankTransaction) <= 1
            transactions_import(rows=rows("B", STALE_CHECK_MIN_ROWS + 200), source=ImportSource.API)
    assert len(callbacks) == 1
    with tenant_context(world_b.tenant.id):
        assert tenant_rows_estimate(BankTransaction) >= STALE_CHECK_MIN_ROWS
