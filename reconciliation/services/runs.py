"""Runs of the engine: ``reconcile`` reads a tenant's open books, runs the engine and stores
the run (``run_writer``); ``explain_pair`` judges one pair as a run would.

``reconcile(...)`` (in the tenant's context) is the one service function behind the REST API, GraphQL, the
admin and ``manage.py reconcile``. The engine itself (``reconciliation.engine``) is pure; this
module turns rows into engine inputs, ``run_writer`` turns its proposals back into rows.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db import connection

from common.errors import Conflict
from common.memory import cyclic_gc_paused
from events.services import events_record
from remittances import selectors as remittance_selectors
from tenants.audit import Actor, actor_user
from tenants.context import require_tenant_id

from .. import engine, events, selectors
from ..models import ReconciliationRun
from . import run_writer
from .presenters import ReconcileResult, proposal_currencies, run_proposal
from .run_writer import RunProgress, no_progress

# --- Runs ---------------------------------------------------------------------------------------------


def _settings_snapshot(settings: engine.EngineSettings) -> dict[str, Any]:
    snapshot = {}
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        snapshot[item.name] = str(value) if isinstance(value, Decimal) else value
    snapshot["fx_rates"] = {f"{a}/{b}": str(rate) for (a, b), rate in dict(settings.fx_rates).items()}
    return snapshot


def reconcile(
    *,
    dry_run: bool = False,
    actor: Actor = None,
    source: str = "api",
    progress: RunProgress | None = None,
) -> ReconcileResult:
    """Run the engine for the active tenant and persist its proposals (auto-confirming the safe ones).

    Like every service, it works in the ambient tenant context; the entry points (the job runner,
    the ``reconcile`` command, a bench) enter it, never the service itself.

    One run per tenant at a time: a second concurrent run raises Conflict (409). Proposals still
    open from earlier runs are replaced, keeping the id of any proposal that is proposed again.
    ``dry_run`` computes and returns the proposals without writing anything. ``progress`` is
    told each phase (and, while scoring, how many transactions are done); the interfaces run
    this on a worker through ``reconciliation.tasks.reconcile_job``.
    """
    started = time.perf_counter()
    tenant_uuid = require_tenant_id()
    with cyclic_gc_paused():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"reconcile:{tenant_uuid}"]
            )
            if not cursor.fetchone()[0]:
                raise Conflict("A reconciliation run is already in progress for this tenant.")
        with _batch_planning():
            report = progress or no_progress
            return _run(dry_run=dry_run, actor=actor, source=source, started=started, progress=report)


def _run(
    *, dry_run: bool, actor: Actor, source: str, started: float, progress: RunProgress
) -> ReconcileResult:
    """One run inside the tenant's context, holding the run lock (see ``reconcile``)."""
    progress("loading open items", 0, None)
    settings = selectors.engine_settings()
    shadow = selectors.auto_confirm_shadow()
    invoices = selectors.open_invoice_inputs()
    transactions = selectors.open_transaction_inputs()
    result = engine.reconcile(
        invoices,
        transactions,
        settings,
        rejected_pairs=selectors.rejected_pairs(),
        workers=django_settings.RECONCILE_WORKERS,
        on_progress=progress,
        rejected_payers=selectors.rejected_payers(),
        advices=remittance_selectors.open_advice_inputs(),
    )
    # The inputs are not needed any more: free them before the proposals are staged (peak memory).
    invoices_considered, transactions_considered = len(invoices), len(transactions)
    currency_of = proposal_currencies(invoices, transactions)
    del invoices, transactions
    stats = {**result.stats, **result.resources}  # what the run found, then how it was carried out
    if dry_run:
        # A dry run reports what would be auto-confirmed, without doing it (in shadow mode:
        # what the run would flag, confirming nothing).
        proposals = [
            run_proposal(
                None,
                p,
                auto_confirmed=p.auto_confirm and not shadow,
                currency_of=currency_of,
                would_auto_confirm=p.auto_confirm and shadow,
            )
            for p in result.proposals
        ]
        auto_confirmed = sum(p.auto_confirmed for p in proposals)
        would_auto_confirm = sum(p.would_auto_confirm for p in proposals)
        return ReconcileResult(
            run_id=None,
            dry_run=True,
            proposals=proposals,
            auto_confirmed=auto_confirmed,
            stats=_stats_with_outcome(stats, auto_confirmed, would_auto_confirm),
            would_auto_confirm=would_auto_confirm,
        )
    run = ReconciliationRun.objects.create(
        started_by=actor_user(actor),
        source=source,
        engine_version=engine.ENGINE_VERSION,
        settings_used={**_settings_snapshot(settings), "auto_confirm_shadow": shadow},
        invoices_considered=invoices_considered,
        transactions_considered=transactions_considered,
    )
    progress("writing proposals", 0, len(result.proposals))
    with connection.cursor() as cursor:
        staging = run_writer.RunStaging(cursor, run.id)
        match_ids = run_writer.stage_proposals(staging, result.proposals, progress, shadow=shadow)
        progress("auto-confirming", 0, None)
        # Shadow mode confirms nothing: the proposals carry would_auto_confirm instead.
        confirmed_ids = set() if shadow else run_writer.auto_confirm(staging, result.proposals, match_ids)
        run_writer.write_run(staging, run, progress)
        settled = run_writer.settled_by_run(staging) if confirmed_ids else []
        staging.drop()
    proposals = [
        run_proposal(
            match_id,
            proposal,
            auto_confirmed=match_id in confirmed_ids,
            currency_of=currency_of,
            would_auto_confirm=shadow and proposal.auto_confirm,
        )
        for match_id, proposal in zip(match_ids, result.proposals, strict=True)
    ]
    auto_confirmed = len(confirmed_ids)
    would_auto_confirm = sum(p.would_auto_confirm for p in proposals)
    run.proposals_count = len(match_ids)
    run.auto_confirmed_count = auto_confirmed
    run.would_auto_confirm_count = would_auto_confirm
    run.stats = {
        k: v
        for k, v in _stats_with_outcome(stats, auto_confirmed, would_auto_confirm).items()
        if isinstance(v, int | float | str)
    }
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.save(
        update_fields=[
            "proposals_count",
            "auto_confirmed_count",
            "would_auto_confirm_count",
            "stats",
            "duration_ms",
            "updated_at",
        ]
    )
    confirmed = (
        (match_id, proposal)
        for match_id, proposal in zip(match_ids, result.proposals, strict=True)
        if match_id in confirmed_ids
    )
    events_record(events.run_specs(run, confirmed=confirmed, settled=settled, currency_of=currency_of))
    return ReconcileResult(
        run_id=run.id,
        dry_run=False,
        proposals=proposals,
        auto_confirmed=auto_confirmed,
        stats=run.stats,
        would_auto_confirm=would_auto_confirm,
    )


