"""Invoice and vendor services called directly, as admin, commands and jobs will call them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import ProtectedError

from common.errors import Conflict, InvalidInput, NotFound
from invoices import services
from invoices.models import Invoice, Vendor
from tenants.context import TenantContextRequired, tenant_context
from tenants.models import AuditEvent, TenantSettings
from tests.invoices.factories import count_rows, make_invoice, make_vendor, record_payment

pytestmark = pytest.mark.django_db


class TestInvoiceCreate:
    @pytest.mark.parametrize(
        ("amount", "stored"),
        [
            (Decimal("150.00"), Decimal("150.00")),
            ("0.10", Decimal("0.10")),
            (7, Decimal("7")),
            (" 12.5 ", Decimal("12.50")),
        ],
    )
    def test_amount_is_exact(self, world_a, amount, stored):
        with tenant_context(world_a.tenant.id):
            invoice = services.invoice_create(amount=amount, description="x")
            assert Invoice.objects.get(id=invoice.id).amount == stored

    @pytest.mark.parametrize("amount", [0.1, Decimal("0.001"), Decimal("-1"), "1,5", True])
    def test_bad_amounts_are_invalid_input(self, world_a, amount):
        with tenant_context(world_a.tenant.id):
            with pytest.raises(InvalidInput) as caught:
                services.invoice_create(amount=amount, description="x")
        assert "amount" in caught.value.errors
        assert count_rows(world_a.tenant, Invoice) == 0

    def test_all_field_errors_are_reported_together(self, world_a):
        with tenant_context(world_a.tenant.id):
            with pytest.raises(InvalidInput) as caught:
                services.invoice_create(amount="1", currency="XYZ", kind="gift", vendor_name="   ")
        assert set(caught.value.errors) == {"currency", "kind", "vendor_name"}

    def test_default_currency_falls_back_to_usd_without_settings(self, world_a):
        with tenant_context(world_a.tenant.id):
            TenantSettings.objects.update(default_currency="SEK")
            assert services.invoice_create(amount="1", description="x").currency == "SEK"
            TenantSettings.objects.all().delete()
            assert services.invoice_create(amount="1", description="x").currency == "USD"

    def test_number_race_lost_in_the_database_is_a_conflict(self, world_a, monkeypatch):
        make_invoice(world_a.tenant, number="INV-1")
        # Simulate a concurrent insert that passed the pre-check: the unique constraint decides.
        monkeypatch.setattr(services, "_ensure_number_free", lambda number, **kwargs: None)
        with tenant_context(world_a.tenant.id):
            with pytest.raises(Conflict):
                services.invoice_create(amount="1", description="x", number="INV-1", vendor_name="New Co")
            # The transaction is still usable and the vendor created on the way is gone.
            assert not Vendor.objects.filter(name="New Co").exists()
        assert count_rows(world_a.tenant, Invoice) == 1

    def test_needs_a_tenant_context(self, db):
        with pytest.raises(TenantContextRequired):
            services.invoice_create(amount="1", description="x")


class TestInvoiceUpdateDelete:
    def test_other_tenants_invoice_is_not_found(self, world_a, world_b):
        invoice = make_invoice(world_b.tenant)
        with tenant_context(world_a.tenant.id):
            with pytest.raises(NotFound):
                services.invoice_update(invoice_id=invoice.id, data={"description": "x"})
            with pytest.raises(NotFound):
                services.invoice_delete(invoice_id=invoice.id)
        assert count_rows(world_b.tenant, Invoice) == 1

    def test_void_keeps_amounts(self, world_a):
        invoice = make_invoice(world_a.tenant, amount=Decimal("80.00"))
        record_payment(world_a.tenant, invoice, Decimal("30.00"))
        with tenant_context(world_a.tenant.id):
            voided = services.invoice_update(invoice_id=invoice.id, data={"status": "void"})
            assert (voided.status, voided.amount, voided.amount_paid) == (
                "void",
                Decimal("80.00"),
                Decimal("30.00"),
            )

    def test_void_is_its_own_action_audited_once_and_refused_twice(self, world_a):
        invoice = make_invoice(world_a.tenant, amount=Decimal("80.00"))
        with tenant_context(world_a.tenant.id):
            voided = services.invoice_void(invoice_id=invoice.id, actor=world_a.accountant)
            assert voided.status == "void"
            with pytest.raises(Conflict, match="already void"):
                services.invoice_void(invoice_id=invoice.id, actor=world_a.accountant)
            events = list(
                AuditEvent.objects.filter(object_id=invoice.id).values_list("action", "before", "after")
            )
        assert events == [("invoice.voided", {"status": "open"}, {"status": "void"})]

    def test_void_with_other_fields_is_one_write_and_one_voided_event(self, world_a):
        invoice = make_invoice(world_a.tenant, description="Old")
        with tenant_context(world_a.tenant.id):
            services.invoice_update(invoice_id=invoice.id, data={"status": "void", "description": "Gone"})
            actions = list(AuditEvent.objects.filter(object_id=invoice.id).values_list("action", flat=True))
            invoice.refresh_from_db()
        assert (invoice.status, invoice.description, actions) == ("void", "Gone", ["invoice.voided"])

    def test_protected_references_make_delete_a_conflict(self, world_a, monkeypatch):
        invoice = make_invoice(world_a.tenant)

        def protected(self, *args, **kwargs):
            raise ProtectedError("referenced by matches", set())

        monkeypatch.setattr(Invoice, "delete", protected)
        with tenant_context(world_a.tenant.id):
            with pytest.raises(Conflict, match="void"):
                services.invoice_delete(invoice_id=invoice.id)
        assert count_rows(world_a.tenant, Invoice) == 1

    def test_partially_paid_cannot_be_deleted(self, world_a):
        invoice = make_invoice(world_a.tenant)
        record_payment(world_a.tenant, invoice, Decimal("1.00"))
        with tenant_context(world_a.tenant.id):
            with pytest.raises(Conflict, match="void it instead"):
                services.invoice_delete(invoice_id=invoice.id)


class TestVendors:
    @pytest.mark.parametrize(
        ("raw", "normalised"),
        [
            ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
            ("gb82west12345698765432", "GB82WEST12345698765432"),
            ("NO93 8601 1117 947", "NO9386011117947"),
            ("  ", ""),
        ],
    )
    def test_valid_ibans(self, raw, normalised):
        assert services.normalize_iban(raw) == normalised

    @pytest.mark.parametrize(
        "raw",
        ["DE88370400440532013000", "GB82WEST1234569876543Z", "DE89", "XX00", "DE89-3704-0044-0532-0130-00"],
    )
    def test_invalid_ibans(self, raw):
        with pytest.raises(InvalidInput) as caught:
            services.normalize_iban(raw)
        assert "iban" in caught.value.errors

    def test_vendor_with_invoices_cannot_be_deleted(self, world_a):
        vendor = make_vendor(world_a.tenant)
        make_invoice(world_a.tenant, vendor=vendor)
        with tenant_context(world_a.tenant.id):
            with pytest.raises(Conflict):
                services.vendor_delete(vendor_id=vendor.id)
        assert count_rows(world_a.tenant, Vendor) == 1

    def test_name_race_lost_in_the_database_is_a_conflict(self, world_a, monkeypatch):
        make_vendor(world_a.tenant, name="Initech")
        monkeypatch.setattr(services, "_ensure_vendor_name_free", lambda name, **kwargs: None)
        with tenant_context(world_a.tenant.id):
            with pytest.raises(Conflict):
                services.vendor_create(name="Initech")
        assert count_rows(world_a.tenant, Vendor) == 1

    def test_update_only_touches_given_fields(self, world_a):
        vendor = make_vendor(world_a.tenant, name="Initech", iban="DE89370400440532013000", aliases=["INI"])
        with tenant_context(world_a.tenant.id):
            services.vendor_update(vendor_id=vendor.id, data={"account_reference": " 42 "})
            stored = Vendor.objects.get(id=vendor.id)
        assert (stored.name, stored.iban, stored.aliases, stored.account_reference) == (
            "Initech",
            "DE89370400440532013000",
            ["INI"],
            "42",
        )
