"""The workbench names an invoice without a number by vendor, amount and date, never by its id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tenants.context import tenant_context
from tenants.models import TenantSettings
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile

pytestmark = pytest.mark.django_db


def test_unnumbered_invoices_are_named_by_vendor_amount_and_date(login, staff_a, staff_b):
    vendor = make_vendor(staff_a.tenant, name="Contoso Consulting")
    dated = make_invoice(staff_a.tenant, amount="150.00", vendor=vendor, issue_date=dt.date(2023, 10, 1))
    undated = make_invoice(staff_a.tenant, amount="99.00", issue_date=None, due_date=None)
    make_transaction(staff_a.tenant, amount="150.00", description="Payment for Consulting")
    other = make_invoice(staff_b.tenant, amount="150.00", number="INV-B-1")  # another tenant's
    with tenant_context(staff_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
        recorded = timezone.localdate(undated.created_at)
    (candidate,) = reconcile(staff_a.tenant.id, actor=staff_a.accountant).proposals
    assert candidate.invoice_id == str(dated.id)

    client = login(staff_a.accountant)
    body = client.get("/admin/reconciliation/workbench/").content.decode()
    dated_label = "Unnumbered invoice (Contoso Consulting, 150.00 USD, 2023-10-01)"
    assert body.count(f">{dated_label}<") == 2  # the proposal and the list of open invoices (link texts)
    assert f"Unnumbered invoice (99.00 USD, {recorded.isoformat()})" in body
    for pk in (dated.pk, undated.pk):
        assert f">Invoice {pk}<" not in body and f"Invoice {pk}" not in body
    assert "INV-B-1" not in body and str(other.pk) not in body

    response = client.post(
        f"/admin/reconciliation/workbench/match/{candidate.match_id}/confirm/",
        {"next": "/admin/reconciliation/workbench/"},
        follow=True,
    )
    page = response.content.decode()
    assert f"Confirmed: 150.00 USD from Payment for Consulting → {dated_label} (now Paid)." in page
