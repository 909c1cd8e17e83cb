"""A remittance advice of 1,000 invoices, matched whole: every interface serves it within its bound.

GraphQL counts a match's inline lists as ``EMBEDDED_ALLOCATIONS`` long and refuses them for a
longer match (never a silently cut list); ``allocationPage`` reads every allocation page by page.
REST lists carry the first ``EMBEDDED_ALLOCATIONS`` with ``allocation_count``; ``GET
matches/{id}/allocations`` pages through them all.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reconciliation.selectors import EMBEDDED_ALLOCATIONS
from remittances.parsing import MAX_LINES_PER_ADVICE
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile as run_reconcile

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
LINES = MAX_LINES_PER_ADVICE  # 1,000


@pytest.fixture
def big_advice_match(world_a, api_client_for) -> dict:
    """1,000 invoices, the payer's advice listing them all, and the one payment quoting it."""
    vendor = make_vendor(world_a.tenant, iban=IBAN)
    invoices = [
        make_invoice(
            world_a.tenant, amount=f"{10 + k % 90}.{k % 100:02d}", number=f"INV-{50000 + k}", vendor=vendor
        )
        for k in range(LINES)
    ]
    lines = [{"invoice_number": i.number, "amount": str(i.amount)} for i in invoices]
    total = sum((i.amount for i in invoices), Decimal(0))
    client = api_client_for(world_a.accountant)
    advice = {
        "payment_reference": "RA55443322",
        "payer_name": "Acme Supplies GmbH",
        "payer_account": IBAN,
        "amount": str(total),
        "currency": "USD",
        "payment_date": "2024-03-20",
        "lines": lines,
    }
    created = client.post(
        f"/v1/tenants/{world_a.tenant.id}/remittance-advices",
        data=json.dumps(advice),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="big-advice",
    )
    assert created.status_code == 201, created.content
    make_transaction(
        world_a.tenant,
        amount=str(total),
        description="Payment run RA55443322",
        counterparty_name="ACME SUPPLIES",
        counterparty_account=IBAN,
    )
    result = run_reconcile(world_a.tenant.id)
    [candidate] = [p for p in result.proposals if p.allocation_count == LINES]
    return {
        "match_id": str(candidate.match_id),
        "candidate": candidate,
        "invoice_ids": [str(i.id) for i in invoices],
        "advice_id": created.json()["advices"][0],
    }


