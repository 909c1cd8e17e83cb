"""A request that waits for its job: RFC 7240 ``Prefer`` and the wait itself (one place).

How a request gets a synchronous answer from a job (REST ``POST reconcile``, the GraphQL
mutation, the admin's "Run reconciliation now"):

1. the job is queued and committed at once on the jobs connection
   (``jobs.services.job_enqueue_committed``), so a worker can start while the request runs on;
2. the request waits here, inside its own tenant transaction but without holding any lock the
   job needs: each look at the job's row is a new READ COMMITTED statement, so it sees the
   worker's commit as soon as it happens (polling with backoff, 50 ms up to 500 ms);
3. when the job finished within the budget, the interface answers with its result (200, or the
   job's problem); otherwise with the job itself (202 + ``Location``), which the client follows.

``Prefer: respond-async`` answers 202 at once; ``Prefer: wait=N`` sets the budget (capped at
``JOBS_MAX_WAIT_SECONDS``); without either the budget is ``JOBS_DEFAULT_WAIT_SECONDS``.
In-process mode (tests not about the queue) runs the job at step 2 instead (jobs/inprocess.py).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from .inprocess import run_in_process
from .models import ACTIVE_STATUSES, Job

FIRST_POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WaitPreference:
    """How long a request waits for its job, and the preferences the response applies."""

    seconds: float
    respond_async: bool
    applied: tuple[str, ...]

    @property
    def header(self) -> str:
        """The ``Preference-Applied`` value (empty when none applied)."""
        return ", ".join(self.applied)


def parse_prefer(values: str | None) -> WaitPreference:
    """Read RFC 7240 ``Prefer`` (``respond-async``, ``wait=N``); anything else is ignored.

    A preference the server does not understand or a malformed ``wait`` is ignored, as the RFC
    asks (a preference is never an error). ``wait`` is whole seconds, capped.
    """
    respond_async, wait = False, None
    for item in (values or "").split(","):
        token = item.split(";", 1)[0].strip()
        name, _, value = token.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "respond-async":
            respond_async = True
        elif name == "wait" and value.isascii() and value.isdigit() and len(value) <= 6:
            wait = int(value)
    applied: list[str] = []
    if respond_async:
        return WaitPreference(seconds=0.0, respond_async=True, applied=("respond-async",))
    seconds = float(settings.JOBS_DEFAULT_WAIT_SECONDS)
    if wait is not None:
        seconds = float(min(wait, settings.JOBS_MAX_WAIT_SECONDS))
        applied.append(f"wait={int(seconds)}")
    return WaitPreference(seconds=seconds, respond_async=False, applied=tuple(applied))


def job_wait(*, job_id: uuid.UUID, seconds: float) -> Job:
    """The job's row once it finished, or as it stands after ``seconds`` (inside the tenant)."""
    job = Job.objects.get(id=job_id)
    if seconds <= 0:
        return job
    if settings.JOBS_RUN_IN_PROCESS and job.status in ACTIVE_STATUSES:
        run_in_process(job)
        return Job.objects.get(id=job_id)
    deadline = time.monotonic() + seconds
    delay = FIRST_POLL_SECONDS
    while job.status in ACTIVE_STATUSES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_SECONDS)
        job = Job.objects.get(id=job_id)
    return job
