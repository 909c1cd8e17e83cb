"""A tenant's view of its jobs: what was asked, where it stands, what came out of it.

The queue itself is Procrastinate's tables (platform tables, no RLS: they hold ids only). Each
queued job of a tenant has one ``Job`` row here, written in the same transaction as the queue's
row; the worker trusts the tenant named by this row (RLS wrote it), never the queue's
arguments alone (jobs/queue.py). Results are linked by type and id, not by foreign key: the
rows they name belong to apps above this one (DESIGN.md floors).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants import limits
from tenants.models import TenantForeignKey, TenantModel


class JobKind(models.TextChoices):
    RECONCILE = "reconcile", "Reconciliation run"
    STATEMENT_IMPORT = "statement_import", "Statement import"
    INVOICE_IMPORT = "invoice_import", "Invoice import"
    PROBE = "probe", "Probe (tests)"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(TenantModel):
    """One long operation of a tenant run by a worker, with its progress and outcome."""

    kind = models.CharField(max_length=32, choices=JobKind.choices)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(default=dict, help_text="What was asked (no secrets, no file contents).")
    source = models.CharField(max_length=16, default="api", help_text="api, graphql, admin, command, auto")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    queue_job_id = models.BigIntegerField(null=True, blank=True, help_text="procrastinate_jobs.id")
    attempts = models.PositiveSmallIntegerField(default=0)
    progress_phase = models.CharField(max_length=64, blank=True, default="")
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(null=True, blank=True)
    progress_updated_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    result_type = models.CharField(max_length=32, blank=True, default="", help_text="e.g. reconciliation_run")
    result_id = models.UUIDField(null=True, blank=True)
    result = models.JSONField(
        null=True, blank=True, help_text="The job's answer, bounded (e.g. a run's summary)."
    )
    error = models.JSONField(null=True, blank=True, help_text="RFC 9457 problem of a failed job.")

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="job_tenant_created_idx"),
            models.Index(
                fields=["tenant", "kind"],
                condition=Q(status__in=["queued", "running"]),
                name="job_tenant_active_idx",
            ),
        ]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in JobKind]), name="job_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in JobStatus]), name="job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(progress_done__gte=0)
                & (Q(progress_total__isnull=True) | Q(progress_total__gte=0)),
                name="job_progress_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def progress_percent(self) -> int | None:
        """0-100 while the total is known, 100 once succeeded, else None (an unknown share)."""
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return None
        return min(100, self.progress_done * 100 // self.progress_total)


class JobInput(TenantModel):
    """The bytes a job works on (an uploaded statement or invoice file), kept in the database.

    Any worker on any machine reads it from here; it is written in the transaction that queues
    the job and deleted in the transaction that imports it, so a retry after a crash still finds
    it and a finished import leaves nothing behind. Bounded by ``IMPORT_ASYNC_MAX_BYTES``.
    """

    job = TenantForeignKey(Job, on_delete=models.CASCADE, related_name="inputs")
    file_name = models.CharField(max_length=limits.FILE_NAME, blank=True, default="")
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["tenant", "job"], name="jobinput_tenant_job_idx")]

    def __str__(self) -> str:
        return f"{self.file_name or 'input'} ({self.size} bytes)"
