"""The ledgers own their state (issue 16): one settlement rule per ledger, one "open invoice" and
one "unmatched transaction", read alike by the engine's selectors, the workbench, the dashboard
and the back office's filters and exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from banking.models import BankTransaction, TransactionStatus, transaction_status_for
from invoices.models import Invoice, InvoiceStatus, invoice_status_for
from reconciliation import selectors, workbench
from tenants.context import tenant_context
from tests.admin.conftest import make_staff
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice

D = Decimal


@pytest.mark.parametrize(
    ("amount", "paid", "current", "expected"),
    [
        ("100", "0", InvoiceStatus.OPEN, InvoiceStatus.OPEN),
        ("100", "0.01", InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID),
        ("100", "100", InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID),
        ("100", "0", InvoiceStatus.PAID, InvoiceStatus.OPEN),  # an undo gives everything back
        ("100", "40", InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID),
        ("100", "100", InvoiceStatus.VOID, InvoiceStatus.VOID),  # payments never revive a void one
    ],
)
def test_invoice_settlement_rule(amount: str, paid: str, current: str, expected: str) -> None:
    assert invoice_status_for(D(amount), D(paid), current) == expected


@pytest.mark.parametrize(
    ("amount", "allocated", "current", "expected"),
    [
        ("150", "0", TransactionStatus.UNMATCHED, TransactionStatus.UNMATCHED),
        ("-150", "149.99", TransactionStatus.UNMATCHED, TransactionStatus.UNMATCHED),
        ("-150", "150", TransactionStatus.UNMATCHED, TransactionStatus.MATCHED),  # debits: absolute
        ("150", "0", TransactionStatus.MATCHED, TransactionStatus.UNMATCHED),
        ("150", "150", TransactionStatus.IGNORED, TransactionStatus.IGNORED),
    ],
)
def test_transaction_settlement_rule(amount: str, allocated: str, current: str, expected: str) -> None:
    assert transaction_status_for(D(amount), D(allocated), current) == expected


@pytest.fixture
def ledger(world_a):
    """One row of every state in tenant A."""
    make_staff(world_a.viewer)
    tenant = world_a.tenant
    invoices = {
        "OPEN": make_invoice(tenant, amount="150.00", number="OPEN"),
        "PART": make_invoice(tenant, amount="150.00", number="PART"),
        "PAID": make_invoice(tenant, amount="150.00", number="PAID"),
        "VOID": make_invoice(tenant, amount="150.00", number="VOID"),
    }
    transactions = {
        "fresh": make_transaction(tenant, amount="150.00", description="fresh"),
        "partly": make_transaction(tenant, amount="-150.00", description="partly"),
        "matched": make_transaction(tenant, amount="150.00", description="matched"),
        "ignored": make_transaction(tenant, amount="150.00", description="ignored"),
        "zero": make_transaction(tenant, amount="0.00", description="zero"),
    }
    with tenant_context(tenant.id):
        Invoice.objects.filter(number="PART").update(amount_paid=D("50"), status=InvoiceStatus.PARTIALLY_PAID)
        Invoice.objects.filter(number="PAID").update(amount_paid=D("150"), status=InvoiceStatus.PAID)
        Invoice.objects.filter(number="VOID").update(status=InvoiceStatus.VOID)
        BankTransaction.objects.filter(description="partly").update(allocated_amount=D("50"))
        BankTransaction.objects.filter(description="matched").update(
            allocated_amount=D("150"), status=TransactionStatus.MATCHED
        )
        BankTransaction.objects.filter(description="ignored").update(status=TransactionStatus.IGNORED)
    return world_a, invoices, transactions


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_open_invoices_are_one_set_everywhere(ledger, client):
    world, invoices, _ = ledger
    expected = {"OPEN", "PART"}
    by_id = {str(invoice.pk): number for number, invoice in invoices.items()}
    with tenant_context(world.tenant.id):
        assert {i.number for i in Invoice.objects.open()} == expected
        assert {i.number for i in Invoice.objects.not_open()} == {"PAID", "VOID"}
        assert {by_id[i.id] for i in selectors.open_invoice_inputs()} == expected
        assert {i.number for i in selectors.workbench_invoices({})} == expected
        assert workbench.summary()["open_invoice_count"] == len(expected)
    client.force_login(world.viewer)
    exported = _csv(client.get("/admin/invoices/invoice/export/"))
    assert {row[0] for row in exported[1:]} == expected
    for choice, numbers in (("open", expected), ("settled", {"PAID", "VOID"})):
        page = client.get(f"/admin/invoices/invoice/?payment={choice}").content.decode()
        shown = {number for number in invoices if f'title="{number}">{number}</span>' in page}
        assert shown == numbers, choice


def test_unmatched_transactions_are_one_set_everywhere(ledger, client):
    """Money left to allocate: never the zero-amount row, which the back office's export of
    "unmatched transactions" listed while the engine and the workbench left it out."""
    world, _, transactions = ledger
    expected = {"fresh", "partly"}
    by_id = {str(tx.pk): name for name, tx in transactions.items()}
    with tenant_context(world.tenant.id):
        assert {t.description for t in BankTransaction.objects.unmatched()} == expected
        assert {by_id[t.id] for t in selectors.open_transaction_inputs()} == expected
        assert {t.description for t in selectors.workbench_transactions({})} == expected
        assert workbench.summary()["unmatched_count"] == len(expected)
    client.force_login(world.viewer)
    exported = _csv(client.get("/admin/banking/banktransaction/export/"))
    column = exported[0].index("description")
    assert {row[column] for row in exported[1:]} == expected
