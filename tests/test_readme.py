"""The README's examples work as written: its GraphQL blocks run against a seeded tenant."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.invoices.factories import make_invoice, make_vendor

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parent.parent / "README.md"


def graphql_blocks() -> dict[str, str]:
    """The README's ```graphql blocks by operation type (query, mutation)."""
    blocks = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    by_kind = {block.split()[0]: block for block in blocks}
    assert set(by_kind) == {"query", "mutation"}, f"expected one query and one mutation: {blocks}"
    return by_kind


def run(client, world, document: str) -> dict:
    response = client.post(
        f"/v1/tenants/{world.tenant.id}/graphql",
        data=json.dumps({"query": document}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_the_readme_graphql_query_returns_the_page_it_describes(world_a, world_b, api_client_for):
    vendor = make_vendor(world_a.tenant, name="Northwind Traders")
    for number in ("INV-1", "INV-2", "INV-3"):
        make_invoice(world_a.tenant, amount="100.00", number=number, vendor=vendor)
    make_invoice(world_b.tenant, amount="1.00", number="B-1")
    page = run(api_client_for(world_a.viewer), world_a, graphql_blocks()["query"])["invoices"]
    assert set(page) == {"totalCount", "hasNextPage", "endCursor", "items"}
    assert page["totalCount"] == 3 and page["hasNextPage"] is True and page["endCursor"]
    assert [item["number"] for item in page["items"]] == ["INV-3", "INV-2"]
    assert page["items"][0]["amount"] == "100.00"
    assert page["items"][0]["vendor"] == {"name": "Northwind Traders"}
    # The README describes the page shape in words too.
    text = README.read_text(encoding="utf-8")
    assert "`{ items, endCursor, hasNextPage, totalCount }`" in text


def test_the_readme_graphql_mutation_creates_what_it_says(world_a, api_client_for):
    made = run(api_client_for(world_a.accountant), world_a, graphql_blocks()["mutation"])["createInvoice"]
    assert made["number"] == "INV-2001"
    assert (made["amount"], made["currency"], made["status"]) == ("1250.00", "EUR", "OPEN")
    assert made["vendor"] == {"name": "Northwind Traders"}
