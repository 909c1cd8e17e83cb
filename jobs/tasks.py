"""Platform tasks of the queue: stall detection and housekeeping (periodic, on every worker).

Periodic tasks are deferred by the workers themselves (one deferral per tick whatever the
number of workers: Procrastinate's periodic defers are unique per task and time).

* ``jobs.retry_stalled_jobs`` (every 15 s): a worker that stopped sending heartbeats for
  ``JOBS_STALLED_WORKER_SECONDS`` (killed, machine lost) is pruned, and the jobs it was running
  go back to the queue for another worker; their work rolled back with the dead connection, so
  the retry starts from scratch. After ``MAX_ATTEMPTS`` such attempts the job fails instead (a
  job that kills its worker every time must not loop forever).
* ``jobs.purge_idempotency_keys`` (hourly): expired ``Idempotency-Key`` records of every tenant.
* ``jobs.purge_finished_jobs`` (daily): the tenants' finished job rows and the queue's finished
  jobs older than ``JOBS_RETENTION_DAYS``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from procrastinate import JobContext
from procrastinate import sql as queue_sql
from procrastinate.contrib.django import app

from api.idempotency import purge_expired_keys
from tenants.context import tenant_context
from tenants.models import Tenant

from .models import FINISHED_STATUSES, Job, JobStatus
from .queue import MAX_ATTEMPTS, TASKS
from .queue import failure_problem as _failure_problem
from .signals import job_finished

logger = logging.getLogger(__name__)
HOUSEKEEPING_QUEUE = "housekeeping"


def _each_tenant() -> list[uuid.UUID]:
    return list(Tenant.objects.order_by("id").values_list("id", flat=True))


def _mark_job(args: dict[str, Any] | str, **fields: Any) -> None:
    """Update the tenant's Job row named by a queue job's arguments (in that tenant's context).

    A job failed here (its worker was lost too often) has finished like any other failure:
    ``job_finished`` is sent in the same transaction, so e.g. an import's ``import.failed``
    event commits with the failure.
    """
    named = json.loads(args) if isinstance(args, str) else args  # Django's cursor gives jsonb as text
    try:
        tenant_id, job_id = uuid.UUID(str(named["tenant_id"])), uuid.UUID(str(named["job_id"]))
    except (KeyError, ValueError):
        return
    with tenant_context(tenant_id):
        updated = Job.objects.filter(id=job_id).exclude(status__in=FINISHED_STATUSES).update(**fields)
        if updated and fields.get("status") in FINISHED_STATUSES:
            job_finished.send(
                sender=Job,
                job_id=job_id,
                tenant_id=tenant_id,
                kind=Job.objects.filter(id=job_id).values_list("kind", flat=True).get(),
                status=fields["status"],
                result_type="",
                result_id=None,
                result=None,
                error=fields.get("error"),
            )


def retry_stalled(seconds_since_heartbeat: float) -> list[int]:
    """Give the running jobs of stalled workers to another worker; the ids it retried or failed."""
    handled = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT procrastinate_prune_stalled_workers_v1(%s)", [seconds_since_heartbeat])
        cursor.execute(
            queue_sql.queries["select_stalled_jobs_by_heartbeat"],
            {"queue": None, "task_name": None, "seconds_since_heartbeat": seconds_since_heartbeat},
        )
        columns = [column.name for column in cursor.description]
        stalled = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for job in stalled:
        final = job["attempts"] + 1 >= MAX_ATTEMPTS
        with connection.cursor() as cursor:
            if final:
                cursor.execute("SELECT procrastinate_finish_job_v1(%s, 'failed', false)", [job["id"]])
            else:
                cursor.execute("SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", [job["id"]])
        if job["task_name"] in TASKS:
            if final:
                problem = _failure_problem(RuntimeError("worker lost"))
                problem["detail"] = f"The job's worker stopped {MAX_ATTEMPTS} times while running it."
                _mark_job(
                    job["args"],
                    status=JobStatus.FAILED,
                    error=problem,
                    finished_at=timezone.now(),
                    progress_phase="failed",
                    progress_updated_at=timezone.now(),
                )
            else:
                _mark_job(
                    job["args"],
                    status=JobStatus.QUEUED,
                    progress_phase="worker lost; queued again",
                    progress_updated_at=timezone.now(),
                )
        logger.warning(
            "stalled job %s (%s) %s", job["id"], job["task_name"], "failed" if final else "retried"
        )
        handled.append(job["id"])
    return handled


@app.periodic(cron="* * * * * */15", periodic_id="retry_stalled_jobs")
@app.task(
    name="jobs.retry_stalled_jobs",
    queue=HOUSEKEEPING_QUEUE,
    queueing_lock="jobs.retry_stalled_jobs",
    pass_context=True,
)
def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    del context, timestamp
    retry_stalled(settings.JOBS_STALLED_WORKER_SECONDS)


@app.periodic(cron="17 * * * *", periodic_id="purge_idempotency_keys")
@app.task(
    name="jobs.purge_idempotency_keys", queue=HOUSEKEEPING_QUEUE, queueing_lock="jobs.purge_idempotency_keys"
)
def purge_idempotency_keys(timestamp: int) -> int:
    del timestamp
    total = 0
    for tenant_id in _each_tenant():
        with tenant_context(tenant_id):
            total += purge_expired_keys()
    return total


def purge_finished_jobs_older_than(days: int) -> int:
    """Delete finished jobs (tenant rows and queue rows) older than ``days``; the tenant rows' count."""
    cutoff = timezone.now() - dt.timedelta(days=days)
    total = 0
    for tenant_id in _each_tenant():
        with tenant_context(tenant_id):
            total += Job.objects.filter(status__in=FINISHED_STATUSES, finished_at__lt=cutoff).delete()[0]
    with connection.cursor() as cursor:
        cursor.execute(
            queue_sql.queries["delete_old_jobs"],
            {
                "nb_hours": days * 24,
                "queue": None,
                "statuses": ["succeeded", "failed", "cancelled", "aborted"],
            },
        )
    return total


@app.periodic(cron="41 3 * * *", periodic_id="purge_finished_jobs")
@app.task(name="jobs.purge_finished_jobs", queue=HOUSEKEEPING_QUEUE, queueing_lock="jobs.purge_finished_jobs")
def purge_finished_jobs(timestamp: int) -> int:
    del timestamp
    return purge_finished_jobs_older_than(settings.JOBS_RETENTION_DAYS)