def gql(client, world, query: str, variables: dict | None = None) -> dict:
    response = client.post(
        f"/v1/tenants/{world.tenant.id}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def refused(body: dict) -> dict:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["status"]) == ("bad-request", 400), error
    return error


PAGE = """query($id: UUID!, $after: String) { match(id: $id) { allocationCount
  allocationPage(first: 500, after: $after) { items { invoiceId amount } endCursor hasNextPage } } }"""


def test_graphql_reads_a_thousand_allocations_page_by_page_in_the_advice_order(
    world_a, api_client_for, big_advice_match
):
    client = api_client_for(world_a.viewer)
    read: list[str] = []
    after = None
    pages = 0
    while True:
        body = gql(client, world_a, PAGE, {"id": big_advice_match["match_id"], "after": after})
        assert "errors" not in body, body
        match = body["data"]["match"]
        assert match["allocationCount"] == LINES
        page = match["allocationPage"]
        read += [item["invoiceId"] for item in page["items"]]
        pages += 1
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert pages == 2
    assert read == big_advice_match["invoice_ids"]  # each once, in the advice's order


def test_graphql_refuses_what_exceeds_the_bound_instead_of_cutting_it(
    world_a, api_client_for, big_advice_match
):
    client = api_client_for(world_a.viewer)
    match_id = big_advice_match["match_id"]
    # The inline lists: counted as EMBEDDED_ALLOCATIONS long, so a longer match refuses them.
    for field in ("allocations { invoiceId }", "breakdown { invoiceId }"):
        error = refused(gql(client, world_a, f'{{ match(id: "{match_id}") {{ id {field} }} }}'))
        assert f"{LINES} allocations" in error["message"] and "allocationPage" in error["message"]
    # A page of pages: over the cost bound, refused before anything runs.
    error = refused(
        gql(
            client,
            world_a,
            "{ matches(first: 50) { items { allocationPage(first: 500) { items { amount } } } } }",
        )
    )
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"]
    # More than the largest page: the page size is refused, not served as 500.
    body = gql(client, world_a, PAGE.replace("first: 500", "first: 1000"), {"id": match_id})
    assert body["errors"][0]["extensions"]["errors"] == {"first": ["Ensure this value is between 1 and 500."]}
    # The advice itself: its 1,000 lines fit one request; a page of advices with lines does not.
    lines = gql(
        client,
        world_a,
        "query($id: UUID!) { remittanceAdvice(id: $id) { lineCount lines { position invoiceNumber amount "
        "discount invoiceId } } }",
        {"id": big_advice_match["advice_id"]},
    )
    assert "errors" not in lines, lines
    advice = lines["data"]["remittanceAdvice"]
    assert advice["lineCount"] == len(advice["lines"]) == LINES
    assert [line["invoiceId"] for line in advice["lines"]] == big_advice_match["invoice_ids"]
    refused(gql(client, world_a, "{ remittanceAdvices(first: 50) { items { lines { amount } } } }"))
    # A match the engine finds by itself still lists its allocations inline.
    assert EMBEDDED_ALLOCATIONS == 25


def test_rest_lists_carry_the_first_allocations_and_page_through_the_rest(
    world_a, world_b, api_client_for, big_advice_match
):
    client = api_client_for(world_a.viewer)
    base = f"/v1/tenants/{world_a.tenant.id}"
    match_id = big_advice_match["match_id"]
    invoice_ids = big_advice_match["invoice_ids"]
    [listed] = [m for m in client.get(f"{base}/matches").json()["results"] if m["id"] == match_id]
    assert listed["allocation_count"] == LINES
    assert [a["invoice_id"] for a in listed["allocations"]] == invoice_ids[:EMBEDDED_ALLOCATIONS]

    read: list[str] = []
    url = f"{base}/matches/{match_id}/allocations?page_size=500"
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.content
        read += [a["invoice_id"] for a in page.json()["results"]]
        url = page.json()["next"]
    assert read == invoice_ids
    assert client.get(f"{base}/matches/{match_id}/allocations?page_size=1000").status_code == 400

    detail = client.get(f"{base}/matches/{match_id}").json()
    assert detail["allocation_count"] == len(detail["allocations"]) == len(detail["breakdown"]) == LINES

    # The run's answer carries the first allocations of each candidate and says how many there are.
    candidate = big_advice_match["candidate"]
    assert len(candidate.allocations) == EMBEDDED_ALLOCATIONS and candidate.allocation_count == LINES

    other = api_client_for(world_b.viewer)
    assert other.get(f"/v1/tenants/{world_b.tenant.id}/matches/{match_id}/allocations").status_code == 404


def test_a_match_of_the_engine_lists_its_allocations_inline(world_a, api_client_for):
    vendor = make_vendor(world_a.tenant, iban=IBAN)
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001", vendor=vendor)
    make_transaction(world_a.tenant, amount="150.00", description="INV-1001", counterparty_account=IBAN)
    result = run_reconcile(world_a.tenant.id)
    [candidate] = result.proposals
    body = gql(
        api_client_for(world_a.viewer),
        world_a,
        "query($id: UUID!) { match(id: $id) { allocationCount allocations { invoiceId } "
        "allocationPage { items { invoiceId } hasNextPage } } }",
        {"id": str(candidate.match_id)},
    )
    assert "errors" not in body, body
    match = body["data"]["match"]
    assert match["allocationCount"] == 1 and match["allocations"] == [{"invoiceId": str(invoice.id)}]
    assert match["allocationPage"] == {"items": [{"invoiceId": str(invoice.id)}], "hasNextPage": False}


def test_a_page_of_advices_reads_lines_only_when_asked_for(world_a, api_client_for, big_advice_match):
    """Before: the page prefetched every line of every advice (500 x 1,000 rows) for ids alone."""
    client = api_client_for(world_a.viewer)
    with CaptureQueriesContext(connection) as queries:
        body = gql(client, world_a, "{ remittanceAdvices(first: 500) { items { id lineCount } } }")
    assert body["data"]["remittanceAdvices"]["items"] == [
        {"id": big_advice_match["advice_id"], "lineCount": LINES}
    ]
    assert not [q for q in queries.captured_queries if "remittanceadviceline" in q["sql"]]
    body = gql(client, world_a, "{ remittanceAdvices(first: 4) { items { lines { invoiceId } } } }")
    [advice] = body["data"]["remittanceAdvices"]["items"]
    assert [line["invoiceId"] for line in advice["lines"]] == big_advice_match["invoice_ids"]
