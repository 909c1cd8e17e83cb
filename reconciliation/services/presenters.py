"""A run's proposals as the interfaces present them: each proposal, results, summaries.

REST, GraphQL, the admin and ``manage.py reconcile`` all shape a run's answer here, so they
say the same; a job stores the summary as JSON (``ReconcileSummary.to_json``).

One name for an engine output not yet decided: a *proposal* (``engine.Proposal``; the ``Match``
rows a run writes are ``proposed``). The engine's *candidates* are something else: the pairs that
pass its blockers (``PairScore.is_candidate``), from which proposals are assigned. The word
"candidates" survives only where clients and stored data read it: the REST and GraphQL fields
(``candidates``, ``candidatesTotal``, the ``Candidate`` type) and the keys of a stored summary.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from tenants.selectors import tenant_default_currency

from .. import engine
from ..selectors import EMBEDDED_ALLOCATIONS

# --- Serialising engine output --------------------------------------------------------------------


def reason_dicts(reasons: Any) -> list[dict[str, str]]:
    return [{"code": reason.code, "message": reason.message} for reason in reasons]


def pair_score_dict(score: engine.PairScore) -> dict[str, Any]:
    """A PairScore as plain JSON-ready data (the per-signal breakdown)."""
    return {
        "invoice_id": score.invoice_id,
        "transaction_id": score.transaction_id,
        "confidence": str(score.confidence),
        "is_candidate": score.is_candidate,
        "signals": [
            {
                "signal": signal.signal,
                "score": str(signal.score),
                "weight": str(signal.weight),
                "reasons": reason_dicts(signal.reasons),
            }
            for signal in score.signals
        ],
        "blockers": reason_dicts(score.blockers),
    }


@dataclass(frozen=True)
class RunProposal:
    """One proposal of a run as the interfaces present it.

    Each allocation carries its ``amount`` (Decimal) in the transaction's ``currency``;
    ``fee_amount`` is in ``currency``, the invoices'. The interfaces render both at the
    currency's minor unit, like every other amount.
    """

    match_id: uuid.UUID | None
    shape: str
    allocations: list[dict[str, Any]]
    confidence: Decimal
    reasons: list[dict[str, str]]
    auto_confirmed: bool
    fee_amount: Decimal
    currency: str
    would_auto_confirm: bool = False  # shadow mode: the threshold would have confirmed it
    discount_amount: Decimal = Decimal(0)  # in ``currency``, like the fee
    ambiguous: bool = False
    alternatives: list[str] = field(default_factory=list)  # invoice ids, oldest first
    # How many allocations the proposal has; ``allocations`` holds the first EMBEDDED_ALLOCATIONS
    # (a remittance advice's proposal may have 1,000, and a response carries up to 500 candidates).
    allocation_count: int = 0

    @property
    def invoice_id(self) -> str | None:
        invoices = {a["invoice_id"] for a in self.allocations}
        return next(iter(invoices)) if len(invoices) == 1 else None

    @property
    def transaction_id(self) -> str | None:
        transactions = {a["transaction_id"] for a in self.allocations}
        return next(iter(transactions)) if len(transactions) == 1 else None


@dataclass(frozen=True)
class ReconcileResult:
    run_id: uuid.UUID | None
    dry_run: bool
    proposals: list[RunProposal]
    auto_confirmed: int
    stats: dict[str, Any] = field(default_factory=dict)
    would_auto_confirm: int = 0  # shadow mode: how many the threshold would have confirmed

    def summary(self, limit: int) -> ReconcileSummary:
        """What a response carries: the ``limit`` strongest proposals and the run's totals."""
        return ReconcileSummary(
            run_id=self.run_id,
            dry_run=self.dry_run,
            proposals=self.strongest_proposals(limit),
            proposals_total=len(self.proposals),
            auto_confirmed=self.auto_confirmed,
            would_auto_confirm=self.would_auto_confirm,
        )

    def strongest_proposals(self, limit: int) -> list[RunProposal]:
        """The proposals a response carries: at most ``limit``, highest confidence first.

        A run proposes as many as the tenant's open items allow, so the REST and
        GraphQL responses carry at most ``RECONCILE_RESPONSE_CANDIDATES`` and say how many
        there are; the rest are read page by page (``GET matches?run_id=``). Highest confidence
        first because that is what a person reviewing the run looks at first (and what a
        truncated response should not leave out); ties keep the engine's order (by transaction,
        then invoice id), so the cut is deterministic.
        """
        return heapq.nlargest(limit, self.proposals, key=attrgetter("confidence"))


