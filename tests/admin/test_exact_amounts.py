"""Back-office forms read amounts exactly, by the financial kernel's rule (issue 13.2's rule).

Django's DecimalField parses with ``Decimal(text)``: ``1e2`` became 100, ``15000e-2`` 150.00 and
``1_000`` 1000 on the invoice form, the settings form and the workbench's filters.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.urls import reverse

from invoices.models import Invoice
from tenants.admin_site import site
from tenants.context import tenant_context
from tenants.forms import ExactDecimalFormField
from tenants.models import TenantSettings
from tests.seed import seed_every_tenant_table

pytestmark = pytest.mark.django_db

NOT_EXACT = ["1e2", "1E+2", "15000e-2", "1_000", "Infinity", "NaN", "0x10"]


def test_every_decimal_on_every_admin_form_is_read_exactly(login, staff_a, django_user_model):
    """Discovered from the registry: a new ModelAdmin with a decimal column is covered too."""
    seeded = seed_every_tenant_table(staff_a.tenant)
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    from tests.tenants.factories import add_member

    add_member(staff_a.tenant, root, "owner")
    client = login(root)
    client.get("/admin/")
    checked: dict[str, list[str]] = {}
    for model in site._registry:
        opts = model._meta
        pages = [reverse(f"admin:{opts.app_label}_{opts.model_name}_add")]
        objects = [obj for obj in seeded.values() if isinstance(obj, model)]
        if model is TenantSettings:
            with tenant_context(staff_a.tenant.id):
                objects = [TenantSettings.objects.get()]
        pages += [reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[o.pk]) for o in objects]
        for url in pages:
            response = client.get(url)
            assert response.status_code < 500, url
            adminform = response.context.get("adminform") if response.status_code == 200 else None
            if adminform is None:
                continue
            for name, field in adminform.form.fields.items():
                if isinstance(field, forms.DecimalField):
                    assert isinstance(field, ExactDecimalFormField), (url, name)
                    checked.setdefault(opts.model_name, []).append(name)
    # Not vacuous: the invoice's amount and the settings' decimals were among them.
    assert "amount" in checked["invoice"]
    assert {"auto_confirm_threshold", "fee_tolerance_fixed", "fee_tolerance_percent"} <= set(
        checked["tenantsettings"]
    )


@pytest.mark.parametrize("text", NOT_EXACT)
def test_invoice_and_settings_forms_refuse_amounts_that_are_not_exactly_a_number(login, staff_a, text):
    owner = login(staff_a.owner)
    response = owner.post(
        "/admin/invoices/invoice/add/",
        {"number": "INV-9", "kind": "receivable", "amount": text, "currency": "USD", "description": "x"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["amount"], text
    with tenant_context(staff_a.tenant.id):
        settings_row = TenantSettings.objects.get()
        assert not Invoice.objects.filter(number="INV-9").exists()
    url = f"/admin/tenants/tenantsettings/{settings_row.pk}/change/"
    valid = {
        "default_currency": "USD",
        "auto_confirm_threshold": "0.9",
        "fee_tolerance_fixed": "2.50",
        "fee_tolerance_percent": "1",
        "date_window_days": "90",
        "internal_transfer_days": "4",
    }
    for name in ("auto_confirm_threshold", "fee_tolerance_fixed", "fee_tolerance_percent"):
        response = owner.post(url, {**valid, name: text})
        assert response.status_code == 200, (name, text)
        assert "Not an exact decimal number" in str(response.context["adminform"].form.errors[name])
    with tenant_context(staff_a.tenant.id):
        assert TenantSettings.objects.get().fee_tolerance_fixed == settings_row.fee_tolerance_fixed


def test_exact_amounts_still_work_on_the_forms(login, staff_a):
    owner = login(staff_a.owner)
    response = owner.post(
        "/admin/invoices/invoice/add/",
        {"number": "INV-9", "kind": "receivable", "amount": " 150.5 ", "currency": "USD", "description": "x"},
    )
    assert response.status_code == 302
    with tenant_context(staff_a.tenant.id):
        assert Invoice.objects.get(number="INV-9").amount == Decimal("150.50")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"min_amount": "1e2"}, "min_amount"),
        ({"max_amount": "15000e-2"}, "max_amount"),
        ({"min_amount": "1_000"}, "min_amount"),
        ({"min_confidence": "1e2"}, "min_confidence"),
        ({"min_confidence": "500"}, "min_confidence"),
        ({"min_confidence": "50.5"}, "min_confidence"),
    ],
)
def test_workbench_filters_that_are_not_exact_are_a_400_with_no_lists(login, staff_a, ledger_a, query, field):
    response = login(staff_a.viewer).get("/admin/reconciliation/workbench/", query)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    body = response.content.decode()
    assert "Correct the filters above" in body
    assert ledger_a.transaction.description not in body  # no unfiltered list under the filters
