"""Hostile request bodies and parameters on every endpoint: a 4xx problem, never a 5xx, nothing written.

The classes schemathesis (tests/test_api_fuzzing.py) does not generate, each sent to every
endpoint it applies to, discovered from the URL conf and the OpenAPI schema built from it, so a
new endpoint is covered without editing this file:

* JSON nested ~3,000 levels (a 6 KB body that exhausted Python's recursive decoder) and just
  past the bound (65), as arrays and as objects, to every operation that reads a JSON body;
* bodies that are not UTF-8;
* tampered pagination cursors (a time zone offset PostgreSQL refuses, no offset, not a time,
  bad offsets, not base64) on every list;
* for GraphQL, whose body the view parses itself: all of the above, bare JSON values, and
  tampered ``after`` cursors.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from api.parsers import MAX_JSON_DEPTH
from tenants.models import Membership, Tenant
from tests.helpers import assert_problem
from tests.seed import seed_every_tenant_table
from tests.test_isolation_attack import a_snapshot

pytestmark = pytest.mark.django_db

PATH_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
GRAPHQL_ROUTE = "v1/tenants/<uuid:tenant_id>/graphql"
BODY_METHODS = ("post", "put", "patch")

DEEP = 3_000
HOSTILE_JSON = {
    "deep arrays": "[" * DEEP + "]" * DEEP,
    "deep objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "arrays past the bound": "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
    "objects past the bound": '{"transactions":'
    + '{"a":' * MAX_JSON_DEPTH
    + "1"
    + "}" * (MAX_JSON_DEPTH + 1),
}
NOT_UTF8 = {
    "latin-1": '{"name": "Caf\xe9", "amount": "1.00", "description": "d\xe9j\xe0"}'.encode("latin-1"),
    "utf-16": '{"name": "x", "query": "{ __typename }"}'.encode("utf-16"),
    "bare 0xff": b"\xff\xfe\xfd",
}


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


TAMPERED_CURSORS = {
    "offset -16:00 (the issue's)": "cD0yMDI2LTAxLTAxVDAwOjAwOjAwLTE2OjAw",
    "offset +15:59 at the year's end": _cursor("p=9999-12-31T23:59:59-15:59"),
    "offset at the first year": _cursor("p=0001-01-01T00:00:00+15:00"),
    "offset +99:00": _cursor("p=2026-01-01T00:00:00+99:00"),
    "no offset": _cursor("p=2026-01-01T00:00:00"),
    "not a time": _cursor("p=not-a-date"),
    "negative offset": _cursor("o=-1&p=2026-01-01T00:00:00%2B00:00"),
    "offset not a number": _cursor("o=x"),
    "reverse not a number": _cursor("r=x"),
    "not base64": "%%%not base64%%%",
    "not ASCII": "é",
    "garbage": "garbage",
}


def routes() -> list[tuple[str, type]]:
    """Every API route with its view class, from the URL conf."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                callback = pattern.callback
                view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
                yield prefix + str(pattern.pattern), view

    return sorted(
        (route, view) for route, view in walk(get_resolver().url_patterns) if route.startswith("v1/")
    )


def schema_operations() -> dict[str, dict[str, dict]]:
    return APIClient().get("/v1/schema", HTTP_ACCEPT="application/json").json()["paths"]


def json_body_operations() -> list[tuple[str, str]]:
    """(route, method) of every operation that reads a JSON body: REST from the schema, and GraphQL."""
    paths = schema_operations()
    found = [(GRAPHQL_ROUTE, "post")]
    for route, _view in routes():
        templated = "/" + PATH_PARAMETER.sub(lambda m: "{" + m["name"] + "}", route)
        for method, operation in paths.get(templated, {}).items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if method in BODY_METHODS and "application/json" in content:
                found.append((route, method))
    return found


def list_routes() -> list[str]:
    """Every route whose GET answers a cursor-paginated list."""
    return [
        route
        for route, view in routes()
        if view is not None and getattr(view, "pagination_class", None) is not None and hasattr(view, "get")
    ]


@pytest.fixture
def own(world_a, api_client_for):
    """Tenant A fully seeded; its owner (the strongest role) sends the requests to A's own routes."""
    seeded = seed_every_tenant_table(world_a.tenant)
    ids = {
        "tenant_id": str(world_a.tenant.id),
        "invoice_id": str(seeded["invoice"].id),
        "vendor_id": str(seeded["vendor"].id),
        "transaction_id": str(seeded["transaction"].id),
        "match_id": str(seeded["match"].id),
        "batch_id": str(seeded["batch"].id),
        "run_id": str(seeded["run"].id),
        "user_id": str(world_a.viewer.pk),
        "account_id": str(seeded["statement_account"].id),
        "statement_id": str(seeded["statement"].id),
        "transfer_id": str(seeded["transfer"].id),
        "webhook_id": str(seeded["webhook"].id),
        "event_id": str(seeded["event"].id),
    }
    return world_a, api_client_for(world_a.owner), ids