@dataclass(frozen=True)
class ReconcileSummary:
    """A run's answer as the interfaces give it, bounded: its strongest proposals and totals.

    A run executes on a worker (``reconciliation.tasks``); the summary is the job's result
    (``to_json``), from which a waiting request builds its response (``from_json``): REST and
    GraphQL answer the same whether the run finished in time or was read later.
    """

    run_id: uuid.UUID | None
    dry_run: bool
    proposals: list[RunProposal]
    proposals_total: int
    auto_confirmed: int
    would_auto_confirm: int = 0

    @property
    def proposals_truncated(self) -> bool:
        return len(self.proposals) < self.proposals_total

    def to_json(self) -> dict[str, Any]:
        """Stored as the job's result and shown as its output: the keys stay those clients read."""
        return {
            "run_id": str(self.run_id) if self.run_id else None,
            "dry_run": self.dry_run,
            "candidates_total": self.proposals_total,
            "auto_confirmed": self.auto_confirmed,
            "would_auto_confirm": self.would_auto_confirm,
            "candidates": [
                {
                    "match_id": str(c.match_id) if c.match_id else None,
                    "shape": c.shape,
                    "allocations": [
                        {
                            **a,
                            "amount": str(a["amount"]),
                            "transaction_id": str(a["transaction_id"]),
                            "invoice_id": str(a["invoice_id"]),
                        }
                        for a in c.allocations
                    ],
                    "allocation_count": c.allocation_count,
                    "confidence": str(c.confidence),
                    "reasons": c.reasons,
                    "auto_confirmed": c.auto_confirmed,
                    "fee_amount": str(c.fee_amount),
                    "currency": c.currency,
                    "would_auto_confirm": c.would_auto_confirm,
                    "discount_amount": str(c.discount_amount),
                    "ambiguous": c.ambiguous,
                    "alternatives": [str(i) for i in c.alternatives],
                }
                for c in self.proposals
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReconcileSummary:
        return cls(
            run_id=uuid.UUID(data["run_id"]) if data["run_id"] else None,
            dry_run=bool(data["dry_run"]),
            proposals_total=int(data["candidates_total"]),
            auto_confirmed=int(data["auto_confirmed"]),
            # Results stored before shadow mode existed have no such key.
            would_auto_confirm=int(data.get("would_auto_confirm", 0)),
            proposals=[
                RunProposal(
                    match_id=uuid.UUID(c["match_id"]) if c["match_id"] else None,
                    shape=c["shape"],
                    allocations=[{**a, "amount": Decimal(a["amount"])} for a in c["allocations"]],
                    # Results stored before the bound carry every allocation.
                    allocation_count=int(c.get("allocation_count", len(c["allocations"]))),
                    confidence=Decimal(c["confidence"]),
                    reasons=c["reasons"],
                    auto_confirmed=bool(c["auto_confirmed"]),
                    fee_amount=Decimal(c["fee_amount"]),
                    currency=c["currency"],
                    would_auto_confirm=bool(c.get("would_auto_confirm", False)),
                    # Results stored before these existed read as none.
                    discount_amount=Decimal(c.get("discount_amount", "0")),
                    ambiguous=bool(c.get("ambiguous", False)),
                    alternatives=list(c.get("alternatives", [])),
                )
                for c in data["candidates"]
            ],
        )


def proposal_currencies(
    invoices: Iterable[engine.InvoiceInput], transactions: Iterable[engine.TransactionInput]
) -> Callable[[str], str]:
    """The currency of an invoice or transaction id (the engine's proposals carry ids only).

    Only the rows in another currency than the tenant's default are kept, so a single-currency
    tenant's 100k-row run holds no map while its proposals are staged.
    """
    default = tenant_default_currency()
    others = {
        row.id: row.currency for rows in (invoices, transactions) for row in rows if row.currency != default
    }
    return lambda id_: others.get(id_, default)


def run_proposal(
    match_id: uuid.UUID | None,
    proposal: engine.Proposal,
    *,
    auto_confirmed: bool,
    currency_of: Callable[[str], str],
    would_auto_confirm: bool = False,
) -> RunProposal:
    return RunProposal(
        match_id=match_id,
        shape=proposal.shape,
        allocations=[
            {
                "transaction_id": a.transaction_id,
                "invoice_id": a.invoice_id,
                "amount": a.amount,
                "currency": currency_of(a.transaction_id),
            }
            for a in proposal.allocations[:EMBEDDED_ALLOCATIONS]
        ],
        allocation_count=len(proposal.allocations),
        confidence=proposal.confidence,
        reasons=reason_dicts(proposal.reasons),
        auto_confirmed=auto_confirmed,
        fee_amount=proposal.fee_amount,
        currency=currency_of(proposal.allocations[0].invoice_id),
        would_auto_confirm=would_auto_confirm,
        discount_amount=proposal.discount_amount,
        ambiguous=proposal.ambiguous,
        alternatives=list(proposal.alternatives),
    )
