"""Ledger rows for reconciliation tests, created inside the tenant's context."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from banking.models import BankAccount, BankTransaction, ImportBatch, ImportSource
from invoices.models import Invoice, Vendor
from tenants.context import tenant_context


def make_vendor(tenant, name: str = "Acme Supplies GmbH", **fields) -> Vendor:
    with tenant_context(tenant.id):
        return Vendor.objects.create(name=name, **fields)


def make_invoice(tenant, *, amount: str, number: str = "", vendor: Vendor | None = None, **fields) -> Invoice:
    fields.setdefault("currency", "USD")
    fields.setdefault("issue_date", dt.date(2024, 3, 1))
    fields.setdefault("due_date", dt.date(2024, 3, 31))
    with tenant_context(tenant.id):
        return Invoice.objects.create(number=number, vendor=vendor, amount=Decimal(amount), **fields)


def make_transaction(tenant, *, amount: str, description: str = "", **fields) -> BankTransaction:
    fields.setdefault("currency", "USD")
    fields.setdefault("booking_date", dt.date(2024, 3, 20))
    with tenant_context(tenant.id):
        account, _ = BankAccount.objects.get_or_create(identifier="DE02120300000000202051")
        batch = ImportBatch.objects.create(source=ImportSource.API)
        return BankTransaction.objects.create(
            account=account,
            import_batch=batch,
            amount=Decimal(amount),
            description=description,
            dedup_key=f"ref:{uuid.uuid4()}",
            **fields,
        )
