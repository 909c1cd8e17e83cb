"""Writes on internal transfers: pairing the two legs of money moved between own accounts, and
unpairing them when a person finds the pairing wrong.

When: at import, for the transactions the import brought (``services.transactions_import``
calls ``internal_transfers_pair``), against every open leg already stored, so the later leg's
import pairs it with the earlier one whichever account's statement arrives first. Not before
a reconciliation run: a dry run must not write, and a run that paired legs a dry run did not
would propose differently from it. A paired leg has status ``internal``, so the engine, the
workbench and the dashboard never see it as open (``BankTransactionQuerySet.unmatched``).

What pairs: an outgoing leg (amount -X on own account A) and an incoming leg (+X on own account
B, B not A), same currency, booked at most the tenant's ``internal_transfer_days`` apart, both
unmatched with nothing allocated (a leg allocated to an invoice is never paired), neither ever
unpaired by a person. A leg whose counterparty is another account than the other leg's is a
payment to or from someone else, not this transfer: two different IBANs, or an IBAN that cannot
be the account a German MT940 names by BLZ/Kontonummer (``common.finance.iban.same_account``;
on realistic books, bench/realistic_transfers.py, customers' payments into one account were
otherwise paired with card payments of the same amount from the German one).
Several candidates: one whose counterparty names the other account (the bank's own evidence)
wins, then the closest in time, then the earliest booked, then by id, so the outcome does not
depend on the order rows were read in. Amount and dates alone can pair payments that only look
like a transfer (a card payment of 100.00 from one account, a payer's 100.00 without an IBAN on
the other): ``bench/transfer_bench.py`` measures how often on skewed data; a person unpairs them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from common.errors import Conflict, NotFound
from common.finance.iban import same_account
from tenants.audit import Actor, AuditAction, actor_user, audit_record, audit_records
from tenants.context import require_tenant_id
from tenants.models import DEFAULT_INTERNAL_TRANSFER_DAYS, TenantSettings

from .models import BankAccount, BankTransaction, InternalTransfer, InternalTransferStatus, TransactionStatus

# The open, unallocated legs within the window around the days the import covers, each with its
# account's identifier; legs a person once unpaired stay out. One read of one table (the status
# index finds them without reading the tenant's whole open ledger), paired in Python by an
# exact (currency, amount) hash join: a self-join in SQL was planned as a nested loop whenever
# the tenant's rows were not yet in the planner's statistics (a new tenant's first import, whose
# ANALYZE can only run after the import commits), quadratic in the import's size. Every table
# is named with its tenant (Citus routes the statement to the tenant's shard; RLS is the net
# beneath).
_OPEN_LEGS = """
SELECT t.id::text, t.account_id::text, t.amount, t.currency, t.booking_date, t.counterparty_account,
       a.identifier, t.import_batch_id = %(batch)s
FROM banking_banktransaction t
JOIN banking_bankaccount a ON a.tenant_id = t.tenant_id AND a.id = t.account_id
WHERE t.tenant_id = %(tenant)s AND a.tenant_id = %(tenant)s
  AND t.status = 'unmatched' AND t.allocated_amount = 0 AND t.amount <> 0
  AND t.booking_date BETWEEN %(from)s::date - %(days)s::integer AND %(to)s::date + %(days)s::integer
  AND t.id NOT IN (
      SELECT u.outgoing_id FROM banking_internaltransfer u
      WHERE u.tenant_id = %(tenant)s AND u.status = 'unpaired'
      UNION ALL
      SELECT u.incoming_id FROM banking_internaltransfer u
      WHERE u.tenant_id = %(tenant)s AND u.status = 'unpaired'
  )
