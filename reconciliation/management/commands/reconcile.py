"""``manage.py reconcile --tenant ID|NAME [--dry-run]``: run the matching engine for a tenant."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from common.errors import Conflict
from common.finance import format_money
from reconciliation.services import reconcile
from reconciliation.tasks import reconcile_enqueue
from tenants.commands import AuditedCommand, add_tenant_argument, resolve_tenant
from tenants.context import tenant_context


class Command(AuditedCommand):
    help = "Propose (and auto-confirm the safe) invoice/transaction matches for a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_argument(parser)
        parser.add_argument("--dry-run", action="store_true", help="Show the proposals, save nothing")
        parser.add_argument("--verbose-reasons", action="store_true", help="Print every proposal's reasons")
        parser.add_argument(
            "--async",
            dest="queue",
            action="store_true",
            help="Queue the run for a worker (or join the one queued or running) and print the job id",
        )

    def handle(self, *args: Any, tenant: str, dry_run: bool, verbose_reasons: bool, **options: Any) -> None:
        tenant_obj = resolve_tenant(tenant)
        if options["queue"]:
            with tenant_context(tenant_obj.id):
                job, created = reconcile_enqueue(dry_run=dry_run, actor=None, source="command")
            self.stdout.write(self.style.SUCCESS(f"{'queued' if created else 'joined'} job {job.id}"))
            return
        try:
            with tenant_context(tenant_obj.id):
                result = reconcile(dry_run=dry_run, source="command")
        except Conflict as error:
            raise CommandError(error.detail) from error
        for proposal in result.proposals:
            pairs = ", ".join(
                f"{a['transaction_id'][:8]}→{a['invoice_id'][:8]} {format_money(a['amount'], a['currency'])}"
                for a in proposal.allocations
            )
            flag = " [auto-confirmed]" if proposal.auto_confirmed else ""
            self.stdout.write(f"{proposal.confidence:.2f} {proposal.shape:<12} {pairs}{flag}")
            if verbose_reasons:
                for reason in proposal.reasons:
                    self.stdout.write(f"      - {reason['message']}")
        prefix = "[dry run, nothing saved] " if dry_run else f"run {result.run_id}: "
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}{len(result.proposals)} proposals, {result.auto_confirmed} auto-confirmed"
            )
        )
