"""A failing import task for the webhook tests (registered where the test settings import it).

It fails the way an import does when its file is refused: the jobs app marks the job failed,
and its failure listeners record ``import.failed`` in that transaction.
"""

from __future__ import annotations

from jobs.models import JobKind
from jobs.queue import JobOutcome, RunningJob, tenant_task
from tenants.errors import InvalidInput


@tenant_task(kind=JobKind.STATEMENT_IMPORT, name="tests.refused_statement_import")
def refused_statement_import(job: RunningJob, *, file_name: str) -> JobOutcome:
    raise InvalidInput(f"The statement file {file_name} cannot be imported: line 3 has no amount.")
