"""``manage.py import_bank_statement --tenant ID|NAME FILE... [--format F] [--dry-run]``.

Each file is imported all or nothing inside the tenant's context, streamed through COPY in
chunks (memory stays bounded whatever the file size), with the API's duplicate rules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from banking import selectors
from banking.models import ImportSource
from banking.services import ImportRejected, statement_import
from banking.statements import SUPPORTED_FORMATS, CsvOptions
from banking.tasks import statement_import_job
from common.progress import ProgressBar
from jobs.services import job_enqueue_with_input
from tenants.commands import AuditedCommand, add_tenant_argument, resolve_tenant
from tenants.context import tenant_context


class DryRunRollback(Exception):
    """Raised to roll a dry run back after it has counted everything."""


class Command(AuditedCommand):
    help = "Import bank statement files (CSV, OFX/QFX, CAMT.053, MT940) for a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        add_tenant_argument(parser)
        parser.add_argument("--format", choices=SUPPORTED_FORMATS, help="Skip format detection")
        parser.add_argument("--account", help="Account for files that do not name one (CSV)")
        parser.add_argument("--currency", help="Currency for CSV files without a currency column")
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected)")
        parser.add_argument("--decimal", choices=[",", "."], help="CSV decimal mark (default: detected)")
        parser.add_argument("--date-format", help="CSV date format, strptime style (default: detected)")
        parser.add_argument("--dry-run", action="store_true", help="Parse and count, then roll back")
        parser.add_argument(
            "--async",
            dest="queue",
            action="store_true",
            help="Store each file with a job and let a worker import it (prints the job ids)",
        )

    def handle(self, *args: Any, files: list[Path], tenant: str, **options: Any) -> None:
        tenant_obj = resolve_tenant(tenant)
        if options["queue"] and options["dry_run"]:
            raise CommandError("--async and --dry-run do not go together: a dry run reports at once.")
        failures = 0
        for path in files:
            if not path.is_file():
                self.stderr.write(self.style.ERROR(f"{path}: no such file"))
                failures += 1
                continue
            if options["queue"]:
                failures += 0 if self._queue_file(tenant_obj.id, path, options) else 1
                continue
            failures += 0 if self._import_file(tenant_obj.id, path, options) else 1
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) failed; they imported nothing.")

    def _queue_file(self, tenant_id: Any, path: Path, options: dict[str, Any]) -> bool:
        """Store the file with a job (banking/tasks.py); a worker imports it all or nothing."""
        limit = settings.IMPORT_ASYNC_MAX_BYTES
        if os.path.getsize(path) > limit:
            message = f"{path}: larger than {limit} bytes: import it without --async"
            self.stderr.write(self.style.ERROR(message))
            return False
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
        with tenant_context(tenant_id):
            job = job_enqueue_with_input(
                task=statement_import_job,
                params={
                    "file_format": options["format"] or "",
                    "account": options["account"] or "",
                    "import_source": ImportSource.COMMAND,
                    "csv_options": csv_options,
                },
                content=path.read_bytes(),
                file_name=path.name,
                source="command",
            )
        self.stdout.write(self.style.SUCCESS(f"{path}: queued as job {job.id}"))
        return True

    def _import_file(self, tenant_id: Any, path: Path, options: dict[str, Any]) -> bool:
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
                self.stderr.write(self.style.ERROR(f"{path}: rejected, nothing imported. {rejected.detail}"))
                for location, messages in (rejected.errors or {}).items():
                    self.stderr.write(f"  {location}: {'; '.join(messages)}")
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
