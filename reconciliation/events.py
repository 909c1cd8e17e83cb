"""What the reconciliation's events say (``events.services`` records and delivers them).

The services call these inside the change's transaction:

* ``match.confirmed``, ``match.rejected``, ``match.undone``: one event per decision, with the
  match and its allocations (amounts at their currency's minor unit, like the API).
* ``invoice.settled``: invoices that became fully paid. A person's confirmation: one event
  listing the invoices it settled (one, or the few of a 1:N match). A run: events of at most
  ``MAX_LISTED`` invoices each (a 100k run settles tens of thousands: one event per invoice
  would be as many deliveries per endpoint; one event listing all would be megabytes), every
  settled invoice in exactly one of them, so a receiver needs no call back.
* ``match.auto_confirmed``: one event per run that auto-confirmed anything, with the count,
  the first ``MAX_LISTED`` matches (in the engine's order) and ``matches_url``, the API list of
  the run's confirmed matches for the rest (the bounded-response rule of ``POST reconcile``).
* ``reconciliation.completed``: one per run that wrote (a dry run changes nothing: no event),
  last, with the run's counts (``auto_confirmed_count``: what it confirmed, 0 in shadow mode;
  ``would_auto_confirm_count``: what shadow mode flagged instead).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from common.finance import quantize
from events.models import EventType
from events.services import MAX_LISTED, EventSpec, listed
from invoices.models import InvoiceStatus
from tenants.context import require_tenant_id

from . import engine
from .models import Match, MatchAllocation, MatchStatus, ReconciliationRun

DECISION_EVENTS = {
    MatchStatus.CONFIRMED: EventType.MATCH_CONFIRMED,
    MatchStatus.REJECTED: EventType.MATCH_REJECTED,
    MatchStatus.UNDONE: EventType.MATCH_UNDONE,
}


def _money(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


def match_decision_spec(match: Match) -> EventSpec:
    """The event of a person's decision on ``match`` (after it was saved)."""
    allocations = MatchAllocation.objects.filter(match=match).values_list(
        "transaction_id",
        "invoice_id",
        "amount",
        "invoice_amount",
        "transaction__currency",
        "invoice__currency",
    )
    data = {
        "match_id": str(match.pk),
        "run_id": str(match.run_id) if match.run_id else None,
        "status": match.status,
        "shape": match.shape,
        "confidence": str(match.confidence),
        "auto": match.auto,
        "decided_by_id": match.decided_by_id,
        "allocations": [
            {
                "transaction_id": str(transaction_id),
                "invoice_id": str(invoice_id),
                "amount": _money(amount, currency),
                "currency": currency,
                "invoice_amount": _money(invoice_amount, invoice_currency),
                "invoice_currency": invoice_currency,
            }
            for transaction_id, invoice_id, amount, invoice_amount, currency, invoice_currency in allocations
        ],
    }
    return EventSpec(
        type=DECISION_EVENTS[MatchStatus(match.status)], data=data, object_type="match", object_id=match.pk
    )


SettledRow = tuple[Any, str, Decimal, Decimal, str, str]  # id, number, amount, amount_paid, currency, kind


def settled_invoice(row: SettledRow) -> dict[str, Any]:
    invoice_id, number, amount, amount_paid, currency, kind = row
    return {
        "id": str(invoice_id),
        "number": number,
        "amount": _money(amount, currency),
        "amount_paid": _money(amount_paid, currency),
        "currency": currency,
        "kind": kind,
        "status": InvoiceStatus.PAID.value,
    }


def invoices_settled_specs(
    rows: Sequence[SettledRow], *, run_id: uuid.UUID | None, match_id: uuid.UUID | None
) -> list[EventSpec]:
    """``invoice.settled`` events for ``rows`` (invoices just fully paid), ``MAX_LISTED`` per event."""
    specs = []
    for start in range(0, len(rows), MAX_LISTED):
        chunk = rows[start : start + MAX_LISTED]
        data = {
            "run_id": str(run_id) if run_id else None,
            "match_id": str(match_id) if match_id else None,
            "invoices": [settled_invoice(row) for row in chunk],
        }
        object_type, object_id = ("match", match_id) if match_id else ("reconciliation_run", run_id)
        specs.append(
            EventSpec(type=EventType.INVOICE_SETTLED, data=data, object_type=object_type, object_id=object_id)
        )
    return specs


def _matches_url(run_id: uuid.UUID) -> str:
    path = reverse("match-list", kwargs={"tenant_id": require_tenant_id()})
    return f"{path}?{urlencode({'run_id': run_id, 'status': MatchStatus.CONFIRMED.value})}"


def run_specs(
    run: ReconciliationRun,
    *,
    confirmed: Iterable[tuple[uuid.UUID, engine.Proposal]],
    settled: Sequence[SettledRow],
    currency_of: Callable[[str], str],
) -> list[EventSpec]:
    """A run's events, in order: auto-confirmations, settled invoices, the run's completion."""
    specs = []
    shown, total = listed(confirmed)
    if total:
        data = {
            "run_id": str(run.id),
            "count": total,
            "truncated": total > len(shown),
            "matches_url": _matches_url(run.id),
            "matches": [
                {
                    "match_id": str(match_id),
                    "shape": proposal.shape,
                    "confidence": str(proposal.confidence),
                    "allocations": [
                        {
                            "transaction_id": allocation.transaction_id,
                            "invoice_id": allocation.invoice_id,
                            "amount": _money(allocation.amount, currency_of(allocation.transaction_id)),
                            "currency": currency_of(allocation.transaction_id),
                        }
                        for allocation in proposal.allocations
                    ],
                }
                for match_id, proposal in shown
            ],
        }
        specs.append(
            EventSpec(
                type=EventType.MATCH_AUTO_CONFIRMED,
                data=data,
                object_type="reconciliation_run",
                object_id=run.id,
            )
        )
    specs += invoices_settled_specs(settled, run_id=run.id, match_id=None)
    completed = {
        "run_id": str(run.id),
        "source": run.source,
        "started_by_id": run.started_by_id,
        "engine_version": run.engine_version,
        "invoices_considered": run.invoices_considered,
        "transactions_considered": run.transactions_considered,
        "proposals_count": run.proposals_count,
        "auto_confirmed_count": run.auto_confirmed_count,
        "would_auto_confirm_count": run.would_auto_confirm_count,
        "invoices_settled_count": len(settled),
        "duration_ms": run.duration_ms,
        "matches_url": reverse("match-list", kwargs={"tenant_id": require_tenant_id()})
        + f"?{urlencode({'run_id': run.id})}",
    }
    specs.append(
        EventSpec(
            type=EventType.RECONCILIATION_COMPLETED,
            data=completed,
            object_type="reconciliation_run",
            object_id=run.id,
        )
    )
    return specs
