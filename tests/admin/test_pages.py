"""Back-office pages: every page renders under RLS, dashboard, workbench, exports, upload."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tenants.context import tenant_context

from .conftest import STATEMENT_CSV

pytestmark = pytest.mark.django_db

TENANT_PAGES = [
    "/admin/",
    "/admin/invoices/",
    "/admin/invoices/invoice/",
    "/admin/invoices/invoice/?status__exact=open&q=INV",
    "/admin/invoices/invoice/?issue_date__year=2024",
    "/admin/invoices/vendor/",
    "/admin/banking/banktransaction/",
    "/admin/banking/banktransaction/?status__exact=unmatched&q=Payment",
    "/admin/banking/bankaccount/",
    "/admin/banking/importbatch/",
    "/admin/banking/bankstatement/",
    "/admin/banking/bankstatement/?has_break__exact=1",
    "/admin/banking/internaltransfer/",
    "/admin/reconciliation/match/",
    "/admin/reconciliation/match/?confidence=high&q=INV",
    "/admin/reconciliation/reconciliationrun/",
    "/admin/reconciliation/workbench/",
    "/admin/reconciliation/backtest/",
    "/admin/reconciliation/match/?would_auto_confirm__exact=1",
    "/admin/tenants/auditevent/",
    "/admin/tenants/membership/",
    "/admin/tenants/apitoken/",
]


@pytest.mark.parametrize("role", ["viewer", "accountant", "owner"])
def test_every_tenant_page_renders_for_every_role(login, staff_a, ledger_a, ledger_b, proposal_a, role):
    """The runtime role can serve every page (no platform table it may not read is touched)."""
    from reconciliation.models import Match

    client = login(getattr(staff_a, role))
    with tenant_context(staff_a.tenant.id):
        match = Match.objects.get(pk=proposal_a)
        run_id = match.run_id
    detail_pages = [
        f"/admin/invoices/invoice/{ledger_a.invoice.pk}/change/",
        f"/admin/invoices/vendor/{ledger_a.vendor.pk}/change/",
        f"/admin/banking/banktransaction/{ledger_a.transaction.pk}/change/",
        f"/admin/banking/importbatch/{ledger_a.transaction.import_batch_id}/change/",
        f"/admin/reconciliation/match/{proposal_a}/change/",
        f"/admin/reconciliation/match/?allocations__invoice__id__exact={ledger_a.invoice.pk}",
        f"/admin/reconciliation/reconciliationrun/{run_id}/change/",
    ]
    for url in TENANT_PAGES + detail_pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert "INV-B-1001" not in response.content.decode(), url


def test_dashboard_shows_the_tenant_at_a_glance(login, staff_a, ledger_a, ledger_b, proposal_a):
    body = login(staff_a.accountant).get("/admin/").content.decode()
    assert 'id="dashboard-cards"' in body
    assert "Open invoices" in body and "150.00 USD outstanding" in body
    assert "Matches awaiting review" in body
    assert "Last reconciliation run" in body and "1 proposals" in body
    assert "Last import" in body
    assert "Recent actions" not in body


def test_workbench_lists_candidates_with_reasons_and_filters(login, staff_a, ledger_a, proposal_a):
    client = login(staff_a.accountant)
    body = client.get("/admin/reconciliation/workbench/").content.decode()
    assert 'id="summary-unmatched">1<' in body
    assert 'id="summary-proposed">1<' in body
    assert f'data-match-id="{proposal_a}"' in body
    assert "Invoice number INV-A-1001 appears in the transaction text" in body
    assert "INV-A-1001" in body

    filtered = client.get("/admin/reconciliation/workbench/?min_amount=1000").content.decode()
    assert "No unmatched transaction fits these filters." in filtered
    filtered = client.get("/admin/reconciliation/workbench/?date_from=2024-03-21").content.decode()
    assert f'data-match-id="{proposal_a}"' not in filtered
    filtered = client.get("/admin/reconciliation/workbench/?min_confidence=50&q=client").content.decode()
    assert f'data-match-id="{proposal_a}"' in filtered
    invalid = client.get("/admin/reconciliation/workbench/?min_confidence=500")
    assert invalid.status_code == 400  # no unfiltered list under filters that look applied
    assert "less than or equal to 100" in invalid.content.decode()


def _rows(response):
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_csv_exports_contain_only_this_tenants_rows(
    login, staff_a, ledger_a, ledger_b, proposal_a, proposal_b
):
    client = login(staff_a.viewer)

    open_items = client.get("/admin/invoices/invoice/export/")
    assert open_items["Content-Type"].startswith("text/csv")
    rows = _rows(open_items)
    assert rows[0][:3] == ["number", "vendor", "kind"]
    assert [r[0] for r in rows[1:]] == ["INV-A-1001"]

    unmatched = _rows(client.get("/admin/banking/banktransaction/export/?currency__exact=USD"))
    assert len(unmatched) == 2 and "Payment INV-A-1001 thank you" in unmatched[1]

    matches = _rows(client.get("/admin/reconciliation/match/export/"))
    assert matches[0][3] == "confidence"
    assert len(matches) == 2 and matches[1][8] == "INV-A-1001"

    selected = client.post(
        "/admin/invoices/invoice/",
        {"action": "export_csv", "_selected_action": [str(ledger_a.invoice.pk), str(ledger_b.invoice.pk)]},
    )
    assert [r[0] for r in _rows(selected)[1:]] == ["INV-A-1001"]


def test_csv_export_neutralises_formulas(login, staff_a):
    from tests.invoices.factories import make_invoice

    make_invoice(staff_a.tenant, amount="5.00", number="=HYPERLINK(1)", description="@cmd")
    rows = _rows(login(staff_a.viewer).get("/admin/invoices/invoice/export/"))
    assert rows[1][0] == "'=HYPERLINK(1)" and rows[1][-1] == "'@cmd"


def _upload(client, content: bytes, key: str, name: str = "march.csv"):
    return client.post(
        "/admin/banking/importbatch/add/",
        {"file": SimpleUploadedFile(name, content), "file_format": "", "account": "", "idempotency_key": key},
        follow=True,
    )


def test_statement_upload_imports_skips_duplicates_and_replays(login, staff_a, staff_b):
    from banking.models import BankTransaction, ImportBatch

    client = login(staff_a.accountant)
    assert "Upload a bank statement" in client.get("/admin/banking/importbatch/add/").content.decode()

    body = _upload(client, STATEMENT_CSV.encode(), "key-1").content.decode()
    assert "Statement imported. march.csv (CSV): 2 transaction(s) read, 2 imported, 0 duplicate(s)" in body

    body = _upload(client, STATEMENT_CSV.encode(), "key-1").content.decode()
    assert "already processed; nothing new was imported" in body

    body = _upload(client, STATEMENT_CSV.encode(), "key-2").content.decode()
    assert "2 transaction(s) read, 0 imported, 2 duplicate(s) skipped" in body

    with tenant_context(staff_a.tenant.id):
        assert BankTransaction.objects.count() == 2
        assert ImportBatch.objects.filter(source="admin").count() == 2
    with tenant_context(staff_b.tenant.id):
        assert BankTransaction.objects.count() == 0


def test_a_statement_whose_name_is_too_long_is_refused_not_cut(login, staff_a):
    """Django cuts an uploaded file's name to 255 characters; the import refuses it instead."""
    from banking.models import ImportBatch
    from common import limits

    handle = io.BytesIO(STATEMENT_CSV.encode())
    handle.name = "m" * 300 + ".csv"  # not SimpleUploadedFile: it would cut the name itself
    response = login(staff_a.accountant).post(
        "/admin/banking/importbatch/add/",
        {"file": handle, "file_format": "", "account": "", "idempotency_key": "key-1"},
        follow=True,
    )
    text = response.content.decode()
    assert "Nothing was imported" in text
    assert f"no more than {limits.FILE_NAME} characters" in text
    with tenant_context(staff_a.tenant.id):
        assert not ImportBatch.objects.exists()


