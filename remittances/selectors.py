"""Reads of remittance advices: lists and details for the interfaces, engine inputs for a run."""

from __future__ import annotations

import datetime
import uuid

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from common.errors import NotFound
from invoices.models import OPEN_INVOICE_STATUSES
from reconciliation.engine.types import AdviceInput, AdviceLineInput

from .models import RemittanceAdvice, RemittanceAdviceLine

#: Advices older than this are not read by a run any more: a payment arrives within days of its
#: advice; an advice never paid must not cost every later run forever.
ADVICE_OPEN_DAYS = 180
#: At most this many advices (the most recent) feed one run, whatever the tenant keeps.
MAX_ADVICES_PER_RUN = 5_000


def advice_list() -> QuerySet[RemittanceAdvice]:
    """The tenant's advices, newest first (paginated by the interfaces)."""
    return RemittanceAdvice.objects.order_by("-created_at", "-id")


def advice_get(advice_id: uuid.UUID | str) -> RemittanceAdvice:
    """One advice with its lines (and their invoices), or NotFound."""
    advice = (
        RemittanceAdvice.objects.filter(pk=advice_id)
        .prefetch_related(Prefetch("lines", RemittanceAdviceLine.objects.select_related("invoice")))
        .first()
    )
    if advice is None:
        raise NotFound("No such remittance advice.")
    return advice


def open_advice_inputs() -> list[AdviceInput]:
    """The tenant's open advices as engine inputs.

    Open: received within :data:`ADVICE_OPEN_DAYS` and some line still names an invoice that
    expects money, or names none yet (an invoice imported after the advice is found by its
    number when the run reads it). An advice whose invoices are all paid or void is done.
    A line's invoice is passed only while it is open; otherwise the engine resolves the number.
    """
    since = timezone.now() - datetime.timedelta(days=ADVICE_OPEN_DAYS)
    pending_line = RemittanceAdviceLine.objects.filter(advice=OuterRef("pk")).filter(
        Q(invoice__isnull=True) | Q(invoice__status__in=OPEN_INVOICE_STATUSES)
    )
    advices = (
        RemittanceAdvice.objects.filter(created_at__gte=since)
        .filter(Exists(pending_line))
        .order_by("-created_at", "-id")[:MAX_ADVICES_PER_RUN]
        .prefetch_related(Prefetch("lines", RemittanceAdviceLine.objects.select_related("invoice")))
    )
    out: list[AdviceInput] = []
    for advice in advices:
        lines = tuple(
            AdviceLineInput(
                invoice_number=line.invoice_number,
                amount=line.amount,
                discount=line.discount,
                invoice_id=str(line.invoice_id)
                if line.invoice is not None and line.invoice.status in OPEN_INVOICE_STATUSES
                else "",
            )
            for line in advice.lines.all()
        )
        out.append(
            AdviceInput(
                id=str(advice.id),
                reference=advice.payment_reference,
                amount=advice.amount,
                currency=advice.currency,
                lines=lines,
                end_to_end_id=advice.end_to_end_id,
                payer_name=advice.payer_name,
                payer_account=advice.payer_account,
                payment_date=advice.payment_date,
            )
        )
    return out
