"""Money is written for people at its currency's minor unit (issue 16): the back office's lists
and pages, the workbench, the CSV exports, the engine's reasons and the command's output. Before,
six places wrote two decimals whatever the currency: KWD 1.234 read "1.23 KWD", JPY 1500 read
"1,500.00 JPY"; the CSV exports wrote the column's four ("1.2340")."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from banking.models import BankTransaction
from invoices.models import Invoice
from reconciliation.models import Match
from tenants.context import tenant_context
from tenants.models import TenantSettings
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(staff_a):
    """A KWD and a JPY invoice, each with its payment, proposed (auto-confirm off); and a
    partial KWD payment, whose reason names what stays open."""
    tenant = staff_a.tenant
    vendor = make_vendor(tenant, name="Gulf Trading")
    make_invoice(tenant, amount="1234.567", currency="KWD", number="KWD-1", vendor=vendor)
    make_invoice(tenant, amount="1500", currency="JPY", number="JPY-1", vendor=vendor)
    make_invoice(tenant, amount="2.000", currency="KWD", number="KWD-2", vendor=vendor)
    make_transaction(tenant, amount="1234.567", currency="KWD", description="Payment KWD-1")
    make_transaction(tenant, amount="1500", currency="JPY", description="Payment JPY-1")
    make_transaction(tenant, amount="1.250", currency="KWD", description="Part payment KWD-2")
    with tenant_context(tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    result = reconcile(tenant.id, actor=staff_a.accountant, source="test")
    assert len(result.proposals) == 3
    return staff_a


def test_back_office_lists_and_pages(login, books):
    client = login(books.viewer)
    invoices = client.get("/admin/invoices/invoice/").content.decode()
    assert "1,234.567 KWD" in invoices and "1,500 JPY" in invoices
    assert "1,234.57 KWD" not in invoices and "1,500.00 JPY" not in invoices
    transactions = client.get("/admin/banking/banktransaction/").content.decode()
    assert "1,234.567 KWD" in transactions and "1,500 JPY" in transactions
    matches = client.get("/admin/reconciliation/match/").content.decode()
    assert "1,234.567 KWD" in matches and "1,500 JPY" in matches
    with tenant_context(books.tenant.id):
        invoice_id = Invoice.objects.get(number="KWD-2").pk
        match_id = Match.objects.get(allocations__invoice__number="KWD-2").pk
        transaction = BankTransaction.objects.get(description="Part payment KWD-2")
    invoice_page = client.get(f"/admin/invoices/invoice/{invoice_id}/change/").content.decode()
    assert "0.000 KWD" in invoice_page  # amount paid
    match_page = client.get(f"/admin/reconciliation/match/{match_id}/change/").content.decode()
    assert "1.250 KWD" in match_page  # the allocation, from the transaction and on the invoice
    assert str(transaction) == "2024-03-20 1.250 KWD Part payment KWD-2"


def test_workbench(login, books):
    page = login(books.viewer).get("/admin/reconciliation/workbench/").content.decode()
    for written in ("1,234.567 KWD", "1,500 JPY", "2.000 KWD", "1.250 KWD"):
        assert written in page, written
    assert "1,234.57" not in page and "1,500.00" not in page


def _rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_exports_write_plain_amounts_at_the_minor_unit(login, books):
    client = login(books.viewer)
    invoices = {row["number"]: row for row in _rows(client.get("/admin/invoices/invoice/export/"))}
    assert (invoices["KWD-1"]["amount"], invoices["KWD-1"]["amount_paid"]) == ("1234.567", "0.000")
    assert (invoices["JPY-1"]["amount"], invoices["JPY-1"]["outstanding"]) == ("1500", "1500")
    transactions = {r["description"]: r for r in _rows(client.get("/admin/banking/banktransaction/export/"))}
    assert transactions["Payment JPY-1"]["amount"] == "1500"
    assert transactions["Part payment KWD-2"]["unallocated"] == "1.250"
    matches = _rows(client.get("/admin/reconciliation/match/export/"))
    assert {row["amount"] for row in matches} == {"1234.567", "1500", "1.250"}


def test_engine_reasons_and_command_output(books):
    with tenant_context(books.tenant.id):
        match = Match.objects.get(allocations__invoice__number="KWD-2")
    messages = [reason["message"] for reason in match.reasons]
    assert any("0.750 KWD" in message and "stays open" in message for message in messages), messages
    out = io.StringIO()
    call_command("reconcile", "--tenant", str(books.tenant.id), "--dry-run", stdout=out)
    printed = out.getvalue()
    assert "1,234.567 KWD" in printed and "1,500 JPY" in printed and "1.250 KWD" in printed
