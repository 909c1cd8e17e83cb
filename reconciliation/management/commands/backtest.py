"""``manage.py backtest --tenant ID|NAME [--thresholds 0.80:0.99:0.01]``: calibrate auto-confirmation.

Replays the tenant's decided matches through the engine (reads only) and prints, per threshold,
how many matches would have been auto-confirmed and how many of them wrongly, then the
recommended threshold and shadow mode's measured precision (reconciliation.backtest).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from common.errors import DomainError
from reconciliation import backtest
from reconciliation.tasks import backtest_enqueue
from tenants.commands import AuditedCommand, add_tenant_argument, resolve_tenant
from tenants.context import tenant_context


def report_lines(report: backtest.BacktestReport) -> list[str]:
    """The report as the command prints it: a table, the recommendation, the evidence."""
    calibration = report.calibration
    lines = [
        f"{'threshold':>9}  {'auto':>6}  {'correct':>7}  {'wrong':>5}  {'unlabelled':>10}  {'precision':>9}"
    ]
    for row in calibration.outcomes:
        precision = "—" if row.precision is None else f"{row.precision:.4f}"
        marker = "  <- recommended" if row.threshold == calibration.recommended_threshold else ""
        lines.append(
            f"{row.threshold:>9}  {row.auto_confirmed:>6}  {row.correct:>7}  {row.wrong:>5}  "
            f"{row.unlabelled:>10}  {precision:>9}{marker}"
        )
    decisions = report.decisions
    limited = " (the newest only: older ones left out)" if report.decisions_limited else ""
    current = "off" if report.current_threshold is None else str(report.current_threshold)
    shadow = report.shadow
    measured = "—" if shadow.precision is None else f"{shadow.precision:.4f}"
    lines += [
        "",
        f"recommended threshold: {calibration.recommended_threshold or 'none'}",
        f"  {calibration.recommendation}",
        f"decisions replayed: {decisions.get('confirmed', 0)} confirmed, {decisions.get('rejected', 0)} "
        f"rejected, {decisions.get('undone', 0)} undone{limited}",
        f"engine run: {report.invoices_considered} invoices, {report.transactions_considered} transactions, "
        f"{calibration.proposals} proposals ({calibration.labelled_proposals} about decided items)",
        f"current threshold: {current}; shadow mode: {'on' if report.shadow_mode else 'off'}",
        f"shadow flags: {shadow.flagged} ({shadow.confirmed} confirmed, {shadow.rejected} rejected, "
        f"{shadow.undone} undone, {shadow.pending} pending); measured precision {measured}",
    ]
    for example in calibration.wrong_examples:
        pairs = ", ".join(f"{invoice[:8]}<-{transaction[:8]}" for invoice, transaction in example.pairs)
        lines.append(f"  wrong at {example.confidence}: {example.verdict} ({pairs})")
    return lines


class Command(AuditedCommand):
    help = "Replay a tenant's decided matches: per threshold, auto-confirmations and wrong ones."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_argument(parser)
        parser.add_argument(
            "--thresholds",
            default="0.80:0.99:0.01",
            help="start:stop:step (stop included) or a comma-separated list; default 0.80:0.99:0.01",
        )
        parser.add_argument(
            "--async",
            dest="queue",
            action="store_true",
            help="Queue the backtest for a worker (or join the same one) and print the job id",
        )

    def handle(self, *args: Any, tenant: str, thresholds: str, queue: bool, **options: Any) -> None:
        tenant_obj = resolve_tenant(tenant)
        try:
            values = backtest.parse_thresholds(thresholds)
            with tenant_context(tenant_obj.id):
                if queue:
                    job, created = backtest_enqueue(thresholds=values, actor=None, source="command")
                    self.stdout.write(self.style.SUCCESS(f"{'queued' if created else 'joined'} job {job.id}"))
                    return
                report = backtest.backtest_run(thresholds=values)
        except DomainError as error:
            raise CommandError(error.detail) from error
        for line in report_lines(report):
            self.stdout.write(line)
