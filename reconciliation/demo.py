"""Demo ledgers for a fresh tenant: vendors, invoices and a bank statement worth reconciling."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.utils import timezone

from banking.models import ImportSource
from banking.services import transactions_import
from banking.statements import ParsedTransaction
from invoices.models import Invoice, InvoiceKind, Vendor
from tenants.context import tenant_context

_VENDORS = [
    ("Northwind Traders", "DE89370400440532013000", ["NORTHWIND TRADERS GMBH", "Northwind"]),
    ("Contoso Consulting", "GB29NWBK60161331926819", ["CONTOSO CONS LTD"]),
    ("Fabrikam Hardware", "FR1420041010050500013M02606", ["FABRIKAM SARL"]),
    ("Tailspin Toys", "NL91ABNA0417164300", []),
]

# (number, vendor index, amount, issue day offset, description)
_INVOICES = [
    ("INV-2024-0101", 0, "1250.00", 0, "Consulting Services"),
    ("INV-2024-0102", 1, "480.50", 3, "Monthly retainer"),
    ("INV-2024-0103", 2, "99.99", 5, "Spare parts"),
    ("INV-2024-0104", 2, "99.99", 6, "Spare parts (second order)"),
    ("INV-2024-0105", 3, "2300.00", 8, "Toy batch Q2"),
    ("INV-2024-0106", 0, "760.00", 10, "Workshop"),
    ("INV-2024-0107", 1, "150.00", 12, "Consulting Services"),
    ("INV-2024-0108", 3, "410.00", 14, "Samples"),
]

# (amount, day offset, description, counterparty, account)
_TRANSACTIONS = [
    ("1250.00", 20, "Payment INV-2024-0101 thank you", "NORTHWIND TRADERS GMBH", "DE89370400440532013000"),
    ("480.50", 21, "Retainer March", "CONTOSO CONS LTD", "GB29NWBK60161331926819"),
    ("99.99", 22, "Order payment", "FABRIKAM SARL", ""),
    ("1150.00", 25, "INV-2024-0105 first instalment", "Tailspin Toys", "NL91ABNA0417164300"),
    ("910.00", 26, "INV 2024 0106 and INV-2024-0107", "Northwind", ""),
    ("-35.20", 27, "Card payment office supplies", "Stationery Shop", ""),
    ("407.50", 29, "Samples invoice 0108 less bank charges", "TAILSPIN TOYS", "NL91ABNA0417164300"),
]


def seed_demo_ledgers(*, tenant_id: uuid.UUID) -> bool:
    """Create the demo data once; returns False when the tenant already has invoices."""
    start = timezone.localdate() - dt.timedelta(days=40)
    with tenant_context(tenant_id):
        if Invoice.objects.exists():
            return False
        vendors = [
            Vendor.objects.create(name=name, iban=iban, aliases=aliases) for name, iban, aliases in _VENDORS
        ]
        for number, vendor_index, amount, offset, description in _INVOICES:
            issued = start + dt.timedelta(days=offset)
            Invoice.objects.create(
                number=number,
                vendor=vendors[vendor_index],
                amount=Decimal(amount),
                currency="USD",
                description=description,
                issue_date=issued,
                due_date=issued + dt.timedelta(days=30),
                kind=InvoiceKind.RECEIVABLE,
            )
        rows = [
            ParsedTransaction(
                account="DE02120300000000202051",
                account_currency="USD",
                amount=Decimal(amount),
                currency="USD",
                booking_date=start + dt.timedelta(days=offset),
                description=description,
                counterparty_name=counterparty,
                counterparty_account=account,
                external_id=f"DEMO-{n:04d}",
            )
            for n, (amount, offset, description, counterparty, account) in enumerate(_TRANSACTIONS, start=1)
        ]
        transactions_import(rows=rows, source=ImportSource.ADMIN, file_name="demo statement")
    return True
