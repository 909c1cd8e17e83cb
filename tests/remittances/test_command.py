"""``manage.py import_remittance_advices``: the same import as the API, all or nothing per file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from remittances.models import RemittanceAdvice
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db

CAMT = Path(__file__).parent / "fixtures" / "batch.camt054.xml"


def test_files_are_imported_and_a_bad_one_imports_nothing(world_a, tmp_path):
    good_csv = tmp_path / "good.csv"
    good_csv.write_text("advice;invoice;amount;currency\nRA-1;INV-1;10.00;USD\nRA-1;INV-2;5.00;USD\n")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("advice;invoice;amount;currency\nRA-2;INV-3;ten;USD\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 of 3 file"):
        call_command(
            "import_remittance_advices",
            str(good_csv),
            str(CAMT),
            str(bad_csv),
            "--tenant",
            str(world_a.tenant.id),
            stdout=out,
            stderr=err,
        )
    assert "good.csv: csv, 1 advice(s) read, 1 imported, 0 already there" in out.getvalue()
    assert "batch.camt054.xml: camt054, 1 advice(s) read, 1 imported" in out.getvalue()
    assert "bad.csv: rejected, nothing imported" in err.getvalue() and "line 2" in err.getvalue()
    with tenant_context(world_a.tenant.id):
        assert set(RemittanceAdvice.objects.values_list("payment_reference", "channel")) == {
            ("RA-1", "command"),
            ("PAYRUN-5531", "command"),
        }


def test_dry_run_saves_nothing(world_a):
    out = io.StringIO()
    call_command(
        "import_remittance_advices", str(CAMT), "--tenant", str(world_a.tenant.id), "--dry-run", stdout=out
    )
    assert "[dry run, nothing saved]" in out.getvalue() and "1 would be imported" in out.getvalue()
    with tenant_context(world_a.tenant.id):
        assert not RemittanceAdvice.objects.exists()