"""


class _Leg(NamedTuple):
    """One open leg as read (ids as text: hundreds of thousands of rows for a large import,
    and only the few that pair become UUIDs)."""

    id: str
    account_id: str
    amount: Decimal
    currency: str
    booked: dt.date
    counterparty_account: str
    account_identifier: str
    in_batch: bool


def _leg_pairs(legs: list[_Leg], days: int) -> list[tuple[_Leg, _Leg]]:
    """(outgoing, incoming) pairs: -X and +X in one currency, other accounts, at most ``days``
    apart, at least one leg brought by this import."""
    incoming: dict[tuple[str, Decimal], list[_Leg]] = defaultdict(list)
    for leg in legs:
        if leg.amount > 0:
            incoming[(leg.currency, leg.amount)].append(leg)
    return [
        (out, into)
        for out in legs
        if out.amount < 0
        for into in incoming.get((out.currency, -out.amount), ())
        if into.account_id != out.account_id
        and abs((out.booked - into.booked).days) <= days
        and (out.in_batch or into.in_batch)
    ]


@dataclass(frozen=True, slots=True)
class _Candidate:
    outgoing_id: uuid.UUID
    incoming_id: uuid.UUID
    days_apart: int
    first_booked: dt.date
    evidence: bool  # a leg's counterparty is the other own account


def _contradicts(counterparty: str, other_account: str) -> bool:
    """A leg's counterparty is another account than the other leg's (``same_account``: two
    different IBANs, or an IBAN whose BBAN does not hold the domestic account number a German
    MT940 names the other account by)."""
    return same_account(counterparty, other_account) is False


def _candidate(outgoing: _Leg, incoming: _Leg) -> _Candidate | None:
    if _contradicts(outgoing.counterparty_account, incoming.account_identifier) or _contradicts(
        incoming.counterparty_account, outgoing.account_identifier
    ):
        return None
    evidence = (
        same_account(outgoing.counterparty_account, incoming.account_identifier) is True
        or same_account(incoming.counterparty_account, outgoing.account_identifier) is True
    )
    return _Candidate(
        uuid.UUID(outgoing.id),
        uuid.UUID(incoming.id),
        abs((outgoing.booked - incoming.booked).days),
        min(outgoing.booked, incoming.booked),
        evidence,
    )


def _chosen(candidates: list[_Candidate]) -> list[_Candidate]:
    """Each leg in at most one pair: evidence first, then the closest in time; deterministic."""
    ordered = sorted(
        candidates,
        key=lambda c: (not c.evidence, c.days_apart, c.first_booked, str(c.outgoing_id), str(c.incoming_id)),
    )
    used: set[uuid.UUID] = set()
    chosen = []
    for candidate in ordered:
        if candidate.outgoing_id in used or candidate.incoming_id in used:
            continue
        used.update((candidate.outgoing_id, candidate.incoming_id))
        chosen.append(candidate)
    return chosen


def _window_days() -> int:
    days = TenantSettings.objects.values_list("internal_transfer_days", flat=True).first()
    return DEFAULT_INTERNAL_TRANSFER_DAYS if days is None else days


def internal_transfers_pair(
    *, batch_id: uuid.UUID, booked_from: dt.date, booked_to: dt.date
) -> list[InternalTransfer]:
    """Pair the open legs an import brought (booked from ``booked_from`` to ``booked_to``) with
    open legs of the tenant's other accounts.

    Runs inside the import's transaction. The chosen legs are locked (id order, as confirms
    lock transactions) and checked again, so a leg a person allocated meanwhile stays out; the
    partial unique keys refuse a leg in two pairs whatever happens. Each pair is an audit
    event of the system (``internal_transfer.paired``).
    """
    if BankAccount.objects.count() < 2:
        return []  # one account: nothing can move between own accounts
    tenant_id = require_tenant_id()
    days = _window_days()
    with connection.cursor() as cursor:
        cursor.execute(
            _OPEN_LEGS,
            {"tenant": tenant_id, "batch": batch_id, "days": days, "from": booked_from, "to": booked_to},
        )
        legs = list(map(_Leg._make, cursor.fetchall()))
    found = (_candidate(outgoing, incoming) for outgoing, incoming in _leg_pairs(legs, days))
    candidates = [c for c in found if c is not None]
    chosen = _chosen(candidates)
    if not chosen:
        return []
    leg_ids = sorted({leg for c in chosen for leg in (c.outgoing_id, c.incoming_id)})
    open_legs = set(
        BankTransaction.objects.select_for_update()
        .filter(pk__in=leg_ids, status=TransactionStatus.UNMATCHED, allocated_amount=0)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    pairs = [
        InternalTransfer(outgoing_id=c.outgoing_id, incoming_id=c.incoming_id, days_apart=c.days_apart)
        for c in chosen
        if c.outgoing_id in open_legs and c.incoming_id in open_legs
    ]
    if not pairs:
        return []
    InternalTransfer.objects.bulk_create(pairs)
    BankTransaction.objects.filter(
        pk__in=[leg for pair in pairs for leg in (pair.outgoing_id, pair.incoming_id)]
    ).update(status=TransactionStatus.INTERNAL, updated_at=timezone.now())
    audit_records(
        actor=None,
        action=AuditAction.INTERNAL_TRANSFER_PAIRED,
        changes=(
            (
                pair.pk,
                None,
                {"status": pair.status, "outgoing": pair.outgoing_id, "incoming": pair.incoming_id},
            )
            for pair in pairs
        ),
    )
    return pairs


@transaction.atomic
def internal_transfer_unpair(
    *, transfer_id: uuid.UUID, actor: Actor
) -> InternalTransfer:
    """Undo a pairing a person finds wrong: both legs become unmatched transactions again.

    The pair stays, as ``unpaired``, and neither leg is paired automatically again. Only a
    paired transfer can be unpaired (409 otherwise); the change is audited.
    """
    transfer = InternalTransfer.objects.select_for_update().filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound("No such internal transfer.")
    if transfer.status != InternalTransferStatus.PAIRED:
        raise Conflict(f"Only paired transfers can be unpaired; this one is {transfer.status}.")
    legs = list(
        BankTransaction.objects.select_for_update()
        .filter(pk__in=sorted([transfer.outgoing_id, transfer.incoming_id]))
        .order_by("pk")
    )
    now = timezone.now()
    for leg in legs:
        leg.status = TransactionStatus.UNMATCHED
        leg.updated_at = now
    BankTransaction.objects.bulk_update(legs, ["status", "updated_at"])
    transfer.status = InternalTransferStatus.UNPAIRED
    transfer.unpaired_at = now
    transfer.unpaired_by = actor_user(actor)
    transfer.save(update_fields=["status", "unpaired_at", "unpaired_by", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.INTERNAL_TRANSFER_UNPAIRED,
        object_id=transfer.pk,
        before={"status": InternalTransferStatus.PAIRED},
        after={"status": transfer.status},
    )
    return transfer
