"""The jobs services, called directly: one waiting job per queueing lock, the size bound of a
queued upload, and cancelling."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from common.errors import Conflict, NotFound
from jobs.models import Job, JobInput, JobStatus
from jobs.services import PayloadTooLarge, job_cancel, job_enqueue, job_enqueue_with_input
from tenants.context import tenant_context
from tests.jobs import probe_tasks

pytestmark = pytest.mark.django_db


def test_a_queueing_lock_keeps_one_job_waiting(world_a):
    with tenant_context(world_a.tenant.id):
        first, created = job_enqueue(task=probe_tasks.probe, params={}, queueing_lock="probe-a")
        again, created_again = job_enqueue(task=probe_tasks.probe, params={}, queueing_lock="probe-a")
        other, created_other = job_enqueue(task=probe_tasks.probe, params={}, queueing_lock="probe-b")
        assert Job.objects.count() == 2
    assert created and not created_again and created_other
    assert again.id == first.id and other.id != first.id


@override_settings(IMPORT_ASYNC_MAX_BYTES=10)
def test_an_upload_above_the_bound_is_refused_and_nothing_is_queued(world_a):
    with tenant_context(world_a.tenant.id):
        with pytest.raises(PayloadTooLarge) as refused:
            job_enqueue_with_input(task=probe_tasks.probe, params={}, content=b"x" * 11, file_name="big.csv")
        assert refused.value.status == 413
        assert not Job.objects.exists() and not JobInput.objects.exists()
        job = job_enqueue_with_input(task=probe_tasks.probe, params={}, content=b"x" * 10, file_name="ok.csv")
        (stored,) = JobInput.objects.filter(job=job)
    assert (stored.file_name, stored.size, bytes(stored.content)) == ("ok.csv", 10, b"x" * 10)


def test_a_queued_job_cancelled_is_final(world_a, world_b):
    with tenant_context(world_a.tenant.id):
        job, _ = job_enqueue(task=probe_tasks.probe, params={})
    with tenant_context(world_b.tenant.id), pytest.raises(NotFound):
        job_cancel(job_id=job.id)  # another tenant's job does not exist for B
    with tenant_context(world_a.tenant.id):
        cancelled = job_cancel(job_id=job.id)
        assert cancelled.status == JobStatus.CANCELLED and cancelled.cancel_requested_at is not None
        with pytest.raises(Conflict):
            job_cancel(job_id=job.id)
        with pytest.raises(NotFound):
            job_cancel(job_id=uuid.uuid4())
