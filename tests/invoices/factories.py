"""Factories for vendors and invoices. Rows are tenant-owned: the helpers enter the tenant.

An invoice is unnumbered and without a description unless a test gives them, so that nothing a
test did not write can match a transaction's text; the default vendor is the payer the ledger
tests' transactions name ("Acme Supplies GmbH").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.db import models

from invoices.models import Invoice, InvoiceStatus, Vendor
from tenants.context import tenant_context
from tenants.models import Tenant


class VendorFactory(factory.django.DjangoModelFactory):
    """Call inside ``tenant_context`` (the tenant comes from the context)."""

    class Meta:
        model = Vendor

    name = factory.Sequence(lambda n: f"Vendor {n}")


class InvoiceFactory(factory.django.DjangoModelFactory):
    """Call inside ``tenant_context`` (the tenant comes from the context)."""

    class Meta:
        model = Invoice

    number = ""
    amount = Decimal("100.00")
    currency = "USD"
    description = ""
    issue_date = dt.date(2024, 3, 1)
    due_date = dt.date(2024, 3, 31)


def make_vendor(tenant: Tenant, name: str = "Acme Supplies GmbH", **fields: Any) -> Vendor:
    with tenant_context(tenant.id):
        return VendorFactory(name=name, **fields)


def make_invoice(tenant: Tenant, *, amount: str | Decimal = "100.00", **fields: Any) -> Invoice:
    """An invoice of ``tenant`` (``amount`` exact, as text or Decimal)."""
    with tenant_context(tenant.id):
        return InvoiceFactory(amount=Decimal(str(amount)), **fields)


def bulk_invoices(tenant: Tenant, count: int, **fields: Any) -> None:
    """``count`` invoices in one INSERT (``bulk_create`` skips save(), so the tenant is explicit)."""
    with tenant_context(tenant.id):
        Invoice.objects.bulk_create(
            [
                InvoiceFactory.build(
                    **{"tenant_id": tenant.id, "number": f"BULK-{tenant.name[:4]}-{i:06d}", **fields}
                )
                for i in range(count)
            ],
            batch_size=1000,
        )


def record_payment(tenant: Tenant, invoice: Invoice, amount: Decimal) -> None:
    """Stand-in for a confirmed reconciliation match: sets amount_paid and the status."""
    with tenant_context(tenant.id):
        current = Invoice.objects.get(id=invoice.id)
        paid = current.amount_paid + amount
        status = InvoiceStatus.PAID if paid == current.amount else InvoiceStatus.PARTIALLY_PAID
        Invoice.objects.filter(id=invoice.id).update(amount_paid=paid, status=status)


def count_rows(tenant: Tenant, model: type[models.Model]) -> int:
    """Rows of a tenant model in ``tenant`` (outside a context RLS would show none)."""
    with tenant_context(tenant.id):
        return model.objects.count()


def fetch(tenant: Tenant, model: type[models.Model], pk: Any) -> Any:
    """A fresh copy of one row of ``tenant``, or None."""
    with tenant_context(tenant.id):
        return model.objects.filter(pk=pk).first()
