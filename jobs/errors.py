"""A finished job's failure, raised again where an interface waited for it (GraphQL, admin)."""

from __future__ import annotations

from tenants.errors import DomainError

from .models import Job, JobStatus

CANCELLED_DETAIL = "The job was cancelled before it finished."


class JobFailed(DomainError):
    """The job failed (its problem: the status and code the work raised) or was cancelled (409)."""

    def __init__(self, job: Job) -> None:
        problem = job.error or {}
        if job.status == JobStatus.CANCELLED or not problem:
            super().__init__(CANCELLED_DETAIL)
            self.status, self.code, self.title = 409, "job-cancelled", "Cancelled"
            return
        super().__init__(str(problem.get("detail") or problem.get("title") or "The job failed."),
                         errors=problem.get("errors"))
        self.status = int(problem.get("status", 500))
        self.code = str(problem.get("type", "")).rsplit(":", 1)[-1] or "job-failed"
        self.title = str(problem.get("title", "Job failed"))
