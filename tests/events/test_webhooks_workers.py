"""Webhooks end to end with real processes: gunicorn serves the API, real queue workers run the
imports, the runs and the deliveries, and a local receiver gets every event, signed.

The test commits like production (``transaction=True``). The chain the issue names: an import
queued by the API (large: above ``IMPORT_ASYNC_MIN_BYTES``, set low here) -> ``import.completed``
-> the automatic run -> ``match.auto_confirmed``, ``invoice.settled``, ``reconciliation.completed``;
then the original flow (``POST reconcile`` answered with its candidates) and people's decisions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.db import connection
from standardwebhooks import Webhook

from events.models import EventType
from events.services import event_record
from tenants.context import tenant_context
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.server import database_url, gunicorn_server
from tests.support.webhook_receiver import webhook_receiver
from tests.support.worker import wait_for
from tests.tenants.factories import bearer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ALL_TYPES = list(EventType.values)
IBAN = "DE89370400440532013000"
SMALL_THRESHOLD = "200"  # bytes: JSON imports from this size on are queued (IMPORT_ASYNC_MIN_BYTES)


@pytest.fixture
def server(transactional_db):
    db_url = database_url(connection.settings_dict)
    env = {"JOBS_RUN_IN_PROCESS": "false", "IMPORT_ASYNC_MIN_BYTES": SMALL_THRESHOLD}
    with gunicorn_server(db_url, extra_env=env) as (base, _process):
        yield base


class Api:
    """One user's calls to one tenant's API on the test server."""

    def __init__(self, server: str, world, user) -> None:  # noqa: ANN001
        self.base = f"{server}/v1/tenants/{world.tenant.id}"
        self.headers = {"Authorization": bearer(user)["HTTP_AUTHORIZATION"]}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.base}{path}", params=params, headers=self.headers, timeout=60)

    def post(self, path: str, body: dict | None = None, **headers: str) -> requests.Response:
        return requests.post(
            f"{self.base}{path}",
            data=json.dumps(body or {}),
            headers={**self.headers, "Content-Type": "application/json", **headers},
            timeout=60,
        )


def register(api: Api, url: str, types=ALL_TYPES) -> str:
    """Register an endpoint; its secret (shown this once)."""
    response = api.post("/webhooks", {"url": url, "event_types": types})
    assert response.status_code == 201, response.text
    return response.json()["secret"]


def verified(received, secret: str) -> list[dict]:
    """Requests the receiver got, verified with the secret (raises on a bad signature)."""
    return [
        {**Webhook(secret).verify(request.body, request.headers), "id": request.headers["webhook-id"]}
        for request in received
    ]


def follow(api: Api, job_id: str) -> dict:
    return wait_for(
        lambda: (job := api.get(f"/jobs/{job_id}").json())["status"] not in ("queued", "running") and job,
        message=f"job {job_id}",
    )


TRANSACTIONS = [
    {
        "amount": "150.00",
        "date": "2024-03-20",
        "description": "Payment INV-1001 Acme Supplies",
        "counterparty": "ACME SUPPLIES",
        "counterparty_account": IBAN,
        "external_id": "t-1",
    },
    {"amount": "80.00", "date": "2024-03-21", "description": "Transfer", "external_id": "t-2"},
    {"amount": "99.00", "date": "2024-03-22", "description": "Transfer", "external_id": "t-3"},
]


def test_an_api_import_fires_a_run_and_the_endpoint_receives_every_event_signed(
    server, job_workers, world_a, world_b
):
    owner, accountant = Api(server, world_a, world_a.owner), Api(server, world_a, world_a.accountant)
    with webhook_receiver() as receiver, webhook_receiver() as receiver_b:
        secret = register(owner, receiver.url)
        register(Api(server, world_b, world_b.owner), receiver_b.url)
        paid_by_run = make_invoice(
            world_a.tenant, amount="150.00", number="INV-1001", vendor=make_vendor(world_a.tenant, iban=IBAN)
        )
        make_invoice(world_a.tenant, amount="80.00", number="")
        make_invoice(world_a.tenant, amount="99.00", number="")

        queued = accountant.post(
            "/bank-transactions/import", {"transactions": TRANSACTIONS}, **{"Idempotency-Key": "flow-1"}
        )
        assert queued.status_code == 202, queued.text  # large: stored and imported by a worker
        job_workers.start(concurrency=2)
        import_job = follow(accountant, queued.json()["id"])
        assert import_job["status"] == "succeeded", import_job

        # The import's worker queued the automatic run; a worker runs it; its events follow.
        chain = [
            EventType.IMPORT_COMPLETED,
            EventType.MATCH_AUTO_CONFIRMED,
            EventType.INVOICE_SETTLED,
            EventType.RECONCILIATION_COMPLETED,
        ]
        receiver.wait_for(1, type_=EventType.RECONCILIATION_COMPLETED)
        events = verified(receiver.wait_for(len(chain)), secret)
        assert sorted(event["type"] for event in events) == sorted(chain)
        by_type = {event["type"]: event["data"] for event in events}
        assert by_type["import.completed"]["import_batch_id"] == import_job["output"]["batch_id"]
        assert by_type["import.completed"]["imported"] == 3
        assert by_type["import.completed"]["job_id"] == queued.json()["id"]  # the job the 202 named
        completed = by_type["reconciliation.completed"]
        assert completed["source"] == "auto" and completed["auto_confirmed_count"] == 1
        auto = by_type["match.auto_confirmed"]
        assert auto["run_id"] == completed["run_id"] and auto["count"] == 1 and not auto["truncated"]
        assert auto["matches"][0]["allocations"][0]["amount"] == "150.00"
        assert by_type["invoice.settled"]["run_id"] == completed["run_id"]
        assert by_type["invoice.settled"]["invoices"] == [
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

        # The original flow: POST reconcile answers with its candidates (a worker ran it).
        run = accountant.post("/reconcile")
        assert run.status_code == 200, run.text
        run = run.json()
        proposed = [c for c in run["candidates"] if not c["auto_confirmed"]]
        assert len(proposed) == 2 and run["auto_confirmed"] == 0, run
        assert accountant.post(f"/matches/{proposed[0]['match_id']}/confirm").status_code == 200
        assert accountant.post(f"/matches/{proposed[1]['match_id']}/reject").status_code == 200
        assert accountant.post(f"/matches/{proposed[0]['match_id']}/undo").status_code == 200
        flow = [
            EventType.RECONCILIATION_COMPLETED,
            EventType.MATCH_CONFIRMED,
            EventType.INVOICE_SETTLED,  # by the confirmation
            EventType.MATCH_REJECTED,
            EventType.MATCH_UNDONE,
        ]
        everything = verified(receiver.wait_for(len(chain) + len(flow)), secret)
        assert receiver_b.requests == []  # B's endpoint hears nothing of A

    later = everything[len(chain) :]
    assert sorted(event["type"] for event in later) == sorted(flow)
    by_type = {event["type"]: event["data"] for event in later}
    assert by_type["reconciliation.completed"]["run_id"] == run["run_id"]
    assert by_type["reconciliation.completed"]["source"] == "api"
    assert by_type["reconciliation.completed"]["job_id"] != completed["job_id"]  # each run its job
    assert "job_id" not in by_type["match.confirmed"]  # a person's decision, in its request
    assert by_type["invoice.settled"]["match_id"] == proposed[0]["match_id"]
    assert by_type["invoice.settled"]["invoices"][0]["id"] == proposed[0]["invoice_id"]
    assert by_type["match.undone"]["status"] == "undone"
    assert len({event["id"] for event in everything}) == len(everything)  # one delivery each

    # Every event of A is listed with its delivery and the attempt's answer.
    listed = owner.get("/events", page_size=50).json()["results"]
    assert {event["id"] for event in listed} == {event["id"] for event in everything}
    detail = wait_for(
        lambda: (
            (body := owner.get(f"/events/{everything[0]['id']}").json())["deliveries"][0]["status"]
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


def test_a_failing_receiver_is_retried_until_it_answers_and_an_owner_can_resend(server, job_workers, world_a):
    owner = Api(server, world_a, world_a.owner)
    with webhook_receiver() as receiver:
        receiver.answers = [500, 502]
        secret = register(owner, receiver.url, types=[EventType.MATCH_REJECTED])
        with tenant_context(world_a.tenant.id):
            event = event_record(EventType.MATCH_REJECTED, {"match_id": "m-9"}, object_type="match")
        job_workers.start()
        receiver.wait_for(3)
        url = f"/events/{event.id}"
        detail = wait_for(
            lambda: (body := owner.get(url).json())["deliveries"][0]["status"] == "succeeded" and body,
            message="the third attempt to succeed",
        )
        attempts = detail["deliveries"][0]["attempts"]
        assert [(a["number"], a["response_code"]) for a in attempts] == [(1, 500), (2, 502), (3, 200)]
        assert all(a["latency_ms"] >= 0 for a in attempts)
        assert "502" in attempts[1]["error"]

        resent = owner.post(f"{url}/resend")
        assert resent.status_code == 202, resent.text
        again = verified(receiver.wait_for(4), secret)
    assert again[-1]["id"] == again[0]["id"] == str(event.id)  # the same webhook-id: receivers deduplicate
    assert again[-1]["data"] == {"match_id": "m-9"}
    deliveries = wait_for(
        lambda: (
            (d := owner.get(url).json()["deliveries"]) and all(x["status"] == "succeeded" for x in d) and d
        ),
        message="the resend to succeed",
    )
    assert len(deliveries) == 2 and deliveries[0]["requested_by_id"] == world_a.owner.pk


def test_an_import_job_that_fails_sends_import_failed(server, job_workers, world_a):
    owner, accountant = Api(server, world_a, world_a.owner), Api(server, world_a, world_a.accountant)
    items = [*TRANSACTIONS, {"amount": "1e3", "date": "2024-05-01", "description": "row 4"}]
    with webhook_receiver() as receiver:
        secret = register(owner, receiver.url)
        queued = accountant.post(
            "/bank-transactions/import", {"transactions": items}, **{"Idempotency-Key": "bad"}
        )
        assert queued.status_code == 202, queued.text
        job_workers.start()
        assert follow(accountant, queued.json()["id"])["status"] == "failed"
        [event] = verified(receiver.wait_for(1), secret)
    assert event["type"] == "import.failed"  # and nothing else: the import and its run rolled back
    data = event["data"]
    assert data["job_id"] == queued.json()["id"] and data["kind"] == "bank_transactions"
    assert data["source"] == "api"
    assert data["problem"]["status"] == 400 and "transactions[3].amount" in data["problem"]["errors"]
