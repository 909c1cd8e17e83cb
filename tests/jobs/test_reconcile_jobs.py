"""Reconciliation through the queue, end to end: gunicorn + real workers on committed data.

The rest of the suite runs jobs in process (JOBS_RUN_IN_PROCESS, tests that are not about the
queue); here the app under gunicorn and the workers are separate processes, as in production.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from django.db import connection

from jobs.models import Job, JobKind, JobStatus
from jobs.services import job_enqueue
from reconciliation.models import Match, ReconciliationRun
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice
from tests.jobs import probe_tasks
from tests.support.server import database_url, gunicorn_server
from tests.support.worker import wait_for
from tests.tenants.factories import bearer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def server(transactional_db):
    db_url = database_url(connection.settings_dict)
    with gunicorn_server(db_url, workers=2, extra_env={"JOBS_RUN_IN_PROCESS": "false"}) as (base, _process):
        yield base


def seed_pair(world, number: str = "INV-7001", amount: str = "250.00") -> None:
    make_invoice(world.tenant, amount=amount, number=number)
    make_transaction(world.tenant, amount=amount, description=f"Payment {number}")


def post_reconcile(
    base: str, world, *, prefer: str | None = None, body: dict | None = None
) -> requests.Response:
    headers = {**_auth(world), "Content-Type": "application/json"}
    if prefer:
        headers["Prefer"] = prefer
    return requests.post(
        f"{base}/v1/tenants/{world.tenant.id}/reconcile",
        data=json.dumps(body or {}),
        headers=headers,
        timeout=60,
    )


_TOKENS: dict[tuple, str] = {}


def _auth(world, user=None) -> dict[str, str]:
    """An Authorization header of the world's accountant (or ``user``), one token per user and test."""
    user = user or world.accountant
    key = (user.pk, world.tenant.id)
    if key not in _TOKENS:
        _TOKENS[key] = bearer(user)["HTTP_AUTHORIZATION"]
    return {"Authorization": _TOKENS[key]}


@pytest.fixture(autouse=True)
def _fresh_tokens():
    _TOKENS.clear()


def follow(
    url: str, world, *, until=lambda job: job["status"] not in ("queued", "running"), timeout=60
) -> dict:
    return wait_for(
        lambda: (job := requests.get(url, headers=_auth(world), timeout=10).json()) and until(job) and job,
        timeout=timeout,
        interval=0.2,
        message=f"{url} to finish",
    )


def jobs_of(world, **filters) -> list[Job]:
    with tenant_context(world.tenant.id):
        return list(Job.objects.filter(**filters).order_by("created_at"))


def test_reconcile_answers_with_its_candidates_after_a_worker_ran_it(server, job_workers, world_a, world_b):
    seed_pair(world_a)
    job_workers.start()

    response = post_reconcile(server, world_a)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candidates_total"] == 1 and body["run_id"]
    assert body["candidates"][0]["allocations"][0]["amount"] == "250.00"
    (job,) = jobs_of(world_a, kind=JobKind.RECONCILE)
    assert job.status == JobStatus.SUCCEEDED and str(job.result_id) == body["run_id"]
    assert job.created_by_id == world_a.accountant.pk and job.source == "api"
    with tenant_context(world_a.tenant.id):
        assert ReconciliationRun.objects.get(id=body["run_id"]).started_by_id == world_a.accountant.pk
    assert jobs_of(world_b) == []


def test_respond_async_answers_202_and_the_job_shows_the_outcome(server, job_workers, world_a, world_b):
    seed_pair(world_a)

    response = post_reconcile(server, world_a, prefer="respond-async")

    assert response.status_code == 202, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    location = response.headers["Location"]
    assert location == response.json()["url"] and response.json()["status"] == "queued"
    # Another tenant's member cannot see it.
    other = requests.get(location, headers=_auth(world_b, world_b.owner), timeout=10)
    assert other.status_code == 404

    job_workers.start()
    job = follow(location, world_a)

    assert job["status"] == "succeeded" and job["progress"]["percent"] == 100
    assert job["result"]["type"] == "reconciliation_run" and job["result"]["url"].endswith(
        job["result"]["id"]
    )
    assert job["output"]["candidates_total"] == 1
    assert job["output"]["matches_url"].endswith(f"run_id={job['result']['id']}")
    run = requests.get(job["result"]["url"], headers=_auth(world_a), timeout=10)
    assert run.status_code == 200 and run.json()["proposals_count"] == 1


def test_a_run_still_going_after_the_wait_answers_202_and_completes_later(server, job_workers, world_a):
    seed_pair(world_a)

    started = time.monotonic()
    response = post_reconcile(server, world_a, prefer="wait=1")  # no worker yet: it cannot finish

    assert response.status_code == 202 and time.monotonic() - started >= 1
    assert response.headers["Preference-Applied"] == "wait=1"
    job_workers.start()
    assert follow(response.headers["Location"], world_a)["status"] == "succeeded"


def test_a_second_request_joins_the_queued_run(server, world_a):
    seed_pair(world_a)

    first = post_reconcile(server, world_a, prefer="respond-async")
    second = post_reconcile(server, world_a, prefer="respond-async")
    dry = post_reconcile(server, world_a, prefer="respond-async", body={"dry_run": True})

    assert first.status_code == second.status_code == dry.status_code == 202
    assert first.headers["Location"] == second.headers["Location"]
    assert dry.headers["Location"] != first.headers["Location"]  # a dry run is another question
    assert len(jobs_of(world_a, kind=JobKind.RECONCILE)) == 2


