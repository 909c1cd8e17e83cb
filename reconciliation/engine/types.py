"""Plain, frozen input and output records of the matching engine.

The Django side converts ORM rows into :class:`InvoiceInput` / :class:`TransactionInput` and
stores :class:`Proposal` objects; nothing in here knows about the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

Shape = Literal["one_to_one", "one_to_many", "many_to_one"]
Direction = Literal["receivable", "payable", "any"]


@dataclass(frozen=True, slots=True)
class InvoiceInput:
    """An open invoice (or bill) that may receive bank money."""

    id: str
    number: str
    amount: Decimal
    outstanding: Decimal
    currency: str
    issue_date: date | None
    due_date: date | None
    counterparty_id: str | None = None
    counterparty_name: str = ""
    counterparty_aliases: tuple[str, ...] = ()
    counterparty_account: str = ""  # IBAN / account number of the vendor/customer
    structured_reference: str = ""  # e.g. an ISO 11649 RF reference issued with the invoice
    direction: str = "any"  # "receivable" (credits > 0), "payable" (debits < 0), "any"
    # More accounts of the counterparty (learned from confirmed matches): they count exactly
    # like counterparty_account, for blocking, scoring and auto-confirmation.
    counterparty_accounts: tuple[str, ...] = ()
    # Early-payment discount ("2/10 net 30"): percent off when paid within discount_days of the
    # issue date (common.finance.terms). Both or neither; no issue date -> no discount.
    discount_percent: Decimal | None = None
    discount_days: int | None = None


@dataclass(frozen=True, slots=True)
class TransactionInput:
    """A bank statement line. ``amount`` is signed: credits are positive."""

    id: str
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None = None
    description: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    external_id: str = ""
    end_to_end_id: str = ""
    structured_reference: str = ""
    unallocated: Decimal | None = None  # remaining absolute amount still free (None = abs(amount))


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Tenant-level knobs. Defaults are conservative."""

    auto_confirm_threshold: Decimal | None = Decimal("0.95")  # None = auto-confirm off
    fee_tolerance_fixed: Decimal = Decimal("0")  # underpayment absorbed as a bank fee, absolute
    fee_tolerance_percent: Decimal = Decimal("0")  # ... or percent of outstanding (0.5 = 0.5 %)
    date_window_days: int = 120  # how far after due date / before issue a payment may be
    bank_lag_days: int = 5
    min_score: Decimal = Decimal("0.30")  # pairs below are dropped
    ambiguity_margin: Decimal = Decimal("0.10")  # best must beat runner-up by this to auto-confirm
    max_subset_size: int = 6  # 1 transaction <-> N invoices found by their sum alone
    max_subset_candidates: int = 25  # bound the subset-sum search per counterparty
    fx_rates: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    # Extra knobs (not in the original brief), all with safe defaults:
    max_amount_candidates: int = 6  # more same-amount invoices due around the payment date
    # than this and the amount alone identifies nothing (only reference/counterparty paths)
    max_band_candidates: int = 6  # near-amount (±5 %) invoices considered per transaction
    exact_matching_limit: int = 300_000  # component size (edges x nodes) for exact assignment
    # A payment through a processor (PayPal, Stripe, Square, ...: engine/processors.py) arrives
    # net of the processor's fee, percent of the sale plus a fixed part: a shortfall up to
    # processor_fee_percent % of the outstanding + processor_fee_fixed counts as that fee.
    # Defaults cover the public list prices (PayPal 2.49-3.49 % + 0.35-0.49, Stripe 1.5-2.9 %
    # + 0.25-0.30, Square 1.75-2.6 % + 0.10, SumUp 1.39-2.5 %) with room for a currency
    # conversion or international card surcharge, and no more.
    processor_fee_percent: Decimal = Decimal("3.5")
    processor_fee_fixed: Decimal = Decimal("0.35")


@dataclass(frozen=True, slots=True)
class Reason:
    """A machine code plus a sentence a bookkeeper can read."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class SignalScore:
    """One signal's sub-score in [0, 1], the weight it carries and why."""

    signal: str
    score: Decimal
    weight: Decimal
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class PairScore:
    """Explanation of one (invoice, transaction) pair, candidate or not."""

    invoice_id: str
    transaction_id: str
    confidence: Decimal
    signals: tuple[SignalScore, ...]
    is_candidate: bool
    blockers: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class Allocation:
    """Money moved from a transaction to an invoice.

    ``amount`` is in the transaction's currency (what is consumed of the bank line);
    ``invoice_amount`` is what it settles on the invoice, in the invoice's currency
    (equal to ``amount`` unless an FX rate was used).
    """

    transaction_id: str
    invoice_id: str
    amount: Decimal
    invoice_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed match (auto-confirmable or not) with its full explanation."""

    shape: Shape
    allocations: tuple[Allocation, ...]
    confidence: Decimal
    reasons: tuple[Reason, ...]
    breakdown: tuple[PairScore, ...]
    auto_confirm: bool
    auto_confirm_blockers: tuple[Reason, ...]
    fee_amount: Decimal = Decimal("0")
    runner_up_confidence: Decimal | None = None
    # Early-payment discount taken (in the invoice's currency): settled on the invoice with the
    # payment, like a fee, but a discount the terms granted, not a cost.
    discount_amount: Decimal = Decimal("0")
    # Several open invoices fit equally (same party, same amount, no reference telling them
    # apart): the payment is applied to the oldest, ``alternatives`` are the others' ids
    # (oldest first), and the proposal is never auto-confirmed.
    ambiguous: bool = False
    alternatives: tuple[str, ...] = ()
    advice_id: str = ""  # the remittance advice this proposal follows ("" = none)

    @property
    def transaction_ids(self) -> tuple[str, ...]:
        """Distinct transaction ids, sorted."""
        return tuple(sorted({a.transaction_id for a in self.allocations}))

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        """Distinct invoice ids, sorted."""
        return tuple(sorted({a.invoice_id for a in self.allocations}))


@dataclass(frozen=True, slots=True)
class EngineResult:
    """All proposals of one run (deterministic order) and counters about the run.

    ``stats`` depend only on the input; ``resources`` say how the run was carried out
    (``workers``, and ``scoring_memory_bytes``: resident memory while the workers scored).
    """

    proposals: tuple[Proposal, ...]
    stats: dict[str, Any]
    resources: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AdviceLineInput:
    """One invoice of a remittance advice: what the payer says it pays for it.

    ``amount`` is what the payment carries for the invoice; ``discount`` what the payer deducted
    (a cash discount it claims), so the invoice is settled by ``amount + discount``.
    ``invoice_id`` is the open invoice the caller already resolved the line to ("" = resolve by
    ``invoice_number``).
    """

    invoice_number: str
    amount: Decimal
    discount: Decimal = Decimal(0)
    invoice_id: str = ""


@dataclass(frozen=True, slots=True)
class AdviceInput:
    """A remittance advice: the payer's own list of the invoices one payment covers.

    ``reference`` is what the payment's text quotes to point at it (the advice or payment run
    number); ``end_to_end_id`` the payer's end-to-end id when the advice gives one; ``amount``
    the payment's total (net of the lines' discounts).
    """

    id: str
    reference: str
    amount: Decimal
    currency: str
    lines: tuple[AdviceLineInput, ...]
    end_to_end_id: str = ""
    payer_name: str = ""
    payer_account: str = ""
    payment_date: date | None = None
