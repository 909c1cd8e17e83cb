"""Imports as jobs: a large statement file or JSON import is stored and imported by a worker.

The API (``import-file`` and ``import`` above ``IMPORT_ASYNC_MIN_BYTES``) and the
``import_bank_statement --async`` command store the upload with the job
(``jobs.services.job_enqueue_with_input``) in the request's transaction, with its idempotency
key, and answer 202 with the job. The worker imports it with the same service, all or nothing
(one transaction: a crash leaves nothing and the retry imports again from the stored bytes);
duplicates are counted as for any import. The answer (batch, imported, duplicates) is the job's
output; the batch is its result.
"""

from __future__ import annotations

import io
from typing import Any

from jobs.models import Job, JobKind
from jobs.queue import JobOutcome, RunningJob, tenant_task
from tenants.errors import InvalidInput
from tenants.parsers import loads_decimal

from . import services
from .statements import CsvOptions

PROGRESS_PHASE = "importing"


def _outcome(result: services.ImportResult) -> JobOutcome:
    return JobOutcome(
        result_type="import_batch",
        result_id=result.batch.id,
        result={
            "batch_id": str(result.batch.id),
            "imported": result.imported,
            "duplicates": result.duplicates,
        },
    )


def _present(job: Job, request: Any) -> Any:
    return job.result


@tenant_task(
    kind=JobKind.STATEMENT_IMPORT,
    name="banking.import_statement",
    result_route=("import-batch-detail", "batch_id"),
    present_output=_present,
)
def statement_import_job(
    job: RunningJob,
    *,
    file_format: str = "",
    account: str = "",
    import_source: str = "file",
    csv_options: dict[str, Any] | None = None,
) -> JobOutcome:
    """Import the stored statement file; progress is the share of the file read.

    ``csv_options``: the command's ``--delimiter``, ``--decimal``, ``--date-format``, ``--currency``.
    """
    file_name, content = job.take_input()
    stream = io.BytesIO(content)
    size = len(content)
    job.progress(PROGRESS_PHASE, done=0, total=size, force=True)
    result = services.statement_import(
        stream=stream,
        file_name=file_name or "upload",
        file_format=file_format or None,
        csv_options=CsvOptions(**(csv_options or {})),
        source=import_source,
        created_by=job.actor(),
        default_account=account or None,
        return_ids=False,
        progress=lambda _rows: job.progress(PROGRESS_PHASE, done=stream.tell(), total=size),
    )
    return _outcome(result)


@tenant_task(
    kind=JobKind.STATEMENT_IMPORT,
    name="banking.import_transactions",
    result_route=("import-batch-detail", "batch_id"),
    present_output=_present,
)
def transactions_import_job(job: RunningJob, *, account: str = "") -> JobOutcome:
    """Import a stored JSON import body (``{"transactions": [...]}``), validated as the API does."""
    _name, content = job.take_input()
    job.progress("validating", done=0, total=None, force=True)
    try:
        items = loads_decimal(content)["transactions"]
    except (ValueError, KeyError, TypeError) as error:  # stored by the API, checked there: defensive
        raise InvalidInput("The stored import body is not readable.") from error
    if isinstance(items, str):
        items = loads_decimal(items)
    result = services.api_transactions_import(
        items=items, created_by=job.actor(), default_account=account or None
    )
    return _outcome(result)
