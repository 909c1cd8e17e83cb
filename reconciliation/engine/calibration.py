"""Calibration before trust: how auto-confirmation thresholds would have done (pure, no Django).

A tenant's people have already decided matches: confirmations are the truth, rejections (and
undone confirmations) are known wrong. A backtest runs the engine once over the books as they
were before those decisions, with auto-confirmation switched off, so every proposal carries
all its blockers except the threshold's; then, for each threshold tried, the proposals that
would have been auto-confirmed are counted against the decisions (:func:`calibrate`).

One run serves every threshold because the threshold takes no part in scoring or assignment:
it only adds the ``auto.below_threshold`` blocker (or ``auto.disabled`` when off), so a
proposal is auto-confirmed at ``t`` exactly when its confidence reaches ``t`` and no other
blocker stands (:func:`auto_confirmable_at`; a test checks it against real runs).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .types import Proposal

#: Blockers that only say where the threshold stands; every other blocker holds at any threshold.
THRESHOLD_BLOCKER_CODES = frozenset({"auto.disabled", "auto.below_threshold"})

#: Thresholds a backtest tries when none are given: 0.80 to 0.99 by 0.01 (lower ones would
#: confirm what the bands call "medium"; 1.00 confirms nothing the engine cannot be sure of).
DEFAULT_THRESHOLDS: tuple[Decimal, ...] = tuple(Decimal(n).scaleb(-2) for n in range(80, 100))

Verdict = Literal["agrees", "rejected", "undone", "contradicted", "unlabelled"]
WRONG_VERDICTS: frozenset[str] = frozenset({"rejected", "undone", "contradicted"})
EXAMPLES_MAX = 10  # wrong examples a report carries, highest confidence first
#: The recommendation's sentences are fixed text and a few numbers: well under this (a test checks).
RECOMMENDATION_MAX_CHARS = 400


def auto_confirmable_at(proposal: Proposal, threshold: Decimal) -> bool:
    """Would ``proposal`` be auto-confirmed with the threshold at ``threshold``?

    Its confidence reaches the threshold and nothing but the threshold blocks it (ambiguity,
    no independent evidence, overpayment... hold whatever the threshold).
    """
    return proposal.confidence >= threshold and all(
        blocker.code in THRESHOLD_BLOCKER_CODES for blocker in proposal.auto_confirm_blockers
    )


@dataclass(frozen=True, slots=True)
class DecisionLabels:
    """What people decided, as pairs ``(invoice_id, transaction_id)`` and settled items.

    ``confirmed``: pairs in matches a person confirmed (the truth). ``rejected`` / ``undone``:
    pairs in matches a person rejected, or confirmations undone (known wrong; a pair also
    confirmed is not wrong). ``settled_transactions`` / ``settled_invoices``: items a person's
    confirmations used up entirely, so any other pair with them contradicts the decision.
    """

    confirmed: frozenset[tuple[str, str]] = frozenset()
    rejected: frozenset[tuple[str, str]] = frozenset()
    undone: frozenset[tuple[str, str]] = frozenset()
    settled_transactions: frozenset[str] = frozenset()
    settled_invoices: frozenset[str] = frozenset()

    def verdict(self, proposal: Proposal) -> Verdict:
        """How ``proposal`` stands against the decisions: wrong if any of its pairs is, agreeing
        when every pair was confirmed, unlabelled when the decisions say nothing about it.

        Amounts are not compared: the question is whether the engine links the right items.
        """
        pairs = [(a.invoice_id, a.transaction_id) for a in proposal.allocations]
        for pair in pairs:
            if pair in self.confirmed:
                continue
            if pair in self.rejected:
                return "rejected"
            if pair in self.undone:
                return "undone"
            invoice_id, transaction_id = pair
            if transaction_id in self.settled_transactions or invoice_id in self.settled_invoices:
                return "contradicted"
        return "agrees" if all(pair in self.confirmed for pair in pairs) else "unlabelled"


@dataclass(frozen=True, slots=True)
class ThresholdOutcome:
    """What one threshold would have done: proposals auto-confirmed, and how they stand."""

    threshold: Decimal
    auto_confirmed: int
    correct: int
    wrong: int
    unlabelled: int

    @property
    def precision(self) -> Decimal | None:
        """Correct share of the labelled auto-confirmations (None when there are none)."""
        labelled = self.correct + self.wrong
        return None if not labelled else (Decimal(self.correct) / labelled).quantize(Decimal("0.0001"))


@dataclass(frozen=True, slots=True)
class WrongExample:
    """A proposal that some threshold would have auto-confirmed wrongly (for a person to see)."""

    verdict: Verdict
    confidence: Decimal
    pairs: tuple[tuple[str, str], ...]  # (invoice_id, transaction_id)


@dataclass(frozen=True, slots=True)
class Calibration:
    """A backtest's answer: one row per threshold, and the recommended threshold (or None)."""

    outcomes: tuple[ThresholdOutcome, ...]
    recommended_threshold: Decimal | None
    recommendation: str
    proposals: int
    labelled_proposals: int
    min_support: int
    wrong_examples: tuple[WrongExample, ...]


