"""The job queue: Procrastinate's App, and how a tenant's task is registered and run.

The engine is Procrastinate (PostgreSQL tables, LISTEN/NOTIFY, locks, retries, periodic tasks);
its Django integration defers through Django's connection, so a job deferred inside a
transaction commits or vanishes with it. Workers: ``manage.py procrastinate worker``, any number,
on any machine that reaches the database.

Registering a tenant task (in an app's ``tasks.py``, which Procrastinate imports in every
process)::

    from jobs.models import JobKind
    from jobs.queue import JobOutcome, RunningJob, tenant_task

    @tenant_task(kind=JobKind.RECONCILE, name="reconciliation.reconcile")
    def reconcile_job(job: RunningJob, *, dry_run: bool) -> JobOutcome:
        job.progress("scoring", done=0, total=n)      # throttled, visible at once
        ...
        return JobOutcome(result_type="reconciliation_run", result_id=run.id, result={...})

and enqueue it with ``jobs.services.job_enqueue(task=reconcile_job, params={"dry_run": False},
...)`` inside the tenant's context. The worker then:

1. reads the tenant's ``Job`` row through ``tenant_context(<tenant>, using="jobs")`` and checks it
   names this queue job (the queue's arguments alone are never trusted: the row was written
   under RLS by the tenant's own transaction), and marks it running;
2. runs the function inside ``tenant_context(<tenant>)``: one transaction, all or nothing;
3. writes the outcome to the ``Job`` row in that same transaction, so "succeeded" commits with
   the work; a failure rolls the work back and is written afterwards (problem+json). Either way
   ``jobs.signals.job_finished`` is sent in the transaction that records the outcome (the hook
   for an event outbox).

Platform tasks (no tenant, e.g. housekeeping) use ``app.task`` / ``app.periodic`` directly.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from procrastinate import JobContext, RetryStrategy, manager
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

from api.problems import problem_body
from common.errors import DomainError, NotFound
from tenants.audit import AuditSource, audit_source
from tenants.context import tenant_context

from .models import FINISHED_STATUSES, Job, JobInput, JobStatus
from .signals import job_finished

__all__ = [
    "JOBS_DATABASE",
    "JobCancelled",
    "JobOutcome",
    "RunningJob",
    "TenantTask",
    "app",
    "current_job_id",
    "job_manager",
    "tenant_task",
]

logger = logging.getLogger(__name__)

JOBS_DATABASE = "jobs"
"""The second connection for what must be visible at once (progress, a job a request waits for)."""

TENANT_QUEUE = "tenant"
PROGRESS_MIN_SECONDS = 1.0
PROGRESS_MIN_FRACTION = 0.02
# A job whose database connection broke is tried again (by this worker or, after a crash,
# by stall detection on another); any other error fails it at once.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_ATTEMPTS = 3


def bookkeeping_database() -> str:
    """The alias progress and waited-for jobs are written on.

    In-process mode (tests that are not about the queue) writes them on the request's own
    connection: the job runs there, inside the test's transaction, which a second connection
    could not see.
    """
    return "default" if settings.JOBS_RUN_IN_PROCESS else JOBS_DATABASE


@functools.cache
def job_manager(using: str) -> manager.JobManager:
    """The queue's job manager writing through Django's connection ``using`` (its transaction).

    Jobs and webhook deliveries are deferred with it, so a queue row commits or rolls back with
    the change that caused it.
    """
    return manager.JobManager(DjangoConnector(alias=using))


class JobCancelled(Exception):
    """Raised inside a job when its cancellation was requested; the work rolls back."""


@dataclass(frozen=True)
class JobOutcome:
    """What a task returns: a link to what it made, and a bounded JSON answer."""

    result_type: str = ""
    result_id: uuid.UUID | None = None
    result: dict[str, Any] | None = None


@dataclass
class RunningJob:
    """The handle a task gets: who and what, progress reporting and cancellation checks."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    created_by_id: int | None
    source: str
    attempt: int
    _last_write: float = 0.0
    _last_phase: str = ""
    _last_done: int = 0
    _extra: dict[str, Any] = field(default_factory=dict)

    def progress(self, phase: str, *, done: int = 0, total: int | None = None, force: bool = False) -> None:
        """Record progress, at most about once a second or every 2 % (and on a new phase).

        Written on the second connection in a short transaction of its own, so it is visible
        while the work's transaction is still open. Raises ``JobCancelled`` when cancellation
        was requested.
        """
        now = time.monotonic()
        step = max(1, int((total or 0) * PROGRESS_MIN_FRACTION))
        due = (
            force
            or phase != self._last_phase
            or now - self._last_write >= PROGRESS_MIN_SECONDS
            or done - self._last_done >= step
        )
        if not due:
            return
        self._last_write, self._last_phase, self._last_done = now, phase, done
        alias = bookkeeping_database()
        with tenant_context(self.tenant_id, using=alias):
            updated = (
                Job.objects.using(alias)
                .filter(id=self.id, cancel_requested_at__isnull=True)
                .update(
                    progress_phase=phase[:64],
                    progress_done=max(0, done),
                    progress_total=total,
                    progress_updated_at=timezone.now(),
                )
            )
        if not updated:
            raise JobCancelled(f"job {self.id} was cancelled")

    def actor(self) -> Any:
        """The user who started the job (id and username only: all the runtime role may read)."""
        if self.created_by_id is None:
            return None
        return get_user_model().objects.only("id", "username").filter(pk=self.created_by_id).first()

    def take_input(self) -> tuple[str, bytes]:
        """``(file name, bytes)`` stored with the job; deleted in the job's transaction (commits
        with the work, so a retry after a crash finds it again)."""
        stored = JobInput.objects.filter(job_id=self.id).first()
        if stored is None:
            raise NotFound("The job's input is gone.")
        content = bytes(stored.content)
        stored.delete()
        return stored.file_name, content

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` if cancellation was requested (one short query)."""
        alias = bookkeeping_database()
        with tenant_context(self.tenant_id, using=alias):
            requested = (
                Job.objects.using(alias).filter(id=self.id, cancel_requested_at__isnull=False).exists()
            )
        if requested:
            raise JobCancelled(f"job {self.id} was cancelled")


TaskFunction = Callable[..., JobOutcome]


@dataclass(frozen=True)
class TenantTask:
    """A registered tenant task: its kind, its work, and the queue's task that runs it."""

    kind: str
    name: str
    function: TaskFunction
    queue_task: Any  # procrastinate.tasks.Task
    # (URL name, its id argument) of what the job makes, for the job's result link.
    result_route: tuple[str, str] | None = None
    # How the API shows the job's stored answer (``job.result``) once it succeeded.
    present_output: Callable[[Job, Any], Any] | None = None

    def run(self, *, tenant_id: str, job_id: str, queue_job_id: int | None, **params: Any) -> None:
        run_tenant_job(self, tenant_id=tenant_id, job_id=job_id, queue_job_id=queue_job_id, params=params)


TASKS: dict[str, TenantTask] = {}
"""Every tenant task by its queue name (in-process runs look them up here)."""


def tenant_task(
    *,
    kind: str,
    name: str,
    retry_transient: bool = True,
    result_route: tuple[str, str] | None = None,
    present_output: Callable[[Job, Any], Any] | None = None,
) -> Callable[[TaskFunction], TenantTask]:
    """Register ``function(job: RunningJob, **params) -> JobOutcome`` as a tenant task.

    ``result_route``: the URL name and id argument of what it makes (the job links to it);
    ``present_output(job, request)``: the API's view of its stored answer.
    """

    def decorator(function: TaskFunction) -> TenantTask:
        retry = RetryStrategy(
            max_attempts=MAX_ATTEMPTS, exponential_wait=2, retry_exceptions=TRANSIENT_ERRORS
        )

        def queue_entry(context: JobContext, *, tenant_id: str, job_id: str, **params: Any) -> None:
            queue_job_id = context.job.id if context.job else None
            TASKS[name].run(tenant_id=tenant_id, job_id=job_id, queue_job_id=queue_job_id, **params)

        queue_entry.__name__ = queue_entry.__qualname__ = name.replace(".", "_")
        queue_task = app.task(
            name=name, queue=TENANT_QUEUE, pass_context=True, retry=retry if retry_transient else False
        )(queue_entry)
        registered = TenantTask(
            kind=kind,
            name=name,
            function=function,
            queue_task=queue_task,
            result_route=result_route,
            present_output=present_output,
        )
        TASKS[name] = registered
        return registered

    return decorator


def _claim(tenant_uuid: uuid.UUID, job_id: uuid.UUID, queue_job_id: int | None) -> RunningJob | None:
    """Mark the tenant's Job row running; None when it does not name this queue job or is over."""
    alias = bookkeeping_database()
    with tenant_context(tenant_uuid, using=alias):
        job = Job.objects.using(alias).select_for_update().filter(id=job_id).first()
        if job is None or (queue_job_id is not None and job.queue_job_id != queue_job_id):
            logger.error(
                "queue job %s names no job %s of tenant %s: refused", queue_job_id, job_id, tenant_uuid
            )
            return None
        if job.status in FINISHED_STATUSES:
            return None
        now = timezone.now()
        if job.cancel_requested_at is not None:
            job.status, job.finished_at = JobStatus.CANCELLED, now
            job.save(using=alias, update_fields=["status", "finished_at", "updated_at"])
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or now
        job.progress_phase, job.progress_updated_at = "starting", now
        job.save(
            using=alias,
            update_fields=[
                "status",
                "attempts",
                "started_at",
                "progress_phase",
                "progress_updated_at",
                "updated_at",
            ],
        )
        return RunningJob(
            id=job.id,
            tenant_id=tenant_uuid,
            created_by_id=job.created_by_id,
            source=job.source,
            attempt=job.attempts,
        )


def _finish_failed(
    running: RunningJob, *, kind: str, status: str, error: dict[str, Any] | None, phase: str
) -> None:
    """Record a failure, a cancellation or a retry after the work's transaction rolled back."""
    with tenant_context(running.tenant_id):
        Job.objects.filter(id=running.id).update(
            status=status,
            error=error,
            finished_at=timezone.now() if status != JobStatus.QUEUED else None,
            progress_phase=phase,
            progress_updated_at=timezone.now(),
        )
        if status in FINISHED_STATUSES:
            job_finished.send(
                sender=Job,
                job_id=running.id,
                tenant_id=running.tenant_id,
                kind=kind,
                status=status,
                result_type="",
                result_id=None,
                result=None,
                error=error,
            )


def failure_problem(error: BaseException) -> dict[str, Any]:
    """The problem+json a failed job shows: a domain error as the API would say it, else generic."""
    if isinstance(error, DomainError):
        return problem_body(
            error.status, detail=error.detail, code=error.code, title=error.title, errors=error.errors
        )
    return problem_body(
        500,
        detail="The job failed unexpectedly; the error was logged for the operators.",
        code="job-failed",
        title="Job failed",
    )


_current_job_id: ContextVar[uuid.UUID | None] = ContextVar("current_job_id", default=None)


def current_job_id() -> uuid.UUID | None:
    """The job whose work is running here (None outside a job's work).

    What a job writes can say which job wrote it: e.g. the events an import or a run records
    carry it, so a client that was answered 202 with the job recognises its outcome in a webhook.
    """
    return _current_job_id.get()


def run_tenant_job(
    task: TenantTask, *, tenant_id: str, job_id: str, queue_job_id: int | None, params: dict[str, Any]
) -> None:
    """Run one job of a tenant (see the module docstring): claim, work, outcome."""
    tenant_uuid, job_uuid = uuid.UUID(tenant_id), uuid.UUID(job_id)
    running = _claim(tenant_uuid, job_uuid, queue_job_id)
    if running is None:
        return
    try:
        with tenant_context(tenant_uuid), audit_source(AuditSource.JOB):
            token = _current_job_id.set(job_uuid)
            try:
                outcome = task.function(running, **params)
            finally:
                _current_job_id.reset(token)
            Job.objects.filter(id=job_uuid).update(
                status=JobStatus.SUCCEEDED,
                finished_at=timezone.now(),
                progress_phase="done",
                progress_done=Coalesce(F("progress_total"), F("progress_done")),
                progress_updated_at=timezone.now(),
                result_type=outcome.result_type,
                result_id=outcome.result_id,
                result=outcome.result,
                error=None,
            )
            job_finished.send(
                sender=Job,
                job_id=job_uuid,
                tenant_id=tenant_uuid,
                kind=task.kind,
                status=JobStatus.SUCCEEDED,
                result_type=outcome.result_type,
                result_id=outcome.result_id,
                result=outcome.result,
                error=None,
            )
    except JobCancelled:
        _finish_failed(running, kind=task.kind, status=JobStatus.CANCELLED, error=None, phase="cancelled")
    except TRANSIENT_ERRORS as error:
        # Procrastinate retries it (RetryStrategy) until MAX_ATTEMPTS; the row says so.
        final = running.attempt >= MAX_ATTEMPTS
        try:
            _finish_failed(
                running,
                kind=task.kind,
                status=JobStatus.FAILED if final else JobStatus.QUEUED,
                error=failure_problem(error) if final else None,
                phase="failed" if final else "waiting to retry",
            )
        except DatabaseError:
            logger.warning("job %s: database unreachable, its state is written by the retry", job_uuid)
        raise
    except Exception as error:
        if not isinstance(error, DomainError):
            logger.exception("job %s (%s) of tenant %s failed", job_uuid, task.name, tenant_uuid)
        _finish_failed(
            running, kind=task.kind, status=JobStatus.FAILED, error=failure_problem(error), phase="failed"
        )
        raise  # the queue's row says failed too (no retry: not a transient error)
