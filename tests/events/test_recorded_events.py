"""Which events the changes record, in their own transaction, and how large runs stay bounded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from common.errors import Conflict
from events import services as event_services
from events.models import DeliveryStatus, Event, EventType, WebhookAttempt, WebhookDelivery
from events.services import endpoint_create, event_record
from events.tasks import events_purge_older_than
from jobs.models import Job, JobKind, JobStatus
from jobs.tasks import retry_stalled
from jobs.waiting import job_wait
from reconciliation import events as run_events
from reconciliation import services
from reconciliation.models import Match, MatchStatus
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile as run_reconcile

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
INVOICE_FIXTURES = Path(__file__).resolve().parents[1] / "invoices" / "fixtures"


def _events(world, type_=None) -> list[Event]:
    with tenant_context(world.tenant.id):
        events = Event.objects.order_by("created_at", "id")
        return list(events.filter(type=type_) if type_ else events)


def _paid_by_reference(world, count: int) -> None:
    """``count`` invoices and their payments, each auto-confirmed by a run (reference + IBAN)."""
    vendor = make_vendor(world.tenant, iban=IBAN)
    for n in range(count):
        make_invoice(world.tenant, amount=f"{100 + n}.00", number=f"INV-{5000 + n}", vendor=vendor)
        make_transaction(
            world.tenant,
            amount=f"{100 + n}.00",
            description=f"Payment INV-{5000 + n}",
            counterparty_name=vendor.name,
            counterparty_account=IBAN,
        )


def test_a_run_records_its_events_bounded_lists_and_every_settled_invoice_once(world_a, monkeypatch):
    monkeypatch.setattr(event_services, "MAX_LISTED", 2)
    monkeypatch.setattr(run_events, "MAX_LISTED", 2)
    _paid_by_reference(world_a, 3)
    result = run_reconcile(world_a.tenant.id, source="test")
    assert result.auto_confirmed == 3
    types = [event.type for event in _events(world_a)]
    assert types == [
        EventType.MATCH_AUTO_CONFIRMED,
        EventType.INVOICE_SETTLED,
        EventType.INVOICE_SETTLED,
        EventType.RECONCILIATION_COMPLETED,
    ]
    [auto] = _events(world_a, EventType.MATCH_AUTO_CONFIRMED)
    assert auto.data["count"] == 3 and auto.data["truncated"] is True and len(auto.data["matches"]) == 2
    assert auto.data["matches_url"] == (
        f"/v1/tenants/{world_a.tenant.id}/matches?run_id={result.run_id}&status=confirmed"
    )
    settled = [
        invoice for event in _events(world_a, EventType.INVOICE_SETTLED) for invoice in event.data["invoices"]
    ]
    assert sorted(invoice["number"] for invoice in settled) == ["INV-5000", "INV-5001", "INV-5002"]
    assert {invoice["amount"] for invoice in settled} == {"100.00", "101.00", "102.00"}
    [completed] = _events(world_a, EventType.RECONCILIATION_COMPLETED)
    assert completed.data["auto_confirmed_count"] == 3 and completed.data["invoices_settled_count"] == 3
    assert completed.object_id == result.run_id


def test_a_dry_run_records_nothing(world_a):
    _paid_by_reference(world_a, 1)
    run_reconcile(world_a.tenant.id, dry_run=True, source="test")
    assert _events(world_a) == []


def test_decisions_record_their_events_and_a_refused_decision_none(world_a):
    make_invoice(world_a.tenant, amount="80.00")
    make_transaction(world_a.tenant, amount="80.00", description="Transfer")
    result = run_reconcile(world_a.tenant.id, source="test")
    [candidate] = result.proposals
    assert not candidate.auto_confirmed
    with tenant_context(world_a.tenant.id):
        services.match_confirm(match_id=candidate.match_id, actor=world_a.accountant)
        with pytest.raises(Conflict):
            services.match_confirm(match_id=candidate.match_id, actor=world_a.accountant)
        services.match_undo(match_id=candidate.match_id, actor=world_a.accountant)
    types = [event.type for event in _events(world_a)]
    assert types == [
        EventType.RECONCILIATION_COMPLETED,
        EventType.MATCH_CONFIRMED,
        EventType.INVOICE_SETTLED,
        EventType.MATCH_UNDONE,
    ]
    confirmed = _events(world_a, EventType.MATCH_CONFIRMED)[0]
    assert confirmed.object_id == candidate.match_id
    assert confirmed.data["decided_by_id"] == world_a.accountant.pk
    assert confirmed.data["allocations"][0]["amount"] == "80.00"
    settled = _events(world_a, EventType.INVOICE_SETTLED)[0]
    assert (
        settled.data["match_id"] == str(candidate.match_id)
        and settled.data["invoices"][0]["status"] == "paid"
    )


def test_a_partial_payment_settles_nothing(world_a):
    with tenant_context(world_a.tenant.id):
        from tenants.models import TenantSettings

        TenantSettings.objects.update(auto_confirm_threshold=None)
    make_invoice(world_a.tenant, amount="100.00", number="INV-7")
    make_transaction(world_a.tenant, amount="40.00", description="Part payment INV-7")
    result = run_reconcile(world_a.tenant.id, source="test")
    with tenant_context(world_a.tenant.id):
        for candidate in result.proposals:
            services.match_confirm(match_id=candidate.match_id, actor=world_a.accountant)
        assert Match.objects.filter(status=MatchStatus.CONFIRMED).exists()
    assert _events(world_a, EventType.MATCH_CONFIRMED)
    assert _events(world_a, EventType.INVOICE_SETTLED) == []


def test_imports_record_import_completed(world_a, api_client_for):
    response = api_client_for(world_a.accountant).post(
        f"/v1/tenants/{world_a.tenant.id}/bank-transactions/import",
        {"transactions": [{"amount": "10.00", "date": "2024-03-01", "external_id": "x-1"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="events-1",
    )
    assert response.status_code == 201, response.content
    [event] = _events(world_a, EventType.IMPORT_COMPLETED)
    assert event.data["kind"] == "bank_transactions" and event.data["imported"] == 1
    assert "job_id" not in event.data  # imported by the request itself
    assert str(event.object_id) == response.json()["batch_id"]
    call_command(
        "import_invoices", str(INVOICE_FIXTURES / "erp_export.csv"), "--tenant", str(world_a.tenant.id)
    )
    invoices = [e for e in _events(world_a, EventType.IMPORT_COMPLETED) if e.data["kind"] == "invoices"]
    assert len(invoices) == 1 and invoices[0].data["created"] > 0


IMPORT_ITEMS = [
    {
        "amount": "150.00",
        "date": "2024-03-20",
        "description": "Payment INV-1001 Acme Supplies",
        "counterparty": "ACME SUPPLIES",
        "counterparty_account": IBAN,
        "external_id": "t-1",
    },
    {"amount": "80.00", "date": "2024-03-21", "description": "Transfer", "external_id": "t-2"},
]


def _queued_import(world, client, items, key: str) -> Job:
    """A JSON import large enough to be queued (202): its job, not run yet."""
    with override_settings(IMPORT_ASYNC_MIN_BYTES=100):
        response = client.post(
            f"/v1/tenants/{world.tenant.id}/bank-transactions/import",
            {"transactions": items},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
    assert response.status_code == 202, response.content
    with tenant_context(world.tenant.id):
        return Job.objects.get(id=response.json()["id"])


def _run_job(world, job_id) -> Job:
    """Run a queued job here, as a worker would (JOBS_RUN_IN_PROCESS)."""
    with tenant_context(world.tenant.id):
        return job_wait(job_id=job_id, seconds=1)


def test_an_import_job_records_import_completed_and_its_automatic_run_the_run_events(world_a, api_client_for):
    make_invoice(
        world_a.tenant, amount="150.00", number="INV-1001", vendor=make_vendor(world_a.tenant, iban=IBAN)
    )
    job = _queued_import(world_a, api_client_for(world_a.accountant), IMPORT_ITEMS, "events-job-1")
    assert _events(world_a) == []  # queued: nothing imported, nothing to tell

    assert _run_job(world_a, job.id).status == JobStatus.SUCCEEDED
    [completed] = _events(world_a, EventType.IMPORT_COMPLETED)
    assert completed.data["imported"] == 2 and completed.data["source"] == "api"
    assert completed.data["job_id"] == str(job.id)  # the job the 202 answered with
    with tenant_context(world_a.tenant.id):
        [auto] = Job.objects.filter(kind=JobKind.RECONCILE)
    assert auto.source == "auto" and auto.status == JobStatus.QUEUED

    run = _run_job(world_a, auto.id)
    assert run.status == JobStatus.SUCCEEDED
    types = [event.type for event in _events(world_a)]
    assert types == [
        EventType.IMPORT_COMPLETED,
        EventType.MATCH_AUTO_CONFIRMED,
        EventType.INVOICE_SETTLED,
        EventType.RECONCILIATION_COMPLETED,
    ]
    [done] = _events(world_a, EventType.RECONCILIATION_COMPLETED)
    assert done.data["source"] == "auto" and done.object_id == run.result_id
    assert done.data["auto_confirmed_count"] == 1 and done.data["invoices_settled_count"] == 1
    assert {event.data["job_id"] for event in _events(world_a)[1:]} == {str(auto.id)}


def test_an_import_job_that_fails_records_import_failed_only(world_a, api_client_for):
    items = [*IMPORT_ITEMS, {"amount": "1e3", "date": "2024-03-22", "description": "bad"}]
    job = _queued_import(world_a, api_client_for(world_a.accountant), items, "events-job-2")

    failed = _run_job(world_a, job.id)

    assert failed.status == JobStatus.FAILED
    [event] = _events(world_a)
    assert event.type == EventType.IMPORT_FAILED and event.object_id == job.id
    assert event.data["job_id"] == str(job.id) and event.data["kind"] == "bank_transactions"
    assert event.data["source"] == "api"
    assert (
        event.data["problem"]["status"] == 400 and "transactions[2].amount" in event.data["problem"]["errors"]
    )


def test_an_import_job_failed_by_the_stall_check_records_import_failed(world_a, api_client_for):
    """A job whose worker was lost too often fails in the stall check: that failure is told too."""
    job = _queued_import(world_a, api_client_for(world_a.accountant), IMPORT_ITEMS, "events-job-3")
    with tenant_context(world_a.tenant.id):
        Job.objects.filter(id=job.id).update(status=JobStatus.RUNNING, attempts=3)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 minute') RETURNING id"
        )
        (worker_id,) = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s, attempts = 2 WHERE id = %s",
            [worker_id, job.queue_job_id],
        )

    assert retry_stalled(30) == [job.queue_job_id]

    [event] = _events(world_a)
    assert event.type == EventType.IMPORT_FAILED and event.data["job_id"] == str(job.id)
    assert "stopped" in event.data["problem"]["detail"]


def test_recording_writes_a_fixed_number_of_statements_whatever_the_events(world_a):
    from django.test.utils import CaptureQueriesContext

    with tenant_context(world_a.tenant.id):
        for n in range(3):
            endpoint_create(url=f"https://erp.example.com/{n}", event_types=list(EventType.values))
        specs = [
            event_services.EventSpec(type=EventType.INVOICE_SETTLED, data={"n": n}, object_type="x")
            for n in range(50)
        ]
        with CaptureQueriesContext(connection) as queries:
            event_services.events_record(specs)
        assert WebhookDelivery.objects.count() == 150
    # events, endpoints, deliveries, queue jobs (one batch)
    assert len(queries.captured_queries) == 4, [q["sql"][:80] for q in queries.captured_queries]


def test_the_purge_removes_finished_events_past_retention_only(world_a):
    with tenant_context(world_a.tenant.id):
        endpoint, _ = endpoint_create(url="https://erp.example.com/hooks", event_types=list(EventType.values))
        old_done = event_record(EventType.MATCH_CONFIRMED, {}, object_type="match")
        old_pending = event_record(EventType.MATCH_REJECTED, {}, object_type="match")
        recent = event_record(EventType.MATCH_UNDONE, {}, object_type="match")
        done = WebhookDelivery.objects.get(event=old_done)
        WebhookDelivery.objects.filter(id=done.id).update(status=DeliveryStatus.SUCCEEDED)
        WebhookAttempt.objects.create(
            delivery=done, number=1, url=endpoint.url, succeeded=True, response_code=200
        )
        long_ago = timezone.now() - dt.timedelta(days=40)
        Event.objects.filter(id__in=[old_done.id, old_pending.id]).update(created_at=long_ago)
    assert events_purge_older_than(30) == 1
    with tenant_context(world_a.tenant.id):
        assert set(Event.objects.values_list("id", flat=True)) == {old_pending.id, recent.id}
        assert not WebhookAttempt.objects.exists()
