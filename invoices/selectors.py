"""Reads on vendors and invoices of the active tenant (call inside ``tenant_context``).

The default managers already filter by the active tenant (and RLS filters underneath), so an id
of another tenant is simply not found: callers answer 404, never "forbidden".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from decimal import Decimal

from django.db.models import F, Func, Q, QuerySet, TextField, Value

from common.errors import NotFound

from .models import Invoice, Vendor, VendorLearnedEvidence

# Joins aliases for a substring search; a control character no client types in a search box.
_ALIAS_SEPARATOR = "\x1f"


def invoice_list(
    *,
    statuses: Sequence[str] | None = None,
    vendor_id: uuid.UUID | None = None,
    currency: str | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    issued_after: dt.date | None = None,
    issued_before: dt.date | None = None,
    q: str | None = None,
) -> QuerySet[Invoice]:
    """The tenant's invoices, newest first, narrowed by the given (already validated) filters.

    Amount and date bounds are inclusive; ``q`` is a case-insensitive substring of the number
    or the description.
    """
    invoices = Invoice.objects.select_related("vendor").order_by("-created_at", "-id")
    if statuses:
        invoices = invoices.filter(status__in=list(statuses))
    if vendor_id is not None:
        invoices = invoices.filter(vendor_id=vendor_id)
    if currency:
        invoices = invoices.filter(currency=currency)
    if min_amount is not None:
        invoices = invoices.filter(amount__gte=min_amount)
    if max_amount is not None:
        invoices = invoices.filter(amount__lte=max_amount)
    if issued_after is not None:
        invoices = invoices.filter(issue_date__gte=issued_after)
    if issued_before is not None:
        invoices = invoices.filter(issue_date__lte=issued_before)
    if q:
        invoices = invoices.filter(Q(number__icontains=q) | Q(description__icontains=q))
    return invoices


def invoice_get(*, invoice_id: uuid.UUID) -> Invoice:
    """One invoice of the tenant; ``NotFound`` for unknown ids and other tenants' ids alike."""
    invoice: Invoice | None = Invoice.objects.select_related("vendor").filter(id=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def vendor_list(*, q: str | None = None) -> QuerySet[Vendor]:
    """The tenant's vendors, newest first; ``q`` matches the name or any alias (case-insensitive)."""
    vendors = Vendor.objects.order_by("-created_at", "-id")
    if q:
        vendors = vendors.annotate(
            aliases_text=Func(
                F("aliases"), Value(_ALIAS_SEPARATOR), function="array_to_string", output_field=TextField()
            )
        ).filter(Q(name__icontains=q) | Q(aliases_text__icontains=q))
    return vendors


def vendor_get(*, vendor_id: uuid.UUID) -> Vendor:
    """One vendor of the tenant; ``NotFound`` for unknown ids and other tenants' ids alike."""
    vendor: Vendor | None = Vendor.objects.filter(id=vendor_id).first()
    if vendor is None:
        raise NotFound("No such vendor.")
    return vendor


def vendor_evidence_list(*, vendor_id: uuid.UUID) -> QuerySet[VendorLearnedEvidence]:
    """The payer names and accounts the team taught the engine for one vendor, newest first;
    ``NotFound`` for an unknown vendor (or another tenant's)."""
    vendor_get(vendor_id=vendor_id)
    return VendorLearnedEvidence.objects.filter(vendor_id=vendor_id).order_by("-created_at", "-id")


def invoices_by_id(ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Invoice]:
    """These invoices of the tenant (with their vendors, for their labels) by id, in one query; an id
    not found (deleted since, another tenant's) is left out."""
    return {invoice.pk: invoice for invoice in Invoice.objects.select_related("vendor").filter(pk__in=ids)}
