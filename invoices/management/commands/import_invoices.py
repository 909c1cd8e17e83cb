"""``manage.py import_invoices --tenant ID|NAME FILE.csv [--dry-run]``: invoices from an ERP export.

The CSV needs a header row; ``--help`` lists the columns understood, generated from
``invoices.services.INVOICE_CSV_COLUMNS`` (the one place they are defined). All or nothing per
file; numbers that already exist are skipped and listed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser, DjangoHelpFormatter

from common.progress import ProgressBar
from invoices.models import InvoiceKind
from invoices.services import (
    INVOICE_CSV_COLUMNS,
    InvoiceImportRejected,
    invoice_bulk_import,
    invoice_csv_rows,
)
from invoices.tasks import invoice_import_job
from jobs.services import job_enqueue_with_input
from tenants.commands import AuditedCommand, add_tenant_argument, resolve_tenant
from tenants.context import tenant_context


class DryRunRollback(Exception):
    """Raised to roll a dry run back after counting."""


def columns_help() -> str:
    """The columns ``map_invoice_csv_header`` understands, for ``--help``."""
    width = max(len(name) for name in INVOICE_CSV_COLUMNS)
    lines = ["Columns understood (header names; case, spaces and dashes do not matter):"]
    for name, headers in INVOICE_CSV_COLUMNS.items():
        required = "  (required)" if name == "amount" else ""
        lines.append(f"  {name:<{width}}  {', '.join(headers)}{required}")
    lines += [
        "Dates are YYYY-MM-DD; the currency defaults to the tenant's; "
        f"kind is one of {', '.join(InvoiceKind.values)} (default {InvoiceKind.RECEIVABLE.value}).",
        "Other columns are ignored.",
    ]
    return "\n".join(lines)


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, with the column list's line breaks kept."""


class Command(AuditedCommand):
    help = "Import invoices from CSV files (all or nothing per file; existing numbers are skipped)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, epilog=columns_help(), **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        add_tenant_argument(parser)
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected among , ; tab |)")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, then roll back")
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
        importer = self._queue if options["queue"] else self._import
        failures = sum(0 if importer(tenant_obj.id, path, options) else 1 for path in files)
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) failed; they imported nothing.")

    def _queue(self, tenant_id: Any, path: Path, options: dict[str, Any]) -> bool:
        """Store the file with a job (invoices/tasks.py); a worker imports it all or nothing."""
        if not path.is_file():
            self.stderr.write(self.style.ERROR(f"{path}: no such file"))
            return False
        limit = settings.IMPORT_ASYNC_MAX_BYTES
        if os.path.getsize(path) > limit:
            message = f"{path}: larger than {limit} bytes: import it without --async"
            self.stderr.write(self.style.ERROR(message))
            return False
        with tenant_context(tenant_id):
            job = job_enqueue_with_input(
                task=invoice_import_job,
                params={"delimiter": options["delimiter"] or ""},
                content=path.read_bytes(),
                file_name=path.name,
                source="command",
            )
        self.stdout.write(self.style.SUCCESS(f"{path}: queued as job {job.id}"))
        return True

    def _import(self, tenant_id: Any, path: Path, options: dict[str, Any]) -> bool:
        if not path.is_file():
            self.stderr.write(self.style.ERROR(f"{path}: no such file"))
            return False
        progress = ProgressBar(path.name, os.path.getsize(path))
        with open(path, encoding="utf-8-sig", newline="") as handle:
            try:
                with tenant_context(tenant_id):
                    result = invoice_bulk_import(
                        rows=invoice_csv_rows(handle, delimiter=options["delimiter"]),
                        progress=lambda rows: progress.update(rows, handle.tell()),
                    )
                    if options["dry_run"]:
                        raise DryRunRollback
            except DryRunRollback:
                progress.close()
                self.stdout.write(
                    f"[dry run, nothing saved] {path}: {result.rows} rows, "
                    f"{result.created} would be created, {len(result.skipped_existing)} already exist"
                )
                return True
            except InvoiceImportRejected as rejected:
                progress.close()
                self.stderr.write(self.style.ERROR(f"{path}: rejected, nothing imported. {rejected.detail}"))
                for location, messages in (rejected.errors or {}).items():
                    self.stderr.write(f"  {location}: {'; '.join(messages)}")
                return False
            except UnicodeDecodeError as error:
                progress.close()
                self.stderr.write(self.style.ERROR(f"{path}: not UTF-8 text ({error}); nothing imported."))
                return False
        progress.close()
        skipped = result.skipped_existing
        self.stdout.write(
            self.style.SUCCESS(
                f"{path}: {result.rows} rows, {result.created} invoices created, {len(skipped)} skipped "
                f"(number already exists), {result.vendors_created} vendors created, 0 rejected"
            )
        )
        if skipped:
            shown = ", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else "")
            self.stdout.write(f"  skipped existing numbers: {shown}")
        return True