def calibrate(
    proposals: Sequence[Proposal],
    labels: DecisionLabels,
    *,
    thresholds: Sequence[Decimal] = DEFAULT_THRESHOLDS,
    min_support: int = 30,
) -> Calibration:
    """Count, for each threshold, the auto-confirmations and how they stand; recommend one.

    The recommendation is the lowest threshold tried at which no auto-confirmation would have
    been wrong and at least ``min_support`` would have agreed with a person's confirmation.
    Lowest, because it automates the most work; zero wrong, because an auto-confirmation moves
    money without anyone looking; the support, because "no error" in three matches proves
    nothing: with ``n`` agreeing and none wrong, the error rate is below 3/n at 95 % confidence
    (the "rule of three"), so the default 30 says "below 10 %" at the very least. Higher
    thresholds auto-confirm a subset of what lower ones do, so zero wrong at the recommendation
    means zero wrong at every threshold above it too.
    """
    ordered = sorted(set(thresholds))
    verdicts = [labels.verdict(proposal) for proposal in proposals]
    scored = [
        (proposal, verdict)
        for proposal, verdict in zip(proposals, verdicts, strict=True)
        if ordered and auto_confirmable_at(proposal, ordered[0])
    ]
    # Confidences per kind of verdict, sorted: "how many at or above t" is one bisection each
    # (a 100k-proposal backtest over 101 thresholds stays linear in the proposals).
    by_kind: dict[str, list[Decimal]] = {"correct": [], "wrong": [], "unlabelled": []}
    for proposal, verdict in scored:
        kind = "correct" if verdict == "agrees" else "wrong" if verdict in WRONG_VERDICTS else "unlabelled"
        by_kind[kind].append(proposal.confidence)
    for values in by_kind.values():
        values.sort()

    def at_or_above(kind: str, threshold: Decimal) -> int:
        values = by_kind[kind]
        return len(values) - bisect_left(values, threshold)

    outcomes = []
    for threshold in ordered:
        correct, wrong, unlabelled = (
            at_or_above(kind, threshold) for kind in ("correct", "wrong", "unlabelled")
        )
        outcomes.append(ThresholdOutcome(threshold, correct + wrong + unlabelled, correct, wrong, unlabelled))
    wrong_examples = sorted(
        (
            WrongExample(
                verdict,
                proposal.confidence,
                tuple((a.invoice_id, a.transaction_id) for a in proposal.allocations),
            )
            for proposal, verdict in scored
            if verdict in WRONG_VERDICTS
        ),
        key=lambda example: (-example.confidence, example.pairs),
    )[:EXAMPLES_MAX]
    recommended, text = _recommend(outcomes, min_support)
    return Calibration(
        outcomes=tuple(outcomes),
        recommended_threshold=recommended,
        recommendation=text,
        proposals=len(proposals),
        labelled_proposals=sum(1 for verdict in verdicts if verdict != "unlabelled"),
        min_support=min_support,
        wrong_examples=tuple(wrong_examples),
    )


def _recommend(outcomes: Sequence[ThresholdOutcome], min_support: int) -> tuple[Decimal | None, str]:
    """The lowest safe, supported threshold with a sentence saying why (or why there is none)."""
    if not outcomes:
        return None, "No thresholds were tried."
    safe = [row for row in outcomes if row.wrong == 0]
    if not safe:
        worst = outcomes[-1]
        return None, (
            f"Even at {worst.threshold} {worst.wrong} auto-confirmation(s) would have been wrong: "
            "keep auto-confirmation off (or in shadow mode) and look at the wrong examples."
        )
    for row in safe:
        if row.correct >= min_support:
            return row.threshold, (
                f"At {row.threshold} and above no auto-confirmation would have been wrong; "
                f"{row.correct} would have agreed with a person's confirmation "
                f"(at least {min_support} needed)."
            )
    lowest = safe[0]
    return None, (
        f"Not enough evidence: from {lowest.threshold} up no auto-confirmation would have been wrong, "
        f"but at most {lowest.correct} would have agreed with a person's confirmation and at least "
        f"{min_support} are needed. Decide more matches (or run in shadow mode) and try again."
    )
