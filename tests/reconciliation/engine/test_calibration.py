"""engine.calibration: one engine run answers every threshold, verdicts, the recommendation (pure)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from bench.realistic import generate
from reconciliation.engine import Allocation, Proposal, Reason, reconcile
from reconciliation.engine.calibration import (
    DEFAULT_THRESHOLDS,
    RECOMMENDATION_MAX_CHARS,
    DecisionLabels,
    auto_confirmable_at,
    calibrate,
)

D = Decimal


def proposal(confidence: str, *pairs: tuple[str, str], blockers: tuple[str, ...] = ()) -> Proposal:
    """A proposal of ``pairs`` (invoice, transaction) at ``confidence``, auto-confirmation off."""
    return Proposal(
        shape="one_to_one" if len(pairs) == 1 else "one_to_many",
        allocations=tuple(Allocation(transaction, invoice, D("1")) for invoice, transaction in pairs),
        confidence=D(confidence),
        reasons=(),
        breakdown=(),
        auto_confirm=False,
        auto_confirm_blockers=tuple(Reason(code, code) for code in (*blockers, "auto.disabled")),
    )


@pytest.fixture(scope="module")
def book():
    return generate(400, seed=3)


@pytest.mark.parametrize("threshold", ["0.80", "0.90", "0.95", "0.99"])
def test_one_run_without_a_threshold_says_what_every_threshold_would_confirm(book, threshold):
    """The backtest's premise: a run with auto-confirmation off, cut at t, auto-confirms exactly
    what a run with the threshold at t does (the threshold takes no part in assignment)."""
    off = reconcile(
        book.invoices, book.transactions, dataclasses.replace(book.settings, auto_confirm_threshold=None)
    )
    at = reconcile(
        book.invoices,
        book.transactions,
        dataclasses.replace(book.settings, auto_confirm_threshold=D(threshold)),
    )
    assert [p.allocations for p in off.proposals] == [p.allocations for p in at.proposals]
    predicted = {p.allocations for p in off.proposals if auto_confirmable_at(p, D(threshold))}
    actual = {p.allocations for p in at.proposals if p.auto_confirm}
    assert actual  # the book has auto-confirmable matches at every threshold tried
    assert predicted == actual


def test_verdicts_against_decisions():
    labels = DecisionLabels(
        confirmed=frozenset({("i1", "t1"), ("i5", "t5")}),
        rejected=frozenset({("i2", "t2")}),
        undone=frozenset({("i3", "t3")}),
        settled_transactions=frozenset({"t1"}),
        settled_invoices=frozenset({"i5"}),
    )
    assert labels.verdict(proposal("0.9", ("i1", "t1"))) == "agrees"
    assert labels.verdict(proposal("0.9", ("i2", "t2"))) == "rejected"
    assert labels.verdict(proposal("0.9", ("i3", "t3"))) == "undone"
    # t1 was given entirely to i1 by a person; i5 was paid in full by t5.
    assert labels.verdict(proposal("0.9", ("i9", "t1"))) == "contradicted"
    assert labels.verdict(proposal("0.9", ("i5", "t9"))) == "contradicted"
    # Nobody decided about it; one agreeing pair does not make a group with an unknown one agree.
    assert labels.verdict(proposal("0.9", ("i8", "t8"))) == "unlabelled"
    assert labels.verdict(proposal("0.9", ("i1", "t1"), ("i8", "t1"))) == "contradicted"
    assert labels.verdict(proposal("0.9", ("i1", "t7"), ("i7", "t7"))) == "unlabelled"


def test_the_recommendation_is_the_lowest_threshold_without_a_wrong_one_and_with_support():
    labels = DecisionLabels(
        confirmed=frozenset({("i1", "t1"), ("i2", "t2"), ("i3", "t3")}),
        rejected=frozenset({("i4", "t4")}),
    )
    proposals = [
        proposal("1.0000", ("i1", "t1")),
        proposal("0.9600", ("i2", "t2")),
        proposal("0.9300", ("i3", "t3")),
        proposal("0.9073", ("i4", "t4")),  # rejected by a person
        proposal("0.9900", ("i6", "t6")),  # nobody decided
        proposal("0.9900", ("i3", "t3"), blockers=("auto.ambiguous",)),  # never auto-confirmed
    ]
    result = calibrate(proposals, labels, thresholds=DEFAULT_THRESHOLDS, min_support=3)
    rows = {row.threshold: row for row in result.outcomes}
    assert (rows[D("0.90")].auto_confirmed, rows[D("0.90")].correct, rows[D("0.90")].wrong) == (5, 3, 1)
    assert rows[D("0.90")].precision == D("0.7500")
    assert (rows[D("0.91")].correct, rows[D("0.91")].wrong, rows[D("0.91")].unlabelled) == (3, 0, 1)
    assert rows[D("0.94")].correct == 2
    assert result.recommended_threshold == D("0.91")
    assert [example.verdict for example in result.wrong_examples] == ["rejected"]
    assert result.wrong_examples[0].pairs == (("i4", "t4"),)
    assert result.labelled_proposals == 5 and result.proposals == 6

    # Too little evidence: zero wrong from 0.91 up, but only 3 agreeing where 4 are asked for.
    cautious = calibrate(proposals, labels, thresholds=DEFAULT_THRESHOLDS, min_support=4)
    assert cautious.recommended_threshold is None
    assert "Not enough evidence" in cautious.recommendation

    # Wrong even at the top: no threshold is safe.
    labels_all_wrong = DecisionLabels(rejected=frozenset({("i1", "t1")}))
    unsafe = calibrate(proposals, labels_all_wrong, thresholds=[D("0.95"), D("0.99")], min_support=1)
    assert unsafe.recommended_threshold is None
    assert unsafe.recommendation.startswith("Even at 0.99 1 auto-confirmation(s) would have been wrong")
    huge = D(10**9)  # GraphQL's cost bound counts on the sentence's length
    for text in (result.recommendation, cautious.recommendation, unsafe.recommendation):
        assert len(text.replace("3", str(huge))) <= RECOMMENDATION_MAX_CHARS
