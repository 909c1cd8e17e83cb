"""Planner statistics after a bulk import: a new tenant is not left looking like "one row"."""

from __future__ import annotations

import pytest
from django.db import connection

from invoices.models import Invoice
from invoices.services import invoice_bulk_import
from tenants.context import tenant_context
from tenants.statistics import STALE_CHECK_MIN_ROWS, tenant_rows_estimate
from tests.reconciliation.factories import make_invoice

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
