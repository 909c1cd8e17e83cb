"""``manage.py import_remittance_advices --tenant ID|NAME FILE... [--dry-run]``.

Each file (an ISO 20022 camt.054 notification or a CSV advice file, detected from its content) is
imported all or nothing inside the tenant's context, through the same service as the API and the
back office: the same checks, the same duplicate rule (an advice already stored is not stored
twice) and the same audit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from remittances.models import AdviceChannel
from remittances.services import ADVICE_FILE_MAX_BYTES, AdviceRejected, advice_file_import
from tenants.commands import AuditedCommand, add_tenant_argument, resolve_tenant
from tenants.context import tenant_context


class DryRunRollback(Exception):
    """Raised to roll a dry run back after it has counted everything."""


class Command(AuditedCommand):
    help = "Import remittance advice files (ISO 20022 camt.054 or the CSV advice format) for a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        add_tenant_argument(parser)
        parser.add_argument("--dry-run", action="store_true", help="Read and check, then roll back")

    def handle(
        self, *args: Any, files: list[Path], tenant: str, dry_run: bool = False, **options: Any
    ) -> None:
        tenant_obj = resolve_tenant(tenant)
        failures = 0
        for path in files:
            if not path.is_file():
                self.stderr.write(self.style.ERROR(f"{path}: no such file"))
                failures += 1
            elif path.stat().st_size > ADVICE_FILE_MAX_BYTES:
                self.stderr.write(
                    self.style.ERROR(f"{path}: larger than {ADVICE_FILE_MAX_BYTES} bytes; split it")
                )
                failures += 1
            elif not self._import_file(tenant_obj.id, path, dry_run):
                failures += 1
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) failed; they imported nothing.")

    def _import_file(self, tenant_id: Any, path: Path, dry_run: bool) -> bool:
        try:
            with tenant_context(tenant_id):
                result = advice_file_import(
                    data=path.read_bytes(), file_name=path.name, channel=AdviceChannel.COMMAND
                )
                summary = (
                    f"{path}: {result.format}, {result.received} advice(s) read, {result.imported} "
                    f"{'would be ' if dry_run else ''}imported, {result.duplicates} already there"
                )
                if dry_run:
                    raise DryRunRollback(summary)
        except DryRunRollback as rolled_back:
            self.stdout.write(f"[dry run, nothing saved] {rolled_back}")
            return True
        except AdviceRejected as rejected:
            self.stderr.write(self.style.ERROR(f"{path}: rejected, nothing imported. {rejected.detail}"))
            for location, messages in (rejected.errors or {}).items():
                self.stderr.write(f"  {location}: {'; '.join(messages)}")
            return False
        self.stdout.write(self.style.SUCCESS(summary))
        return True
