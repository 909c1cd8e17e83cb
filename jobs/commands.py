"""The file import commands' shared shape (statements, invoices, remittance advices).

``manage.py <import> --tenant ID|NAME FILE... [app options] [--dry-run] [--async]``: each file
is imported all or nothing inside the tenant's context, or (``--async``, where the app has an
import job) stored with a job that a worker imports. One file's failure does not stop the others;
the command fails at the end, saying how many files imported nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from tenants.commands import AuditedCommand, add_tenant_argument, resolve_tenant
from tenants.context import tenant_context

from .queue import TenantTask
from .services import job_enqueue_with_input


class DryRunRollback(Exception):
    """Raised inside the tenant's context to roll a dry run back after it has counted everything."""


class FileImportCommand(AuditedCommand):
    """Files in, for one tenant: arguments, the loop over the files, queueing, refusals.

    Subclasses add their options (``add_import_arguments``) and import one file
    (``import_file``: True when it imported); with ``queue_task`` set, ``--async`` stores each
    file with that job instead (``queue_params``: the job's parameters from the options).
    """

    dry_run_help = "Parse and count, then roll back"
    queue_task: TenantTask | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        add_tenant_argument(parser)
        self.add_import_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help=self.dry_run_help)
        if self.queue_task is not None:
            parser.add_argument(
                "--async",
                dest="queue",
                action="store_true",
                help="Store each file with a job and let a worker import it (prints the job ids)",
            )

    def add_import_arguments(self, parser: CommandParser) -> None:
        """The app's own options (between ``--tenant`` and ``--dry-run`` in ``--help``)."""

    def import_file(self, tenant_id: uuid.UUID, path: Path, options: dict[str, Any]) -> bool:
        raise NotImplementedError

    def queue_params(self, options: dict[str, Any]) -> dict[str, Any]:
        return {}

    def handle(self, *args: Any, files: list[Path], tenant: str, **options: Any) -> None:
        tenant_obj = resolve_tenant(tenant)
        queue = options.get("queue", False)
        if queue and options["dry_run"]:
            raise CommandError("--async and --dry-run do not go together: a dry run reports at once.")
        failures = 0
        for path in files:
            if not path.is_file():
                self.stderr.write(self.style.ERROR(f"{path}: no such file"))
                failures += 1
            elif not (self.queue_file if queue else self.import_file)(tenant_obj.id, path, options):
                failures += 1
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) failed; they imported nothing.")

    def queue_file(self, tenant_id: uuid.UUID, path: Path, options: dict[str, Any]) -> bool:
        """Store the file with ``queue_task``'s job; a worker imports it all or nothing."""
        assert self.queue_task is not None
        limit = settings.IMPORT_ASYNC_MAX_BYTES
        if os.path.getsize(path) > limit:
            message = f"{path}: larger than {limit} bytes: import it without --async"
            self.stderr.write(self.style.ERROR(message))
            return False
        with tenant_context(tenant_id):
            job = job_enqueue_with_input(
                task=self.queue_task,
                params=self.queue_params(options),
                content=path.read_bytes(),
                file_name=path.name,
                source="command",
            )
        self.stdout.write(self.style.SUCCESS(f"{path}: queued as job {job.id}"))
        return True

    def write_rejection(self, path: Path, detail: str, errors: Mapping[str, list[str]] | None) -> None:
        """A refused file: the reason, then each location with its problems."""
        self.stderr.write(self.style.ERROR(f"{path}: rejected, nothing imported. {detail}"))
        for location, messages in (errors or {}).items():
            self.stderr.write(f"  {location}: {'; '.join(messages)}")
