"""``import.failed``: recorded when an import job fails, through the jobs app's ``job_finished``.

The jobs app knows nothing of events (floors); it sends ``jobs.signals.job_finished`` in the
transaction that records a job's outcome (for a failure: the short transaction after the work
rolled back, or the stall check's once a job's worker was lost too often), so the event commits
with the failure. A successful import records ``import.completed`` itself, in the import's
service, like an import made in a request.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.dispatch import receiver

from jobs.models import Job, JobInput, JobKind, JobStatus
from jobs.signals import job_finished

from .models import EventType
from .services import EventSpec, events_record

IMPORT_KINDS = {JobKind.STATEMENT_IMPORT: "bank_transactions", JobKind.INVOICE_IMPORT: "invoices"}


@receiver(job_finished, dispatch_uid="events.import_failed")
def import_failed(
    sender: Any,
    *,
    job_id: uuid.UUID,
    kind: str,
    status: str,
    error: dict[str, Any] | None,
    **kwargs: Any,
) -> None:
    """An import job failed for good: tell the tenant's webhooks what was asked and why."""
    if status != JobStatus.FAILED or kind not in IMPORT_KINDS:
        return
    job = Job.objects.filter(id=job_id).only("id", "source").first()
    if job is None:
        return
    # The upload is still stored: the failed work, which took it, rolled back.
    file_name = JobInput.objects.filter(job_id=job_id).values_list("file_name", flat=True).first()
    data = {
        "job_id": str(job.id),
        "kind": IMPORT_KINDS[JobKind(kind)],
        "source": job.source,
        "file_name": file_name or "",
        "problem": error or {},
    }
    events_record([EventSpec(type=EventType.IMPORT_FAILED, data=data, object_type="job", object_id=job.id)])
