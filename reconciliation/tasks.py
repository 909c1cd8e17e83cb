"""Reconciliation runs as jobs: the task a worker runs, and how runs are queued.

Every interface (REST, GraphQL, the admin's button, the automatic run after an import) queues
the run here; a worker runs ``services.reconcile`` inside the tenant's context, reporting its
phases as the job's progress. One run per tenant at a time: the queue's ``lock`` keeps a second
one from starting while one runs, and its ``queueing_lock`` keeps at most one waiting; a request
while one waits or runs joins it (same dry-run flag) instead of failing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.dispatch import receiver

from banking.signals import transactions_imported
from jobs import selectors as job_selectors
from jobs.models import Job, JobKind
from jobs.queue import JobOutcome, RunningJob, tenant_task
from jobs.services import job_enqueue, job_enqueue_committed
from jobs.waiting import job_wait
from tenants.audit import Actor
from tenants.context import require_tenant_id, tenant_context
from tenants.selectors import tenant_settings_get

from . import backtest, services


def _present_output(job: Job, request: Any) -> Any:
    from .apis import reconcile_response_body  # the API's shape of a run's answer

    return reconcile_response_body(services.ReconcileSummary.from_json(job.result or {}), request)


@tenant_task(
    kind=JobKind.RECONCILE,
    name="reconciliation.reconcile",
    result_route=("run-detail", "run_id"),
    present_output=_present_output,
)
def reconcile_job(job: RunningJob, *, dry_run: bool = False) -> JobOutcome:
    """Run the engine for the job's tenant; the answer is the run's bounded summary."""
    # The runtime role reads only some columns of auth_user (no password hash).
    users = get_user_model().objects.only("id", "username")
    actor = users.filter(pk=job.created_by_id).first() if job.created_by_id else None
    result = services.reconcile(  # the job runner entered the job's tenant
        dry_run=dry_run,
        actor=actor,
        source=job.source,
        progress=lambda phase, done, total: job.progress(phase, done=done, total=total),
    )
    summary = result.summary(settings.RECONCILE_RESPONSE_CANDIDATES)
    return JobOutcome(
        result_type="reconciliation_run" if result.run_id else "",
        result_id=result.run_id,
        result=summary.to_json(),
    )


def _run_lock(tenant_id: uuid.UUID) -> str:
    """One run per tenant at a time (the queue's lock; dry runs too: they read what runs write)."""
    return f"reconcile:{tenant_id}"


def _waiting_lock(tenant_id: uuid.UUID, dry_run: bool) -> str:
    """At most one run of each kind waits in the queue per tenant."""
    return f"reconcile{'-dry' if dry_run else ''}:{tenant_id}"


def reconcile_enqueue(*, dry_run: bool, actor: Actor, source: str) -> tuple[Job, bool]:
    """Queue a run for the active tenant and commit it at once (a request then waits for it).

    ``(job, created)``: a run of the same kind already queued or running is joined instead.
    """
    tenant_id = require_tenant_id()
    params = {"dry_run": dry_run}
    active = job_selectors.active_job(kind=JobKind.RECONCILE, params=params)
    if active is not None:
        return active, False
    return job_enqueue_committed(
        task=reconcile_job,
        params=params,
        actor=actor,
        source=source,
        lock=_run_lock(tenant_id),
        queueing_lock=_waiting_lock(tenant_id, dry_run),
    )


def reconcile_and_wait(*, dry_run: bool, actor: Actor, source: str, seconds: float) -> Job:
    """Queue (or join) a run and wait up to ``seconds`` for it (jobs/waiting.py): its Job row."""
    job, _created = reconcile_enqueue(dry_run=dry_run, actor=actor, source=source)
    return job_wait(job_id=job.id, seconds=seconds)


@receiver(transactions_imported, dispatch_uid="reconciliation.auto_run_after_import")
def reconcile_after_import(sender: Any, *, tenant_id: uuid.UUID, added: int, **kwargs: Any) -> None:
    """Queue an automatic run in the import's own transaction (it exists iff the rows do).

    Only when the import added transactions and the tenant has automatic runs on. Several
    imports close together lead to one run: while one waits in the queue, the others join it
    (``queueing_lock``); it has not started, so it sees all their rows.
    """
    if added <= 0:
        return
    with tenant_context(tenant_id):
        if not tenant_settings_get().auto_reconcile:
            return
        job_enqueue(
            task=reconcile_job,
            params={"dry_run": False},
            source="auto",
            lock=_run_lock(tenant_id),
            queueing_lock=_waiting_lock(tenant_id, False),
        )


# --- Backtests ------------------------------------------------------------------------------------


def _present_backtest(job: Job, request: Any) -> Any:
    from .apis import backtest_response_body  # the API's shape of a backtest's answer

    return backtest_response_body(backtest.BacktestReport.from_json(job.result or {}))


#: A backtest's result type: its report, stored as the job's own answer (``job.result``).
BACKTEST_RESULT_TYPE = "backtest_report"


@tenant_task(
    kind=JobKind.BACKTEST,
    name="reconciliation.backtest",
    # The report lives in the job itself: its result link is the job, whose ``output`` is it.
    result_route=("job-detail", "job_id"),
    present_output=_present_backtest,
)
def backtest_job(job: RunningJob, *, thresholds: list[str]) -> JobOutcome:
    """Replay the tenant's decided matches through the engine (read-only); the answer is the report.

    A job because its engine run covers the tenant's open books like a reconciliation run does
    (plus at most BACKTEST_MAX_DECISIONS decided matches): seconds for most tenants, a minute at
    100k open items, longer than a request should hold a connection. It names its report as its
    result (``BACKTEST_RESULT_TYPE``, the job's own id) so the Jobs page and ``GET jobs`` link a
    finished backtest to it, as they link a run or an import batch.
    """
    report = backtest.backtest_run(
        thresholds=[Decimal(value) for value in thresholds],
        progress=lambda phase, done, total: job.progress(phase, done=done, total=total),
    )
    return JobOutcome(result_type=BACKTEST_RESULT_TYPE, result_id=job.id, result=report.to_json())


def backtest_enqueue(*, thresholds: Sequence[Decimal], actor: Actor, source: str) -> tuple[Job, bool]:
    """Queue a backtest for the active tenant, committed at once; one with the same thresholds
    already queued or running is joined. Backtests never run beside a reconciliation run of the
    tenant (the run's lock): they read what a run writes, and would count a half-written run."""
    params = {"thresholds": [str(value) for value in thresholds]}
    active = job_selectors.active_job(kind=JobKind.BACKTEST, params=params)
    if active is not None:
        return active, False
    return job_enqueue_committed(
        task=backtest_job, params=params, actor=actor, source=source, lock=_run_lock(require_tenant_id())
    )


def backtest_and_wait(*, thresholds: Sequence[Decimal], actor: Actor, source: str, seconds: float) -> Job:
    """Queue (or join) a backtest and wait up to ``seconds`` for it: its Job row."""
    job, _created = backtest_enqueue(thresholds=thresholds, actor=actor, source=source)
    return job_wait(job_id=job.id, seconds=seconds)
