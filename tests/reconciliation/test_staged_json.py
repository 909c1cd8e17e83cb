"""Explanations staged as JSON text parse to exactly the dicts the API shows."""

from __future__ import annotations

import json
from decimal import Decimal

from bench.datagen import generate
from reconciliation import engine, services


def test_staged_explanations_equal_the_api_dicts_for_a_generated_book() -> None:
    ds = generate(400, seed=9)
    result = engine.reconcile(ds.invoices, ds.transactions, ds.settings)
    assert result.proposals
    for proposal in result.proposals:
        assert json.loads(services._reasons_json(proposal.reasons)) == services.reason_dicts(proposal.reasons)
        for score in proposal.breakdown:
            assert json.loads(services._pair_score_json(score)) == services.pair_score_dict(score)


def test_quotes_backslashes_and_accents_survive() -> None:
    reason = engine.Reason("cp.name", 'Payer "Müller\\Söhne" ≈ vendor\nname')
    score = engine.PairScore(
        invoice_id="inv-1",
        transaction_id='tx"2',
        confidence=Decimal("0.9500"),
        signals=(engine.SignalScore("counterparty", Decimal("0.55"), Decimal("0.50"), (reason,)),),
        is_candidate=False,
        blockers=(reason,),
    )
    assert json.loads(services._pair_score_json(score)) == services.pair_score_dict(score)
    assert json.loads(services._reasons_json([reason])) == [{"code": "cp.name", "message": reason.message}]
