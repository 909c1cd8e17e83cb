"""Statements through REST and GraphQL: the import result and the batch show each break, the
lists filter by break and account, and another tenant's statements stay invisible."""

from __future__ import annotations

import io
import json

import pytest

from tests.banking.statement_builders import Entry, Statement, camt
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

MARCH = Statement(
    opening="100.00",
    closing="150.00",
    closing_date="2024-03-28",
    statement_id="STMT-3",
    sequence="3",
    entries=[Entry("50.00", "2024-03-05", "M-1")],
)
MAY = Statement(
    opening="120.00",
    closing="200.00",
    opening_date="2024-05-01",
    closing_date="2024-05-28",
    statement_id="STMT-5",
    sequence="5",
    entries=[Entry("80.00", "2024-05-05", "Y-1")],
)


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def upload(client, world, data: bytes, key: str, name: str = "statement.xml"):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(
        f"{base(world)}/bank-transactions/import-file",
        {"file": handle},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_import_succeeds_and_its_result_shows_the_break(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    first = upload(client, world_a, camt(MARCH), "k-1")
    assert first.status_code == 201, first.content
    (march,) = first.json()["statements"]
    assert march["has_break"] is False
    assert march["already_imported"] is False
    assert (march["opening_balance"], march["closing_balance"], march["movements_sum"]) == (
        "100.00",
        "150.00",
        "50.00",
    )
    assert [(c["name"], c["status"]) for c in march["checks"]] == [
        ("previous_closing", "not_applicable"),
        ("movements", "ok"),
    ]
    second = upload(client, world_a, camt(MAY), "k-2")
    assert second.status_code == 201
    assert second.json()["imported"] == 1
    (may,) = second.json()["statements"]
    assert may["has_break"] is True
    assert may["previous_statement_id"] == march["id"]
    gap = may["checks"][0]
    assert (gap["name"], gap["status"], gap["difference"]) == ("previous_closing", "break", "-30.00")
    assert "a statement is missing between them, or one was imported twice" in gap["detail"]
    # The same file under a new key: nothing new, the statement recognised.
    again = upload(client, world_a, camt(MAY), "k-3", name="may-again.xml").json()
    assert (again["imported"], again["duplicates"]) == (0, 1)
    assert [(s["id"], s["already_imported"]) for s in again["statements"]] == [(may["id"], True)]
    # The batch that stored it lists it, with its break as it is now.
    batch = client.get(f"{base(world_a)}/import-batches/{second.json()['batch_id']}").json()
    assert [(s["id"], s["has_break"]) for s in batch["statements"]] == [(may["id"], True)]
    assert client.get(f"{base(world_a)}/import-batches/{again['batch_id']}").json()["statements"] == []


def test_statement_lists_filter_by_break_and_account(world_a, world_b, api_client_for):
    client = api_client_for(world_a.viewer)
    writer = api_client_for(world_a.accountant)
    march = upload(writer, world_a, camt(MARCH), "k-1").json()["statements"][0]
    may = upload(writer, world_a, camt(MAY), "k-2").json()["statements"][0]
    upload(api_client_for(world_b.accountant), world_b, camt(MARCH), "k-1")

    def ids(path: str, **params) -> list[str]:
        response = client.get(f"{base(world_a)}/{path}", params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("statements") == [may["id"], march["id"]]  # newest first; B's are not there
    assert ids("statements", has_break="true") == [may["id"]]
    assert ids("statements", has_break="false") == [march["id"]]
    assert ids("statements", closed_after="2024-04-01") == [may["id"]]
    account = march["account_id"]
    assert ids(f"bank-accounts/{account}/statements") == [may["id"], march["id"]]
    assert ids(f"bank-accounts/{account}/statements", has_break="true") == [may["id"]]
    detail = client.get(f"{base(world_a)}/statements/{may['id']}").json()
    assert detail == {key: value for key, value in may.items() if key != "already_imported"}
    assert_problem(client.get(f"{base(world_a)}/statements", {"has_break": "maybe"}), 400)
    assert_problem(client.get(f"{base(world_a)}/statements", {"page_size": "0"}), 400)
    # B's account and statement are not found from A (and A's not from B).
    other = api_client_for(world_b.viewer)
    assert_problem(other.get(f"{base(world_b)}/bank-accounts/{account}/statements"), 404)
    assert_problem(other.get(f"{base(world_b)}/statements/{may['id']}"), 404)


GRAPHQL_STATEMENTS = """
query($filter: BankStatementFilter) {
  bankStatements(filter: $filter) {
    totalCount
    items {
      id statementId sequence account currency openingBalance closingBalance movementsSum movementsCount
      hasBreak previousStatementId
      checks { name status difference detail }
    }
  }
}
"""


def graphql(client, world, query: str, variables: dict | None = None) -> dict:
    response = client.post(
        f"{base(world)}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_graphql_lists_statements_and_their_breaks(world_a, api_client_for):
    writer = api_client_for(world_a.accountant)
    upload(writer, world_a, camt(MARCH), "k-1")
    may_id = upload(writer, world_a, camt(MAY), "k-2").json()["statements"][0]["id"]
    client = api_client_for(world_a.viewer)
    body = graphql(client, world_a, GRAPHQL_STATEMENTS, {"filter": {"hasBreak": True}})
    assert "errors" not in body, body
    page = body["data"]["bankStatements"]
    assert page["totalCount"] == 1
    (may,) = page["items"]
    assert may["id"] == may_id
    assert (may["openingBalance"], may["closingBalance"], may["movementsSum"]) == (
        "120.00",
        "200.00",
        "80.00",
    )
    assert may["checks"][0]["name"] == "PREVIOUS_CLOSING"
    assert (may["checks"][0]["status"], may["checks"][0]["difference"]) == ("BREAK", "-30.00")
    assert (may["checks"][1]["status"], may["checks"][1]["difference"]) == ("OK", "0.00")
    one = graphql(
        client, world_a, "query($id: UUID!) { bankStatement(id: $id) { hasBreak } }", {"id": may_id}
    )
    assert one["data"]["bankStatement"] == {"hasBreak": True}
    everything = graphql(client, world_a, GRAPHQL_STATEMENTS)["data"]["bankStatements"]
    assert everything["totalCount"] == 2
