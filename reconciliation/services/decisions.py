"""A person's decisions on a match: confirm (with an optional write-off), reject, undo.

Each takes the same row locks (transactions, then invoices, in id order) and applies the
ledgers' settlement rules; a confirmation teaches the engine the payer (``vendor_evidence_learn``)
and an undo forgets it. A run's auto-confirmations are written in bulk (``run_writer``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from banking.models import BankTransaction, transaction_status_for, transaction_takes_allocations
from common.errors import Conflict, NotFound, Unprocessable
from common.finance import format_money, quantize
from events.services import events_record
from invoices import services as invoice_services
from invoices.models import (
    EvidenceKind,
    Invoice,
    InvoiceStatus,
    Vendor,
    invoice_status_for,
    write_off_limit_exceeded,
)
from tenants.audit import Actor, AuditAction, actor_user, audit_record
from tenants.models import TenantSettings, WriteOffReason

from .. import events
from ..engine.payers import ACCOUNT_KEY, NAME_KEY, party_keys, payer_keys
from ..models import Match, MatchAllocation, MatchStatus
from .match_audit import match_audit_state


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


def _save_balances(transactions: dict, invoices: dict) -> None:
    """Recompute statuses from the new amounts (the ledgers' settlement rules) and write the
    locked rows back."""
    for bank_transaction in transactions.values():
        bank_transaction.status = transaction_status_for(
            bank_transaction.amount, bank_transaction.allocated_amount, bank_transaction.status
        )
    for invoice in invoices.values():
        invoice.status = invoice_status_for(invoice.amount, invoice.amount_paid, invoice.status)
    BankTransaction.objects.bulk_update(
        list(transactions.values()), ["allocated_amount", "status", "updated_at"]
    )
    Invoice.objects.bulk_update(
        list(invoices.values()), ["amount_paid", "amount_written_off", "status", "updated_at"]
    )


def _decide(match: Match, *, actor: Actor, status: str, stamp: str, action: AuditAction) -> Match:
    """Move a locked match to ``status``, stamp who and when, and audit the change."""
    before = match_audit_state(match)
    match.status = status
    match.decided_by = actor_user(actor)
    setattr(match, stamp, timezone.now())
    match.save(update_fields=["status", "auto", "decided_by", stamp, "updated_at"])
    audit_record(
        actor=match.decided_by,
        action=action,
        object_id=match.pk,
        before=before,
        after=match_audit_state(match),
    )
    return match


def _invoice_subject(invoice: Invoice) -> str:
    """An invoice as the subject of a message: "Invoice INV-0101", "Unnumbered invoice (...)"."""
    name = invoice.label
    return f"Invoice {name}" if invoice.number.strip() else name


def _write_off(
    match: Match, allocations: list[MatchAllocation], invoices: dict, reason: str
) -> dict[str, Decimal]:
    """Write off what the match leaves short on its invoices, within the tenant's policy.

    Applied after the match's own allocations (on the locked invoices, not yet saved): each
    invoice still short gets its shortfall added to ``amount_paid`` and ``amount_written_off``
    (the settlement rule then calls it paid), recorded on the invoice's last allocation of the
    match, so an undo gives back exactly that. Unprocessable (422) when the reason is not one
    the tenant allows or a shortfall exceeds its maximum amount or percent; Conflict (409) when
    nothing is short. The caller's transaction rolls back on either, so nothing is written.
    Returns the written-off amount per invoice id.
    """
    policy = TenantSettings.objects.first() or TenantSettings()
    allowed = list(policy.write_off_reasons)
    if reason not in allowed:
        raise Unprocessable(
            f"The write-off reason {reason!r} is not allowed by the tenant's policy.",
            errors={
                "write_off.reason": [f"Allowed reasons: {allowed}." if allowed else "No reason is allowed."]
            },
        )
    last_allocation = {allocation.invoice_id: allocation for allocation in allocations}
    written: dict[str, Decimal] = {}
    for invoice_id, allocation in last_allocation.items():
        invoice = invoices[invoice_id]
        shortfall = invoice.amount - invoice.amount_paid
        if shortfall <= 0:
            continue
        exceeded = write_off_limit_exceeded(
            shortfall=shortfall,
            invoice_amount=invoice.amount,
            max_amount=policy.write_off_max_amount,
            max_percent=policy.write_off_max_percent,
        )
        if exceeded is not None:
            limit = (
                f"the maximum write-off {format_money(policy.write_off_max_amount, invoice.currency)}"
                if exceeded == "amount"
                else f"{policy.write_off_max_percent} % of its amount"
            )
            raise Unprocessable(
                f"{_invoice_subject(invoice)} would stay {format_money(shortfall, invoice.currency)} short: "
                f"more than {limit} may not be written off.",
                errors={"write_off": [f"The shortfall exceeds {limit} (tenant policy)."]},
            )
        invoice.amount_paid += shortfall
        invoice.amount_written_off += shortfall
        allocation.write_off_amount = shortfall
        written[str(invoice_id)] = shortfall
    if not written:
        raise Conflict("The match settles its invoices in full: there is nothing to write off.")
    MatchAllocation.objects.bulk_update(
        [a for a in last_allocation.values() if a.write_off_amount], ["write_off_amount", "updated_at"]
    )
    match.write_off_amount = sum(written.values(), Decimal(0))
    match.write_off_reason = reason
    match.save(update_fields=["write_off_amount", "write_off_reason", "updated_at"])
    return written


def _payer_facts(
    allocations: list[MatchAllocation], transactions: dict, invoices: dict
) -> list[invoice_services.PayerFact]:
    """The payer names and accounts a confirmed match shows for its customer that the customer's
    own fields (name, aliases, IBAN, account id) do not already say, by the engine's keys.

    Only a match whose invoices all belong to one customer teaches: a payment settling several
    customers' invoices (a parent company, a processor's batch) says nothing about which of
    them the payer is.
    """
    vendor_ids = {invoices[a.invoice_id].vendor_id for a in allocations}
    if len(vendor_ids) != 1 or None in vendor_ids:
        return []
    (vendor_id,) = vendor_ids
    vendor = (
        Vendor.objects.filter(pk=vendor_id)
        .values_list("name", "aliases", "iban", "account_reference")
        .first()
    )
    if vendor is None:
        return []
    name, aliases, iban, account_reference = vendor
    known = party_keys(name, aliases or (), (iban, account_reference))
    facts = []
    for transaction_id in sorted({a.transaction_id for a in allocations}):
        bank_transaction = transactions[transaction_id]
        payer_name = bank_transaction.counterparty_name.strip()
        payer_account = bank_transaction.counterparty_account.strip()
        for key in payer_keys(payer_name, ""):
            if key not in known:
                facts.append(
                    invoice_services.PayerFact(
                        vendor_id, EvidenceKind.ALIAS, payer_name, key[len(NAME_KEY) :]
                    )
                )
        for key in payer_keys("", payer_account):
            if key not in known:
                facts.append(
                    invoice_services.PayerFact(
                        vendor_id, EvidenceKind.ACCOUNT, payer_account, key[len(ACCOUNT_KEY) :]
                    )
                )
    return facts


def _confirm(match_id: uuid.UUID, *, actor: Actor, write_off_reason: str | None) -> Match:
    """A person's confirmation (see ``match_confirm``); a run's auto-confirmations are written in
    bulk by ``run_writer``, under the same locks and settlement rules."""
    match = _locked_match(match_id)
    if match.status != MatchStatus.PROPOSED:
        raise Conflict(f"Only proposed matches can be confirmed; this one is {match.status}.")
    allocations = list(MatchAllocation.objects.filter(match=match))
    transactions, invoices = _lock_rows(allocations)
    for allocation in allocations:
        bank_transaction = transactions[allocation.transaction_id]
        invoice = invoices[allocation.invoice_id]
        if invoice.status == InvoiceStatus.VOID:
            raise Conflict(f"{_invoice_subject(invoice)} is void.")
        if not transaction_takes_allocations(bank_transaction.status):
            raise Conflict(
                "The transaction is a leg of an internal transfer between your own accounts; "
                "unpair the transfer first if that is wrong."
            )
        if bank_transaction.allocated_amount + allocation.amount > abs(bank_transaction.amount):
            raise Conflict("The transaction's amount is already allocated to other invoices.")
        if invoice.amount_paid + allocation.invoice_amount > invoice.amount:
            raise Conflict(f"{_invoice_subject(invoice)} would be paid more than its amount.")
        bank_transaction.allocated_amount += allocation.amount
        invoice.amount_paid += allocation.invoice_amount
    unpaid = {pk for pk, invoice in invoices.items() if invoice.status != InvoiceStatus.PAID}
    written = _write_off(match, allocations, invoices, write_off_reason) if write_off_reason else {}
    _save_balances(transactions, invoices)
    match.auto = False
    decided = _decide(
        match,
        actor=actor,
        status=MatchStatus.CONFIRMED,
        stamp="confirmed_at",
        action=AuditAction.MATCH_CONFIRMED,
    )
    if written:
        currency = invoices[allocations[0].invoice_id].currency  # the amounts as the API shows them
        audit_record(
            actor=decided.decided_by,
            action=AuditAction.MATCH_WRITTEN_OFF,
            object_id=match.pk,
            after={
                "write_off_amount": str(quantize(match.write_off_amount, currency)),
                "write_off_reason": match.write_off_reason,
                "currency": currency,
                "invoices": {
                    invoice_id: str(quantize(amount, currency)) for invoice_id, amount in written.items()
                },
            },
        )
    # What the team taught it (the engine's own decisions, written by the run, teach nothing).
    invoice_services.vendor_evidence_learn(
        facts=_payer_facts(allocations, transactions, invoices), match_id=match.pk, actor=actor
    )
    settled = [
        (i.pk, i.number, i.amount, i.amount_paid, i.currency, i.kind)
        for pk, i in sorted(invoices.items())
        if pk in unpaid and i.status == InvoiceStatus.PAID
    ]
    events_record(
        [
            events.match_decision_spec(decided),
            *events.invoices_settled_specs(settled, run_id=decided.run_id, match_id=decided.pk),
        ]
    )
    return decided


@transaction.atomic
def match_confirm(*, match_id: uuid.UUID, actor: Actor, write_off_reason: str | None = None) -> Match:
    """Confirm a proposed match: allocate amounts, update invoices and transactions, under row locks.

    Two concurrent confirmations competing for the same money serialise on the row locks; the
    second sees the first's allocation and gets Conflict (409). Database CHECK constraints guard
    the same invariants underneath.

    ``write_off_reason`` (a ``WriteOffReason``) also writes off what the payment leaves short on
    its invoices, within the tenant's policy (``_write_off``; refused otherwise, nothing written).
    Without it a short payment leaves the invoice partly paid; an overpayment settles the invoice
    and the rest stays unallocated on the transaction (the engine allocates only what is owed).
    A person's confirmation also teaches the engine the payer's name and account for the
    customer when they were not known yet (``invoices.services.vendor_evidence_learn``).
    """
    if write_off_reason is not None and write_off_reason not in WriteOffReason.values:
        raise Unprocessable(
            f"Unknown write-off reason {write_off_reason!r}.",
            errors={"write_off.reason": [f"Choose one of {WriteOffReason.values}."]},
        )
    return _confirm(match_id, actor=actor, write_off_reason=write_off_reason)


@transaction.atomic
def match_reject(*, match_id: uuid.UUID, actor: Actor) -> Match:
    """Reject a proposed match; its pairs are never proposed again."""
    match = _locked_match(match_id)
    if match.status != MatchStatus.PROPOSED:
        raise Conflict(f"Only proposed matches can be rejected; this one is {match.status}.")
    match = _decide(
        match,
        actor=actor,
        status=MatchStatus.REJECTED,
        stamp="rejected_at",
        action=AuditAction.MATCH_REJECTED,
    )
    events_record([events.match_decision_spec(match)])
    return match


@transaction.atomic
def match_undo(*, match_id: uuid.UUID, actor: Actor) -> Match:
    """Undo a confirmed match: give back exactly the amounts it allocated."""
    match = _locked_match(match_id)
    if match.status != MatchStatus.CONFIRMED:
        raise Conflict(f"Only confirmed matches can be undone; this one is {match.status}.")
    allocations = list(MatchAllocation.objects.filter(match=match))
    transactions, invoices = _lock_rows(allocations)
    for allocation in allocations:
        transactions[allocation.transaction_id].allocated_amount -= allocation.amount
        invoice = invoices[allocation.invoice_id]
        invoice.amount_paid -= allocation.invoice_amount + allocation.write_off_amount
        invoice.amount_written_off -= allocation.write_off_amount
    _save_balances(transactions, invoices)
    undone = _decide(
        match, actor=actor, status=MatchStatus.UNDONE, stamp="undone_at", action=AuditAction.MATCH_UNDONE
    )
    if match.write_off_amount:
        currency = invoices[allocations[0].invoice_id].currency
        audit_record(
            actor=undone.decided_by,
            action=AuditAction.MATCH_WRITE_OFF_REVERSED,
            object_id=match.pk,
            before={
                "write_off_amount": str(quantize(match.write_off_amount, currency)),
                "write_off_reason": match.write_off_reason,
                "currency": currency,
            },
        )
    invoice_services.vendor_evidence_forget(match_id=match.pk, actor=actor)
    events_record([events.match_decision_spec(undone)])
    return undone
