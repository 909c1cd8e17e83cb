"""Jobs API under /v1/tenants/{tenant_id}/: list, detail, cancel (tenant-scoped like everything else)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.pagination import CursorPagination, paginated_response
from api.parsers import json_object_body
from api.problems import PROBLEM_CONTENT_TYPE, problem_body
from api.serializers import StrictInputSerializer
from api.views import TenantAPIView

from . import selectors, services
from .models import Job, JobKind, JobStatus
from .queue import TASKS
from .waiting import WaitPreference


class ProgressSerializer(serializers.Serializer):
    phase = serializers.CharField(source="progress_phase")
    done = serializers.IntegerField(source="progress_done")
    total = serializers.IntegerField(source="progress_total", allow_null=True)
    percent = serializers.IntegerField(
        source="progress_percent", allow_null=True, help_text="null while the total is unknown"
    )
    updated_at = serializers.DateTimeField(source="progress_updated_at", allow_null=True)


class ResultLinkSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.UUIDField()
    url = serializers.URLField(allow_null=True)


def result_link(job: Job, request: Any) -> dict[str, Any] | None:
    """``{type, id, url}`` of what the job made (a run, an import batch, a backtest's report), or None."""
    if job.result_id is None:
        return None
    task = next((t for t in TASKS.values() if t.kind == job.kind), None)
    url = None
    if task is not None and task.result_route is not None:
        name, kwarg = task.result_route
        try:
            path = reverse(name, kwargs={"tenant_id": job.tenant_id, kwarg: job.result_id})
        except NoReverseMatch:
            path = None
        url = request.build_absolute_uri(path) if path else None
    return {"type": job.result_type, "id": job.result_id, "url": url}


def job_url(job: Job, request: Any) -> str:
    path = reverse("job-detail", kwargs={"tenant_id": job.tenant_id, "job_id": job.id})
    return str(request.build_absolute_uri(path))


class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.SerializerMethodField(help_text="This job (GET it to follow its progress).")
    kind = serializers.ChoiceField(choices=JobKind.choices)
    status = serializers.ChoiceField(choices=JobStatus.choices)
    params = serializers.JSONField(help_text="What was asked.")
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source
    created_by = serializers.CharField(
        source="created_by_username", allow_null=True, default=None, help_text="Who started it (username)."
    )
    attempts = serializers.IntegerField()
    progress = ProgressSerializer(source="*")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    cancel_requested_at = serializers.DateTimeField(allow_null=True)
    result = serializers.SerializerMethodField()
    error = serializers.JSONField(allow_null=True, help_text="RFC 9457 problem of a failed job.")

    def get_url(self, job: Job) -> str:
        return job_url(job, self.context["request"])

    def get_result(self, job: Job) -> dict[str, Any] | None:
        link = result_link(job, self.context["request"])
        return ResultLinkSerializer(link).data if link else None


class JobDetailOutputSerializer(JobOutputSerializer):
    output = serializers.SerializerMethodField(
        help_text="The job's answer once it succeeded, as its interface gives it (e.g. a run's candidates)."
    )

    def get_output(self, job: Job) -> Any:
        if job.status != JobStatus.SUCCEEDED or job.result is None:
            return None
        task = next((t for t in TASKS.values() if t.kind == job.kind), None)
        if task is None or task.present_output is None:
            return None
        return task.present_output(job, self.context["request"])


def job_response_body(job: Job, request: Any, *, detail: bool = True) -> dict[str, Any]:
    """The job as the API shows it (also the body of a 202 that points to it)."""
    serializer = JobDetailOutputSerializer if detail else JobOutputSerializer
    return dict(serializer(job, context={"request": request}).data)


PREFER_PARAMETER = OpenApiParameter(
    "Prefer",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="RFC 7240: `respond-async` answers 202 with the job at once; `wait=N` waits up to N "
    "seconds (default JOBS_DEFAULT_WAIT_SECONDS, at most JOBS_MAX_WAIT_SECONDS) for the run before "
    "answering 202 with the job (`Location`).",
)


def job_answer(request: Any, job: Job, preference: WaitPreference, present: Callable[[Job], Any]) -> Response:
    """The answer of a request that waited for its job (jobs/waiting.py), one rule for all.

    Finished in time: ``present(job)`` (200), or the job's problem (its status), or 409 when it
    was cancelled. Still queued or running: 202 with the job and ``Location`` to follow it.
    """
    headers = {"Preference-Applied": preference.header} if preference.header else {}
    if job.status == JobStatus.SUCCEEDED:
        return Response(present(job), headers=headers)
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        problem = job.error or problem_body(
            409, detail="The job was cancelled before it finished.", code="job-cancelled", title="Cancelled"
        )
        problem = {**problem, "job": job_url(job, request)}
        return Response(problem, status=problem["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    location = job_url(job, request)
    return Response(
        job_response_body(job, request, detail=False),
        status=202,
        headers={**headers, "Location": location, "Retry-After": "1"},
    )


class JobFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=JobStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=JobKind.choices, required=False)


class JobListApi(TenantAPIView):
    """``GET jobs``: the tenant's jobs, newest first (filters ``status``, ``kind``)."""

    pagination_class = CursorPagination

    @extend_schema(parameters=[JobFilterSerializer], responses=JobOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = JobFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        jobs = selectors.job_list(status=sorted(data.get("status") or []), kind=data.get("kind"))
        output = functools.partial(JobOutputSerializer, context={"request": request})  # for the links
        return paginated_response(self, request, jobs, output)


class JobDetailApi(TenantAPIView):
    """``GET jobs/{job_id}``: status, progress, result link, and the answer or the problem."""

    @extend_schema(responses=JobDetailOutputSerializer)
    def get(self, request: Request, job_id: uuid.UUID) -> Response:
        return Response(job_response_body(selectors.job_get(job_id=job_id), request))


class JobCancelApi(TenantAPIView):
    """``POST jobs/{job_id}/cancel`` (no body, or ``{}``): a queued job never starts, a running
    one stops at its next progress report and rolls back; 409 once it has finished."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "JobCancelRequest"

    @extend_schema(request=None, responses=JobOutputSerializer)
    def post(self, request: Request, job_id: uuid.UUID) -> Response:
        self.InputSerializer(data=json_object_body(request, required=False)).is_valid(raise_exception=True)
        job = services.job_cancel(job_id=job_id)
        return Response(job_response_body(job, request, detail=False), status=202 if job.is_active else 200)
