"""Schemathesis against the live OpenAPI schema, as an authenticated member (bounded examples).

Checks: no 5xx, responses conform to the schema (status codes, content types, bodies, headers)
and every error is ``application/problem+json``. Requests target the member's own tenant (the
tenant id path parameter is pinned), so handlers run for real instead of stopping at the 404
of an unknown tenant.

Huge exponents (issue 13.4) stay covered by two more generators: every number (and every
amount-like string) of generated REST bodies, and every ``Decimal`` of generated GraphQL
queries and mutations, becomes a number such as ``-2.5e+1000000``. The answer must be a client
error (REST: 400 problem+json; GraphQL: errors with status 400), and nothing is written.
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from schemathesis import checks as st_checks

from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice, make_vendor
from tests.tenants.factories import bearer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "6"))


def problem_json_on_errors(ctx, response, case) -> None:
    """Every error response is an RFC 9457 problem document."""
    if response.status_code >= 400:
        values = {key.lower(): value for key, value in response.headers.items()}.get("content-type", [""])
        content_type = values[0] if isinstance(values, list) else values
        assert content_type.startswith("application/problem+json"), (
            f"{case.method} {case.formatted_path} -> {response.status_code} with {content_type!r}"
        )
        body = response.json()
        assert {"type", "title", "status"} <= set(body), body


CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    problem_json_on_errors,
]


def test_every_operation_survives_generated_requests(live_server, world_a):
    vendor = make_vendor(world_a.tenant, iban="DE89370400440532013000")
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001", vendor=vendor)
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    headers = {"Authorization": bearer(world_a.owner)["HTTP_AUTHORIZATION"]}
    schema_url = f"{live_server.url}/v1/schema"
    raw = requests.get(schema_url, headers={"Accept": "application/json"}, timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    session = requests.Session()
    for operation in operations:

        @hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy())
        def run(case) -> None:
            if "tenant_id" in (case.path_parameters or {}):
                case.path_parameters["tenant_id"] = str(world_a.tenant.id)
            case.headers = {**(case.headers or {}), **headers}
            response = case.call(base_url=live_server.url, session=session, timeout=60)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:  # collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:2000])
    # Close the keep-alive connection: the live server's request thread then ends and closes its
    # database connection before the test database is dropped.
    session.close()
    assert not failures, "\n\n".join(failures)


# --- Huge exponents -------------------------------------------------------------------------------

#: Numbers no amount may be: exponents far beyond any storage, both signs, both exponent signs.
HUGE_NUMBERS = st.builds(
    "{}{}{}e{}{}".format,
    st.sampled_from(["", "-"]),
    st.integers(1, 9),
    st.sampled_from(["", ".5", ".25"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(15, 10**7),
)
_PLACEHOLDER = "__huge_number__"
_AMOUNT_WORDS = ("amount", "tolerance", "threshold", "outstanding", "unallocated")


def _with_placeholders(value: Any, key: str = "") -> tuple[Any, int]:
    """``value`` with every number, and every string under an amount-like key, replaced."""
    if isinstance(value, dict):
        replaced = {k: _with_placeholders(v, k) for k, v in value.items()}
        return {k: v for k, (v, _n) in replaced.items()}, sum(n for _v, n in replaced.values())
    if isinstance(value, list):
        items = [_with_placeholders(v, key) for v in value]
        return [v for v, _n in items], sum(n for _v, n in items)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _PLACEHOLDER, 1
    if isinstance(value, str) and any(word in key.lower() for word in _AMOUNT_WORDS):
        return _PLACEHOLDER, 1
    return value, 0


def _money_written(world) -> tuple[Any, ...]:
    from banking.models import BankTransaction, ImportBatch
    from invoices.models import Invoice
    from tenants.context import tenant_context
    from tenants.models import TenantSettings

    with tenant_context(world.tenant.id):
        settings = TenantSettings.objects.get()
        return (
            BankTransaction.objects.count(),
            ImportBatch.objects.count(),
            sorted(Invoice.objects.values_list("amount", flat=True)),
            settings.fee_tolerance_fixed,
            settings.fee_tolerance_percent,
            settings.auto_confirm_threshold,
        )


def test_huge_exponents_in_generated_json_bodies_are_400(live_server, world_a):
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    headers = {"Authorization": bearer(world_a.owner)["HTTP_AUTHORIZATION"]}
    schema_url = f"{live_server.url}/v1/schema"
    raw = requests.get(schema_url, headers={"Accept": "application/json"}, timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if any(body.media_type == "application/json" for body in op.body)]
    assert len(operations) >= 5
    before = _money_written(world_a)
    failures: list[str] = []
    session = requests.Session()
    for operation in operations:

        @hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate],
        )
        @hypothesis.given(
            case=operation.as_strategy(media_type="application/json"),
            huge=HUGE_NUMBERS,
            as_string=st.booleans(),
        )
        def run(case, huge: str, as_string: bool) -> None:
            if "tenant_id" in (case.path_parameters or {}):
                case.path_parameters["tenant_id"] = str(world_a.tenant.id)
            body, replaced = _with_placeholders(case.body)
            literal = json.dumps(huge) if as_string else huge
            text = json.dumps(body, default=str).replace(json.dumps(_PLACEHOLDER), literal)
            url = live_server.url + case.formatted_path
            response = session.request(
                case.method,
                url,
                data=text.encode(),
                headers={**headers, "Content-Type": "application/json", "Idempotency-Key": "fuzz"},
                timeout=60,
            )
            assert response.status_code < 500, (case.method, url, text[:300], response.text[:300])
            if replaced and not as_string:
                assert response.status_code == 400, (case.method, url, text[:300], response.text[:300])
            if response.status_code >= 400:
                assert response.headers["Content-Type"].startswith("application/problem+json")

        try:
            run()
        except Exception as error:  # every operation's failure, reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:2000])
    session.close()
    assert not failures, "\n\n".join(failures)
    assert _money_written(world_a) == before


#: As HUGE_NUMBERS, always with a fraction: "2.5e" cannot occur in the UUIDs of a document.
_HUGE_DECIMALS = st.builds(
    "{}{}.{}e{}{}".format,
    st.sampled_from(["", "-"]),
    st.integers(1, 9),
    st.integers(1, 99),
    st.sampled_from(["", "+", "-"]),
    st.integers(15, 10**7),
)
_HUGE_IN_DOCUMENT = re.compile(r"[0-9]\.[0-9]+e[+-]?[0-9]")


def _graphql_scalars() -> dict[str, st.SearchStrategy[Any]]:
    huge = _HUGE_DECIMALS.flatmap(lambda text: st.sampled_from([nodes.Float(text), nodes.String(text)]))
    return {
        "Decimal": huge,
        "UUID": st.uuids().map(nodes.String),
        "Date": st.just("2024-01-02").map(nodes.String),
        "DateTime": st.just("2024-01-02T10:00:00Z").map(nodes.String),
        "JSON": st.just("{}").map(nodes.String),
    }


def test_huge_exponents_in_generated_graphql_are_client_errors(live_server, world_a):
    from reconciliation.schema.schema import schema

    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    url = f"{live_server.url}/v1/tenants/{world_a.tenant.id}/graphql"
    headers = {"Authorization": bearer(world_a.owner)["HTTP_AUTHORIZATION"]}
    sdl = schema.as_str()
    scalars = _graphql_scalars()
    documents = st.one_of(
        queries(sdl, custom_scalars=scalars, allow_x00=False),
        mutations(sdl, custom_scalars=scalars, allow_x00=False),
    )
    before = _money_written(world_a)
    session = requests.Session()

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES * 10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @hypothesis.given(document=documents)
    def run(document: str) -> None:
        response = session.post(url, json={"query": document}, headers=headers, timeout=60)
        assert response.status_code < 500, (document, response.text[:500])
        if response.status_code >= 400:
            assert response.headers["Content-Type"].startswith("application/problem+json")
            return
        statuses = [error["extensions"]["status"] for error in response.json().get("errors") or []]
        assert all(status < 500 for status in statuses), (document, response.text[:500])
        if _HUGE_IN_DOCUMENT.search(document):  # a Decimal argument was written
            assert 400 in statuses, (document, response.text[:500])

    try:
        run()
    finally:
        session.close()
    assert _money_written(world_a) == before
