"""The queue's rules that need no worker: outcomes and their signal, stall handling, housekeeping,
RFC 7240 preferences, the jobs API's shape (jobs run in process here, JOBS_RUN_IN_PROCESS)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from jobs.models import Job, JobKind, JobStatus
from jobs.services import job_enqueue
from jobs.signals import job_finished
from jobs.tasks import purge_finished_jobs_older_than, retry_stalled
from jobs.waiting import job_wait, parse_prefer
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tests.jobs import probe_tasks

pytestmark = pytest.mark.django_db


def run_probe(world, **params) -> Job:
    with tenant_context(world.tenant.id):
        job, _ = job_enqueue(task=probe_tasks.probe, params=params, source="test")
        return job_wait(job_id=job.id, seconds=1)


@pytest.fixture
def outbox():
    """A receiver of job_finished that writes, as an event outbox would."""
    seen = []

    def receiver(sender, **event):
        seen.append(event)
        # A marker row, not a vocabulary action (tenants.audit refuses those): written as a row.
        AuditEvent.objects.create(
            action=f"job.{event['status']}", object_type="job", object_id=event["job_id"]
        )

    job_finished.connect(receiver)
    yield seen
    job_finished.disconnect(receiver)


def test_a_succeeded_job_signals_in_its_own_transaction(world_a, outbox):
    job = run_probe(world_a)

    assert job.status == JobStatus.SUCCEEDED and job.result["role"] == "recon_tenant"
    assert outbox[0]["status"] == "succeeded" and outbox[0]["tenant_id"] == world_a.tenant.id
    with tenant_context(world_a.tenant.id):
        assert AuditEvent.objects.filter(action="job.succeeded", object_id=job.id).exists()


def test_a_failed_job_rolls_its_work_back_and_keeps_the_problem(world_a, outbox):
    job = run_probe(world_a, write=True, fail="domain")

    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert job.error["status"] == 422 and job.error["detail"] == "The probe was asked to fail."
    assert outbox[0]["status"] == "failed" and outbox[0]["error"]["status"] == 422
    with tenant_context(world_a.tenant.id):
        assert not AuditEvent.objects.filter(action="probe.wrote").exists()
        assert AuditEvent.objects.filter(action="job.failed").exists()


def test_an_unexpected_error_shows_a_generic_problem(world_a):
    job = run_probe(world_a, fail="crash")

    assert job.status == JobStatus.FAILED and job.error["status"] == 500
    assert "probe crashed" not in json.dumps(job.error)  # internals stay in the log


def _stalled_queue_job(world, *, attempts: int) -> Job:
    """A job a worker took and then vanished with (its heartbeat a minute old)."""
    with tenant_context(world.tenant.id):
        job, _ = job_enqueue(task=probe_tasks.probe, params={}, source="test")
        Job.objects.filter(id=job.id).update(status=JobStatus.RUNNING, attempts=attempts + 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 minute') RETURNING id"
        )
        (worker_id,) = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s, attempts = %s WHERE id = %s",
            [worker_id, attempts, job.queue_job_id],
        )
    return job


def queue_status(job: Job) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job.queue_job_id])
        return cursor.fetchone()[0]


def test_a_stalled_job_goes_back_to_the_queue(world_a):
    job = _stalled_queue_job(world_a, attempts=0)

    assert retry_stalled(30) == [job.queue_job_id]

    assert queue_status(job) == "todo"
    with tenant_context(world_a.tenant.id):
        row = Job.objects.get(id=job.id)
    assert row.status == JobStatus.QUEUED and "worker lost" in row.progress_phase


def test_a_job_that_stalls_again_and_again_fails(world_a, outbox):
    job = _stalled_queue_job(world_a, attempts=2)

    retry_stalled(30)

    assert queue_status(job) == "failed"
    with tenant_context(world_a.tenant.id):
        row = Job.objects.get(id=job.id)
        assert AuditEvent.objects.filter(action="job.failed", object_id=job.id).exists()
    assert row.status == JobStatus.FAILED and "stopped" in row.error["detail"]
    assert [(e["job_id"], e["kind"], e["status"]) for e in outbox] == [(job.id, JobKind.PROBE, "failed")]
    assert outbox[0]["error"] == row.error


def test_finished_jobs_past_retention_are_purged(world_a, world_b):
    old = run_probe(world_a)
    recent = run_probe(world_b)
    with tenant_context(world_a.tenant.id):
        Job.objects.filter(id=old.id).update(finished_at=timezone.now() - dt.timedelta(days=40))
        waiting, _ = job_enqueue(task=probe_tasks.probe, params={}, source="test")
        Job.objects.filter(id=waiting.id).update(created_at=timezone.now() - dt.timedelta(days=40))

    assert purge_finished_jobs_older_than(30) == 1

    with tenant_context(world_a.tenant.id):
        assert set(Job.objects.values_list("id", flat=True)) == {waiting.id}  # active jobs are kept
    with tenant_context(world_b.tenant.id):
        assert Job.objects.filter(id=recent.id).exists()


@override_settings(JOBS_DEFAULT_WAIT_SECONDS=5, JOBS_MAX_WAIT_SECONDS=60)
@pytest.mark.parametrize(
    ("header", "seconds", "applied"),
    [
        (None, 5.0, ""),
        ("respond-async", 0.0, "respond-async"),
        ("respond-async, wait=30", 0.0, "respond-async"),
        ("wait=12", 12.0, "wait=12"),
        ("WAIT = 7", 7.0, "wait=7"),
        ("wait=100000", 60.0, "wait=60"),
        ("wait=-1", 5.0, ""),
        ("wait=1e3", 5.0, ""),
        ("handling=lenient; foo, return=minimal", 5.0, ""),
    ],
)
def test_prefer_header(header, seconds, applied):
    preference = parse_prefer(header)
    assert (preference.seconds, preference.header) == (seconds, applied)


def test_the_jobs_api_lists_and_shows_jobs_of_the_tenant_only(world_a, world_b, api_client_for):
    mine = run_probe(world_a)
    theirs = run_probe(world_b)
    client = api_client_for(world_a.viewer)

    listed = client.get(f"/v1/tenants/{world_a.tenant.id}/jobs").json()["results"]
    detail = client.get(f"/v1/tenants/{world_a.tenant.id}/jobs/{mine.id}").json()
    other = client.get(f"/v1/tenants/{world_a.tenant.id}/jobs/{theirs.id}")
    filtered = client.get(f"/v1/tenants/{world_a.tenant.id}/jobs", {"status": "failed"}).json()["results"]
    bad = client.get(f"/v1/tenants/{world_a.tenant.id}/jobs", {"status": "exploded"})

    assert [job["id"] for job in listed] == [str(mine.id)] and filtered == []
    assert detail["kind"] == JobKind.PROBE and detail["status"] == "succeeded" and detail["attempts"] == 1
    assert detail["progress"] == {**detail["progress"], "phase": "done", "percent": 100}
    assert other.status_code == 404 and bad.status_code == 400
    viewer_cancel = client.post(f"/v1/tenants/{world_a.tenant.id}/jobs/{mine.id}/cancel")
    assert viewer_cancel.status_code == 403  # viewers read, accountants act


def test_graphql_reconcile_names_its_job(world_a, api_client_for):
    response = api_client_for(world_a.accountant).post(
        f"/v1/tenants/{world_a.tenant.id}/graphql",
        {"query": "mutation { reconcile { runId completed jobId jobStatus candidatesTotal } }"},
        format="json",
    )
    data = response.json()["data"]["reconcile"]
    assert data["completed"] is True and data["jobStatus"] == "succeeded" and data["runId"]
    with tenant_context(world_a.tenant.id):
        assert Job.objects.get(id=data["jobId"]).source == "graphql"
