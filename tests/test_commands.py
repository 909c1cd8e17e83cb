"""Management commands: which tenant ``--tenant`` names, what a dry run says, what ``--help`` lists."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from banking.models import ImportBatch
from invoices.management.commands.import_invoices import Command as ImportInvoicesCommand
from invoices.services import INVOICE_CSV_COLUMNS
from tenants.context import tenant_context
from tests.tenants.factories import UserFactory, make_tenant

pytestmark = pytest.mark.django_db

STATEMENT = Path(__file__).parent / "banking" / "fixtures" / "small.csv"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class TestTenantArgument:
    def test_a_squatted_name_is_refused_listing_the_ids_to_pass(self):
        real = make_tenant("Demo Company", owner=UserFactory(username="demo"))
        squat = make_tenant("demo company", owner=UserFactory(username="squatter"))
        for command in ("reconcile", "import_bank_statement", "import_invoices"):
            files = [str(STATEMENT)] if command != "reconcile" else []
            with pytest.raises(CommandError) as error:
                call_command(command, *files, "--tenant", "Demo Company", "--dry-run")
            message = str(error.value)
            assert "--tenant" in message and "id" in message, message
            assert set(UUID.findall(message)) == {str(real.id), str(squat.id)}, message
            assert "demo" in message and "squatter" in message  # owners, to tell them apart
        # The id always works, and the squatter's tenant stays untouched.
        out = io.StringIO()
        call_command("import_bank_statement", str(STATEMENT), "--tenant", str(real.id), stdout=out)
        assert "2 imported" in out.getvalue()
        with tenant_context(squat.id):
            assert not ImportBatch.objects.exists()

    def test_a_unique_name_any_case_and_an_id_resolve(self):
        tenant = make_tenant("Solo Ltd")
        for value in ("Solo Ltd", "solo ltd", f" {tenant.id} "):
            out = io.StringIO()
            call_command("reconcile", "--tenant", value, "--dry-run", stdout=out)
            assert "0 proposals" in out.getvalue()

    def test_unknown_names_and_ids_say_how_to_pass_the_id(self):
        with pytest.raises(CommandError, match=r"No tenant named 'Nobody'\. Pass the tenant's id"):
            call_command("reconcile", "--tenant", "Nobody")
        with pytest.raises(CommandError, match="No tenant with id 00000000-0000-0000-0000-000000000000"):
            call_command("reconcile", "--tenant", "00000000-0000-0000-0000-000000000000")


def test_statement_dry_run_names_no_batch_that_was_never_saved(world_a):
    out = io.StringIO()
    call_command(
        "import_bank_statement", str(STATEMENT), "--tenant", str(world_a.tenant.id), "--dry-run", stdout=out
    )
    text = out.getvalue()
    assert "[dry run, nothing saved]" in text
    assert "2 rows read, 2 would be imported, 0 duplicates" in text
    assert "batch" not in text and not UUID.search(text), text
    with tenant_context(world_a.tenant.id):
        assert not ImportBatch.objects.exists()


def test_import_invoices_help_lists_every_column_it_understands():
    text = ImportInvoicesCommand().create_parser("manage.py", "import_invoices").format_help()
    for name, headers in INVOICE_CSV_COLUMNS.items():
        line = next((line for line in text.splitlines() if line.strip().startswith(name + " ")), None)
        assert line is not None, f"{name} missing from --help:\n{text}"
        for header in headers:
            assert header in line, (name, header, line)
    assert "YYYY-MM-DD" in text


@pytest.mark.parametrize("command", ["import_bank_statement", "import_invoices", "import_remittance_advices"])
def test_import_commands_go_on_past_a_missing_file_and_fail_counting_it(world_a, tmp_path, command):
    """One shape for the file imports (jobs.commands.FileImportCommand): every file is tried,
    a missing one is named, and the command fails saying how many imported nothing."""
    err = io.StringIO()
    gone, also_gone = tmp_path / "gone.csv", tmp_path / "also-gone.csv"
    with pytest.raises(CommandError, match=r"^2 of 2 file\(s\) failed; they imported nothing\.$"):
        call_command(command, str(gone), str(also_gone), "--tenant", str(world_a.tenant.id), stderr=err)
    assert err.getvalue().splitlines() == [f"{gone}: no such file", f"{also_gone}: no such file"]


@pytest.mark.parametrize("command", ["import_bank_statement", "import_invoices"])
def test_queued_imports_refuse_a_dry_run(world_a, command):
    with pytest.raises(CommandError, match="--async and --dry-run do not go together"):
        call_command(command, str(STATEMENT), "--tenant", str(world_a.tenant.id), "--async", "--dry-run")
