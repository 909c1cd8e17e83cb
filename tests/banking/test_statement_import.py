"""Statement files end to end: every shared sample imports with the right count; the file API
and the bulk command follow the same all-or-nothing and duplicate rules."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from banking.models import BankAccount, BankTransaction, ImportBatch
from banking.services import ImportRejected, statement_import
from tenants.context import tenant_context
from tests.helpers import assert_problem
from tests.samples import statement_samples_dir

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = statement_samples_dir()

# Counts read from the files themselves (see shared/samples/statements/SOURCES.md).
EXPECTED_COUNTS = {
    "ofx/ofxparse__checking.ofx": 3,
    "ofx/ofxparse__bank_medium.ofx": 3,
    "ofx/ofxparse__multiple_accounts.ofx": 0,
    "ofx/ofxparse__suncorp.ofx": 1,
    "ofx/ofxparse__ofx-v102-empty-tags.ofx": 1,
    "ofx/bankfile__unnamed-bank_charset-8859-1-without-iso-prefix.qfx": 1,
    "camt053/genkgo-camt__camt053.v2.multi.statement.xml": 2,
    "camt053/genkgo-camt__camt053.v8.xml": 1,
    "camt053/actual__camt.053.xml": 7,
    "mt940/wolph-mt940__jejik_abnamro.sta": 10,
    "mt940/wolph-mt940__jejik_rabobank-iban.sta": 4,
    "mt940/wolph-mt940__betterplace_sepa_snippet.sta": 11,
    "mt940/wolph-mt940__mBank_mt940.sta": 3,
    "mt940/wolph-mt940__sberbank_171011_01234945.sta": 3,
    "mt940/actual__data.sta": 6,
    "csv/csv2ofx__gls.csv": 1,
    "csv/csv2ofx__ubs-ch-fr_trimmed.csv": 3,
    "csv/csv2ofx__c24.csv": 3,
    "csv/csv2ofx__dbs.csv": 9,
    "csv/csv2ofx__schwab-checking.csv": 4,
}

# Fails when STATEMENT_SAMPLES_DIR names a folder without them, skips when unset (tests/samples.py).
needs_samples = pytest.mark.usefixtures("statement_samples")


@needs_samples
@pytest.mark.parametrize("relative", sorted(EXPECTED_COUNTS))
def test_every_shared_sample_imports_every_transaction_once(world_a, relative):
    path = SAMPLES / relative
    with tenant_context(world_a.tenant.id):
        with open(path, "rb") as stream:
            result = statement_import(stream=stream, file_name=path.name, csv_options=None)
        assert result.imported == EXPECTED_COUNTS[relative], relative
        assert result.duplicates == 0
        assert BankTransaction.objects.count() == EXPECTED_COUNTS[relative]
        assert result.batch.file_format == relative.split("/")[0]
        assert len(result.batch.file_sha256) == 64
        # Importing the same file again (as under a new Idempotency-Key) imports nothing.
        with open(path, "rb") as stream:
            again = statement_import(stream=stream, file_name=path.name)
        assert (again.imported, again.duplicates) == (0, EXPECTED_COUNTS[relative])


@needs_samples
def test_multi_account_statement_creates_each_account(world_a):
    path = SAMPLES / "mt940/wolph-mt940__betterplace_sepa_snippet.sta"
    with tenant_context(world_a.tenant.id):
        with open(path, "rb") as stream:
            statement_import(stream=stream, file_name=path.name)
        accounts = list(BankAccount.objects.values_list("identifier", flat=True))
        assert len(accounts) == 2
        assert all(BankTransaction.objects.filter(account__identifier=a).exists() for a in accounts)


def test_own_csv_fixture_amounts_signs_and_dates(world_a):
    with tenant_context(world_a.tenant.id):
        with open(FIXTURES / "small.csv", "rb") as stream:
            statement_import(stream=stream, file_name="small.csv")
        rows = sorted(BankTransaction.objects.values_list("booking_date", "amount", "currency"))
    assert [(str(d), a, c) for d, a, c in rows] == [
        ("2023-10-25", Decimal("150.0000"), "USD"),
        ("2023-10-26", Decimal("-2.5000"), "USD"),
    ]


def test_malformed_file_names_the_lines_and_imports_nothing(world_a):
    with tenant_context(world_a.tenant.id):
        with pytest.raises(ImportRejected) as rejected, open(FIXTURES / "malformed.csv", "rb") as stream:
            statement_import(stream=stream, file_name="malformed.csv")
        assert BankTransaction.objects.count() == 0
        assert ImportBatch.objects.count() == 0
    locations = " ".join(rejected.value.errors)
    assert "line 3" in locations
    assert "line 4" in locations


def test_file_api_is_idempotent_and_rejects_garbage(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    url = f"/v1/tenants/{world_a.tenant.id}/bank-transactions/import-file"

    def upload(name: str, content: bytes, key: str, **fields):
        handle = io.BytesIO(content)
        handle.name = name
        return client.post(url, {"file": handle, **fields}, format="multipart", HTTP_IDEMPOTENCY_KEY=key)

    content = (FIXTURES / "small.csv").read_bytes()
    first = upload("small.csv", content, "file-1")
    assert first.status_code == 201, first.content
    assert first.json()["imported"] == 2
    replay = upload("small.csv", content, "file-1")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert_problem(upload("other.csv", content + b"27.10.2023;x;1,00\n", "file-1"), 422)
    assert upload("small.csv", content, "file-2").json()["duplicates"] == 2
    assert_problem(upload("junk.bin", b"\x00\x01 not a statement", "file-3"), 400)
    assert_problem(upload("small.csv", content, "file-4", format="pdf"), 400)
    assert_problem(client.post(url, {}, format="multipart", HTTP_IDEMPOTENCY_KEY="file-5"), 400)
    assert_problem(upload("small.csv", content, ""), 400)
    with tenant_context(world_a.tenant.id):
        assert BankTransaction.objects.count() == 2


def test_bulk_command_imports_dry_runs_and_fails_cleanly(world_a, capsys):
    tenant = str(world_a.tenant.id)
    call_command("import_bank_statement", str(FIXTURES / "small.csv"), "--tenant", tenant, "--dry-run")
    assert "dry run" in capsys.readouterr().out
    with tenant_context(world_a.tenant.id):
        assert BankTransaction.objects.count() == 0
    call_command("import_bank_statement", str(FIXTURES / "small.csv"), "--tenant", "acme corp")
    assert "2 imported, 0 duplicates" in capsys.readouterr().out
    call_command("import_bank_statement", str(FIXTURES / "small.csv"), "--tenant", tenant)
    assert "0 imported, 2 duplicates" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("import_bank_statement", str(FIXTURES / "malformed.csv"), "--tenant", tenant)
    assert "line 3" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command("import_bank_statement", str(FIXTURES / "small.csv"), "--tenant", "no such tenant")
    with tenant_context(world_a.tenant.id):
        assert BankTransaction.objects.count() == 2
