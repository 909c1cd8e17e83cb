"""A reconcile response is bounded, whatever the tenant's books (issue 13.3: "Response size of any
one request stays bounded"): at most ``RECONCILE_RESPONSE_CANDIDATES`` candidates, highest
confidence first, with the run's total and where to read the rest (``GET matches?run_id=``).
Before, ``POST reconcile`` and the GraphQL mutation returned every proposal of the run.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from reconciliation.models import Match
from reconciliation.schema import limits
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def books(world) -> None:
    """Five payments, each matching one invoice, with different confidences: an invoice number
    (1.0) for two of them, the amount alone (a suggestion, 0.45 or less) for the other three."""
    for k in range(5):
        make_invoice(
            world.tenant,
            amount=f"{100 + k}.00",
            number=f"INV-{k}",
            due_date=dt.date(2024, 3, 31),
        )
        quoted = f"Payment INV-{k}" if k in (1, 3) else "Payment"
        make_transaction(world.tenant, amount=f"{100 + k}.00", description=quoted)


def test_rest_returns_the_strongest_candidates_and_points_to_the_rest(world_a, api_client_for, settings):
    settings.RECONCILE_RESPONSE_CANDIDATES = 3
    books(world_a)
    client = api_client_for(world_a.accountant)
    body = client.post(f"{base(world_a)}/reconcile", {}, format="json").json()
    assert body["candidates_total"] == 5
    assert body["candidates_truncated"] is True
    candidates = body["candidates"]
    assert len(candidates) == 3
    confidences = [Decimal(c["confidence"]) for c in candidates]
    assert confidences == sorted(confidences, reverse=True)
    with tenant_context(world_a.tenant.id):
        stored = sorted(Match.objects.filter(run_id=body["run_id"]).values_list("confidence", flat=True))
    assert len(stored) == 5 and confidences == stored[::-1][:3]  # the three strongest
    # Absolute, like the pagination links of every list.
    assert body["matches_url"] == f"http://testserver{base(world_a)}/matches?run_id={body['run_id']}"
    listed = client.get(body["matches_url"]).json()["results"]
    assert {m["id"] for m in listed} >= {c["match_id"] for c in candidates}
    assert len(listed) == 5


def test_rest_small_runs_return_everything(world_a, api_client_for):
    books(world_a)
    body = api_client_for(world_a.accountant).post(f"{base(world_a)}/reconcile", {}, format="json").json()
    assert body["candidates_total"] == len(body["candidates"]) == 5
    assert body["candidates_truncated"] is False
    confidences = [Decimal(c["confidence"]) for c in body["candidates"]]
    assert confidences == sorted(confidences, reverse=True)


def test_rest_dry_run_is_bounded_too_and_has_nothing_to_point_to(world_a, api_client_for, settings):
    settings.RECONCILE_RESPONSE_CANDIDATES = 2
    books(world_a)
    body = (
        api_client_for(world_a.accountant)
        .post(f"{base(world_a)}/reconcile", {"dry_run": True}, format="json")
        .json()
    )
    assert len(body["candidates"]) == 2
    assert body["candidates_total"] == 5 and body["candidates_truncated"] is True
    assert body["matches_url"] is None and body["run_id"] is None
    assert body["auto_confirmed"] == 2  # counted over the whole run, not the two shown
    with tenant_context(world_a.tenant.id):
        assert not Match.objects.exists()


MUTATION = """
mutation Run($first: Int) {
  reconcile(first: $first) {
    runId candidatesTotal candidatesTruncated autoConfirmed
    candidates { matchId confidence reasons { code message } }
  }
}
"""


def graphql(client, world, query: str, variables: dict):
    body = json.dumps({"query": query, "variables": variables})
    response = client.post(f"{base(world)}/graphql", data=body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_graphql_returns_first_candidates_by_confidence(world_a, api_client_for):
    books(world_a)
    client = api_client_for(world_a.accountant)
    result = graphql(client, world_a, MUTATION, {"first": 2})
    assert "errors" not in result, result
    run = result["data"]["reconcile"]
    assert run["candidatesTotal"] == 5 and run["candidatesTruncated"] is True
    assert [Decimal(c["confidence"]) for c in run["candidates"]] == [Decimal("1.0000")] * 2
    with tenant_context(world_a.tenant.id):
        assert Match.objects.filter(run_id=run["runId"]).count() == 5


def test_graphql_first_is_bounded_by_the_setting_and_counted_by_the_cost_model(
    world_a, api_client_for, settings
):
    books(world_a)
    client = api_client_for(world_a.accountant)
    maximum = settings.RECONCILE_RESPONSE_CANDIDATES
    assert limits.ROW_ARGUMENTS["Mutation.reconcile"] == ("first", maximum)
    light = "mutation Run($first: Int) { reconcile(first: $first) { candidates { matchId } } }"
    result = graphql(client, world_a, light, {"first": maximum + 1})
    (error,) = result["errors"]
    assert error["extensions"]["errors"] == {"first": [f"Ensure this value is between 1 and {maximum}."]}
    with tenant_context(world_a.tenant.id):
        assert not Match.objects.exists()  # refused before the run
    # Every candidate with its reasons, 500 of them, is more than one request may return.
    error = graphql(client, world_a, MUTATION, {"first": 500})["errors"][0]
    assert error["extensions"]["cost"] > limits.MAX_COST
    # Without `first`, 50 (as every GraphQL list).
    run = graphql(client, world_a, MUTATION, {})["data"]["reconcile"]
    assert run["candidatesTotal"] == 5 and run["candidatesTruncated"] is False
