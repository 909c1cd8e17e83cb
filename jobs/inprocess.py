"""Test-only: run a queued job in the requesting process (``JOBS_RUN_IN_PROCESS``).

Most of the test suite runs each test inside one transaction that is rolled back at its end;
no worker could ever see a job queued there. For those tests (the ones that are not about the
queue), a job a request waits for runs here instead, at the point where the request would wait
for a worker: same task, same ``run_tenant_job`` (claim, work in ``tenant_context``, outcome),
same queue row moved to ``doing`` and finished with Procrastinate's own function. Production
settings refuse the mode; the queue itself is proven with real workers (tests/jobs/).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import connection

from .models import Job
from .queue import TASKS

logger = logging.getLogger(__name__)


def run_in_process(job: Job) -> None:
    """Run ``job`` now if it is still queued (a no-op for a job already taken or finished)."""
    if not settings.JOBS_RUN_IN_PROCESS:
        raise RuntimeError("JOBS_RUN_IN_PROCESS is off: jobs run on workers")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', attempts = attempts "
            "WHERE id = %s AND status = 'todo' RETURNING task_name, args",
            [job.queue_job_id],
        )
        row = cursor.fetchone()
    if row is None:
        return
    task_name, args = row
    args = json.loads(args) if isinstance(args, str) else args  # Django's cursor returns jsonb as text
    status = "succeeded"
    try:
        TASKS[task_name].run(queue_job_id=job.queue_job_id, **args)
    except Exception:  # the job's row records the failure (run_tenant_job)
        logger.info("in-process job %s failed", job.id, exc_info=True)
        status = "failed"
    with connection.cursor() as cursor:
        cursor.execute("SELECT procrastinate_finish_job_v1(%s, %s, false)", [job.queue_job_id, status])
