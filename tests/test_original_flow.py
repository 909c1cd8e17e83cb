"""The original system's headline flow, replayed exactly as its README wrote it, through HTTP.

A tenant, one invoice without number or dates, one bank payment of the same amount imported
with an idempotency key, then a reconciliation run: the run must propose that pair as a
suggestion (an exact amount alone is never auto-confirmed), with the confidence ``explain``
gives the same pair. The ``transactions`` field is sent both ways the original clients did:
as a JSON array and as a JSON string holding one.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.tenants.factories import UserFactory, bearer

pytestmark = pytest.mark.django_db

# The batch exactly as the README wrote it (JSON text: the amount is the number 150.00).
ORIGINAL_BATCH = (
    '[{"amount": 150.00, "date": "2023-10-25T10:00:00Z", '
    '"description": "Payment for Consulting", "currency": "USD"}]'
)
AS_ARRAY = '{"transactions": ' + ORIGINAL_BATCH + "}"
AS_STRING = '{"transactions": ' + json.dumps(ORIGINAL_BATCH) + "}"


def _client(username: str) -> APIClient:
    client = APIClient()
    client.credentials(**bearer(UserFactory(username=username)))
    return client


def _original_flow(client: APIClient, import_body: str) -> dict[str, Any]:
    """Every request of the README, in order; returns the ids and the reconcile response."""
    response = client.post("/v1/tenants", {"name": "Acme Corp"}, format="json")
    assert response.status_code == 201, response.content
    base = f"/v1/tenants/{response.json()['id']}"
    response = client.post(
        f"{base}/invoices", {"amount": "150.00", "description": "Consulting Services"}, format="json"
    )
    assert response.status_code == 201, response.content
    invoice = response.json()
    response = client.post(
        f"{base}/bank-transactions/import",
        import_body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="batch_001",
    )
    assert response.status_code == 201, response.content
    imported = response.json()
    assert imported["imported"] == 1
    response = client.post(f"{base}/reconcile", {}, format="json")
    assert response.status_code == 200, response.content
    return {
        "base": base,
        "invoice_id": invoice["id"],
        "transaction_id": imported["transactions"][0],
        "reconcile": response.json(),
    }


@pytest.mark.parametrize("import_body", [AS_ARRAY, AS_STRING], ids=["json-array", "json-string"])
def test_original_flow_proposes_the_undated_invoice(import_body: str) -> None:
    # Given a second tenant with the very same books, whose data must stay out of the run.
    other = _original_flow(_client("beta-owner"), import_body)
    flow = _original_flow(_client("acme-owner"), import_body)
    client = _client("acme-owner")

    body = flow["reconcile"]
    assert body["auto_confirmed"] == 0
    assert len(body["candidates"]) == 1, body
    candidate = body["candidates"][0]
    assert candidate["shape"] == "one_to_one"
    assert candidate["invoice_id"] == flow["invoice_id"]
    assert candidate["transaction_id"] == flow["transaction_id"]
    assert candidate["auto_confirmed"] is False  # an exact amount alone stays a suggestion
    assert candidate["allocations"][0]["amount"] in ("150.00", "150.0000")
    codes = [reason["code"] for reason in candidate["reasons"]]
    assert "amount.exact" in codes
    # Texts about an invoice without a number read as sentences.
    for reason in candidate["reasons"]:
        assert "  " not in reason["message"] and reason["message"].strip() == reason["message"]

    # explain agrees: a candidate, with the confidence the run proposed.
    response = client.get(
        f"{flow['base']}/reconcile/explain",
        {"invoice_id": flow["invoice_id"], "transaction_id": flow["transaction_id"]},
    )
    assert response.status_code == 200, response.content
    explain = response.json()
    assert explain["is_candidate"] is True
    assert explain["blockers"] == []
    assert Decimal(explain["confidence"]) == Decimal(candidate["confidence"]) == Decimal("0.432")
    for signal in explain["signals"]:
        for reason in signal["reasons"]:
            assert "  " not in reason["message"], reason

    # The other tenant's run proposed its own pair, and its ids are unknown here.
    assert [c["invoice_id"] for c in other["reconcile"]["candidates"]] == [other["invoice_id"]]
    response = client.get(
        f"{flow['base']}/reconcile/explain",
        {"invoice_id": other["invoice_id"], "transaction_id": flow["transaction_id"]},
    )
    assert response.status_code == 404, response.content
