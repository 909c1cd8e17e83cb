"""The queue end to end with real worker processes: tenant context, transactional enqueue, progress."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from jobs.models import Job, JobStatus
from jobs.services import job_enqueue
from tenants.context import tenant_context
from tests.jobs import probe_tasks
from tests.support.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _job(tenant_id, job_id) -> Job:
    with tenant_context(tenant_id):
        return Job.objects.get(id=job_id)


def _enqueue(tenant_id, **params) -> Job:
    with tenant_context(tenant_id):
        job, created = job_enqueue(task=probe_tasks.probe, params=params, source="test")
    assert created
    return job


def test_a_worker_runs_the_job_inside_its_tenant_context(job_workers, world_a, world_b):
    job_workers.start()
    job = _enqueue(world_a.tenant.id)

    done = wait_for(
        lambda: (
            _job(world_a.tenant.id, job.id).status == JobStatus.SUCCEEDED and _job(world_a.tenant.id, job.id)
        ),
        message="the job to succeed",
    )

    assert done.result == {"role": "recon_tenant", "tenant_setting": str(world_a.tenant.id)}
    assert done.attempts == 1 and done.started_at is not None and done.finished_at is not None
    assert done.progress_phase == "done"
    with tenant_context(world_b.tenant.id):
        assert not Job.objects.filter(id=job.id).exists()  # another tenant's job is invisible


def test_a_job_deferred_in_a_rolled_back_transaction_never_exists(world_a):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), tenant_context(world_a.tenant.id):
        job, _ = job_enqueue(task=probe_tasks.probe, params={}, source="test")
        raise Abort

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE args->>'job_id' = %s", [str(job.id)])
        assert cursor.fetchone()[0] == 0
    with tenant_context(world_a.tenant.id):
        assert not Job.objects.filter(id=job.id).exists()


def test_progress_is_visible_while_the_job_runs(job_workers, world_a):
    job_workers.start()
    job = _enqueue(world_a.tenant.id, steps=8, step_seconds=0.4)

    seen = wait_for(
        lambda: (
            (row := _job(world_a.tenant.id, job.id)).status == JobStatus.RUNNING
            and row.progress_phase == "probing"
            and row.progress_done >= 1
            and row
        ),
        message="progress of the running job",
    )
    assert seen.progress_total == 8 and seen.progress_updated_at is not None
    wait_for(
        lambda: _job(world_a.tenant.id, job.id).status == JobStatus.SUCCEEDED, message="the job to finish"
    )


def test_a_queue_job_naming_another_tenant_is_refused(job_workers, world_a, world_b):
    """The worker trusts the tenant's Job row, never the queue's arguments alone."""
    victim = _enqueue(world_b.tenant.id, steps=0)
    with transaction.atomic():
        wait_for(lambda: _job(world_b.tenant.id, victim.id).status == JobStatus.QUEUED, message="queued")
    # A queue row forged to name tenant A with B's job id: no such job in A.
    with tenant_context(world_a.tenant.id):
        forged = probe_tasks.probe.queue_task.defer(tenant_id=str(world_a.tenant.id), job_id=str(victim.id))
    job_workers.start()
    wait_for(lambda: _job(world_b.tenant.id, victim.id).status == JobStatus.SUCCEEDED, message="B's own job")
    with connection.cursor() as cursor:
        wait_for(
            lambda: (
                (cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [forged]) or True)
                and cursor.fetchone()[0] == "succeeded"
            ),
            message="the forged job to be consumed",
        )
    assert _job(world_b.tenant.id, victim.id).attempts == 1  # run once, by its own queue job only
