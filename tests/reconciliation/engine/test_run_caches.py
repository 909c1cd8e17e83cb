"""The engine's memo caches belong to a run: filled while it scores, empty once it ends."""

from __future__ import annotations

import threading

import pytest

from reconciliation.engine import reconcile, score_pair
from reconciliation.engine.caches import run_cache_sizes, run_scope
from reconciliation.engine.normalize import normalize_name

from .helpers import inv, tx


def _books():
    invoices = [
        inv("i1", "INV-000123", counterparty_name="Müller & Söhne GmbH"),
        inv("i2", "INV-000124", amount="80.00", counterparty_name="Tenant Secret Ltd"),
    ]
    transactions = [tx("t1", description="INV-000123", counterparty_name="MUELLER UND SOEHNE")]
    return invoices, transactions


def test_reconcile_leaves_no_tenant_data_in_the_caches() -> None:
    invoices, transactions = _books()
    seen_during: list[dict[str, int]] = []

    result = reconcile(invoices, transactions, on_progress=lambda *_: seen_during.append(run_cache_sizes()))

    assert result.proposals
    # The caches did work in the run (while scoring: they are emptied before explaining).
    assert seen_during and max(sum(sizes.values()) for sizes in seen_during) > 0
    assert sum(seen_during[-1].values()) == 0  # the last report is while explaining
    assert set(run_cache_sizes()) >= {
        "reconciliation.engine.normalize.normalize_name",
        "reconciliation.engine.normalize.invoice_keys",
        "reconciliation.engine.signals._party_names",
    }
    assert set(run_cache_sizes().values()) == {0}


def test_score_pair_leaves_the_caches_empty() -> None:
    invoices, transactions = _books()

    pair = score_pair(invoices[0], transactions[0], open_invoices=invoices)

    assert pair.is_candidate
    assert set(run_cache_sizes().values()) == {0}


def test_a_failed_run_empties_the_caches_too() -> None:
    invoices, transactions = _books()

    def stop(*_: object) -> None:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        reconcile(invoices, transactions, on_progress=stop)

    assert set(run_cache_sizes().values()) == {0}


def test_caches_stay_while_another_run_in_the_process_is_open() -> None:
    """A run finishing in one thread does not empty the caches another thread's run is using."""
    entered, finish = threading.Event(), threading.Event()

    def other_run() -> None:
        with run_scope():
            normalize_name("Other Tenant GmbH")
            entered.set()
            finish.wait(5)

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert entered.wait(5)
        invoices, transactions = _books()
        reconcile(invoices, transactions)
        assert run_cache_sizes()["reconciliation.engine.normalize.normalize_name"] > 0
    finally:
        finish.set()
        thread.join()
    assert set(run_cache_sizes().values()) == {0}
