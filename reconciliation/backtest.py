"""Calibration before trust: the backtest and the shadow's measured precision (read-only).

``backtest_run`` replays the active tenant's decided matches through the engine and says, for a
range of thresholds, how many matches would have been auto-confirmed and how many of them
wrongly, and which threshold it recommends (``engine.calibration`` counts; this module reads the
books). ``shadow_precision`` measures what shadow mode flagged (``Match.would_auto_confirm``)
against what people later decided. Nothing here writes: a backtest may run while people work.

Decisions taken (the reasons are the point of this docstring):

- **What counts as a decision.** A person's confirmation is the truth; a rejection is known
  wrong; an undone confirmation is counted as wrong too (a person took the link back: that is
  exactly the mistake an auto-confirmation must not make, and it is how a wrong
  auto-confirmation shows up). Auto-confirmations still standing are left out: counting them
  would measure the engine against itself. A pair confirmed in one match and rejected or
  undone in another counts as confirmed (the link stands today).
- **Bounded**: the newest ``BACKTEST_MAX_DECISIONS`` decisions (by decision time), so a
  tenant with years of history gets a backtest of its recent practice in bounded time.
- **The books before the decisions**: the decided invoices and transactions (void invoices
  and ignored transactions excepted) with what the sampled confirmations took from them given
  back, plus today's open items, which compete with them as open items do in a run. It is an
  approximation (the open items of the day of each decision are not kept), and a cautious
  one: more competition makes the engine less sure, never more. Nothing is written: the
  balances are restored on the engine's inputs only.
- **Earlier rejections stay**: pairs rejected before the sampled decisions are passed to the
  engine as a run passes them (never proposed again); the sample's own rejections are not,
  or the engine would never propose the pairs whose auto-confirmation the backtest must catch.
- **One engine run for every threshold**, with auto-confirmation off: the threshold only adds
  a blocker (see ``engine.calibration``).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db.models import Count, Q
from django.db.models.functions import Coalesce

from banking.models import BankTransaction, TransactionStatus
from common.errors import InvalidInput
from common.finance import AmountError, exact_decimal
from invoices.models import Invoice, InvoiceStatus, Vendor
from tenants.models import TenantSettings

from . import engine, selectors
from .engine.calibration import (
    DEFAULT_THRESHOLDS,
    Calibration,
    DecisionLabels,
    ThresholdOutcome,
    WrongExample,
    calibrate,
)
from .models import Match, MatchAllocation, MatchStatus

Progress = Callable[[str, int, int | None], None]

#: At most this many thresholds per backtest (0.01 steps from 0 to 1 are 101).
MAX_THRESHOLDS = 101


def _no_progress(phase: str, done: int, total: int | None) -> None:
    del phase, done, total


# --- The books before the decisions ------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestBooks:
    """The engine's inputs as they were before the sampled decisions, and the decisions."""

    invoices: list[engine.InvoiceInput]
    transactions: list[engine.TransactionInput]
    labels: DecisionLabels
    earlier_rejections: frozenset[tuple[str, str]]
    decisions: dict[str, int]  # confirmed / rejected / undone matches sampled
    limited: bool  # more decisions exist than the sample holds


def _sampled_decisions(limit: int) -> tuple[dict[str, str], bool]:
    """The newest ``limit`` decided matches: ``{match_id: status}`` and whether more exist."""
    decided = (
        Match.objects.filter(status__in=[MatchStatus.CONFIRMED, MatchStatus.REJECTED, MatchStatus.UNDONE])
        .exclude(status=MatchStatus.CONFIRMED, auto=True)
        .annotate(decided_at=Coalesce("undone_at", "rejected_at", "confirmed_at", "updated_at"))
        .order_by("-decided_at", "-id")
        .values_list("id", "status")[: limit + 1]
    )
    rows = list(decided)
    return {str(pk): status for pk, status in rows[:limit]}, len(rows) > limit