def test_an_import_fires_one_automatic_run_for_imports_close_together(server, job_workers, world_a):
    make_invoice(world_a.tenant, amount="99.00", number="INV-8001")
    make_invoice(world_a.tenant, amount="42.00", number="INV-8002")

    for n, (amount, number) in enumerate((("99.00", "INV-8001"), ("42.00", "INV-8002"))):
        response = requests.post(
            f"{server}/v1/tenants/{world_a.tenant.id}/bank-transactions/import",
            data=json.dumps(
                {"transactions": [{"amount": amount, "date": "2024-05-02", "description": number}]}
            ),
            headers={**_auth(world_a), "Content-Type": "application/json", "Idempotency-Key": f"auto-{n}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text

    (queued,) = jobs_of(world_a, kind=JobKind.RECONCILE)  # two imports, one waiting run
    assert queued.source == "auto" and queued.status == JobStatus.QUEUED and queued.created_by_id is None

    job_workers.start()
    wait_for(
        lambda: jobs_of(world_a, kind=JobKind.RECONCILE)[0].status == JobStatus.SUCCEEDED, message="auto run"
    )
    with tenant_context(world_a.tenant.id):
        assert Match.objects.count() == 2  # both imports' transactions were reconciled by it


def test_no_automatic_run_when_the_tenant_switched_it_off(server, world_a):
    response = requests.patch(
        f"{server}/v1/tenants/{world_a.tenant.id}/settings",
        data=json.dumps({"auto_reconcile": False}),
        headers={**_auth(world_a, world_a.owner), "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["auto_reconcile"] is False
    response = requests.post(
        f"{server}/v1/tenants/{world_a.tenant.id}/bank-transactions/import",
        data=json.dumps({"transactions": [{"amount": "5.00", "date": "2024-05-02", "description": "x"}]}),
        headers={**_auth(world_a), "Content-Type": "application/json", "Idempotency-Key": "no-auto"},
        timeout=30,
    )
    assert response.status_code == 201
    assert jobs_of(world_a) == []


def test_one_run_per_tenant_at_a_time_while_other_tenants_run_in_parallel(job_workers, world_a, world_b):
    """Two workers: A's run waits for the job holding A's run lock; B's run does not."""
    seed_pair(world_a)
    seed_pair(world_b)
    job_workers.start(name="worker-1")
    job_workers.start(name="worker-2")
    with tenant_context(world_a.tenant.id):
        holder, _ = job_enqueue(
            task=probe_tasks.probe,
            params={"steps": 20, "step_seconds": 0.3},
            source="test",
            lock=f"reconcile:{world_a.tenant.id}",
        )
    wait_for(lambda: jobs_of(world_a, id=holder.id)[0].status == JobStatus.RUNNING, message="the lock holder")

    from reconciliation.tasks import reconcile_enqueue

    with tenant_context(world_a.tenant.id):
        run_a, _ = reconcile_enqueue(dry_run=False, actor=None, source="test")
    with tenant_context(world_b.tenant.id):
        run_b, _ = reconcile_enqueue(dry_run=False, actor=None, source="test")

    wait_for(lambda: jobs_of(world_a, id=run_a.id)[0].status == JobStatus.SUCCEEDED, message="A's run")
    wait_for(lambda: jobs_of(world_b, id=run_b.id)[0].status == JobStatus.SUCCEEDED, message="B's run")
    (holder_done,) = jobs_of(world_a, id=holder.id)
    (a_done,) = jobs_of(world_a, id=run_a.id)
    (b_done,) = jobs_of(world_b, id=run_b.id)
    assert a_done.started_at >= holder_done.finished_at  # never two of A's at once
    assert b_done.finished_at < holder_done.finished_at  # B's ran beside it, on the other worker


def test_a_backtest_runs_on_a_worker_and_a_second_request_joins_it(server, job_workers, world_a, world_b):
    """The backtest is a job like a run: 202 + Location, joined while queued, its report as output."""
    seed_pair(world_a)
    headers = {**_auth(world_a), "Content-Type": "application/json", "Prefer": "respond-async"}
    url = f"{server}/v1/tenants/{world_a.tenant.id}/reconcile/backtest"
    body = json.dumps({"thresholds": ["0.90", "0.95"]})

    first = requests.post(url, data=body, headers=headers, timeout=60)
    second = requests.post(url, data=body, headers=headers, timeout=60)

    assert first.status_code == second.status_code == 202, first.text
    assert first.headers["Location"] == second.headers["Location"]
    other = requests.get(first.headers["Location"], headers=_auth(world_b, world_b.owner), timeout=10)
    assert other.status_code == 404
    job_workers.start()
    job = follow(first.headers["Location"], world_a)
    assert job["status"] == "succeeded" and job["kind"] == "backtest"
    output = job["output"]
    assert [row["threshold"] for row in output["thresholds"]] == ["0.9000", "0.9500"]
    # Nobody decided anything yet: the one open pair would be auto-confirmed, unlabelled.
    assert output["thresholds"][0]["unlabelled"] == 1 and output["recommended_threshold"] is None
    with tenant_context(world_a.tenant.id):
        assert not Match.objects.exists() and not ReconciliationRun.objects.exists()  # it wrote nothing