def test_a_rejected_statement_imports_nothing_and_says_why(login, staff_a):
    from banking.models import BankTransaction

    client = login(staff_a.accountant)
    bad = STATEMENT_CSV + "2024-03-24,12.345,USD,Too many decimals,Someone,CSV-0003\n"
    body = _upload(client, bad.encode(), "key-bad").content.decode()
    assert "Nothing was imported from march.csv" in body
    assert 'id="upload-rejected"' in body and "more decimals than USD allows" in body
    body = _upload(client, b"\x00\x01 not a statement", "key-junk", name="junk.bin").content.decode()
    assert "Nothing was imported from junk.bin" in body
    with tenant_context(staff_a.tenant.id):
        assert BankTransaction.objects.count() == 0


def test_every_refused_upload_says_why_on_the_page(login, staff_a):
    """The statement and advice uploads share one cycle (tenants.admin_upload): a refusal without
    field errors (a key reused for another file) is listed with its reason too, as the advice
    upload always did (the statement upload used to show an empty list then)."""
    client = login(staff_a.accountant)
    assert "Statement imported" in _upload(client, STATEMENT_CSV.encode(), "key-1").content.decode()
    other = STATEMENT_CSV.replace("CSV-0001", "CSV-0009").encode()
    body = _upload(client, other, "key-1").content.decode()
    assert "Nothing was imported from march.csv" in body
    assert 'id="upload-rejected"' in body
    assert "already used with a different request payload" in body.split('id="upload-rejected"')[1]


def test_links_between_related_objects(login, staff_a, ledger_a, proposal_a):
    client = login(staff_a.viewer)
    invoice_page = client.get(f"/admin/invoices/invoice/{ledger_a.invoice.pk}/change/").content.decode()
    assert f"allocations__invoice__id__exact={ledger_a.invoice.pk}" in invoice_page
    match_page = client.get(f"/admin/reconciliation/match/{proposal_a}/change/").content.decode()
    assert f"/admin/invoices/invoice/{ledger_a.invoice.pk}/change/" in match_page
    assert f"/admin/banking/banktransaction/{ledger_a.transaction.pk}/change/" in match_page
    assert "Invoice number INV-A-1001 appears in the transaction text" in match_page
