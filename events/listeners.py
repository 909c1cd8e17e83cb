"""``import.failed``: recorded when an import job fails, through the jobs app's failure hook.

The jobs app knows nothing of events (floors); it calls its failure listeners in the
transaction that marks a job failed (``jobs.queue.on_job_failed``), so the event commits with
the failure, on the same connection.
"""

from __future__ import annotations

from typing import Any

from jobs.models import Job, JobKind
from jobs.queue import on_job_failed

from .models import EventType
from .services import EventSpec, events_record

IMPORT_KINDS = {JobKind.STATEMENT_IMPORT: "bank_transactions", JobKind.INVOICE_IMPORT: "invoices"}


@on_job_failed
def import_failed(job: Job, problem: dict[str, Any], using: str) -> None:
    """An import job failed for good: tell the tenant's webhooks what was asked and why."""
    if job.kind not in IMPORT_KINDS:
        return
    data = {
        "job_id": str(job.id),
        "kind": IMPORT_KINDS[JobKind(job.kind)],
        "source": job.source,
        "file_name": str((job.params or {}).get("file_name", "")),
        "problem": problem,
    }
    events_record(
        [EventSpec(type=EventType.IMPORT_FAILED, data=data, object_type="job", object_id=job.id)], using=using
    )
