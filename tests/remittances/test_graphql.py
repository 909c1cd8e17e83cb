"""Remittance advices over GraphQL: the create mutation (idempotent, all or nothing), list and read."""

from __future__ import annotations

import pytest

from remittances.models import RemittanceAdvice
from tenants.context import tenant_context
from tests.invoices.factories import make_invoice
from tests.reconciliation.test_graphql import assert_error, data, gql

pytestmark = pytest.mark.django_db

CREATE = """
mutation($key: String!, $advice: RemittanceAdviceInput!) {
  createRemittanceAdvice(idempotencyKey: $key, advice: $advice) { imported duplicates adviceIds replayed }
}
"""

ADVICE = {
    "paymentReference": "AV-5550001",
    "payerName": "Acme Supplies GmbH",
    "amount": "348.00",
    "currency": "usd",
    "paymentDate": "2024-03-20",
    "lines": [
        {"invoiceNumber": "INV-1001", "amount": "98.00", "discount": "2.00"},
        {"invoiceNumber": "INV-1002", "amount": "250.00"},
    ],
}


def test_create_list_and_read_an_advice(world_a, world_b, api_client_for):
    invoice = make_invoice(world_a.tenant, amount="100.00", number="INV-1001")
    client = api_client_for(world_a.accountant)
    created = data(client, world_a, CREATE, {"key": "g-1", "advice": ADVICE})["createRemittanceAdvice"]
    assert (created["imported"], created["duplicates"], created["replayed"]) == (1, 0, False)
    replay = data(client, world_a, CREATE, {"key": "g-1", "advice": ADVICE})["createRemittanceAdvice"]
    assert replay["replayed"] is True and replay["adviceIds"] == created["adviceIds"]
    (advice_id,) = created["adviceIds"]
    read = data(
        client,
        world_a,
        "query($id: UUID!) { remittanceAdvice(id: $id) { paymentReference amount currency channel "
        "lines { position invoiceNumber amount discount invoiceId } } }",
        {"id": advice_id},
    )["remittanceAdvice"]
    assert (read["paymentReference"], read["amount"], read["currency"], read["channel"]) == (
        "AV-5550001",
        "348.00",
        "USD",
        "graphql",
    )
    assert read["lines"][0] == {
        "position": 1,
        "invoiceNumber": "INV-1001",
        "amount": "98.00",
        "discount": "2.00",
        "invoiceId": str(invoice.id),
    }
    page = data(client, world_a, "{ remittanceAdvices { totalCount items { id } } }")["remittanceAdvices"]
    assert page["totalCount"] == 1 and page["items"][0]["id"] == advice_id
    other = gql(
        api_client_for(world_b.accountant),
        world_b,
        "query($id: UUID!) { remittanceAdvice(id: $id) { id } }",
        {"id": advice_id},
    )
    assert_error(other, "not-found", 404)


def test_a_bad_advice_is_refused_and_stores_nothing(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    bad = {**ADVICE, "amount": "400.00"}  # the lines sum to 348.00
    error = assert_error(gql(client, world_a, CREATE, {"key": "g-2", "advice": bad}), "advice-rejected", 400)
    assert "sum" in str(error["extensions"]["errors"])
    bad_currency = {**ADVICE, "currency": "EURO"}
    assert_error(gql(client, world_a, CREATE, {"key": "g-3", "advice": bad_currency}), "invalid-input", 400)
    viewer = api_client_for(world_a.viewer)
    assert_error(gql(viewer, world_a, CREATE, {"key": "g-4", "advice": ADVICE}), "forbidden", 403)
    with tenant_context(world_a.tenant.id):
        assert RemittanceAdvice.objects.count() == 0
