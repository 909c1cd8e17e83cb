"""Huge exponents (``1e1000000``) and other inexact amounts in REST and GraphQL (issue 13.4):
a 400 problem (GraphQL: an error with status 400), never a 500, and nothing written.

Before the financial kernel, ``1e1000000`` as a JSON number became ``Decimal('1E+1000000')``,
which ``normalize()`` could not hold: every amount path answered 500.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from banking.models import BankTransaction, ImportBatch
from invoices.models import Invoice
from tenants.context import tenant_context
from tenants.models import TenantSettings
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db

HUGE = ["1e1000000", "-1E+1000000", "1.5e3", "1e-1000000", "9" * 65]


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def raw_json(template: dict, literal: str) -> str:
    """``template`` as JSON with the placeholder ``"HUGE"`` replaced by ``literal`` unquoted."""
    return json.dumps(template).replace('"HUGE"', literal)


def written(world) -> tuple[int, int, int, Decimal]:
    with tenant_context(world.tenant.id):
        return (
            BankTransaction.objects.count(),
            ImportBatch.objects.count(),
            Invoice.objects.count(),
            TenantSettings.objects.get().fee_tolerance_fixed,
        )


REST_BODIES = [
    (
        "post",
        "/bank-transactions/import",
        {"transactions": [{"amount": "HUGE", "date": "2024-01-02", "currency": "USD"}]},
    ),
    ("post", "/invoices", {"amount": "HUGE", "description": "x", "currency": "USD"}),
    ("patch", "/settings", {"fee_tolerance_fixed": "HUGE"}),
    ("patch", "/settings", {"auto_confirm_threshold": "HUGE"}),
]


@pytest.mark.parametrize("literal", HUGE)
@pytest.mark.parametrize(("method", "path", "template"), REST_BODIES)
@pytest.mark.parametrize("as_string", [False, True], ids=["json-number", "json-string"])
def test_rest_refuses_huge_or_inexact_numbers(
    world_a, api_client_for, method, path, template, literal, as_string
):
    client = api_client_for(world_a.owner)
    before = written(world_a)
    body = raw_json(template, json.dumps(literal) if as_string else literal)
    response = getattr(client, method)(
        base(world_a) + path, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert_problem(response, 400)
    assert written(world_a) == before


@pytest.mark.parametrize("literal", HUGE)
def test_rest_invoice_patch_refuses_huge_amounts(world_a, api_client_for, literal):
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1")
    client = api_client_for(world_a.owner)
    for body in (raw_json({"amount": "HUGE"}, literal), json.dumps({"amount": literal})):
        response = client.patch(
            f"{base(world_a)}/invoices/{invoice.id}", data=body, content_type="application/json"
        )
        assert_problem(response, 400)
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.get().amount == Decimal("150.00")


@pytest.mark.parametrize("literal", ["1e1000000", "-1e1000000"])
def test_rest_amount_filters_refuse_huge_exponents(world_a, api_client_for, literal):
    client = api_client_for(world_a.viewer)
    for path in ("/invoices", "/bank-transactions"):
        assert_problem(client.get(base(world_a) + path, {"min_amount": literal}), 400)


NOT_EXACTLY_A_NUMBER = [
    *("1e2", "1E2", "1.5e3", "15000e-2", " 1e2 ", "1e+2"),
    *("0x10", "1_000", "Infinity", "NaN"),
]


@pytest.mark.parametrize("literal", NOT_EXACTLY_A_NUMBER)
def test_rest_amount_filters_follow_the_kernels_rule(world_a, api_client_for, literal):
    """``min_amount``/``max_amount`` (and ``min_confidence``) are read like every amount: DRF's
    DecimalField took ``1e2`` for 100 and ``15000e-2`` for 150.00."""
    client = api_client_for(world_a.viewer)
    for path, name in (
        ("/invoices", "min_amount"),
        ("/invoices", "max_amount"),
        ("/bank-transactions", "min_amount"),
        ("/bank-transactions", "max_amount"),
        ("/matches", "min_confidence"),
    ):
        body = assert_problem(client.get(base(world_a) + path, {name: literal}), 400)
        assert list(body["errors"]) == [name], (path, body)


def test_rest_amount_filters_take_exact_numbers(world_a, api_client_for):
    make_invoice(world_a.tenant, amount="150.00", number="INV-1")
    client = api_client_for(world_a.viewer)
    for bounds, found in (
        ({"min_amount": "150"}, 1),
        ({"max_amount": "149.9999"}, 0),
        ({"min_amount": "-5"}, 1),
    ):
        response = client.get(base(world_a) + "/invoices", bounds)
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == found, bounds
    assert client.get(base(world_a) + "/matches", {"min_confidence": "0.5"}).status_code == 200
    for path in ("/invoices", "/bank-transactions"):
        assert_problem(client.get(base(world_a) + path, {"min_amount": "0.00001"}), 400)


def test_an_amount_written_out_in_full_is_still_fine(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    body = '{"amount": 1500.00, "description": "x", "currency": "USD"}'
    response = client.post(f"{base(world_a)}/invoices", data=body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "1500.00"


# --- GraphQL ------------------------------------------------------------------------------------------

CREATE = "mutation($input: CreateInvoiceInput!) { createInvoice(input: $input) { id } }"
IMPORT = (
    "mutation($items: [BankTransactionInput!]!) { importBankTransactions(idempotencyKey: \"k\", "
    "transactions: $items) { imported } }"
)
SETTINGS = (
    "mutation($input: TenantSettingsInput!) { updateTenantSettings(input: $input) { feeToleranceFixed } }"
)
INVOICES = "query($filter: InvoiceFilter) { invoices(filter: $filter) { items { id } } }"
BANK_TRANSACTIONS = (
    "query($filter: BankTransactionFilter) { bankTransactions(filter: $filter) { items { id } } }"
)
MATCHES = "query($filter: MatchFilter) { matches(filter: $filter) { items { id } } }"
SCORE = (
    "query($inv: [ScoreInvoiceInput!]!, $tx: [ScoreTransactionInput!]!) "
    "{ scoreCandidates(invoices: $inv, transactions: $tx) { proposals { confidence } } }"
)
GRAPHQL_VARIABLES = [
    (CREATE, {"input": {"amount": "HUGE", "description": "x"}}),
    (IMPORT, {"items": [{"amount": "HUGE", "date": "2024-01-02"}]}),
    (SETTINGS, {"input": {"feeToleranceFixed": "HUGE"}}),
    (INVOICES, {"filter": {"minAmount": "HUGE"}}),
    (BANK_TRANSACTIONS, {"filter": {"maxAmount": "HUGE"}}),
    (MATCHES, {"filter": {"minConfidence": "HUGE"}}),
    (
        SCORE,
        {
            "inv": [{"id": "i", "amount": "HUGE", "currency": "EUR"}],
            "tx": [{"id": "t", "amount": "1.00", "currency": "EUR", "bookingDate": "2024-01-02"}],
        },
    ),
]


def graphql(client, world, query: str, variables_json: str):
    body = f'{{"query": {json.dumps(query)}, "variables": {variables_json}}}'
    return client.post(f"{base(world)}/graphql", data=body, content_type="application/json")


@pytest.mark.parametrize("literal", HUGE)
@pytest.mark.parametrize(("query", "variables"), GRAPHQL_VARIABLES)
def test_graphql_variables_with_huge_json_numbers_are_a_400_problem(
    world_a, api_client_for, query, variables, literal
):
    client = api_client_for(world_a.owner)
    before = written(world_a)
    assert_problem(graphql(client, world_a, query, raw_json(variables, literal)), 400)
    assert written(world_a) == before


@pytest.mark.parametrize("literal", HUGE)
@pytest.mark.parametrize(("query", "variables"), GRAPHQL_VARIABLES)
def test_graphql_variables_with_huge_strings_are_bad_request_errors(
    world_a, api_client_for, query, variables, literal
):
    client = api_client_for(world_a.owner)
    before = written(world_a)
    response = graphql(client, world_a, query, raw_json(variables, json.dumps(literal)))
    assert response.status_code == 200, response.content
    (error,) = response.json()["errors"]
    assert error["extensions"]["status"] == 400, error
    assert written(world_a) == before


@pytest.mark.parametrize("literal", ["1e1000000", "-1E+1000000", "1.5e3"])
def test_graphql_literals_with_exponents_are_bad_request_errors(world_a, api_client_for, literal):
    client = api_client_for(world_a.owner)
    before = written(world_a)
    for document in (
        f'mutation {{ createInvoice(input: {{amount: {literal}, description: "x"}}) {{ id }} }}',
        f"mutation {{ updateTenantSettings(input: {{feeToleranceFixed: {literal}}}) {{ dateWindowDays }} }}",
        f"{{ invoices(filter: {{maxAmount: {literal}}}) {{ items {{ id }} }} }}",
    ):
        response = graphql(client, world_a, document, "{}")
        assert response.status_code == 200, response.content
        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "bad-request", "status": 400}, error
        assert "exponent" in error["message"]
    assert written(world_a) == before
