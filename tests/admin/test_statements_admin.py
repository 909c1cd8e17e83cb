"""Back office: imported statements with their checks, breaks per account on the dashboard, and
internal transfers that accountants unpair (audited); viewers only look."""

from __future__ import annotations

import io

import pytest

from banking.models import BankStatement, InternalTransfer
from banking.services import api_transactions_import, statement_import
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tests.banking.statement_builders import IBAN_MAIN, IBAN_SAVINGS, Entry, Statement, camt

pytestmark = pytest.mark.django_db

MARCH = Statement(
    opening="100.00",
    closing="150.00",
    closing_date="2024-03-28",
    statement_id="STMT-3",
    entries=[Entry("50.00", "2024-03-05", "M-1")],
)
MAY = Statement(
    opening="120.00",
    closing="200.00",
    opening_date="2024-05-01",
    closing_date="2024-05-28",
    statement_id="STMT-5",
    entries=[Entry("80.00", "2024-05-05", "Y-1")],
)


def import_statements(world, *statements: Statement) -> list[BankStatement]:
    with tenant_context(world.tenant.id):
        return statement_import(stream=io.BytesIO(camt(*statements)), file_name="s.xml").statements


def make_transfer(world) -> InternalTransfer:
    def item(amount: str, reference: str) -> dict:
        return {"amount": amount, "date": "2024-03-01", "currency": "EUR", "external_id": reference}

    with tenant_context(world.tenant.id):
        api_transactions_import(items=[item("-75.00", "OUT")], created_by=None, default_account=IBAN_MAIN)
        api_transactions_import(items=[item("75.00", "IN")], created_by=None, default_account=IBAN_SAVINGS)
        return InternalTransfer.objects.get()


def test_statements_pages_show_balances_checks_and_filter_breaks(login, staff_a, staff_b):
    import_statements(staff_a, MARCH)
    (may,) = import_statements(staff_a, MAY)
    import_statements(staff_b, Statement(opening="1.00", closing="9.00", statement_id="B-ONLY"))
    client = login(staff_a.viewer)
    listing = client.get("/admin/banking/bankstatement/?has_break__exact=1").content.decode()
    assert "STMT-5" in listing and "STMT-3" not in listing and "B-ONLY" not in listing
    detail = client.get(f"/admin/banking/bankstatement/{may.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "120.00 EUR" in page and "200.00 EUR" in page
    assert "differs by -30.00 EUR from the closing balance 150.00 EUR" in page
    assert "Transactions first imported with this statement" in page
    accounts = client.get("/admin/banking/bankaccount/").content.decode()
    assert "1 with a break" in accounts


def test_dashboard_shows_breaks_per_account(login, staff_a, staff_b):
    client = login(staff_a.viewer)
    assert "Every imported statement continues the previous one" in client.get("/admin/").content.decode()
    import_statements(staff_a, MARCH)
    import_statements(staff_a, MAY)
    import_statements(staff_b, MARCH, Statement(opening="0", closing="1.00", account=IBAN_SAVINGS))
    page = client.get("/admin/").content.decode()
    card = page[page.index('id="card-statement-breaks"') :]
    card = card[: card.index("</div>")]
    assert IBAN_MAIN in card
    assert "1 statement with a break" in card
    assert "STMT-5" in card
    assert IBAN_SAVINGS not in card  # tenant B's break


def test_accountants_unpair_a_transfer_from_its_page_viewers_cannot(login, staff_a):
    transfer = make_transfer(staff_a)
    page = f"/admin/banking/internaltransfer/{transfer.pk}/change/"
    unpair = f"/admin/banking/internaltransfer/{transfer.pk}/unpair/"
    viewer = login(staff_a.viewer)
    assert 'id="unpair-transfer"' not in viewer.get(page).content.decode()
    assert viewer.post(unpair).status_code == 403
    accountant = login(staff_a.accountant)
    assert 'id="unpair-transfer"' in accountant.get(page).content.decode()
    assert accountant.get(unpair).status_code == 405
    response = accountant.post(unpair)
    assert response.status_code == 302
    with tenant_context(staff_a.tenant.id):
        assert InternalTransfer.objects.get().status == "unpaired"
        event = AuditEvent.objects.get(action="internal_transfer.unpaired")
        assert (event.actor_id, event.source) == (staff_a.accountant.pk, "admin")
    assert 'id="unpair-transfer"' not in accountant.get(page).content.decode()


def test_the_list_action_unpairs_the_selected_transfers(login, staff_a):
    transfer = make_transfer(staff_a)
    client = login(staff_a.accountant)
    response = client.post(
        "/admin/banking/internaltransfer/",
        {"action": "unpair_transfers", "_selected_action": [str(transfer.pk)]},
        follow=True,
    )
    assert "Unpaired 1 transfer(s)" in response.content.decode()
    with tenant_context(staff_a.tenant.id):
        assert InternalTransfer.objects.get().status == "unpaired"
    again = client.post(
        "/admin/banking/internaltransfer/",
        {"action": "unpair_transfers", "_selected_action": [str(transfer.pk)]},
        follow=True,
    )
    assert "1 not unpaired: Only paired transfers can be unpaired" in again.content.decode()


def test_an_upload_with_a_break_and_a_transfer_says_so_and_the_run_leaves_the_transfer_alone(login, staff_a):
    """Through the admin end to end: the upload succeeds and names the break and the pairing,
    the batch page lists the statements with their break, and "Run reconciliation" proposes
    nothing for the transfer's legs, not even against the invoice the incoming leg names."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.invoices.factories import make_invoice

    make_invoice(staff_a.tenant, amount="75.00", number="INV-75", currency="EUR")
    content = camt(
        MARCH,
        MAY,  # opens at 120.00 after March closed at 150.00
        Statement(
            opening="0.00",
            closing="75.00",
            account=IBAN_SAVINGS,
            statement_id="SAV-3",
            entries=[Entry("75.00", "2024-03-11", "IN-75", IBAN_MAIN, "INV-75")],
        ),
        Statement(
            opening="150.00",
            closing="75.00",
            opening_date="2024-03-29",
            closing_date="2024-03-30",
            statement_id="STMT-3B",
            entries=[Entry("-75.00", "2024-03-10", "OUT-75", IBAN_SAVINGS, "To savings")],
        ),
    )
    client = login(staff_a.accountant)
    response = client.post(
        "/admin/banking/importbatch/add/",
        {
            "file": SimpleUploadedFile("s.xml", content),
            "file_format": "",
            "account": "",
            "idempotency_key": "k",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Statement imported." in page
    assert "4 statement(s), 1 with a continuity break (see the statements below)." in page
    assert "1 internal transfer(s) between your accounts paired" in page
    assert "STMT-5" in page and ">Break</span>" in page  # the batch page lists its statements
    with tenant_context(staff_a.tenant.id):
        assert list(
            InternalTransfer.objects.values_list("outgoing__external_id", "incoming__external_id")
        ) == [("OUT-75", "IN-75")]
    ran = client.post("/admin/reconciliation/run/", {"next": "/admin/"}, follow=True).content.decode()
    assert "Reconciliation finished: 0 proposal(s)" in ran
