"""Job reads (inside the tenant's context)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import F, QuerySet

from tenants.errors import NotFound

from .models import ACTIVE_STATUSES, Job


def job_list(*, status: list[str] | None = None, kind: str | None = None) -> QuerySet[Job]:
    jobs = Job.objects.order_by("-created_at", "-id").annotate(created_by_username=F("created_by__username"))
    if status:
        jobs = jobs.filter(status__in=status)
    if kind:
        jobs = jobs.filter(kind=kind)
    return jobs


def job_get(*, job_id: uuid.UUID) -> Job:
    found: Job | None = (
        Job.objects.annotate(created_by_username=F("created_by__username")).filter(pk=job_id).first()
    )
    if found is None:
        raise NotFound("No such job.")
    return found


def active_job(*, kind: str, params: Mapping[str, Any] | None = None) -> Job | None:
    """The oldest queued or running job of ``kind`` (with these ``params``), if any."""
    jobs = Job.objects.filter(kind=kind, status__in=ACTIVE_STATUSES)
    if params is not None:
        jobs = jobs.filter(params=params)
    return jobs.order_by("created_at", "id").first()