def backtest_books(*, max_decisions: int) -> BacktestBooks:
    """Read the newest decisions and rebuild the books as they were before them (no writes)."""
    statuses, limited = _sampled_decisions(max_decisions)
    pairs: dict[str, set[tuple[str, str]]] = defaultdict(set)
    given_back_invoice: dict[str, Decimal] = defaultdict(Decimal)
    given_back_transaction: dict[str, Decimal] = defaultdict(Decimal)
    rows = MatchAllocation.objects.filter(match_id__in=list(statuses)).values_list(
        "match_id", "invoice_id", "transaction_id", "amount", "invoice_amount"
    )
    for match_id, invoice_id, transaction_id, amount, invoice_amount in rows.iterator(chunk_size=10_000):
        status = statuses[str(match_id)]
        pair = (str(invoice_id), str(transaction_id))
        pairs[status].add(pair)
        if status == MatchStatus.CONFIRMED:  # what a standing confirmation took, given back
            given_back_invoice[pair[0]] += invoice_amount
            given_back_transaction[pair[1]] += amount
    invoice_ids = {invoice for group in pairs.values() for invoice, _ in group}
    transaction_ids = {transaction for group in pairs.values() for _, transaction in group}
    invoices, settled_invoices = _decided_invoices(invoice_ids, given_back_invoice)
    transactions, settled_transactions = _decided_transactions(transaction_ids, given_back_transaction)
    invoices += [i for i in selectors.open_invoice_inputs() if i.id not in invoice_ids]
    transactions += [t for t in selectors.open_transaction_inputs() if t.id not in transaction_ids]
    confirmed = frozenset(pairs[MatchStatus.CONFIRMED])
    rejected = frozenset(pairs[MatchStatus.REJECTED] - confirmed)
    labels = DecisionLabels(
        confirmed=confirmed,
        rejected=rejected,
        undone=frozenset(pairs[MatchStatus.UNDONE] - confirmed),
        settled_transactions=frozenset(settled_transactions),
        settled_invoices=frozenset(settled_invoices),
    )
    counts: dict[str, int] = defaultdict(int)
    for status in statuses.values():
        counts[status] += 1
    return BacktestBooks(
        invoices=invoices,
        transactions=transactions,
        labels=labels,
        earlier_rejections=selectors.rejected_pairs() - pairs[MatchStatus.REJECTED],
        decisions={status: counts[status] for status in MatchStatus.values if status != MatchStatus.PROPOSED},
        limited=limited,
    )


def _decided_invoices(
    ids: set[str], given_back: dict[str, Decimal]
) -> tuple[list[engine.InvoiceInput], set[str]]:
    """The decided invoices with what the sampled confirmations paid restored as outstanding,
    and those the confirmations paid in full (any other payment of them contradicts a person)."""
    queryset = Invoice.objects.filter(pk__in=list(ids)).exclude(status=InvoiceStatus.VOID).order_by()
    vendor_rows = Vendor.objects.filter(pk__in=queryset.values("vendor_id")).values_list(
        "id", *selectors._VENDOR_COLUMNS
    )
    vendors = {str(pk): tuple(rest) for pk, *rest in vendor_rows}
    inputs, settled = [], set()
    for row in queryset.values_list(*selectors._INVOICE_COLUMNS):
        item = selectors._invoice_input(row, vendors.get(row[7], selectors._NO_VENDOR))
        if item.outstanding <= 0 and given_back.get(item.id):
            settled.add(item.id)
        item = dataclasses.replace(item, outstanding=item.outstanding + given_back.get(item.id, Decimal(0)))
        if item.outstanding > 0:
            inputs.append(item)
    return inputs, settled


def _decided_transactions(
    ids: set[str], given_back: dict[str, Decimal]
) -> tuple[list[engine.TransactionInput], set[str]]:
    """The decided transactions with what the sampled confirmations took restored as unallocated,
    and those the confirmations used up entirely."""
    queryset = (
        BankTransaction.objects.filter(pk__in=list(ids)).exclude(status=TransactionStatus.IGNORED).order_by()
    )
    inputs, settled = [], set()
    for row in queryset.values_list(*selectors._TRANSACTION_COLUMNS):
        item = selectors._transaction_input(row)
        unallocated = item.unallocated if item.unallocated is not None else abs(item.amount)
        if unallocated <= 0 and given_back.get(item.id):
            settled.add(item.id)
        item = dataclasses.replace(item, unallocated=unallocated + given_back.get(item.id, Decimal(0)))
        if item.unallocated:
            inputs.append(item)
    return inputs, settled


# --- Shadow mode's measured precision ---------------------------------------------------------------


