"""A small run of the benchmark generator: guards the accuracy targets against regressions."""

from __future__ import annotations

from bench.datagen import generate
from reconciliation.engine import reconcile


def test_generated_book_is_matched_accurately() -> None:
    ds = generate(600, seed=11)
    result = reconcile(ds.invoices, ds.transactions, ds.settings)
    truth = ds.truth_pairs
    proposed = [
        (a.transaction_id, a.invoice_id, p.auto_confirm) for p in result.proposals for a in p.allocations
    ]
    tp = sum((t, i) in truth for t, i, _ in proposed)
    precision, recall = tp / len(proposed), tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall)
    wrong_auto = [(t, i) for t, i, auto in proposed if auto and (t, i) not in truth]
    assert f1 >= 0.93
    assert wrong_auto == []
    assert sum(auto for *_, auto in proposed) > len(truth) / 2
