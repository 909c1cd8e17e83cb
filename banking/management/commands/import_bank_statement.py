"""``manage.py import_bank_statement --tenant ID|NAME FILE... [--format F] [--dry-run]``.

Each file is imported all or nothing inside the tenant's context, streamed through COPY in
chunks (memory stays bounded whatever the file size), with the API's duplicate rules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from banking import selectors
from banking.models import ImportSource
from banking.services import ImportRejected, statement_import
from banking.statements import SUPPORTED_FORMATS, CsvOptions
from banking.tasks import statement_import_job
from common.progress import ProgressBar
from jobs.commands import DryRunRollback, FileImportCommand
from tenants.context import tenant_context


class Command(FileImportCommand):
    help = "Import bank statement files (CSV, OFX/QFX, CAMT.053, MT940) for a tenant."
    queue_task = statement_import_job

    def add_import_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=SUPPORTED_FORMATS, help="Skip format detection")
        parser.add_argument("--account", help="Account for files that do not name one (CSV)")
        parser.add_argument("--currency", help="Currency for CSV files without a currency column")
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected)")
        parser.add_argument("--decimal", choices=[",", "."], help="CSV decimal mark (default: detected)")
        parser.add_argument("--date-format", help="CSV date format, strptime style (default: detected)")

    def queue_params(self, options: dict[str, Any]) -> dict[str, Any]:
        csv_options = {
            name: value
            for name, value in {
                "delimiter": options["delimiter"],
                "decimal": options["decimal"],
                "date_format": options["date_format"],
                "currency": (options["currency"] or "").upper(),
            }.items()
            if value
        }
        return {
            "file_format": options["format"] or "",
            "account": options["account"] or "",
            "import_source": ImportSource.COMMAND,
            "csv_options": csv_options,
        }

    def import_file(self, tenant_id: Any, path: Path, options: dict[str, Any]) -> bool:
        csv_options = CsvOptions(
            delimiter=options["delimiter"],
            decimal=options["decimal"],
            date_format=options["date_format"],
            currency=(options["currency"] or "").upper(),
        )
        size = os.path.getsize(path)
        with open(path, "rb") as stream:
            progress = ProgressBar(path.name, size)
            try:
                with tenant_context(tenant_id):
                    result = statement_import(
                        stream=stream,
                        file_name=path.name,
                        file_format=options["format"],
                        csv_options=csv_options,
                        source=ImportSource.COMMAND,
                        default_account=options["account"],
                        return_ids=False,
                        progress=lambda rows: progress.update(rows, stream.tell()),
                    )
                    if options["dry_run"]:  # the batch is rolled back with the rows: no id to show
                        raise DryRunRollback(
                            f"{path}: {result.received} rows read, {result.imported} would be imported, "
                            f"{result.duplicates} duplicates, 0 rejected"
                        )
                    summary = (
                        f"{path}: {result.received} rows read, {result.imported} imported, "
                        f"{result.duplicates} duplicates, 0 rejected (batch {result.batch.id})"
                    )
                    # Imported all the same: what a person should look at next.
                    breaks = [
                        f"  statement {statement}: {check.detail}"
                        for statement in result.statements
                        for check in selectors.statement_breaks(statement)
                    ]
                    transfers = result.internal_transfers
            except DryRunRollback as dry_run:
                progress.close()
                self.stdout.write(f"[dry run, nothing saved] {dry_run}")
                return True
            except ImportRejected as rejected:
                progress.close()
                self.write_rejection(path, rejected.detail, rejected.errors)
                return False
        progress.close()
        self.stdout.write(self.style.SUCCESS(summary))
        for line in breaks:
            self.stdout.write(self.style.WARNING(line))
        if transfers:
            self.stdout.write(
                f"  {transfers} transfer(s) between your own accounts paired (not matched to invoices)"
            )
        return True