def _stats_with_outcome(
    stats: dict[str, Any], auto_confirmed: int, would_auto_confirm: int
) -> dict[str, Any]:
    """The run's stats saying what the run did, not what the engine judged eligible.

    The engine's ``auto_confirmed`` counts the proposals it marked for auto-confirmation; a run
    in shadow mode confirms none of them (they are flagged ``would_auto_confirm``), and a run
    confirms only what ``run_writer.auto_confirm`` actually confirmed. The stats carry the same
    two numbers as the run's columns, so no reader of ``stats`` sees a shadow run "confirm".
    """
    return {**stats, "auto_confirmed": auto_confirmed, "would_auto_confirm": would_auto_confirm}


@contextmanager
def _batch_planning() -> Iterator[None]:
    """Plan a run's statements as the batch work they are: hash joins, no nested loops.

    A run reads and writes a tenant's whole open ledger. Right after a large import the
    planner's statistics may not know the tenant's rows yet (the table's most-common-values
    list still sums to 100 % over the other tenants), so it estimates "1 row" and would pick
    nested loops that rescan the tenant's rows once per row: quadratic. Hash joins are linear
    whatever the estimates say. The settings are put back afterwards, so the rest of a
    request's transaction is planned as usual (after an error the rollback undoes them).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_nestloop'), current_setting('work_mem')")
        nestloop, work_mem = cursor.fetchone()
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('enable_nestloop', %s, true), set_config('work_mem', %s, true)",
            [nestloop, work_mem],
        )


def explain_pair(*, invoice_id: uuid.UUID, transaction_id: uuid.UUID) -> engine.PairScore:
    """The engine's full breakdown for any pair of the active tenant, including why it is not a candidate.

    The pair is judged over the same open books a run reads (the run's own selectors), so
    ``is_candidate`` is exactly what a run would decide for it. That costs one read of the
    open invoices per explanation, linear in the open ledger, like a run's first step: the
    price of an answer that cannot contradict the run.
    """
    invoice = selectors.invoice_input_get(invoice_id=invoice_id)
    open_transaction = selectors.open_transaction_inputs(transaction_ids=[transaction_id])
    bank_transaction = (
        open_transaction[0]
        if open_transaction
        else selectors.transaction_input_get(transaction_id=transaction_id)
    )
    return engine.score_pair(
        invoice,
        bank_transaction,
        selectors.engine_settings(),
        open_invoices=selectors.open_invoice_inputs(),
        transaction_open=bool(open_transaction),
        rejected_pairs=selectors.rejected_pairs(),
        rejected_payers=selectors.rejected_payers(),
    )
