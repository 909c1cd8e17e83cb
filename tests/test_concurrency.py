"""Concurrency under real threads and transactions: imports, confirmations, reconciliation runs."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import Client

from banking.models import BankTransaction, ImportBatch
from common.errors import Conflict
from invoices.models import Invoice
from reconciliation import engine as engine_module
from reconciliation import services
from reconciliation.models import Match, MatchAllocation, MatchShape
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice
from tests.support.runs import reconcile as run_reconcile
from tests.tenants.factories import bearer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run_threads(count: int, target) -> list:
    """Start ``count`` threads on ``target(index)`` behind a barrier; return their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def wrapper(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as error:  # the caller asserts on outcomes
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapper, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_fifty_concurrent_identical_imports_make_one_batch(world_a):
    headers = bearer(world_a.accountant)
    items = [
        {"amount": f"{n}.00", "date": "2024-01-02", "description": f"r{n}", "currency": "USD"}
        for n in range(1, 301)
    ]
    payload = json.dumps({"transactions": items})
    url = f"/v1/tenants/{world_a.tenant.id}/bank-transactions/import"

    def post(_index: int):
        response = Client().post(
            url, data=payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="fifty", **headers
        )
        return response.status_code, response.has_header("Idempotent-Replayed")

    results = run_threads(50, post)
    assert all(isinstance(r, tuple) for r in results), results
    assert {status for status, _ in results} <= {201, 409}
    assert sum(1 for r in results if r == (201, False)) == 1
    with tenant_context(world_a.tenant.id):
        assert ImportBatch.objects.count() == 1
        assert BankTransaction.objects.count() == 300


def test_twenty_concurrent_confirmations_never_over_allocate(world_a):
    """Matches compete for two transactions and overlapping invoices; SQL checks the invariants."""
    first = make_transaction(world_a.tenant, amount="100.00", description="payment one")
    second = make_transaction(world_a.tenant, amount="60.00", description="payment two")
    match_ids = []
    with tenant_context(world_a.tenant.id):
        invoices = [
            Invoice.objects.create(number=f"K-{n}", amount=Decimal("100.00"), currency="USD")
            for n in range(5)
        ]
        for n in range(20):
            transaction = first if n % 2 == 0 else second
            amount = Decimal("40.00") if n % 2 == 0 else Decimal("30.00")
            match = Match.objects.create(shape=MatchShape.ONE_TO_ONE, confidence=Decimal("0.5"))
            MatchAllocation.objects.create(
                match=match,
                transaction=transaction,
                invoice=invoices[n % 5],
                amount=amount,
                invoice_amount=amount,
            )
            match_ids.append(match.id)

    def confirm(index: int) -> str:
        with tenant_context(world_a.tenant.id):
            try:
                services.match_confirm(match_id=match_ids[index], actor=None)
            except Conflict:
                return "conflict"
        return "confirmed"

    results = run_threads(20, confirm)
    assert set(results) <= {"confirmed", "conflict"}, results
    # 100.00 fits two 40.00 allocations, 60.00 fits two 30.00 allocations.
    assert results.count("confirmed") == 4
    with tenant_context(world_a.tenant.id), connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id, abs(t.amount), t.allocated_amount, COALESCE(sum(a.amount), 0)
            FROM banking_banktransaction t
            LEFT JOIN reconciliation_matchallocation a
                 ON a.tenant_id = t.tenant_id AND a.transaction_id = t.id
                 AND a.match_id IN (
                     SELECT id FROM reconciliation_match WHERE tenant_id = %(tenant)s AND status = 'confirmed'
                 )
            WHERE t.tenant_id = %(tenant)s
            GROUP BY t.tenant_id, t.id
            """,
            {"tenant": world_a.tenant.id},
        )
        for _id, amount, allocated, confirmed in cursor.fetchall():
            assert allocated == confirmed <= amount
        cursor.execute(
            """
            SELECT i.amount, i.amount_paid, COALESCE(sum(a.invoice_amount), 0)
            FROM invoices_invoice i
            LEFT JOIN reconciliation_matchallocation a ON a.tenant_id = i.tenant_id AND a.invoice_id = i.id
                 AND a.match_id IN (
                     SELECT id FROM reconciliation_match WHERE tenant_id = %(tenant)s AND status = 'confirmed'
                 )
            WHERE i.tenant_id = %(tenant)s
            GROUP BY i.tenant_id, i.id
            """,
            {"tenant": world_a.tenant.id},
        )
        for amount, paid, confirmed in cursor.fetchall():
            assert paid == confirmed <= amount


def test_two_runs_on_one_tenant_conflict_while_other_tenants_proceed(world_a, world_b, monkeypatch):
    """The first run is held inside the engine; meanwhile a second run of the same tenant gets
    409 and a run of another tenant completes."""
    make_invoice(world_a.tenant, amount="150.00", number="INV-1")
    make_transaction(world_a.tenant, amount="150.00", description="INV-1")
    make_invoice(world_b.tenant, amount="70.00", number="B-1")
    make_transaction(world_b.tenant, amount="70.00", description="B-1")
    entered, release = threading.Event(), threading.Event()
    real_reconcile = engine_module.reconcile

    def held_reconcile(invoices, transactions, settings, **kwargs):
        if threading.current_thread().name == "first-run":
            entered.set()
            assert release.wait(timeout=60)
        return real_reconcile(invoices, transactions, settings, **kwargs)

    monkeypatch.setattr(services.engine, "reconcile", held_reconcile)
    outcome: dict = {}

    def first_run() -> None:
        try:
            outcome["first"] = run_reconcile(world_a.tenant.id, source="test")
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_run, name="first-run")
    thread.start()
    assert entered.wait(timeout=60)
    try:
        with pytest.raises(Conflict):
            run_reconcile(world_a.tenant.id, source="test")
        other = run_reconcile(world_b.tenant.id, source="test")
        assert len(other.proposals) == 1
    finally:
        release.set()
        thread.join(timeout=60)
    assert len(outcome["first"].proposals) == 1
    # Once the first run has committed, the tenant can run again.
    assert run_reconcile(world_a.tenant.id, source="test").run_id is not None
