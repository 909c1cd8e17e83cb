"""Job writes: enqueue a tenant's job (in the cause's transaction, or committed at once), cancel.

Every function here runs inside the tenant's context (``require_tenant_id``).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from procrastinate import exceptions as queue_errors
from procrastinate import tasks as queue_tasks

from common.errors import Conflict, DomainError, NotFound
from tenants.audit import Actor, actor_user
from tenants.context import require_tenant_id, tenant_context

from .models import ACTIVE_STATUSES, Job, JobInput, JobStatus
from .queue import TENANT_QUEUE, TenantTask, bookkeeping_database, job_manager


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload-too-large"
    title = "Payload too large"


def _queued_job_with_lock(queueing_lock: str, *, using: str) -> Job | None:
    """The tenant's queued (not yet started) job holding ``queueing_lock``, if any."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT id FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo'", [queueing_lock]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Job.objects.using(using).filter(queue_job_id=row[0]).first()


def job_enqueue(
    *,
    task: TenantTask,
    params: dict[str, Any],
    actor: Actor = None,
    source: str = "api",
    lock: str | None = None,
    queueing_lock: str | None = None,
    using: str = "default",
) -> tuple[Job, bool]:
    """Queue ``task`` for the active tenant in the current transaction: ``(job, created)``.

    The queue's row and the tenant's ``Job`` row are written in the caller's transaction, so the
    job exists exactly when the data that caused it commits. ``lock``: jobs with the same lock
    never run at the same time. ``queueing_lock``: at most one such job waits in the queue; when
    one already waits, it is returned with ``created=False`` (it has not started, so it will see
    what this caller wrote).
    """
    tenant_id = require_tenant_id()
    job_id = uuid.uuid4()
    for _attempt in range(3):
        try:
            with transaction.atomic(using=using):
                deferrer = queue_tasks.configure_task(
                    name=task.name,
                    job_manager=job_manager(using),
                    queue=TENANT_QUEUE,
                    lock=lock,
                    queueing_lock=queueing_lock,
                )
                queue_job_id = deferrer.defer(tenant_id=str(tenant_id), job_id=str(job_id), **params)
                job = Job(
                    id=job_id,
                    kind=task.kind,
                    params=params,
                    source=source,
                    created_by=actor_user(actor),
                    queue_job_id=queue_job_id,
                )
                job.save(using=using, force_insert=True)
            return job, True
        except queue_errors.AlreadyEnqueued:
            assert queueing_lock is not None
            waiting = _queued_job_with_lock(queueing_lock, using=using)
            if waiting is not None:
                return waiting, False
            # It started between the insert and the look-up: queue a new one behind it.
    raise Conflict("The job queue is busy for this tenant; try again.")


def job_enqueue_with_input(
    *,
    task: TenantTask,
    params: dict[str, Any],
    content: bytes,
    file_name: str = "",
    actor: Actor = None,
    source: str = "api",
) -> Job:
    """Queue ``task`` with ``content`` stored beside it (an upload to import), in this transaction.

    Refused above ``IMPORT_ASYNC_MAX_BYTES`` (413): the bytes live in the database until the
    job has imported them.
    """
    limit = settings.IMPORT_ASYNC_MAX_BYTES
    if len(content) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes, the most a queued import may hold.")
    job, _created = job_enqueue(task=task, params=params, actor=actor, source=source)
    JobInput.objects.create(
        job=job,
        file_name=file_name,
        content=content,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    return job


def job_enqueue_committed(
    *,
    task: TenantTask,
    params: dict[str, Any],
    actor: Actor = None,
    source: str = "api",
    lock: str | None = None,
    queueing_lock: str | None = None,
) -> tuple[Job, bool]:
    """Queue ``task`` and commit it at once, on the jobs connection: for a request that waits.

    A reconciliation request writes nothing but its job, so there is nothing for the job to
    commit or vanish with; committing it at once lets a worker start while the request (still
    inside its own tenant transaction) waits for the outcome (``jobs.waiting``). The REST view,
    the GraphQL mutation and the admin share this one path. In-process mode (tests not about the
    queue) writes it in the request's own transaction instead.
    """
    tenant_id = require_tenant_id()
    using = bookkeeping_database()
    with tenant_context(tenant_id, using=using):
        return job_enqueue(
            task=task,
            params=params,
            actor=actor,
            source=source,
            lock=lock,
            queueing_lock=queueing_lock,
            using=using,
        )


def job_cancel(*, job_id: uuid.UUID) -> Job:
    """Ask a job to stop: a queued job never starts, a running one rolls back at its next check.

    A finished job cannot be cancelled (409). The request is recorded on the tenant's row
    (``cancel_requested_at``; the running job reads it with its progress) and on the queue's
    (a job not started yet is cancelled there, one running is marked for abort).
    """
    job = Job.objects.select_for_update().filter(id=job_id).first()
    if job is None:
        raise NotFound("No such job.")
    if job.status not in ACTIVE_STATUSES:
        raise Conflict(f"The job is already {job.status}.")
    now = timezone.now()
    job.cancel_requested_at = job.cancel_requested_at or now
    fields = ["cancel_requested_at", "updated_at"]
    if job.status == JobStatus.QUEUED:
        job.status, job.finished_at, job.progress_phase = JobStatus.CANCELLED, now, "cancelled"
        fields += ["status", "finished_at", "progress_phase"]
    job.save(update_fields=fields)
    if job.queue_job_id is not None and not settings.JOBS_RUN_IN_PROCESS:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT procrastinate_cancel_job_v1(%s, true, false)", [job.queue_job_id])
    return job
