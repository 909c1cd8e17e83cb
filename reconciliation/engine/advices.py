"""Remittance advices: the payer's own list of what one payment pays (1 transaction <-> N invoices).

A batch payment of 20 invoices cannot be found by its sum (a subset search over 20 of a
customer's open items is hopeless and would be a guess), and a bank text has no room for 20
numbers. The payer's remittance advice (an ISO 20022 camt.054 notification, a CSV file, an API
call) lists them. This module decides, before the ordinary pipeline, which transaction an
advice describes and proposes exactly the advice's invoices and amounts.

**Which transaction an advice describes** (all of):

* its text quotes the advice: the advice's reference (or its end-to-end id) as a run of whole
  atoms (letter and digit runs, as ``normalize.invoice_keys`` cuts numbers) of the
  description, end-to-end id, structured reference or bank reference, or the end-to-end ids
  are equal. A reference needs at
  least :data:`MIN_REFERENCE_CHARS` significant characters and a digit (shorter ones are
  quoted by chance);
* the transaction is untouched (nothing of it allocated yet) and its amount equals the
  advice's total exactly, in the same currency: the advice describes the whole payment;
* the payer does not contradict the advice: when both sides name an account and they are
  equal it agrees; otherwise, when both name the payer, the names must be similar
  (``token_set_ratio`` ≥ :data:`PAYER_NAME_MIN_RATIO` on normalised names); when both give
  only accounts and they differ, it contradicts;
* the dates agree when the advice gives one (within :data:`DATE_WINDOW_DAYS` of the booking
  or value date: an advice is sent around the execution day);
* exactly one advice describes the transaction and exactly one transaction the advice (two
  candidates are a question for a person, never a choice made here).

**Lines** resolve to open invoices by the id the caller resolved, else by number (the engine's
invoice-number keys, so "inv 2024/0001" finds INV-2024-0001), in the advice's currency; several
invoices under one number are told apart by the payer's account or name, else the line stays
unresolved. A line settles ``amount + discount`` of its invoice: ``Allocation.amount`` is the
money, ``invoice_amount`` what the invoice is relieved of (the discount the payer claims
included, visible as the difference).

**The proposal**: one proposal (1:N, or 1:1 for a one-line advice) with the advice's invoices and
amounts, however many (bounded by the importer, 1,000 lines), reason code ``remittance_advice``
naming the advice. It may be auto-confirmed when every line resolves to an open invoice and each
line's amount plus discount equals what is open on it: the advice is independent evidence,
like a quoted reference. Otherwise it is a suggestion (confidence 0.80) whose blockers name the
lines: unresolved, a line that leaves part of the invoice open, a line above what is open (left
out of the allocations, which never exceed an invoice's open amount). An advice none of whose
lines resolves proposes nothing. A pair a person rejected keeps the whole advice out of the run
(it no longer speaks for that payment). What the advice proposal takes (the transaction, the
settled amounts) is removed from the inputs of the ordinary pipeline, so nothing is allocated
twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from rapidfuzz import fuzz

from common.finance import fold_upper, format_money
from common.finance.labels import excerpt

from .normalize import compact, invoice_keys, normalize_account, normalize_name
from .types import (
    AdviceInput,
    AdviceLineInput,
    Allocation,
    EngineSettings,
    InvoiceInput,
    PairScore,
    Proposal,
    Reason,
    SignalScore,
    TransactionInput,
)

MIN_REFERENCE_CHARS = 5
_ATOM_RE = re.compile(r"[A-Z]+|[0-9]+")
PAYER_NAME_MIN_RATIO = 70.0
DATE_WINDOW_DAYS = 14
SUGGESTION_CONFIDENCE = Decimal("0.8000")
_ONE = Decimal("1.0000")
_ZERO = Decimal(0)
#: Blocker lines listed one by one before they are summed up (a 1,000-line advice stays short).
MAX_LISTED_LINES = 5

_AUTO_OFF = Reason("auto.disabled", "Auto-confirmation is switched off")


@dataclass(slots=True)
class AdviceOutcome:
    """What the advices took: their proposals, and the inputs left for the ordinary pipeline."""

    proposals: list[Proposal]
    invoices: list[InvoiceInput]
    transactions: list[TransactionInput]
    stats: dict[str, int] = field(default_factory=dict)


def _reference_keys(advice: AdviceInput) -> set[tuple[str, ...]]:
    keys: set[tuple[str, ...]] = set()
    for text in (advice.reference, advice.end_to_end_id):
        full, _numeric = invoice_keys(text) if text else ((), None)
        keys.update(k for k in full if len("".join(k)) >= MIN_REFERENCE_CHARS)
    return keys


def _atoms(text: str) -> list[str]:
    upper = text.upper() if text.isascii() else fold_upper(text)
    return [a.lstrip("0") or "0" if a[0] == "0" else a for a in _ATOM_RE.findall(upper)]


def _quotes(tx: TransactionInput, keys: set[tuple[str, ...]], advice: AdviceInput) -> bool:
    """Whether the transaction's text quotes the advice: its key as a run of whole atoms (letter
    and digit runs, leading zeros dropped) anywhere in a text field. Looser than the word
    windows invoice numbers need ("REF.74792416" quotes 74792416: banks glue a label to the
    reference), because a quote counts only together with the exact total, currency and payer."""
    e2e = compact(advice.end_to_end_id)
    if len(e2e) >= MIN_REFERENCE_CHARS and compact(tx.end_to_end_id) == e2e:
        return True
    for text in (tx.description, tx.structured_reference, tx.end_to_end_id, tx.external_id):
        atoms = _atoms(text) if text else []
        for key in keys:
            n = len(key)
            if any(tuple(atoms[k : k + n]) == key for k in range(len(atoms) - n + 1) if atoms[k] == key[0]):
                return True
    return False


def _payer_agrees(advice: AdviceInput, tx: TransactionInput) -> bool:
    a_acct, t_acct = normalize_account(advice.payer_account), normalize_account(tx.counterparty_account)
    if a_acct and t_acct and a_acct == t_acct:
        return True
    a_name, t_name = normalize_name(advice.payer_name), normalize_name(tx.counterparty_name)
    if a_name and t_name:
        return fuzz.token_set_ratio(a_name, t_name) >= PAYER_NAME_MIN_RATIO
    return not (a_acct and t_acct)


def _dates_agree(advice: AdviceInput, tx: TransactionInput) -> bool:
    if advice.payment_date is None:
        return True
    days = [abs((d - advice.payment_date).days) for d in (tx.booking_date, tx.value_date) if d is not None]
    return min(days) <= DATE_WINDOW_DAYS


def _untouched(tx: TransactionInput) -> bool:
    return tx.unallocated is None or abs(tx.unallocated) == abs(tx.amount)


def _direction_fits(inv: InvoiceInput, tx: TransactionInput) -> bool:
    if inv.direction == "receivable":
        return tx.amount > 0
    if inv.direction == "payable":
        return tx.amount < 0
    return True


class _NumberIndex:
    """Open invoices by the keys of their numbers (the engine's ``invoice_keys``)."""

    def __init__(self, invoices: list[InvoiceInput]) -> None:
        self.by_key: dict[tuple[str, ...], list[InvoiceInput]] = {}
        for inv in invoices:
            keys, _numeric = invoice_keys(inv.number) if inv.number else ((), None)
            for key in keys:
                self.by_key.setdefault(key, []).append(inv)

    def find(self, number: str) -> list[InvoiceInput]:
        keys, _numeric = invoice_keys(number) if number else ((), None)
        found: dict[str, InvoiceInput] = {}
        for key in keys:
            for inv in self.by_key.get(key, ()):
                found[inv.id] = inv
        return [found[k] for k in sorted(found)]


def _payer_owns(inv: InvoiceInput, advice: AdviceInput, tx: TransactionInput) -> bool:
    accounts = {normalize_account(a) for a in (advice.payer_account, tx.counterparty_account)} - {""}
    if inv.counterparty_account and normalize_account(inv.counterparty_account) in accounts:
        return True
    party = normalize_name(inv.counterparty_name)
    names = [normalize_name(n) for n in (advice.payer_name, tx.counterparty_name) if n]
    return bool(party) and any(n and fuzz.token_set_ratio(party, n) >= PAYER_NAME_MIN_RATIO for n in names)


@dataclass(slots=True)
class _Line:
    line: AdviceLineInput
    invoice: InvoiceInput | None
    problem: str  # "" when the line settles exactly what is open on its invoice


def _resolve(
    advice: AdviceInput,
    tx: TransactionInput,
    open_by_id: dict[str, InvoiceInput],
    numbers: _NumberIndex,
    remaining: dict[str, Decimal],
) -> list[_Line]:
    out: list[_Line] = []
    currency = advice.currency.upper()
    for line in advice.lines:
        inv: InvoiceInput | None = open_by_id.get(line.invoice_id) if line.invoice_id else None
        if inv is None:
            found = [i for i in numbers.find(line.invoice_number) if i.currency.upper() == currency]
            if len(found) > 1:
                found = [i for i in found if _payer_owns(i, advice, tx)]
            inv = found[0] if len(found) == 1 else None
        if inv is None:
            out.append(_Line(line, None, "no open invoice of this number"))
            continue
        if inv.currency.upper() != currency or not _direction_fits(inv, tx):
            out.append(_Line(line, None, "the invoice is in another currency or direction"))
            continue
        settles = line.amount + line.discount
        left = remaining.get(inv.id, inv.outstanding)
        if settles > left:
            out.append(_Line(line, None, f"more than the {format_money(left, inv.currency)} open"))
        elif settles < left:
            out.append(_Line(line, inv, f"leaves {format_money(left - settles, inv.currency)} open"))
        else:
            out.append(_Line(line, inv, ""))
    return out


def _described(
    advices: list[AdviceInput], transactions: list[TransactionInput]
) -> tuple[list[tuple[AdviceInput, TransactionInput]], int]:
    """(advice, the one transaction it describes) pairs, and how many advices were ambiguous."""
    by_amount: dict[tuple[str, Decimal], list[TransactionInput]] = {}
    for tx in transactions:
        if tx.amount and _untouched(tx):
            by_amount.setdefault((tx.currency.upper(), abs(tx.amount)), []).append(tx)
    candidates: dict[str, list[TransactionInput]] = {}
    described_by: dict[str, list[str]] = {}
    for advice in advices:
        keys = _reference_keys(advice)
        for tx in by_amount.get((advice.currency.upper(), advice.amount), ()):
            if _quotes(tx, keys, advice) and _payer_agrees(advice, tx) and _dates_agree(advice, tx):
                candidates.setdefault(advice.id, []).append(tx)
                described_by.setdefault(tx.id, []).append(advice.id)
    pairs: list[tuple[AdviceInput, TransactionInput]] = []
    ambiguous = 0
    for advice in advices:
        txs = candidates.get(advice.id, [])
        if len(txs) == 1 and len(described_by[txs[0].id]) == 1:
            pairs.append((advice, txs[0]))
        elif txs:
            ambiguous += 1
    return pairs, ambiguous


def _proposal(
    advice: AdviceInput, tx: TransactionInput, lines: list[_Line], settings: EngineSettings
) -> Proposal:
    cur = advice.currency.upper()
    taken = [item for item in lines if item.invoice is not None]
    problems = [item for item in lines if item.problem]
    blockers: list[Reason] = []
    for item in problems[:MAX_LISTED_LINES]:
        blockers.append(
            Reason(
                "auto.advice_line",
                f"Advice line {excerpt(item.line.invoice_number)} "
                f"({format_money(item.line.amount, cur)}): {item.problem}",
            )
        )
    if len(problems) > MAX_LISTED_LINES:
        blockers.append(
            Reason("auto.advice_line", f"{len(problems) - MAX_LISTED_LINES} more advice lines do not agree")
        )
    if settings.auto_confirm_threshold is None:
        blockers.append(_AUTO_OFF)
    confidence = SUGGESTION_CONFIDENCE if problems else _ONE
    discount = sum((item.line.discount for item in taken), _ZERO)
    payer = f" from {excerpt(advice.payer_name)}" if advice.payer_name else ""
    reasons = [
        Reason(
            "remittance_advice",
            f"Remittance advice {excerpt(advice.reference or advice.id)}{payer} lists {len(lines)} "
            f"invoice{'s' if len(lines) != 1 else ''} totalling {format_money(advice.amount, cur)}; "
            f"the payment quotes it and pays exactly that amount",
        )
    ]
    if discount:
        reasons.append(
            Reason("advice.discount", f"The advice deducts {format_money(discount, cur)} of discounts")
        )
    unresolved = len(lines) - len(taken)
    if unresolved:
        reasons.append(
            Reason("advice.unresolved", f"{unresolved} advice lines name no open invoice and are left out")
        )
    signal_reason = Reason(
        "advice.line", f"Listed in remittance advice {excerpt(advice.reference or advice.id)}"
    )
    signal = SignalScore("remittance_advice", _ONE, _ONE, (signal_reason,))
    allocations = tuple(
        Allocation(tx.id, item.invoice.id, item.line.amount, item.line.amount + item.line.discount)
        for item in taken
        if item.invoice is not None
    )
    breakdown = tuple(
        PairScore(a.invoice_id, tx.id, confidence, (signal,), is_candidate=True) for a in allocations
    )
    return Proposal(
        shape="one_to_many" if len(allocations) > 1 else "one_to_one",
        allocations=allocations,
        confidence=confidence,
        reasons=tuple(reasons),
        breakdown=breakdown,
        auto_confirm=not blockers,
        auto_confirm_blockers=tuple(blockers),
        advice_id=advice.id,
    )


def match_advices(
    invoices: Iterable[InvoiceInput],
    transactions: Iterable[TransactionInput],
    advices: Iterable[AdviceInput],
    settings: EngineSettings,
    rejected: frozenset[tuple[str, str]],
) -> AdviceOutcome:
    """Proposals for the transactions advices describe, and the inputs left for the rest."""
    invs = sorted(invoices, key=lambda x: x.id)
    txs = sorted(transactions, key=lambda x: x.id)
    advice_list = sorted(advices, key=lambda a: a.id)
    pairs, ambiguous = _described(advice_list, txs)
    open_by_id = {inv.id: inv for inv in invs if inv.outstanding > 0}
    numbers = _NumberIndex(list(open_by_id.values()))
    remaining: dict[str, Decimal] = {}
    taken_txs: set[str] = set()
    proposals: list[Proposal] = []
    rejected_advices = 0
    for advice, tx in pairs:
        lines = _resolve(advice, tx, open_by_id, numbers, remaining)
        taken = [item.invoice for item in lines if item.invoice is not None]
        if not taken:
            continue
        if any((inv.id, tx.id) in rejected for inv in taken):
            rejected_advices += 1
            continue
        for item in lines:
            if item.invoice is not None:
                inv = item.invoice
                left = remaining.get(inv.id, inv.outstanding)
                remaining[inv.id] = left - item.line.amount - item.line.discount
        taken_txs.add(tx.id)
        proposals.append(_proposal(advice, tx, lines, settings))
    rest_invoices = [
        inv if inv.id not in remaining else replace(inv, outstanding=remaining[inv.id])
        for inv in invs
        if remaining.get(inv.id, inv.outstanding) > 0
    ]
    return AdviceOutcome(
        proposals=proposals,
        invoices=rest_invoices,
        transactions=[tx for tx in txs if tx.id not in taken_txs],
        stats={
            "advices": len(advice_list),
            "advice_proposals": len(proposals),
            "advices_ambiguous": ambiguous,
            "advices_rejected": rejected_advices,
        },
    )
