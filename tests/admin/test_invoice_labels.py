"""The back office never shows an invoice without a number by its raw id: every page names it
by vendor, amount and date, with the label the engine's reasons use (one home:
``common.finance.labels.invoice_label``, through ``Invoice.label``).

Before, ``Invoice.__str__`` answered "Invoice <uuid>", and the match list, the match page's
allocations, the match export, the invoice's own page and its delete confirmation showed it.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile

pytestmark = pytest.mark.django_db

LABEL = "Unnumbered invoice (Contoso Consulting, 150.00 USD, 2023-10-01)"


@pytest.fixture
def unnumbered(staff_a):
    vendor = make_vendor(staff_a.tenant, name="Contoso Consulting")
    invoice = make_invoice(staff_a.tenant, amount="150.00", vendor=vendor, issue_date=dt.date(2023, 10, 1))
    make_transaction(staff_a.tenant, amount="150.00", description="Payment for Consulting")
    (candidate,) = reconcile(staff_a.tenant.id, actor=staff_a.accountant).proposals
    assert candidate.invoice_id == str(invoice.id)
    return invoice, candidate.match_id


def test_the_model_and_the_engine_name_an_invoice_alike(staff_a, unnumbered):
    invoice, match_id = unnumbered
    from reconciliation.models import Match

    with tenant_context(staff_a.tenant.id):
        invoice.refresh_from_db()
        assert str(invoice) == invoice.label == LABEL
        reasons = " ".join(r["message"] for r in Match.objects.get(pk=match_id).reasons)
    # In a sentence the engine writes the same label in lower case ("... of the unnumbered invoice (...)").
    assert str(invoice.pk) not in reasons
    numbered = make_invoice(staff_a.tenant, amount="1.00", number="INV-7")
    assert str(numbered) == "INV-7"


def test_no_admin_page_shows_an_unnumbered_invoice_by_its_id(login, staff_a, unnumbered):
    invoice, match_id = unnumbered
    client = login(staff_a.owner)
    pages = {
        "match list": "/admin/reconciliation/match/",
        "match page": f"/admin/reconciliation/match/{match_id}/change/",
        "match export": "/admin/reconciliation/match/export/",
        "invoice page": f"/admin/invoices/invoice/{invoice.pk}/change/",
        "invoice delete": f"/admin/invoices/invoice/{invoice.pk}/delete/",
        "workbench": "/admin/reconciliation/workbench/",
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        body = response.content.decode("utf-8-sig")
        assert LABEL in body, name
        # Links carry the id; what a person reads (text between tags, titles) never does.
        text = re.sub(r"<(?!/?[a-z]+[^>]*title=)[^>]*>", " ", body)
        visible = re.sub(r"<[^>]*>", " ", text) + " ".join(re.findall(r'title="([^"]*)"', body))
        assert str(invoice.pk) not in visible, (name, visible[visible.find(str(invoice.pk)) - 200 :][:400])
