"""The back office's calibration page: backtests of auto-confirmation and shadow mode's record.

``/admin/reconciliation/backtest/`` shows a backtest's table (the latest finished one, or the
one ``?job=`` names) with its recommendation, and shadow mode's measured precision; accountants
and owners start a new backtest with the form (a job, like a run: the page waits a few seconds
and otherwise links to the job's progress). The numbers come from ``reconciliation.backtest``,
the same as the command, REST and GraphQL; nothing here computes any.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from common import limits
from common.errors import DomainError
from jobs.errors import JobFailed
from jobs.models import ACTIVE_STATUSES, Job, JobKind, JobStatus
from reconciliation.tasks import backtest_and_wait
from tenants.admin_site import TenantAdminSite, has_tenant_role
from tenants.models import Role, TenantSettings

from . import backtest
from .workbench import _require_accountant, _tenant_view

DEFAULT_SPEC = "0.80:0.99:0.01"


def _shown_job(request: HttpRequest) -> Job | None:
    """The backtest job ``?job=`` names (any state), else the latest that succeeded."""
    jobs = Job.objects.filter(kind=JobKind.BACKTEST)
    raw = request.GET.get("job", "")
    if raw:
        try:
            return jobs.filter(pk=uuid.UUID(raw[:64])).first()
        except ValueError:
            return None
    return jobs.filter(status=JobStatus.SUCCEEDED).order_by("-finished_at", "-id").first()


@_tenant_view
def backtest_view(request: HttpRequest) -> HttpResponse:
    """GET: the report; POST (accountants and owners): start a backtest, then show it."""
    if request.method == "POST":
        return _start_backtest(request)
    job = _shown_job(request)
    report = None
    if job is not None and job.status == JobStatus.SUCCEEDED and job.result:
        report = backtest.BacktestReport.from_json(job.result)
    settings_row = TenantSettings.objects.first()
    from tenants.admin_site import site

    context = {
        **site.each_context(request),
        "title": "Backtest auto-confirmation",
        "job": job,
        "job_running": job is not None and job.status in ACTIVE_STATUSES,
        "job_failed": job is not None and job.status in (JobStatus.FAILED, JobStatus.CANCELLED),
        "report": report,
        "shadow": backtest.shadow_precision(),
        "settings_row": settings_row,
        "can_run": has_tenant_role(request, Role.ACCOUNTANT),
        "spec": request.GET.get("thresholds", DEFAULT_SPEC)[: limits.NAME],
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/reconciliation/backtest.html", context)


def _start_backtest(request: HttpRequest) -> HttpResponse:
    _require_accountant(request)
    page = reverse("admin:reconciliation_backtest")
    spec = request.POST.get("thresholds", DEFAULT_SPEC).strip() or DEFAULT_SPEC
    try:
        thresholds = backtest.parse_thresholds(spec[:1001])
        job = backtest_and_wait(
            thresholds=thresholds,
            actor=request.user,
            source="admin",
            seconds=django_settings.JOBS_DEFAULT_WAIT_SECONDS,
        )
    except DomainError as error:
        messages.error(request, f"No backtest: {error.detail}")
        return HttpResponseRedirect(page)
    if job.status == JobStatus.SUCCEEDED:
        messages.success(request, "Backtest finished.")
    elif job.status in ACTIVE_STATUSES:
        progress = reverse("admin:jobs_job_change", args=[job.id])
        messages.info(
            request,
            format_html('The backtest runs in the background: <a href="{}">its progress</a>.', progress),
        )
    else:
        messages.error(request, f"The backtest failed: {JobFailed(job).detail}")
    return HttpResponseRedirect(f"{page}?job={job.id}")


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """The dashboard's calibration card: shadow mode and its measured precision."""
    row = TenantSettings.objects.first()
    return {
        "shadow": backtest.shadow_precision(),
        "shadow_mode": bool(row and row.auto_confirm_shadow),
    }


def register(site: TenantAdminSite) -> None:
    site.register_view("reconciliation/backtest/", backtest_view, "reconciliation_backtest")
    site.register_dashboard(dashboard_context)