def fill(route: str, ids: dict[str, str]) -> str:
    def substitute(match: re.Match) -> str:
        assert match["name"] in ids, f"{route}: no value for path parameter {match['name']!r}; add one"
        return ids[match["name"]]

    return "/" + PATH_PARAMETER.sub(substitute, route)


def platform_counts() -> tuple[int, int]:
    return Tenant.objects.count(), Membership.objects.count()


def test_the_discovery_finds_the_endpoints_it_must():
    operations = set(json_body_operations())
    assert {
        ("v1/tenants", "post"),
        ("v1/tenants/<uuid:tenant_id>/invoices", "post"),
        ("v1/tenants/<uuid:tenant_id>/invoices/<uuid:invoice_id>", "patch"),
        ("v1/tenants/<uuid:tenant_id>/bank-transactions/import", "post"),
        ("v1/tenants/<uuid:tenant_id>/settings", "patch"),
        (GRAPHQL_ROUTE, "post"),
    } <= operations
    assert len(operations) >= 10
    lists = set(list_routes())
    assert {"v1/tenants/<uuid:tenant_id>/invoices", "v1/tenants/<uuid:tenant_id>/matches"} <= lists
    assert len(lists) >= 6


@pytest.mark.parametrize("shape", list(HOSTILE_JSON))
def test_deep_json_is_a_400_problem_on_every_json_endpoint(own, shape):
    world, client, ids = own
    before, counts = a_snapshot(world), platform_counts()
    for route, method in json_body_operations():
        url = fill(route, ids)
        response = client.generic(
            method.upper(),
            url,
            HOSTILE_JSON[shape],
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k",
        )
        body = assert_problem(response, 400)
        assert "nest deeper than" in body["detail"], (method, url, body)
    assert a_snapshot(world) == before
    assert platform_counts() == counts


@pytest.mark.parametrize("encoding", list(NOT_UTF8))
def test_a_body_that_is_not_utf8_is_a_400_problem_on_every_json_endpoint(own, encoding):
    world, client, ids = own
    before, counts = a_snapshot(world), platform_counts()
    for route, method in json_body_operations():
        url = fill(route, ids)
        response = client.generic(
            method.upper(), url, NOT_UTF8[encoding], content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
        )
        assert_problem(response, 400)
    assert a_snapshot(world) == before
    assert platform_counts() == counts


@pytest.mark.parametrize("case", list(TAMPERED_CURSORS))
def test_a_tampered_cursor_is_a_400_naming_the_cursor_on_every_list(own, case):
    world, client, ids = own
    for route in list_routes():
        url = fill(route, ids)
        body = assert_problem(client.get(url, {"cursor": TAMPERED_CURSORS[case]}), 400)
        assert list(body["errors"]) == ["cursor"], (url, body)


def test_cursors_the_lists_issue_still_work_both_ways(own):
    _world, client, ids = own
    for route in list_routes():
        url = fill(route, ids)
        first = client.get(url, {"page_size": 1})
        assert first.status_code == 200, (url, first.content)
        following = first.json()["next"]
        if following is None:
            continue
        second = client.get(following)
        assert second.status_code == 200, (following, second.content)
        assert client.get(second.json()["previous"]).status_code == 200


# --- GraphQL: the view parses its own body -----------------------------------------------------------


@pytest.mark.parametrize("body", ["null", "5", '"x"', "true", "[]", '[{"query": "{ __typename }"}]', ""])
def test_graphql_bodies_that_are_no_json_object_are_400_problems(own, body):
    world, client, ids = own
    response = client.generic("POST", fill(GRAPHQL_ROUTE, ids), body, content_type="application/json")
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "after",
    [
        base64.urlsafe_b64encode(
            json.dumps(["2026-01-01T00:00:00-16:00", "00000000-0000-0000-0000-000000000000"]).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps(["2026-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"]).encode()
        ).decode(),
        base64.urlsafe_b64encode(("[" * DEEP + "]" * DEEP).encode()).decode(),
        base64.urlsafe_b64encode(b"\xff").decode(),
        "garbage",
    ],
)
def test_graphql_tampered_after_cursors_are_invalid_input(own, after):
    _world, client, ids = own
    for field in ("invoices", "vendors", "bankTransactions", "matches", "reconciliationRuns"):
        query = f"query($after: String) {{ {field}(after: $after) {{ items {{ id }} }} }}"
        response = client.post(
            fill(GRAPHQL_ROUTE, ids),
            json.dumps({"query": query, "variables": {"after": after}}),
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "invalid-input", (field, error)
        assert list(error["extensions"]["errors"]) == ["after"]
