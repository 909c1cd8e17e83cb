"""Reconciliation writes: runs of the engine, and confirm / reject / undo of matches.

``reconcile(tenant_id, ...)`` is the one service function behind the REST API, GraphQL, the
admin and ``manage.py reconcile``. The engine itself (``reconciliation.engine``) is pure; this
module turns rows into engine inputs and engine proposals back into rows.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from banking.models import BankTransaction, TransactionStatus
from invoices.models import Invoice, InvoiceStatus
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.errors import Conflict, NotFound
from tenants.models import AuditEvent

from . import engine, selectors
from .models import Match, MatchAllocation, MatchStatus, ReconciliationRun

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
class Candidate:
    """One proposal of a run as the interfaces present it."""

    match_id: uuid.UUID | None
    shape: str
    allocations: list[dict[str, str]]
    confidence: Decimal
    reasons: list[dict[str, str]]
    auto_confirmed: bool
    fee_amount: Decimal

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
    candidates: list[Candidate]
    auto_confirmed: int
    stats: dict[str, Any] = field(default_factory=dict)


def _allocation_key(allocations: Any) -> tuple:
    return tuple(
        sorted((str(a.transaction_id), str(a.invoice_id), Decimal(a.amount).normalize()) for a in allocations)
    )


# --- Runs -------------------------------------------------------------------------------------------


def _settings_snapshot(settings: engine.EngineSettings) -> dict[str, Any]:
    snapshot = {}
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        snapshot[item.name] = str(value) if isinstance(value, Decimal) else value
    snapshot["fx_rates"] = {f"{a}/{b}": str(rate) for (a, b), rate in dict(settings.fx_rates).items()}
    return snapshot


def reconcile(
    tenant_id: uuid.UUID | str,
    *,
    dry_run: bool = False,
    actor: AbstractBaseUser | None = None,
    source: str = "api",
) -> ReconcileResult:
    """Run the engine for a tenant and persist its proposals (auto-confirming the safe ones).

    One run per tenant at a time: a second concurrent run raises Conflict (409). Proposals still
    open from earlier runs are replaced, keeping the id of any proposal that is proposed again.
    ``dry_run`` computes and returns the candidates without writing anything.
    """
    started = time.perf_counter()
    with tenant_context(tenant_id) as tenant_uuid:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"reconcile:{tenant_uuid}"]
            )
            if not cursor.fetchone()[0]:
                raise Conflict("A reconciliation run is already in progress for this tenant.")
        settings = selectors.engine_settings()
        invoices = selectors.open_invoice_inputs()
        transactions = selectors.open_transaction_inputs()
        result = engine.reconcile(invoices, transactions, settings, rejected_pairs=selectors.rejected_pairs())
        if dry_run:
            # A dry run reports what would be auto-confirmed, without doing it.
            candidates = [_candidate(None, p, auto_confirmed=p.auto_confirm) for p in result.proposals]
            return ReconcileResult(
                run_id=None,
                dry_run=True,
                candidates=candidates,
                auto_confirmed=sum(c.auto_confirmed for c in candidates),
                stats=dict(result.stats),
            )
        run = ReconciliationRun.objects.create(
            started_by=_actor(actor),
            source=source,
            engine_version=engine.ENGINE_VERSION,
            settings_used=_settings_snapshot(settings),
            invoices_considered=len(invoices),
            transactions_considered=len(transactions),
        )
        matches = _persist_proposals(run, result.proposals)
        confirmed_ids = _auto_confirm(
            [
                match
                for match, proposal in zip(matches, result.proposals, strict=True)
                if proposal.auto_confirm
            ]
        )
        candidates = [
            _candidate(match.id, proposal, auto_confirmed=match.id in confirmed_ids)
            for match, proposal in zip(matches, result.proposals, strict=True)
        ]
        auto_confirmed = len(confirmed_ids)
        run.proposals_count = len(matches)
        run.auto_confirmed_count = auto_confirmed
        run.stats = {k: v for k, v in dict(result.stats).items() if isinstance(v, int | float | str)}
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        run.save(
            update_fields=["proposals_count", "auto_confirmed_count", "stats", "duration_ms", "updated_at"]
        )
        return ReconcileResult(
            run_id=run.id,
            dry_run=False,
            candidates=candidates,
            auto_confirmed=auto_confirmed,
            stats=run.stats,
        )


def _candidate(match_id: uuid.UUID | None, proposal: engine.Proposal, *, auto_confirmed: bool) -> Candidate:
    return Candidate(
        match_id=match_id,
        shape=proposal.shape,
        allocations=[
            {"transaction_id": a.transaction_id, "invoice_id": a.invoice_id, "amount": str(a.amount)}
            for a in proposal.allocations
        ],
        confidence=proposal.confidence,
        reasons=reason_dicts(proposal.reasons),
        auto_confirmed=auto_confirmed,
        fee_amount=proposal.fee_amount,
    )


def _persist_proposals(run: ReconciliationRun, proposals: tuple[engine.Proposal, ...]) -> list[Match]:
    """Store proposals; reuse still-proposed matches with the same allocations, drop the rest."""
    existing: dict[tuple, Match] = {}
    for match in Match.objects.filter(status=MatchStatus.PROPOSED).prefetch_related("allocations"):
        existing[_allocation_key(match.allocations.all())] = match
    kept: list[Match] = []
    new_matches: list[Match] = []
    new_allocations: list[MatchAllocation] = []
    ordered: list[Match] = []
    for proposal in proposals:
        fields = {
            "run": run,
            "shape": proposal.shape,
            "confidence": proposal.confidence,
            "runner_up_confidence": proposal.runner_up_confidence,
            "reasons": reason_dicts(proposal.reasons),
            "breakdown": [pair_score_dict(score) for score in proposal.breakdown],
            "fee_amount": proposal.fee_amount,
            "engine_version": engine.ENGINE_VERSION,
        }
        match = existing.pop(_allocation_key(proposal.allocations), None)
        if match is not None:
            for name, value in fields.items():
                setattr(match, name, value)
            kept.append(match)
        else:
            match = Match(id=uuid.uuid4(), status=MatchStatus.PROPOSED, **fields)
            new_matches.append(match)
            fee_left = proposal.fee_amount
            for allocation in proposal.allocations:
                settled = (
                    allocation.invoice_amount if allocation.invoice_amount is not None else allocation.amount
                )
                # A fee is absorbed once, by the allocation whose invoice it belongs to.
                if fee_left and len(proposal.allocations) >= 1:
                    settled += fee_left
                    fee_left = Decimal(0)
                new_allocations.append(
                    MatchAllocation(
                        match=match,
                        transaction_id=uuid.UUID(allocation.transaction_id),
                        invoice_id=uuid.UUID(allocation.invoice_id),
                        amount=allocation.amount,
                        invoice_amount=settled,
                    )
                )
        ordered.append(match)
    if existing:
        MatchAllocation.objects.filter(match__in=list(existing.values())).delete()
        Match.objects.filter(pk__in=[m.pk for m in existing.values()]).delete()
    if kept:
        Match.objects.bulk_update(
            kept,
            [
                "run",
                "shape",
                "confidence",
                "runner_up_confidence",
                "reasons",
                "breakdown",
                "fee_amount",
                "engine_version",
                "updated_at",
            ],
            batch_size=2000,
        )
    Match.objects.bulk_create(new_matches, batch_size=2000)
    MatchAllocation.objects.bulk_create(new_allocations, batch_size=5000)
    return ordered


_UPDATE_TRANSACTIONS = """
UPDATE banking_banktransaction t
SET allocated_amount = v.allocated, status = v.status, updated_at = now()
FROM unnest(%s::uuid[], %s::numeric[], %s::text[]) AS v(id, allocated, status)
WHERE t.id = v.id
"""
_UPDATE_INVOICES = """
UPDATE invoices_invoice i
SET amount_paid = v.paid, status = v.status, updated_at = now()
FROM unnest(%s::uuid[], %s::numeric[], %s::text[]) AS v(id, paid, status)
WHERE i.id = v.id
"""


def _auto_confirm(matches: list[Match]) -> set[uuid.UUID]:
    """Confirm engine-approved matches in bulk, under the same row locks as a manual confirm.

    The rows are locked (transactions, then invoices, in id order) and re-checked: a match
    whose money was taken meanwhile (a person confirmed something else) stays proposed.
    A handful of set-based statements instead of a dozen queries per match.
    """
    if not matches:
        return set()
    allocations = list(
        MatchAllocation.objects.filter(match__in=matches).values_list(
            "match_id", "transaction_id", "invoice_id", "amount", "invoice_amount"
        )
    )
    by_match: dict[uuid.UUID, list[tuple]] = {}
    for allocation in allocations:
        by_match.setdefault(allocation[0], []).append(allocation)
    transactions = {
        pk: [amount, allocated, status]
        for pk, amount, allocated, status in BankTransaction.objects.select_for_update()
        .filter(pk__in={a[1] for a in allocations})
        .order_by("pk")
        .values_list("pk", "amount", "allocated_amount", "status")
    }
    invoices = {
        pk: [amount, paid, status]
        for pk, amount, paid, status in Invoice.objects.select_for_update()
        .filter(pk__in={a[2] for a in allocations})
        .order_by("pk")
        .values_list("pk", "amount", "amount_paid", "status")
    }
    confirmed: list[Match] = []
    for match in matches:
        parts = by_match.get(match.id, [])
        fits = bool(parts)
        tx_delta: dict[uuid.UUID, Decimal] = {}
        inv_delta: dict[uuid.UUID, Decimal] = {}
        for _match_id, tx_id, inv_id, amount, invoice_amount in parts:
            tx_delta[tx_id] = tx_delta.get(tx_id, Decimal(0)) + amount
            inv_delta[inv_id] = inv_delta.get(inv_id, Decimal(0)) + invoice_amount
        for tx_id, delta in tx_delta.items():
            tx_amount, allocated, _status = transactions[tx_id]
            fits = fits and allocated + delta <= abs(tx_amount)
        for inv_id, delta in inv_delta.items():
            inv_amount, paid, status = invoices[inv_id]
            fits = fits and status != InvoiceStatus.VOID and paid + delta <= inv_amount
        if not fits:
            continue
        for tx_id, delta in tx_delta.items():
            transactions[tx_id][1] += delta
        for inv_id, delta in inv_delta.items():
            invoices[inv_id][1] += delta
        confirmed.append(match)
    if not confirmed:
        return set()
    touched_tx = {a[1] for m in confirmed for a in by_match[m.id]}
    touched_inv = {a[2] for m in confirmed for a in by_match[m.id]}
    with connection.cursor() as cursor:
        tx_rows = [(pk, *transactions[pk]) for pk in sorted(touched_tx)]
        cursor.execute(
            _UPDATE_TRANSACTIONS,
            [
                [row[0] for row in tx_rows],
                [row[2] for row in tx_rows],
                [_status_for_transaction(row[1], row[2], row[3]) for row in tx_rows],
            ],
        )
        inv_rows = [(pk, *invoices[pk]) for pk in sorted(touched_inv)]
        cursor.execute(
            _UPDATE_INVOICES,
            [
                [row[0] for row in inv_rows],
                [row[2] for row in inv_rows],
                [_status_for_invoice(row[1], row[2], row[3]) for row in inv_rows],
            ],
        )
    now = timezone.now()
    confirmed_ids = {m.id for m in confirmed}
    Match.objects.filter(pk__in=confirmed_ids).update(
        status=MatchStatus.CONFIRMED, auto=True, decided_by=None, confirmed_at=now, updated_at=now
    )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action="match.auto_confirmed",
                object_type="match",
                object_id=m.id,
                before={"status": MatchStatus.PROPOSED, "auto": False, "confidence": str(m.confidence)},
                after={"status": MatchStatus.CONFIRMED, "auto": True, "confidence": str(m.confidence)},
            )
            for m in confirmed
        ],
        batch_size=5000,
    )
    return confirmed_ids


def _status_for_transaction(amount: Decimal, allocated: Decimal, current: str) -> str:
    if current == TransactionStatus.IGNORED:
        return current
    return TransactionStatus.MATCHED if allocated >= abs(amount) else TransactionStatus.UNMATCHED


def _status_for_invoice(amount: Decimal, paid: Decimal, current: str) -> str:
    if current == InvoiceStatus.VOID:
        return current
    if paid >= amount:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTIALLY_PAID if paid > 0 else InvoiceStatus.OPEN


# --- Confirm / reject / undo ------------------------------------------------------------------------


def _match_state(match: Match) -> dict[str, Any]:
    return {"status": match.status, "auto": match.auto, "confidence": str(match.confidence)}


def _locked_match(match_id: uuid.UUID) -> Match:
    match = Match.objects.select_for_update().filter(pk=match_id).first()
    if match is None:
        raise NotFound("No such match.")
    return match


def _lock_rows(allocations: list[MatchAllocation]) -> tuple[dict, dict]:
    """Lock the transactions, then the invoices, each in id order (no deadlocks between confirms)."""
    transaction_ids = sorted({a.transaction_id for a in allocations})
    invoice_ids = sorted({a.invoice_id for a in allocations})
    transactions = {
        t.pk: t
        for t in BankTransaction.objects.select_for_update().filter(pk__in=transaction_ids).order_by("pk")
    }
    invoices = {
        i.pk: i for i in Invoice.objects.select_for_update().filter(pk__in=invoice_ids).order_by("pk")
    }
    return transactions, invoices


def _invoice_status(invoice: Invoice) -> str:
    return _status_for_invoice(invoice.amount, invoice.amount_paid, invoice.status)


def _transaction_status(bank_transaction: BankTransaction) -> str:
    return _status_for_transaction(
        bank_transaction.amount, bank_transaction.allocated_amount, bank_transaction.status
    )


def _actor(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and getattr(actor, "pk", None) else None


def _save_balances(transactions: dict, invoices: dict) -> None:
    """Recompute statuses from the new amounts and write the locked rows back."""
    for bank_transaction in transactions.values():
        bank_transaction.status = _transaction_status(bank_transaction)
    for invoice in invoices.values():
        invoice.status = _invoice_status(invoice)
    BankTransaction.objects.bulk_update(
        list(transactions.values()), ["allocated_amount", "status", "updated_at"]
    )
    Invoice.objects.bulk_update(list(invoices.values()), ["amount_paid", "status", "updated_at"])


def _decide(match: Match, *, actor: AbstractBaseUser | None, status: str, stamp: str, action: str) -> Match:
    """Move a locked match to ``status``, stamp who and when, and audit the change."""
    before = _match_state(match)
    match.status = status
    match.decided_by = _actor(actor)
    setattr(match, stamp, timezone.now())
    match.save(update_fields=["status", "auto", "decided_by", stamp, "updated_at"])
    audit_record(
        actor=match.decided_by,
        action=action,
        object_type="match",
        object_id=match.pk,
        before=before,
        after=_match_state(match),
    )
    return match


def _confirm(match: Match, *, actor: AbstractBaseUser | None, auto: bool) -> Match:
    match = _locked_match(match.pk)
    if match.status != MatchStatus.PROPOSED:
        raise Conflict(f"Only proposed matches can be confirmed; this one is {match.status}.")
    allocations = list(MatchAllocation.objects.filter(match=match))
    transactions, invoices = _lock_rows(allocations)
    for allocation in allocations:
        bank_transaction = transactions[allocation.transaction_id]
        invoice = invoices[allocation.invoice_id]
        if invoice.status == InvoiceStatus.VOID:
            raise Conflict(f"Invoice {invoice.number or invoice.pk} is void.")
        if bank_transaction.allocated_amount + allocation.amount > abs(bank_transaction.amount):
            raise Conflict("The transaction's amount is already allocated to other invoices.")
        if invoice.amount_paid + allocation.invoice_amount > invoice.amount:
            raise Conflict(f"Invoice {invoice.number or invoice.pk} would be paid more than its amount.")
        bank_transaction.allocated_amount += allocation.amount
        invoice.amount_paid += allocation.invoice_amount
    _save_balances(transactions, invoices)
    match.auto = auto
    action = "match.auto_confirmed" if auto else "match.confirmed"
    return _decide(match, actor=actor, status=MatchStatus.CONFIRMED, stamp="confirmed_at", action=action)


@transaction.atomic
def match_confirm(*, match_id: uuid.UUID, actor: AbstractBaseUser | None) -> Match:
    """Confirm a proposed match: allocate amounts, update invoices and transactions, under row locks.

    Two concurrent confirmations competing for the same money serialise on the row locks; the
    second sees the first's allocation and gets Conflict (409). Database CHECK constraints guard
    the same invariants underneath.
    """
    return _confirm(Match(pk=match_id), actor=actor, auto=False)


@transaction.atomic
def match_reject(*, match_id: uuid.UUID, actor: AbstractBaseUser | None) -> Match:
    """Reject a proposed match; its pairs are never proposed again."""
    match = _locked_match(match_id)
    if match.status != MatchStatus.PROPOSED:
        raise Conflict(f"Only proposed matches can be rejected; this one is {match.status}.")
    return _decide(
        match, actor=actor, status=MatchStatus.REJECTED, stamp="rejected_at", action="match.rejected"
    )


@transaction.atomic
def match_undo(*, match_id: uuid.UUID, actor: AbstractBaseUser | None) -> Match:
    """Undo a confirmed match: give back exactly the amounts it allocated."""
    match = _locked_match(match_id)
    if match.status != MatchStatus.CONFIRMED:
        raise Conflict(f"Only confirmed matches can be undone; this one is {match.status}.")
    allocations = list(MatchAllocation.objects.filter(match=match))
    transactions, invoices = _lock_rows(allocations)
    for allocation in allocations:
        transactions[allocation.transaction_id].allocated_amount -= allocation.amount
        invoices[allocation.invoice_id].amount_paid -= allocation.invoice_amount
    _save_balances(transactions, invoices)
    return _decide(match, actor=actor, status=MatchStatus.UNDONE, stamp="undone_at", action="match.undone")


def explain_pair(*, invoice_id: uuid.UUID, transaction_id: uuid.UUID) -> engine.PairScore:
    """The engine's full breakdown for any pair of the active tenant, including why it is not a candidate."""
    invoice = selectors.invoice_input_get(invoice_id=invoice_id)
    bank_transaction = selectors.transaction_input_get(transaction_id=transaction_id)
    return engine.score_pair(
        invoice, bank_transaction, selectors.engine_settings(), rejected_pairs=selectors.rejected_pairs()
    )
