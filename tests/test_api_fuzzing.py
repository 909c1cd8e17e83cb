"""Schemathesis against the live OpenAPI schema, as an authenticated member (bounded examples).

Checks: no 5xx, responses conform to the schema (status codes, content types, bodies, headers)
and every error is ``application/problem+json``. Requests target the member's own tenant (the
tenant id path parameter is pinned), so handlers run for real instead of stopping at the 404
of an unknown tenant.
"""

from __future__ import annotations

import os

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import checks as st_checks

from tests.reconciliation.factories import make_invoice, make_transaction, make_vendor
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