@dataclass(frozen=True)
class ShadowPrecision:
    """What shadow mode flagged (``would_auto_confirm``) and what people decided about it since.

    ``confirmed`` by a person: the shadow was right; ``rejected`` or ``undone``: it was wrong;
    ``pending``: not decided yet. Precision is right / decided (None before any decision).
    """

    flagged: int
    confirmed: int
    rejected: int
    undone: int
    pending: int

    @property
    def wrong(self) -> int:
        return self.rejected + self.undone

    @property
    def precision(self) -> Decimal | None:
        decided = self.confirmed + self.wrong
        return None if not decided else (Decimal(self.confirmed) / decided).quantize(Decimal("0.0001"))

    def to_json(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "confirmed": self.confirmed,
            "rejected": self.rejected,
            "undone": self.undone,
            "pending": self.pending,
            "precision": None if self.precision is None else str(self.precision),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShadowPrecision:
        return cls(
            **{name: int(data[name]) for name in ("flagged", "confirmed", "rejected", "undone", "pending")}
        )


def shadow_precision() -> ShadowPrecision:
    """The active tenant's shadow flags against later decisions (one aggregate query)."""
    counts = Match.objects.filter(would_auto_confirm=True).aggregate(
        flagged=Count("id"),
        confirmed=Count("id", filter=Q(status=MatchStatus.CONFIRMED)),
        rejected=Count("id", filter=Q(status=MatchStatus.REJECTED)),
        undone=Count("id", filter=Q(status=MatchStatus.UNDONE)),
        pending=Count("id", filter=Q(status=MatchStatus.PROPOSED)),
    )
    return ShadowPrecision(**counts)


# --- The backtest -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestReport:
    """A backtest's answer as every interface gives it (also a backtest job's stored result)."""

    calibration: Calibration
    decisions: dict[str, int]
    decisions_limited: bool
    invoices_considered: int
    transactions_considered: int
    current_threshold: Decimal | None
    shadow_mode: bool
    shadow: ShadowPrecision

    def to_json(self) -> dict[str, Any]:
        calibration = self.calibration
        return {
            "thresholds": [
                {
                    "threshold": str(row.threshold),
                    "auto_confirmed": row.auto_confirmed,
                    "correct": row.correct,
                    "wrong": row.wrong,
                    "unlabelled": row.unlabelled,
                    "precision": None if row.precision is None else str(row.precision),
                }
                for row in calibration.outcomes
            ],
            "recommended_threshold": _text(calibration.recommended_threshold),
            "recommendation": calibration.recommendation,
            "min_support": calibration.min_support,
            "proposals": calibration.proposals,
            "labelled_proposals": calibration.labelled_proposals,
            "wrong_examples": [
                {
                    "verdict": example.verdict,
                    "confidence": str(example.confidence),
                    "pairs": [
                        {"invoice_id": invoice, "transaction_id": transaction}
                        for invoice, transaction in example.pairs
                    ],
                }
                for example in calibration.wrong_examples
            ],
            "decisions": dict(self.decisions),
            "decisions_limited": self.decisions_limited,
            "invoices_considered": self.invoices_considered,
            "transactions_considered": self.transactions_considered,
            "current_threshold": _text(self.current_threshold),
            "shadow_mode": self.shadow_mode,
            "shadow": self.shadow.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BacktestReport:
        calibration = Calibration(
            outcomes=tuple(
                ThresholdOutcome(
                    threshold=Decimal(row["threshold"]),
                    auto_confirmed=row["auto_confirmed"],
                    correct=row["correct"],
                    wrong=row["wrong"],
                    unlabelled=row["unlabelled"],
                )
                for row in data["thresholds"]
            ),
            recommended_threshold=_decimal(data["recommended_threshold"]),
            recommendation=data["recommendation"],
            proposals=data["proposals"],
            labelled_proposals=data["labelled_proposals"],
            min_support=data["min_support"],
            wrong_examples=tuple(
                WrongExample(
                    verdict=example["verdict"],
                    confidence=Decimal(example["confidence"]),
                    pairs=tuple((p["invoice_id"], p["transaction_id"]) for p in example["pairs"]),
                )
                for example in data["wrong_examples"]
            ),
        )
        return cls(
            calibration=calibration,
            decisions={str(k): int(v) for k, v in data["decisions"].items()},
            decisions_limited=bool(data["decisions_limited"]),
            invoices_considered=int(data["invoices_considered"]),
            transactions_considered=int(data["transactions_considered"]),
            current_threshold=_decimal(data["current_threshold"]),
            shadow_mode=bool(data["shadow_mode"]),
            shadow=ShadowPrecision.from_json(data["shadow"]),
        )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def backtest_run(
    *,
    thresholds: Sequence[Decimal] = DEFAULT_THRESHOLDS,
    max_decisions: int | None = None,
    min_support: int | None = None,
    progress: Progress = _no_progress,
) -> BacktestReport:
    """Replay the active tenant's newest decisions through the engine (see the module docstring)."""
    progress("loading decisions", 0, None)
    limit = django_settings.BACKTEST_MAX_DECISIONS if max_decisions is None else max_decisions
    books = backtest_books(max_decisions=limit)
    engine_settings = dataclasses.replace(selectors.engine_settings(), auto_confirm_threshold=None)
    result = engine.reconcile(
        books.invoices,
        books.transactions,
        engine_settings,
        rejected_pairs=books.earlier_rejections,
        workers=django_settings.RECONCILE_WORKERS,
        on_progress=progress,
    )
    progress("counting", 0, None)
    calibration = calibrate(
        result.proposals,
        books.labels,
        thresholds=thresholds,
        min_support=django_settings.BACKTEST_MIN_SUPPORT if min_support is None else min_support,
    )
    tenant_settings = TenantSettings.objects.first()
    return BacktestReport(
        calibration=calibration,
        decisions=books.decisions,
        decisions_limited=books.limited,
        invoices_considered=len(books.invoices),
        transactions_considered=len(books.transactions),
        current_threshold=tenant_settings.auto_confirm_threshold if tenant_settings else None,
        shadow_mode=bool(tenant_settings and tenant_settings.auto_confirm_shadow),
        shadow=shadow_precision(),
    )


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(f"The thresholds cannot be used: {message}", errors={"thresholds": [message]})


def parse_thresholds(spec: str) -> list[Decimal]:
    """``"0.80:0.99:0.01"`` (start:stop:step, stop included) or ``"0.9,0.95"`` as thresholds.

    Each threshold lies in [0, 1] with at most 4 decimals (the confidence's precision), the
    step is positive, and at most ``MAX_THRESHOLDS`` come out; anything else is InvalidInput
    saying what is wrong (a 400; the command prints it).
    """

    def number(text: str) -> Decimal:
        try:
            value = exact_decimal(text.strip())
        except AmountError as error:
            raise _invalid(f"{text.strip()!r} is not an exact decimal number: {error}") from None
        if value.as_tuple().exponent < -4:  # type: ignore[operator]
            raise _invalid(f"{value} has more than 4 decimals (confidences have 4).")
        return value

    if len(spec) > 1000:
        raise _invalid("The thresholds are longer than 1000 characters.")
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise _invalid("A range is start:stop:step, e.g. 0.80:0.99:0.01.")
        start, stop, step = (number(part) for part in parts)
        if step <= 0:
            raise _invalid("The step must be positive.")
        if stop < start:
            raise _invalid("The range's stop is below its start.")
        if (stop - start) / step >= MAX_THRESHOLDS:
            raise _invalid(f"At most {MAX_THRESHOLDS} thresholds.")
        values = []
        value = start
        while value <= stop:
            values.append(value)
            value += step
    else:
        values = [number(part) for part in spec.split(",") if part.strip()]
    return validate_thresholds(values)


def validate_thresholds(values: Sequence[Decimal]) -> list[Decimal]:
    """Thresholds as a backtest takes them: 1 to ``MAX_THRESHOLDS`` distinct values in [0, 1],
    sorted (InvalidInput otherwise)."""
    if not values:
        raise _invalid("Give at least one threshold.")
    unique = sorted(set(values))
    if len(unique) > MAX_THRESHOLDS:
        raise _invalid(f"At most {MAX_THRESHOLDS} thresholds.")
    for value in unique:
        if not Decimal(0) <= value <= Decimal(1):
            raise _invalid(f"{value} is not between 0 and 1.")
        if value.as_tuple().exponent < -4:  # type: ignore[operator]
            raise _invalid(f"{value} has more than 4 decimals (confidences have 4).")
    return unique
