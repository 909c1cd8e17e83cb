"""A tenant task for the queue's own tests: reports what a job sees, sleeps, fails on request.

Registered only where the test settings import it (``PROCRASTINATE_IMPORT_PATHS``).
"""

from __future__ import annotations

import time

from django.db import connection

from common.errors import Unprocessable
from jobs.models import JobKind
from jobs.queue import JobOutcome, RunningJob, tenant_task
from tenants.models import AuditEvent


@tenant_task(kind=JobKind.PROBE, name="tests.probe")
def probe(
    job: RunningJob, *, steps: int = 0, step_seconds: float = 0.0, fail: str = "", write: bool = False
) -> JobOutcome:
    if write:  # something the job's transaction writes first: gone if the job does not finish
        # A marker row, not a vocabulary action (tenants.audit refuses those): written as a row.
        AuditEvent.objects.create(action="probe.wrote", object_type="job", object_id=job.id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('app.tenant_id', true), txid_current()")
        role, tenant_setting, _txid = cursor.fetchone()
    for step in range(steps):
        job.progress("probing", done=step, total=steps, force=True)
        time.sleep(step_seconds)
    if fail == "domain":
        raise Unprocessable("The probe was asked to fail.")
    if fail == "crash":
        raise RuntimeError("probe crashed")
    return JobOutcome(result_type="probe", result={"role": role, "tenant_setting": tenant_setting})
