"""import_invoices: all or nothing, existing numbers skipped and named, vendors created once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from invoices.models import Invoice, Vendor
from tenants.context import tenant_context
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def test_imports_creates_vendors_and_skips_existing_numbers(world_a, world_b, capsys):
    make_invoice(world_a.tenant, amount="1.00", number="INV-9002")
    make_invoice(world_b.tenant, amount="1.00", number="INV-9001")  # other tenant: no clash
    call_command("import_invoices", str(FIXTURES / "erp_export.csv"), "--tenant", str(world_a.tenant.id))
    out = capsys.readouterr().out
    assert "2 invoices created, 1 skipped" in out
    assert "INV-9002" in out
    with tenant_context(world_a.tenant.id):
        invoice = Invoice.objects.get(number="INV-9003")
        assert (invoice.amount, invoice.currency, invoice.vendor.name) == (
            Decimal("99.99"),
            "EUR",
            "Northwind Traders",
        )
        assert invoice.due_date is None
        assert Vendor.objects.count() == 1
        assert Invoice.objects.get(number="INV-9002").amount == Decimal("1.00")
    call_command("import_invoices", str(FIXTURES / "erp_export.csv"), "--tenant", "Acme Corp")
    assert "0 invoices created, 3 skipped" in capsys.readouterr().out


def test_invalid_rows_reject_the_whole_file_with_reasons_by_line(world_a, capsys):
    with pytest.raises(CommandError):
        call_command("import_invoices", str(FIXTURES / "erp_broken.csv"), "--tenant", str(world_a.tenant.id))
    err = capsys.readouterr().err
    for expected in ("line 3: amount", "line 4: amount", "line 5: number", "line 6: issue_date"):
        assert expected in err, err
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.count() == 0


def test_dry_run_saves_nothing(world_a, capsys):
    call_command(
        "import_invoices", str(FIXTURES / "erp_export.csv"), "--tenant", str(world_a.tenant.id), "--dry-run"
    )
    assert "3 would be created" in capsys.readouterr().out
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.count() == 0
