"""What a GraphQL document may ask for (reconciliation/schema/limits.py), and writes per mutation.

Cost is an upper bound of the response, refused before anything runs; fragments cannot nest or
fan out without bound; several operations need an operationName; every mutation is one write
for the per-token rate limit.
"""

from __future__ import annotations

import json
import math
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import GraphQLList, GraphQLObjectType, get_nullable_type, parse

from bench.datagen import generate
from common import limits as text_limits
from invoices.models import Invoice
from reconciliation import engine
from reconciliation.schema import limits
from reconciliation.schema.schema import schema
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor

pytestmark = pytest.mark.django_db


def url(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/graphql"


def post(client, world, query: str, variables: dict | None = None, operation_name: str | None = None):
    body: dict = {"query": query, "variables": variables or {}}
    if operation_name is not None:
        body["operationName"] = operation_name
    return client.post(url(world), data=json.dumps(body), content_type="application/json")


def gql(client, world, query: str, variables: dict | None = None, operation_name: str | None = None) -> dict:
    response = post(client, world, query, variables, operation_name)
    assert response.status_code == 200, response.content
    return response.json()


def only_error(body: dict) -> dict:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "bad-request", error
    assert error["extensions"]["status"] == 400, error
    return error


INVOICE_ROW = (
    "id number vendorId currency description issueDate dueDate structuredReference createdAt updatedAt "
    "kind status amount amountPaid outstandingAmount"
)


# --- declared bounds ------------------------------------------------------------------------------


def test_every_list_field_of_the_schema_declares_its_longest_length():
    """A new list field fails here until its bound is declared (it would count as a page)."""
    undeclared = []
    for type_name, graphql_type in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            if isinstance(get_nullable_type(field.type), GraphQLList):
                if f"{type_name}.{field_name}" not in limits.LIST_BOUNDS:
                    undeclared.append(f"{type_name}.{field_name}")
    assert undeclared == []


def test_text_fields_weigh_what_their_model_bound_allows():
    weights = limits.TEXT_WEIGHTS
    assert weights["Invoice.description"] == math.ceil(text_limits.DESCRIPTION / limits.TEXT_COST_UNIT) == 20
    assert weights["BankTransaction.description"] == 20
    assert weights["Vendor.aliases"] == weights["Vendor.name"] == 2
    assert weights["BankTransaction.externalId"] == 2
    assert weights["Invoice.number"] == 1


def test_engine_output_stays_within_the_declared_list_bounds():
    """The bounds of reasons, signals and allocations hold on a generated, noisy data set."""
    data = generate(1500, 7)
    result = engine.reconcile(data.invoices, data.transactions, data.settings)
    assert result.proposals
    bounds = limits.LIST_BOUNDS
    for proposal in result.proposals:
        assert len(proposal.allocations) <= bounds["ScoredProposal.allocations"]
        assert len(proposal.breakdown) <= bounds["ScoredProposal.breakdown"]
        assert len(proposal.reasons) <= bounds["ScoredProposal.reasons"]
        assert len(proposal.auto_confirm_blockers) <= bounds["ScoredProposal.autoConfirmBlockers"]
        reasons = list(proposal.reasons)
        for pair in proposal.breakdown:
            assert len(pair.signals) <= bounds["PairScore.signals"]
            assert len(pair.blockers) <= bounds["PairScore.blockers"]
            assert all(len(signal.reasons) <= bounds["Signal.reasons"] for signal in pair.signals)
            reasons += [reason for signal in pair.signals for reason in signal.reasons]
        message_weight = math.ceil(max(len(reason.message) for reason in reasons) / limits.TEXT_COST_UNIT)
        assert message_weight <= limits.TEXT_WEIGHTS["Reason.message"]


def test_reason_weights_follow_the_engines_bounds():
    """Reasons are bounded by the engine (short excerpts, at most 12 per proposal): a page of
    200 matches with their reasons fits, where about 15 did when a reason could quote a whole
    2,000-character description and a match carry 62 of them."""
    from reconciliation.engine.core import MAX_PROPOSAL_REASONS
    from reconciliation.engine.signals import REASON_MESSAGE_MAX_CHARS

    message_weight = math.ceil(REASON_MESSAGE_MAX_CHARS / limits.TEXT_COST_UNIT)
    assert limits.TEXT_WEIGHTS["Reason.message"] == message_weight
    for field in ("Match.reasons", "Candidate.reasons", "ScoredProposal.reasons"):
        assert limits.LIST_BOUNDS[field] == MAX_PROPOSAL_REASONS
    page = (
        "{ matches(first: 200) { items { id confidence reasons { code message } allocations { amount } } } }"
    )
    assert limits.document_problem(schema._schema, parse(page), None, {}) is None


# --- cost -----------------------------------------------------------------------------------------


def test_aliased_pages_of_long_text_are_refused_before_anything_is_read(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    make_invoice(world_a.tenant, amount="10.00", number="INV-1", description="x" * text_limits.DESCRIPTION)
    aliases = " ".join(f"a{n}: invoices(first: 500) {{ items {{ description }} }}" for n in range(15))
    with CaptureQueriesContext(connection) as queries:
        error = only_error(gql(client, world_a, f"{{ {aliases} }}"))
    assert not [query for query in queries.captured_queries if "invoices_invoice" in query["sql"]]
    assert error["extensions"]["maxCost"] == limits.MAX_COST
    assert error["extensions"]["cost"] == 15 * (1 + 500 * (1 + 20))
    assert "first" in error["message"]


def test_the_issues_query_now_returns_what_its_bounds_allow(world_a, api_client_for):
    """15 aliases over 5 invoices returned 675 MB when descriptions held 9 MB each."""
    for number in range(5):
        make_invoice(
            world_a.tenant, amount="1.00", number=f"N{number}", description="é" * text_limits.DESCRIPTION
        )
    aliases = " ".join(f"a{n}: invoices(first: 5) {{ items {{ description }} }}" for n in range(15))
    response = post(api_client_for(world_a.viewer), world_a, f"{{ {aliases} }}")
    assert response.status_code == 200
    assert "errors" not in response.json()
    assert len(response.content) < 15 * 5 * text_limits.DESCRIPTION * 2 + 10_000  # "é" is 2 bytes


def test_page_sizes_from_variables_and_their_defaults_count(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    query = (
        "query($n: Int = 500) { "
        + " ".join(f"a{n}: invoices(first: $n) {{ items {{ description }} }}" for n in range(3))
        + " }"
    )
    assert only_error(gql(client, world_a, query, {"n": 500}))["extensions"]["cost"] == 3 * (1 + 500 * 21)
    assert only_error(gql(client, world_a, query))["extensions"]["cost"] == 3 * (1 + 500 * 21)
    assert "errors" not in gql(client, world_a, query, {"n": 100})
    # The field's own default (50) when `first` is not given; past the resolver's maximum, the
    # maximum (the resolver refuses the rest with its own error naming `first`).
    default = "{ " + " ".join(f"a{n}: invoices {{ items {{ description }} }}" for n in range(15)) + " }"
    assert "errors" not in gql(client, world_a, default)
    too_many = gql(client, world_a, "{ invoices(first: 100000) { items { id } } }")
    assert too_many["errors"][0]["extensions"]["errors"] == {
        "first": ["Ensure this value is between 1 and 500."]
    }


def test_one_full_page_of_every_list_with_all_its_fields_fits(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    vendor = make_vendor(world_a.tenant, name="Contoso", aliases=["CONTOSO"] * 1)
    make_invoice(world_a.tenant, amount="10.00", number="INV-1", vendor=vendor)
    pages = {
        "invoices": f"{INVOICE_ROW} vendor {{ id name }}",
        "vendors": "id name iban accountReference aliases createdAt updatedAt",
        "bankTransactions": (
            "id accountId importBatchId account amount currency bookingDate valueDate description "
            "counterpartyName counterpartyAccount externalId endToEndId structuredReference returnReason "
            "status allocatedAmount createdAt"
        ),
        "matches": "id runId shape status auto confidence allocationCount",
        "reconciliationRuns": "id source engineVersion settingsUsed createdAt",
    }
    for field, selection in pages.items():
        body = gql(client, world_a, f"{{ {field}(first: 500) {{ totalCount items {{ {selection} }} }} }}")
        assert "errors" not in body, (field, body)
    # Inline allocations count as many as a match lists inline (EMBEDDED_ALLOCATIONS, 25: a quoted
    # group can hold that many; the bound of 6 counted before was not one): 200 matches with them.
    with_allocations = "allocations { invoiceId transactionId amount }"
    body = gql(client, world_a, f"{{ matches(first: 200) {{ items {{ id {with_allocations} }} }} }}")
    assert "errors" not in body, body
    page = f"{{ matches(first: 500) {{ items {{ {with_allocations} }} }} }}"
    assert only_error(gql(client, world_a, page))["extensions"]["cost"] == 1 + 500 * (1 + 25 * (1 + 3))


def test_scoring_counts_the_transactions_supplied(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    query = """
    query($inv: [ScoreInvoiceInput!]!, $tx: [ScoreTransactionInput!]!) {
      scoreCandidates(invoices: $inv, transactions: $tx) {
        proposals { confidence reasons { code message } breakdown { signals { signal reasons { message } } } }
      }
    }
    """
    invoices = [{"id": "i1", "amount": "10.00", "currency": "EUR"}]
    transaction = {"amount": "10.00", "currency": "EUR", "bookingDate": "2024-01-01"}
    few = [dict(transaction, id=f"t{n}") for n in range(5)]
    assert "errors" not in gql(client, world_a, query, {"inv": invoices, "tx": few})
    many = [dict(transaction, id=f"t{n}") for n in range(1500)]
    error = only_error(gql(client, world_a, query, {"inv": invoices, "tx": many}))
    assert error["extensions"]["cost"] > limits.MAX_COST


def test_explain_runs_at_most_once_per_request(world_a, api_client_for):
    """``explain`` reads all the tenant's open invoices (~3 s of CPU at 100k): 15 aliased explains
    in one document cost 45 s. The cost model prices it so that one runs per request, and says
    so before anything is read."""
    invoice = make_invoice(world_a.tenant, amount="10.00", number="INV-1")
    transaction = make_transaction(world_a.tenant, amount="10.00", description="INV-1")
    client = api_client_for(world_a.viewer)
    pair = f'invoiceId: "{invoice.id}", transactionId: "{transaction.id}"'
    one = gql(client, world_a, f"{{ explain({pair}) {{ confidence isCandidate }} }}")
    assert "errors" not in one and one["data"]["explain"]["isCandidate"] is True
    for document in (
        f"{{ a: explain({pair}) {{ confidence }} b: explain({pair}) {{ confidence }} }}",
        "{ " + " ".join(f"a{n}: explain({pair}) {{ confidence }}" for n in range(15)) + " }",
        f"{{ ...E ...F }} fragment E on Query {{ a: explain({pair}) {{ confidence }} }} "
        f"fragment F on Query {{ b: explain({pair}) {{ confidence }} }}",
    ):
        with CaptureQueriesContext(connection) as queries:
            error = only_error(gql(client, world_a, document))
        assert not [q for q in queries.captured_queries if "invoices_invoice" in q["sql"]]
        assert "explain" in error["message"] and "at most 1 per request" in error["message"]
        assert error["extensions"]["cost"] > limits.MAX_COST
    # One explain beside ordinary reads is fine.
    both = f"{{ explain({pair}) {{ confidence }} invoices(first: 50) {{ items {{ id }} }} }}"
    assert "errors" not in gql(client, world_a, both)


# --- nesting and expansion ------------------------------------------------------------------------


def test_fragments_spread_several_times_are_refused_in_linear_time(world_a, api_client_for):
    """14 levels of three spreads took strawberry's depth and alias limiters 35 s."""
    client = api_client_for(world_a.viewer)
    levels = 40
    query = (
        "{ ...F0 } "
        + " ".join(f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} ...F{n + 1} }}" for n in range(levels))
        + f" fragment F{levels} on Query {{ __typename }}"
    )
    started = time.perf_counter()
    error = only_error(gql(client, world_a, query))
    assert "deeper than" in error["message"] or "expands to" in error["message"]
    assert time.perf_counter() - started < 5  # not a timing assertion of the feature: a hang guard
    shallow = (
        "{ ...F0 } "
        + " ".join(f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} ...F{n + 1} }}" for n in range(12))
        + " fragment F12 on Query { __typename }"
    )
    assert "expands to 531441 fields" in only_error(gql(client, world_a, shallow))["message"]


def test_chains_of_fragments_and_inline_fragments_are_bounded(world_a, api_client_for):
    """A chain of 400 fragments exhausted the depth limiter's stack (an internal error)."""
    client = api_client_for(world_a.viewer)
    chain = "{ ...F0 } " + " ".join(f"fragment F{n} on Query {{ ...F{n + 1} }}" for n in range(400))
    chain += " fragment F400 on Query { __typename }"
    assert "deeper than" in only_error(gql(client, world_a, chain))["message"]
    inline = "{ " + "... on Query { " * 100 + "__typename" + " }" * 101
    assert "deeper than" in only_error(gql(client, world_a, inline))["message"]
    fine = "{ ...F0 } " + " ".join(f"fragment F{n} on Query {{ ...F{n + 1} }}" for n in range(5))
    fine += " fragment F5 on Query { __typename }"
    assert gql(client, world_a, fine) == {"data": {"__typename": "Query"}}


def test_cyclic_fragments_are_left_to_validation(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    body = gql(client, world_a, "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
    assert "Cannot spread fragment" in body["errors"][0]["message"]


def test_introspection_still_works(world_a, api_client_for):
    from graphql import get_introspection_query

    body = gql(api_client_for(world_a.viewer), world_a, get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


# --- which operation ------------------------------------------------------------------------------


def test_several_operations_need_an_operation_name(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    document = """
    mutation Create { createInvoice(input: {amount: "5.00", description: "x"}) { id } }
    query Count { invoices { totalCount } }
    """
    error = only_error(gql(client, world_a, document))
    assert "operationName" in error["message"]
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.count() == 0  # the first operation did not run
    assert gql(client, world_a, document, operation_name="Count") == {"data": {"invoices": {"totalCount": 0}}}
    unknown = post(client, world_a, document, operation_name="Nope")
    assert_problem(unknown, 400)


# --- writes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "operation_name", "writes"),
    [
        ("{ invoices { totalCount } }", None, 0),
        ('mutation { a: deleteInvoice(id: "x") { id } b: deleteInvoice(id: "y") { id } }', None, 2),
        ("mutation { reconcile { runId } reconcile { runId } }", None, 1),  # one response key: runs once
        (
            "mutation { ...M ... on Mutation { b: reconcile { runId } } } "
            "fragment M on Mutation { a: reconcile { runId } }",
            None,
            2,
        ),
        ("query Q { __typename } mutation M { a: reconcile { runId } b: reconcile { runId } }", "M", 2),
        ("query Q { __typename } mutation M { a: reconcile { runId } }", None, 1),  # refused anyway
        ("mutation {", None, 1),
    ],
)
def test_mutation_count(document, operation_name, writes):
    assert limits.mutation_count(document, operation_name) == writes


def test_every_mutation_counts_against_the_write_limit(world_a, api_client_for, settings):
    settings.WRITE_RATE_LIMIT_PER_MINUTE = 10
    client = api_client_for(world_a.accountant)

    def creates(count: int, start: int) -> str:
        return (
            "mutation { "
            + " ".join(
                f'c{n}: createInvoice(input: {{amount: "1.00", description: "x", number: "N{n}"}}) {{ id }}'
                for n in range(start, start + count)
            )
            + " }"
        )

    fifteen = post(client, world_a, creates(15, 0))
    body = assert_problem(fifteen, 429)
    assert "15" in body["detail"]
    assert 0 < int(fifteen["Retry-After"]) <= 60
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.count() == 0
    # Reads are not writes, even sent with POST.
    assert gql(client, world_a, "{ invoices { totalCount } }") == {"data": {"invoices": {"totalCount": 0}}}
    # Another token has its own budget: 4 + 6 writes fit exactly, the 11th does not.
    other = api_client_for(world_a.accountant)
    assert "errors" not in gql(other, world_a, creates(4, 100))
    assert "errors" not in gql(other, world_a, creates(6, 200))
    assert_problem(post(other, world_a, creates(1, 300)), 429)
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.count() == 10


# --- messages -------------------------------------------------------------------------------------


def test_graphql_messages_speak_of_arguments_and_null_not_headers_and_none(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    body = gql(
        client,
        world_a,
        'mutation { importBankTransactions(idempotencyKey: " ", transactions: []) { imported } }',
    )
    (error,) = body["errors"]
    assert error["message"] == "The idempotencyKey argument must not be empty."
    assert error["extensions"]["errors"] == {"idempotencyKey": [error["message"]]}
    body = gql(
        client,
        world_a,
        "mutation { updateTenantSettings(input: {defaultCurrency: null}) { defaultCurrency } }",
    )
    (error,) = body["errors"]
    assert error["extensions"]["errors"] == {"default_currency": ["This field may not be null."]}
    assert "None" not in json.dumps(body)


def test_responses_are_utf8_not_escapes(world_a, api_client_for):
    make_vendor(world_a.tenant, name="Société Générale ✓")
    response = post(api_client_for(world_a.viewer), world_a, "{ vendors { items { name } } }")
    assert "Société Générale ✓".encode() in response.content
    assert response.json()["data"]["vendors"]["items"] == [{"name": "Société Générale ✓"}]
