"""The invoice form takes payment terms as fields or as printed text, by the kernel's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.models import Invoice
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db

FORM = {"number": "INV-T", "kind": "receivable", "amount": "100.00", "currency": "USD", "description": "x"}


def stored(staff) -> Invoice | None:
    with tenant_context(staff.tenant.id):
        return Invoice.objects.filter(number="INV-T").first()


def test_printed_terms_fill_the_fields_and_a_later_edit_keeps_them(login, staff_a) -> None:
    client = login(staff_a.accountant)
    response = client.post(
        "/admin/invoices/invoice/add/", {**FORM, "payment_terms": "2 % Skonto within 14 days, net 30"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    invoice = stored(staff_a)
    assert (invoice.discount_percent, invoice.discount_days, invoice.net_days) == (Decimal("2.00"), 14, 30)
    page = client.get(f"/admin/invoices/invoice/{invoice.pk}/change/").content.decode()
    assert 'name="discount_days" value="14"' in page
    response = client.post(
        f"/admin/invoices/invoice/{invoice.pk}/change/",
        {**FORM, "discount_percent": "2.00", "discount_days": "10", "net_days": "30"},
    )
    assert response.status_code == 302
    assert stored(staff_a).payment_terms == "2/10 net 30"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"payment_terms": "2/10 EOM"}, "payment_terms"),
        ({"discount_percent": "2"}, "discount_percent"),  # no period
        ({"discount_percent": "2", "discount_days": "40", "net_days": "30"}, "discount_percent"),
        ({"discount_percent": "2.555", "discount_days": "10"}, "discount_percent"),
    ],
)
def test_bad_terms_are_shown_on_the_form_and_nothing_is_saved(
    login, staff_a, fields: dict, field: str
) -> None:
    response = login(staff_a.accountant).post("/admin/invoices/invoice/add/", {**FORM, **fields})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert stored(staff_a) is None
