"""Imports as jobs: a large statement file or JSON import is stored and imported by a worker.

The API (``import-file`` and ``import`` above ``IMPORT_ASYNC_MIN_BYTES``) and the
``import_bank_statement --async`` command store the upload with the job
(``jobs.services.job_enqueue_with_input``) in the request's transaction, with its idempotency
key, and answer 202 with the job. The worker imports it with the same service, all or nothing
(one transaction: a crash leaves nothing and the retry imports again from the stored bytes);
duplicates are counted, statements stored and checked and transfers between own accounts paired
as for any import. The answer (the API's import body without ``transactions``)
is the job's output; the batch is its result.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from api.parsers import loads_decimal
from common.errors import InvalidInput
from jobs.models import Job, JobKind
from jobs.queue import JobOutcome, RunningJob, tenant_task

from . import services
from .models import BankStatement
from .statements import CsvOptions

PROGRESS_PHASE = "importing"


def _outcome(result: services.ImportResult) -> JobOutcome:
    """The answer kept with the job: the counts and which statements the file had (by id)."""
    return JobOutcome(
        result_type="import_batch",
        result_id=result.batch.id,
        result={
            "batch_id": str(result.batch.id),
            "imported": result.imported,
            "duplicates": result.duplicates,
            "internal_transfers": result.internal_transfers,
            "statements": [
                {"id": str(statement.pk), "already_imported": statement.pk not in result.new_statement_ids}
                for statement in result.statements
            ],
        },
    )


def _present(job: Job, request: Any) -> Any:
    """The API's import answer without ``transactions``: the statements with their checks.

    The statements are read when asked, so their checks are as they are now (a statement
    imported later may have closed a gap), as the import batch's detail shows them.
    """
    from .apis import ImportStatementSerializer  # the API's shape of a statement

    stored = job.result or {}
    listed = stored.get("statements", [])
    by_id = BankStatement.objects.select_related("account").in_bulk([item["id"] for item in listed])
    statements = [by_id[pk] for item in listed if (pk := uuid.UUID(item["id"])) in by_id]
    new_ids = {uuid.UUID(item["id"]) for item in listed if not item["already_imported"]}
    return {
        **stored,
        "statements": ImportStatementSerializer(
            statements, many=True, context={"new_statement_ids": new_ids}
        ).data,
    }


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
