"""``manage.py import_remittance_advices --tenant ID|NAME FILE... [--dry-run]``.

Each file (an ISO 20022 camt.054 notification or a CSV advice file, detected from its content) is
imported all or nothing inside the tenant's context, through the same service as the API and the
back office: the same checks, the same duplicate rule (an advice already stored is not stored
twice) and the same audit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs.commands import DryRunRollback, FileImportCommand
from remittances.models import AdviceChannel
from remittances.services import ADVICE_FILE_MAX_BYTES, AdviceRejected, advice_file_import
from tenants.context import tenant_context


class Command(FileImportCommand):
    help = "Import remittance advice files (ISO 20022 camt.054 or the CSV advice format) for a tenant."
    dry_run_help = "Read and check, then roll back"

    def import_file(self, tenant_id: Any, path: Path, options: dict[str, Any]) -> bool:
        if path.stat().st_size > ADVICE_FILE_MAX_BYTES:
            message = f"{path}: larger than {ADVICE_FILE_MAX_BYTES} bytes; split it"
            self.stderr.write(self.style.ERROR(message))
            return False
        dry_run = options["dry_run"]
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
            self.write_rejection(path, rejected.detail, rejected.errors)
            return False
        self.stdout.write(self.style.SUCCESS(summary))
        return True
