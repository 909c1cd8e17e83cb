"""Back office: the tenant's jobs, running and recent, with progress bars that follow the work.

The bars update without a page reload: ``jobs/progress.js`` asks ``progress/?ids=`` (JSON, this
admin's own view, inside the tenant's context like every admin page) once a second while a job
on the page is queued or running. Runs and import batches link their job (``job_link``); each
finished job links what it made (a run, an import batch, a backtest's report).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join

from common.errors import DomainError
from tenants.admin_site import TenantAdminMixin, has_tenant_role, site
from tenants.models import Role

from . import services
from .models import ACTIVE_STATUSES, Job
from .queue import TASKS

MAX_POLLED_IDS = 100


def progress_text(job: Job) -> str:
    if job.progress_total:
        return f"{job.progress_phase} {job.progress_done:,}/{job.progress_total:,}"
    return job.progress_phase or job.get_status_display()


def progress_html(job: Job) -> str:
    percent = job.progress_percent
    return format_html(
        '<span class="job-progress" data-job-id="{}" data-job-status="{}">'
        '<progress max="100"{}></progress> <span class="job-progress-text">{}</span></span>',
        job.id,
        job.status,
        format_html(' value="{}"', percent) if percent is not None else "",
        progress_text(job),
    )


def job_link(result_type: str, result_id: uuid.UUID | None) -> str:
    """A link to the job that made a run or an import batch ("—" when none did)."""
    if result_id is None:
        return "—"
    job = Job.objects.filter(result_type=result_type, result_id=result_id).only("id", "status").first()
    if job is None:
        return "—"
    url = reverse("admin:jobs_job_change", args=[job.id])
    return format_html('<a href="{}">{}</a>', url, job.get_status_display())


# Where the back office shows what a job made, by its result type: a run's or an import batch's
# change page; a backtest's report on the calibration page (``?job=`` names the job holding it).
_RESULT_CHANGE_PAGES = {
    "reconciliation_run": "reconciliation_reconciliationrun",
    "import_batch": "banking_importbatch",
}
_RESULT_PAGES_BY_JOB = {"backtest_report": "reconciliation_backtest"}


def _result_admin_url(result_type: str, result_id: uuid.UUID) -> str | None:
    """The admin page of a job's result (None for a type the back office has no page for)."""
    if result_type in _RESULT_CHANGE_PAGES:
        return reverse(f"admin:{_RESULT_CHANGE_PAGES[result_type]}_change", args=[result_id])
    if result_type in _RESULT_PAGES_BY_JOB:
        return f"{reverse(f'admin:{_RESULT_PAGES_BY_JOB[result_type]}')}?{urlencode({'job': result_id})}"
    return None


@admin.register(Job, site=site)
class JobAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Running and recent jobs of the tenant; accountants may cancel the ones not finished."""

    allow_add = allow_change = allow_delete = False
    list_display = [
        "created_at",
        "kind",
        "status",
        "progress_bar",
        "source",
        "created_by_name",
        "result_link",
    ]
    list_filter = ["status", "kind", "source"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "status",
        "progress_bar",
        "params",
        "source",
        "created_by_name",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
        "cancel_requested_at",
        "result_link",
        "error_view",
    ]
    readonly_fields = fields
    actions = ["cancel_jobs"]

    class Media:
        js = ["jobs/progress.js"]
        css = {"all": ["jobs/progress.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).annotate(created_by_username=F("created_by__username"))

    def get_urls(self) -> list[Any]:
        progress = path(
            "progress/", self.admin_site.admin_view(self.progress_view), name="jobs_job_progress"
        )
        return [progress, *super().get_urls()]

    def progress_view(self, request: HttpRequest) -> JsonResponse:
        """``{"jobs": {id: {status, percent, text, active}}}`` for the ids asked (at most 100)."""
        if not self.has_view_permission(request):
            return JsonResponse({"detail": "Forbidden"}, status=403)
        ids = []
        for raw in request.GET.get("ids", "").split(",")[:MAX_POLLED_IDS]:
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                continue
        jobs = Job.objects.filter(id__in=ids) if ids else Job.objects.none()
        return JsonResponse(
            {
                "jobs": {
                    str(job.id): {
                        "status": job.status,
                        "status_label": job.get_status_display(),
                        "percent": job.progress_percent,
                        "text": progress_text(job),
                        "active": job.status in ACTIVE_STATUSES,
                    }
                    for job in jobs
                }
            }
        )

    @admin.display(description="Progress")
    def progress_bar(self, obj: Job) -> str:
        return progress_html(obj)

    @admin.display(description="Started by", ordering="created_by_username")
    def created_by_name(self, obj: Job) -> str:
        return getattr(obj, "created_by_username", None) or ("automatic" if obj.source == "auto" else "—")

    @admin.display(description="Result")
    def result_link(self, obj: Job) -> str:
        if obj.result_id is None:
            return "—"
        task = next((t for t in TASKS.values() if t.kind == obj.kind), None)
        if task is None:
            return str(obj.result_id)
        try:
            url = _result_admin_url(obj.result_type, obj.result_id)
        except NoReverseMatch:
            url = None
        if url is None:
            return str(obj.result_id)
        return format_html('<a href="{}">{}</a>', url, obj.result_type.replace("_", " "))

    @admin.display(description="Error")
    def error_view(self, obj: Job) -> str:
        if not obj.error:
            return "—"
        rows = [(key, str(value)) for key, value in obj.error.items() if key in ("title", "status", "detail")]
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    @admin.action(description="Cancel the selected jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        if not has_tenant_role(request, Role.ACCOUNTANT):
            messages.error(request, "Your role in this tenant does not allow cancelling jobs.")
            return
        cancelled = 0
        active = queryset.filter(status__in=ACTIVE_STATUSES).values_list("id", flat=True)
        for job_id in active[:MAX_POLLED_IDS]:
            try:
                services.job_cancel(job_id=job_id)
            except DomainError as error:
                messages.warning(request, f"Job {job_id}: {error.detail}")
            else:
                cancelled += 1
        messages.success(request, f"Cancellation requested for {cancelled} job(s).")
