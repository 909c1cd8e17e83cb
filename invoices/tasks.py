"""Invoice imports as jobs (``manage.py import_invoices --async``): the CSV is stored with the job
and a worker imports it, all or nothing, with the command's reader and service."""

from __future__ import annotations

import io
from typing import Any

from common.errors import InvalidInput
from jobs.models import Job, JobKind
from jobs.queue import JobOutcome, RunningJob, tenant_task

from .services import invoice_bulk_import, invoice_csv_rows

MAX_LISTED_SKIPPED = 100


def _present(job: Job, request: Any) -> Any:
    return job.result


@tenant_task(kind=JobKind.INVOICE_IMPORT, name="invoices.import_invoices", present_output=_present)
def invoice_import_job(job: RunningJob, *, delimiter: str = "") -> JobOutcome:
    _name, content = job.take_input()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"The file is not UTF-8 text ({error}); nothing imported.") from error
    handle = io.StringIO(text, newline="")
    size = len(content)
    result = invoice_bulk_import(
        rows=invoice_csv_rows(handle, delimiter=delimiter or None),
        progress=lambda _rows: job.progress("importing", done=min(size, handle.tell()), total=size),
        actor=job.actor(),
    )
    return JobOutcome(
        result={
            "rows": result.rows,
            "created": result.created,
            "vendors_created": result.vendors_created,
            "skipped_existing": result.skipped_existing[:MAX_LISTED_SKIPPED],
            "skipped_existing_total": len(result.skipped_existing),
        }
    )
