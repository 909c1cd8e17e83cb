"""Webhooks end to end with real queue workers: the whole flow arrives signed, retries, import.failed.

The test commits like production (``transaction=True``); deliveries are jobs that real
``manage.py procrastinate worker`` processes run, and a local receiver gets them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from standardwebhooks import Webhook

from events.models import EventType
from jobs.services import job_enqueue
from tenants.context import tenant_context
from tests.events import import_tasks
from tests.reconciliation.factories import make_invoice, make_vendor
from tests.support.webhook_receiver import webhook_receiver
from tests.support.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ALL_TYPES = list(EventType.values)
IBAN = "DE89370400440532013000"


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def register(client, world, url: str, types=ALL_TYPES) -> dict:
    response = client.post(f"{base(world)}/webhooks", {"url": url, "event_types": types}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def verified(receiver, secret: str) -> list[dict]:
    """Every request the receiver got, verified with the secret (raises on a bad signature)."""
    return [
        {**Webhook(secret).verify(request.body, request.headers), "id": request.headers["webhook-id"]}
        for request in receiver.requests
    ]


def test_a_registered_endpoint_receives_signed_events_for_the_whole_flow(
    job_workers, world_a, world_b, api_client_for
):
    owner, accountant = api_client_for(world_a.owner), api_client_for(world_a.accountant)
    with webhook_receiver() as receiver, webhook_receiver() as receiver_b:
        secret = register(owner, world_a, receiver.url)["secret"]
        register(api_client_for(world_b.owner), world_b, receiver_b.url)
        job_workers.start()
        vendor = make_vendor(world_a.tenant, iban=IBAN)
        paid_by_run = make_invoice(world_a.tenant, amount="150.00", number="INV-1001", vendor=vendor)
        make_invoice(world_a.tenant, amount="80.00", number="")
        make_invoice(world_a.tenant, amount="99.00", number="")
        imported = accountant.post(
            f"{base(world_a)}/bank-transactions/import",
            {
                "transactions": [
                    {
                        "amount": "150.00",
                        "date": "2024-03-20",
                        "description": "Payment INV-1001 Acme Supplies",
                        "counterparty": "ACME SUPPLIES",
                        "counterparty_account": IBAN,
                        "external_id": "t-1",
                    },
                    {
                        "amount": "80.00",
                        "date": "2024-03-21",
                        "description": "Transfer",
                        "external_id": "t-2",
                    },
                    {
                        "amount": "99.00",
                        "date": "2024-03-22",
                        "description": "Transfer",
                        "external_id": "t-3",
                    },
                ]
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="flow-1",
        )
        assert imported.status_code == 201, imported.content
        run = accountant.post(f"{base(world_a)}/reconcile", {}, format="json").json()  # the original flow
        assert run["auto_confirmed"] == 1, run
        proposed = [c for c in run["candidates"] if not c["auto_confirmed"]]
        assert len(proposed) == 2, run["candidates"]
        matches = f"{base(world_a)}/matches"
        assert accountant.post(f"{matches}/{proposed[0]['match_id']}/confirm").status_code == 200
        assert accountant.post(f"{matches}/{proposed[1]['match_id']}/reject").status_code == 200
        assert accountant.post(f"{matches}/{proposed[0]['match_id']}/undo").status_code == 200

        expected = [
            EventType.IMPORT_COMPLETED,
            EventType.MATCH_AUTO_CONFIRMED,
            EventType.INVOICE_SETTLED,  # by the run
            EventType.RECONCILIATION_COMPLETED,
            EventType.MATCH_CONFIRMED,
            EventType.INVOICE_SETTLED,  # by the confirmation
            EventType.MATCH_REJECTED,
            EventType.MATCH_UNDONE,
        ]
        receiver.wait_for(len(expected))
        events = verified(receiver, secret)
        assert receiver_b.requests == []  # B's endpoint hears nothing of A

    assert sorted(event["type"] for event in events) == sorted(expected)
    by_type = {event["type"]: event for event in events}
    assert by_type["import.completed"]["data"]["imported"] == 3
    assert by_type["import.completed"]["data"]["import_batch_id"] == imported.json()["batch_id"]
    auto = by_type["match.auto_confirmed"]["data"]
    assert auto["run_id"] == run["run_id"] and auto["count"] == 1 and not auto["truncated"]
    assert auto["matches"][0]["allocations"][0]["amount"] == "150.00"
    assert by_type["reconciliation.completed"]["data"]["proposals_count"] == 3
    settled = [event["data"] for event in events if event["type"] == "invoice.settled"]
    by_run = next(data for data in settled if data["match_id"] is None)
    assert by_run["run_id"] == run["run_id"]
    assert by_run["invoices"] == [
        {
            "id": str(paid_by_run.id),
            "number": "INV-1001",
            "amount": "150.00",
            "amount_paid": "150.00",
            "currency": "USD",
            "kind": "receivable",
            "status": "paid",
        }
    ]
    by_person = next(data for data in settled if data["match_id"] == proposed[0]["match_id"])
    assert by_person["invoices"][0]["id"] == proposed[0]["invoice_id"]
    assert by_type["match.undone"]["data"]["status"] == "undone"

    # Every event of A is listed with its delivery and the attempt's answer.
    listed = owner.get(f"{base(world_a)}/events", {"page_size": 50}).json()["results"]
    assert {event["id"] for event in listed} == {event["id"] for event in events}
    detail = wait_for(
        lambda: (
            (body := owner.get(f"{base(world_a)}/events/{events[0]['id']}").json())["deliveries"][0]["status"]
            == "succeeded"
            and body
        ),
        message="the delivery's success to be recorded",
    )
    [delivery] = detail["deliveries"]
    assert delivery["endpoint_url"] == receiver.url
    assert [(a["number"], a["response_code"], a["succeeded"]) for a in delivery["attempts"]] == [
        (1, 200, True)
    ]


def test_a_failing_receiver_is_retried_until_it_answers_and_an_owner_can_resend(
    job_workers, world_a, api_client_for
):
    owner = api_client_for(world_a.owner)
    with webhook_receiver() as receiver:
        receiver.answers = [500, 502]
        secret = register(owner, world_a, receiver.url, types=[EventType.MATCH_REJECTED])["secret"]
        with tenant_context(world_a.tenant.id):
            from events.services import event_record

            event = event_record(EventType.MATCH_REJECTED, {"match_id": "m-9"}, object_type="match")
        job_workers.start()
        receiver.wait_for(3)
        url = f"{base(world_a)}/events/{event.id}"
        detail = wait_for(
            lambda: (body := owner.get(url).json())["deliveries"][0]["status"] == "succeeded" and body,
            message="the third attempt to succeed",
        )
        attempts = detail["deliveries"][0]["attempts"]
        assert [(a["number"], a["response_code"]) for a in attempts] == [(1, 500), (2, 502), (3, 200)]
        assert all(a["latency_ms"] >= 0 for a in attempts)
        assert "502" in attempts[1]["error"]

        resent = owner.post(f"{url}/resend", {}, format="json")
        assert resent.status_code == 202, resent.content
        receiver.wait_for(4)
        again = verified(receiver, secret)
    assert again[-1]["id"] == again[0]["id"] == str(event.id)  # the same webhook-id: receivers deduplicate
    assert again[-1]["data"] == {"match_id": "m-9"}
    deliveries = wait_for(
        lambda: (
            (d := owner.get(url).json()["deliveries"]) and all(x["status"] == "succeeded" for x in d) and d
        ),
        message="the resend to succeed",
    )
    assert len(deliveries) == 2 and deliveries[0]["requested_by_id"] == world_a.owner.pk


def test_an_import_job_that_fails_sends_import_failed(job_workers, world_a, api_client_for):
    owner = api_client_for(world_a.owner)
    with webhook_receiver() as receiver:
        secret = register(owner, world_a, receiver.url, types=[EventType.IMPORT_FAILED])["secret"]
        job_workers.start()
        with tenant_context(world_a.tenant.id):
            job, _ = job_enqueue(
                task=import_tasks.refused_statement_import, params={"file_name": "march.sta"}, source="test"
            )
        [event] = verified(receiver, secret) if receiver.wait_for(1) else []
    assert event["type"] == "import.failed"
    data = event["data"]
    assert data["job_id"] == str(job.id) and data["kind"] == "bank_transactions"
    assert data["file_name"] == "march.sta"
    assert data["problem"]["status"] == 400 and "line 3 has no amount" in data["problem"]["detail"]
    assert dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).tzinfo is not None
