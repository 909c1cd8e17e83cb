"""GraphQL at /v1/tenants/{tenant_id}/graphql: queries, mutations, errors, limits, tenancy, atomicity."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banking import schema as banking_schema
from banking import selectors as banking_selectors
from banking.models import BankTransaction, ImportBatch, InternalTransferStatus, TransactionStatus
from invoices import schema as invoices_schema
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from reconciliation.models import Match, MatchShape, MatchStatus, ReconciliationRun
from reconciliation.schema import types as gql_types
from tenants.context import tenant_context
from tenants.models import IdempotencyKey, TenantSettings
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor

pytestmark = pytest.mark.django_db

ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def url(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/graphql"


def post(client, world, query: str, variables: dict | None = None):
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post(url(world), data=body, content_type="application/json")


def gql(client, world, query: str, variables: dict | None = None) -> dict:
    """The JSON body of a GraphQL call; GraphQL answers 200 even when it reports errors."""
    response = post(client, world, query, variables)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def data(client, world, query: str, variables: dict | None = None) -> dict:
    body = gql(client, world, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def only_error(body: dict) -> dict:
    assert len(body.get("errors") or []) == 1, body
    return body["errors"][0]


def assert_error(body: dict, code: str, status: int) -> dict:
    error = only_error(body)
    assert error["extensions"]["code"] == code, error
    assert error["extensions"]["status"] == status, error
    return error


def without_auto_confirm(world) -> None:
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)


RECONCILE = """
mutation Run($dryRun: Boolean! = false) {
  reconcile(dryRun: $dryRun) {
    runId dryRun autoConfirmed
    candidates {
      matchId shape invoiceId transactionId confidence autoConfirmed feeAmount
      allocations { transactionId invoiceId amount }
      reasons { code message }
    }
  }
}
"""

MATCH_FIELDS = "id status shape auto confidence allocations { invoiceId transactionId amount invoiceAmount }"


def proposed_match(world, client) -> dict:
    """One reference match INV-1001 <-> 150.00, left proposed."""
    without_auto_confirm(world)
    make_invoice(world.tenant, amount="150.00", number="INV-1001")
    make_transaction(world.tenant, amount="150.00", description="Payment INV-1001")
    result = data(client, world, RECONCILE)["reconcile"]
    assert len(result["candidates"]) == 1
    return result["candidates"][0]


# --- Wiring ----------------------------------------------------------------------------------------------


class TestEndpoint:
    def test_enums_mirror_the_model_choices(self):
        pairs = [
            (invoices_schema.InvoiceStatusEnum, InvoiceStatus),
            (invoices_schema.InvoiceKindEnum, InvoiceKind),
            (banking_schema.TransactionStatusEnum, TransactionStatus),
            (gql_types.MatchStatusEnum, MatchStatus),
            (gql_types.MatchShapeEnum, MatchShape),
            (banking_schema.InternalTransferStatusEnum, InternalTransferStatus),
            (banking_schema.StatementCheckStatusEnum, banking_selectors.CheckStatus),
            (banking_schema.StatementCheckNameEnum, banking_selectors.CheckName),
        ]
        for graphql_enum, choices in pairs:
            assert {m.name: m.value for m in graphql_enum} == {m.name: m.value for m in choices}

    def test_needs_a_bearer_token(self, world_a, client):
        response = client.post(
            url(world_a), data='{"query": "{ __typename }"}', content_type="application/json"
        )
        assert_problem(response, 401)

    def test_only_post_no_graphiql(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        for accept in ("text/html", "application/json"):
            response = client.get(url(world_a), HTTP_ACCEPT=accept)
            body = assert_problem(response, 405)
            assert response["Allow"] == "POST"
            assert "graphiql" not in json.dumps(body).lower()
        assert_problem(client.get(url(world_a), {"query": "{ __typename }"}), 405)

    def test_malformed_bodies_are_400_problems(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        assert_problem(client.post(url(world_a), data="{not json", content_type="application/json"), 400)
        batch = json.dumps([{"query": "{ __typename }"}, {"query": "{ __typename }"}])
        assert_problem(client.post(url(world_a), data=batch, content_type="application/json"), 400)
        assert_problem(client.post(url(world_a), data="", content_type="application/json"), 400)

    def test_bodies_other_than_json_are_415_and_run_nothing(self, world_a, api_client_for):
        """Like the REST endpoints: a form or multipart body is refused, not read as empty."""
        client = api_client_for(world_a.accountant)
        mutation = 'mutation { createInvoice(input: {amount: "5.00", description: "x"}) { id } }'
        for content_type, payload in [
            ("text/plain", "query=x"),
            ("application/x-www-form-urlencoded", urlencode({"query": mutation})),
            ("application/graphql", mutation),
        ]:
            problem = assert_problem(client.post(url(world_a), data=payload, content_type=content_type), 415)
            assert problem["type"] == "urn:reconcile:problem:unsupported-media-type"
        multipart = client.post(
            url(world_a), {"operations": json.dumps({"query": mutation})}, format="multipart"
        )
        assert_problem(multipart, 415)
        with tenant_context(world_a.tenant.id):
            assert not Invoice.objects.exists()

    def test_unknown_input_fields_are_refused_by_validation(self, world_a, api_client_for):
        """GraphQL input objects are closed by the spec: a misspelt field is an error, nothing runs."""
        client = api_client_for(world_a.accountant)
        mutation = 'mutation { createInvoice(input: {amount: "5.00", descripton: "x"}) { id } }'
        messages = [error["message"] for error in gql(client, world_a, mutation)["errors"]]
        assert any("descripton" in message for message in messages), messages
        imported = gql(
            client,
            world_a,
            "mutation($items: [BankTransactionInput!]!) {"
            ' importBankTransactions(idempotencyKey: "k-1", transactions: $items) { imported } }',
            {"items": [{"amount": "1.00", "date": "2024-01-01", "iban": "DE89370400440532013000"}]},
        )
        assert any("iban" in error["message"] for error in imported["errors"]), imported
        with tenant_context(world_a.tenant.id):
            assert not Invoice.objects.exists()
            assert not BankTransaction.objects.exists()

    def test_introspection_works(self, world_a, api_client_for):
        body = data(api_client_for(world_a.viewer), world_a, "{ __schema { mutationType { name } } }")
        assert body["__schema"]["mutationType"]["name"] == "Mutation"


# --- Queries ----------------------------------------------------------------------------------------------


class TestQueries:
    def test_invoices_with_filters_money_as_strings_and_cursor_pages(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        vendor = make_vendor(world_a.tenant, name="Northwind")
        for n, amount in enumerate(["10.00", "20.50", "30.00", "40.00", "50.00"]):
            make_invoice(world_a.tenant, amount=amount, number=f"INV-{n}", vendor=vendor if n < 2 else None)
        make_invoice(world_a.tenant, amount="1500", number="JP-1", currency="JPY")
        query = """
        query($filter: InvoiceFilter, $first: Int!, $after: String) {
          invoices(filter: $filter, first: $first, after: $after) {
            totalCount hasNextPage endCursor
            items { number amount amountPaid outstandingAmount currency status kind vendor { name } }
          }
        }
        """
        seen = []
        after = None
        while True:
            page = data(client, world_a, query, {"first": 4, "after": after})["invoices"]
            assert page["totalCount"] == 6
            seen += [item["number"] for item in page["items"]]
            if not page["hasNextPage"]:
                break
            after = page["endCursor"]
        assert seen == ["JP-1", "INV-4", "INV-3", "INV-2", "INV-1", "INV-0"]  # newest first, no overlap

        def numbers(filters: dict) -> list[str]:
            page = data(client, world_a, query, {"filter": filters, "first": 50})["invoices"]
            return [item["number"] for item in page["items"]]

        assert numbers({"minAmount": "20.5", "maxAmount": "40"}) == ["INV-3", "INV-2", "INV-1"]
        assert numbers({"vendorId": str(vendor.id)}) == ["INV-1", "INV-0"]
        assert numbers({"currency": "jpy"}) == ["JP-1"]
        assert numbers({"q": "inv-4"}) == ["INV-4"]
        assert numbers({"status": ["PAID", "VOID"]}) == []
        assert numbers({"issuedAfter": "2024-03-02"}) == []
        first = data(client, world_a, query, {"filter": {"q": "INV-1"}, "first": 1})["invoices"]["items"][0]
        assert first == {
            "number": "INV-1",
            "amount": "20.50",
            "amountPaid": "0.00",
            "outstandingAmount": "20.50",
            "currency": "USD",
            "status": "OPEN",
            "kind": "RECEIVABLE",
            "vendor": {"name": "Northwind"},
        }
        jpy = data(client, world_a, query, {"filter": {"currency": "JPY"}, "first": 1})["invoices"]["items"][
            0
        ]
        assert jpy["amount"] == "1500"

    def test_invalid_filters_and_page_sizes_are_errors_with_fields(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        query = """query($f: InvoiceFilter, $n: Int!, $a: String) {
                     invoices(filter: $f, first: $n, after: $a) { totalCount } }"""
        error = assert_error(
            gql(client, world_a, query, {"f": {"currency": "XXX"}, "n": 5}), "invalid-input", 400
        )
        assert "currency" in error["extensions"]["errors"]
        assert_error(gql(client, world_a, query, {"n": 501}), "invalid-input", 400)
        assert_error(gql(client, world_a, query, {"n": 0}), "invalid-input", 400)
        assert_error(gql(client, world_a, query, {"n": 5, "a": "garbage!"}), "invalid-input", 400)
        assert_error(gql(client, world_a, query, {"n": 5, "f": {"q": "x" * 201}}), "invalid-input", 400)
        assert_error(gql(client, world_a, query, {"n": 5, "f": {"status": ["BOGUS"]}}), "bad-request", 400)
        assert_error(gql(client, world_a, query, {"n": 5, "f": {"minAmount": "1,5"}}), "bad-request", 400)
        assert_error(gql(client, world_a, query, {"n": 5, "f": {"minAmount": True}}), "bad-request", 400)

    def test_vendors_transactions_runs_and_matches(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        make_vendor(world_a.tenant, name="Contoso", aliases=["CONTOSO LTD"])
        make_vendor(world_a.tenant, name="Fabrikam")
        candidate = proposed_match(world_a, client)
        make_transaction(world_a.tenant, amount="-20.50", description="Bank fee", currency="EUR")
        body = data(
            client,
            world_a,
            """
            query($match: UUID!) {
              vendors(filter: {q: "contoso ltd"}) { totalCount items { name aliases } }
              debits: bankTransactions(filter: {maxAmount: "0"}) { items { amount currency status account } }
              open: bankTransactions(filter: {status: UNMATCHED, currency: "USD", q: "inv-1001"}) {
                items { amount description }
              }
              reconciliationRuns { totalCount items { id source invoicesConsidered proposalsCount } }
              matches(filter: {status: PROPOSED, minConfidence: "0.5"}) { items { id status shape } }
              none: matches(filter: {status: CONFIRMED}) { items { id } }
              match(id: $match) { id breakdown { isCandidate signals { signal score weight } } }
            }
            """,
            {"match": candidate["matchId"]},
        )
        assert body["vendors"] == {
            "totalCount": 1,
            "items": [{"name": "Contoso", "aliases": ["CONTOSO LTD"]}],
        }
        assert body["debits"]["items"] == [
            {
                "amount": "-20.50",
                "currency": "EUR",
                "status": "UNMATCHED",
                "account": "DE02120300000000202051",
            }
        ]
        assert body["open"]["items"] == [{"amount": "150.00", "description": "Payment INV-1001"}]
        runs = body["reconciliationRuns"]
        assert runs["totalCount"] == 1
        assert runs["items"][0]["source"] == "graphql"
        assert runs["items"][0]["proposalsCount"] == 1
        assert body["matches"]["items"] == [
            {"id": candidate["matchId"], "status": "PROPOSED", "shape": "ONE_TO_ONE"}
        ]
        assert body["none"]["items"] == []
        assert body["match"]["breakdown"][0]["isCandidate"] is True
        assert {s["signal"] for s in body["match"]["breakdown"][0]["signals"]} >= {"amount", "reference"}

    def test_explain_any_pair_including_non_candidates(self, world_a, api_client_for):
        invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
        euros = make_transaction(world_a.tenant, amount="150.00", currency="EUR", description="INV-1001")
        body = data(
            api_client_for(world_a.viewer),
            world_a,
            """query($i: UUID!, $t: UUID!) { explain(invoiceId: $i, transactionId: $t) {
                 invoiceId transactionId confidence isCandidate
                 signals { signal score weight reasons { code message } } blockers { code message } } }""",
            {"i": str(invoice.id), "t": str(euros.id)},
        )["explain"]
        assert body["invoiceId"] == str(invoice.id)
        assert body["isCandidate"] is False
        assert any("currency" in blocker["code"] for blocker in body["blockers"])
        Decimal(body["confidence"])  # a decimal string

    def test_bad_ids_are_graphql_errors_never_500(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        for query, variables in [
            ('{ match(id: "not-a-uuid") { id } }', None),
            ("query($id: UUID!) { match(id: $id) { id } }", {"id": "not-a-uuid"}),
            ("query($id: UUID!) { invoice(id: $id) { id } }", {"id": 42}),
            ('mutation { confirmMatch(id: "x") { id } }', None),
            ('{ explain(invoiceId: "x", transactionId: "y") { confidence } }', None),
        ]:
            body = gql(client, world_a, query, variables)
            assert body["data"] is None
            assert body["errors"]
            for error in body["errors"]:
                assert error["extensions"] == {"code": "bad-request", "status": 400}, error
        for query in [
            f'{{ match(id: "{ZERO_UUID}") {{ id }} }}',
            f'{{ invoice(id: "{ZERO_UUID}") {{ id }} }}',
            f'{{ vendor(id: "{ZERO_UUID}") {{ id }} }}',
            f'{{ bankTransaction(id: "{ZERO_UUID}") {{ id }} }}',
            f'{{ reconciliationRun(id: "{ZERO_UUID}") {{ id }} }}',
            f'{{ explain(invoiceId: "{ZERO_UUID}", transactionId: "{ZERO_UUID}") {{ confidence }} }}',
            f'mutation {{ confirmMatch(id: "{ZERO_UUID}") {{ id }} }}',
            f'mutation {{ deleteInvoice(id: "{ZERO_UUID}") {{ id }} }}',
        ]:
            body = gql(client, world_a, query)
            assert body["data"] is None
            assert_error(body, "not-found", 404)
        assert_error(gql(client, world_a, "{ nope }"), "bad-request", 400)

    def test_unexpected_errors_are_masked_and_logged(self, world_a, api_client_for, monkeypatch, caplog):
        from invoices import selectors

        def broken(**_kwargs):
            raise RuntimeError("secret connection string")

        monkeypatch.setattr(selectors, "vendor_list", broken)
        body = gql(api_client_for(world_a.viewer), world_a, "{ vendors { totalCount } }")
        error = assert_error(body, "internal-error", 500)
        assert error["message"] == "Internal server error."
        assert "secret" not in json.dumps(body)
        assert "secret connection string" in caplog.text


# --- Limits ----------------------------------------------------------------------------------------------


class TestLimits:
    def test_depth_over_eight_is_refused(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)

        def nested(depth: int) -> str:
            names = [f"f{n}" for n in range(depth + 1)]
            return "{ " + " { ".join(names) + " }" * (depth + 1)

        depth_errors = [
            [
                e
                for e in gql(client, world_a, nested(depth))["errors"]
                if "maximum operation depth" in e["message"]
            ]
            for depth in (8, 9)
        ]
        assert depth_errors[0] == []
        assert depth_errors[1][0]["message"] == "'anonymous' exceeds maximum operation depth of 8"
        assert depth_errors[1][0]["extensions"] == {"code": "bad-request", "status": 400}

    def test_aliases_and_tokens_are_limited(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        fifteen = " ".join(f"a{n}: vendors {{ totalCount }}" for n in range(15))
        assert "errors" not in gql(client, world_a, f"{{ {fifteen} }}")
        sixteen = " ".join(f"a{n}: vendors {{ totalCount }}" for n in range(16))
        error = assert_error(gql(client, world_a, f"{{ {sixteen} }}"), "bad-request", 400)
        assert "aliases" in error["message"]
        tokens = " ".join("__typename" for _ in range(6000))
        assert_error(gql(client, world_a, f"{{ {tokens} }}"), "bad-request", 400)


# --- Mutations --------------------------------------------------------------------------------------------


class TestMutations:
    def test_empty_tenant_reconcile_gives_an_empty_list(self, world_a, api_client_for):
        body = data(api_client_for(world_a.accountant), world_a, RECONCILE)["reconcile"]
        assert body["candidates"] == []
        assert body["autoConfirmed"] == 0
        assert body["dryRun"] is False
        assert body["runId"]

    def test_reconcile_auto_confirms_a_reference_match(self, world_a, api_client_for):
        invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
        transaction = make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
        body = data(api_client_for(world_a.owner), world_a, RECONCILE)["reconcile"]
        (candidate,) = body["candidates"]
        assert candidate["invoiceId"] == str(invoice.id)
        assert candidate["transactionId"] == str(transaction.id)
        (allocation,) = candidate["allocations"]
        assert (allocation["transactionId"], allocation["invoiceId"]) == (
            str(transaction.id),
            str(invoice.id),
        )
        assert Decimal(allocation["amount"]) == Decimal("150.00")
        assert Decimal(candidate["confidence"]) >= Decimal("0.95")
        assert "ref.exact" in {reason["code"] for reason in candidate["reasons"]}
        assert candidate["autoConfirmed"] is True
        with tenant_context(world_a.tenant.id):
            assert Invoice.objects.get().status == InvoiceStatus.PAID

    def test_dry_run_writes_nothing(self, world_a, api_client_for):
        make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
        make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
        body = data(api_client_for(world_a.accountant), world_a, RECONCILE, {"dryRun": True})["reconcile"]
        assert body["runId"] is None
        assert body["candidates"][0]["matchId"] is None
        with tenant_context(world_a.tenant.id):
            assert Match.objects.count() == ReconciliationRun.objects.count() == 0

    def test_confirm_undo_reject(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        candidate = proposed_match(world_a, client)
        variables = {"id": candidate["matchId"]}
        confirm = f"mutation($id: UUID!) {{ confirmMatch(id: $id) {{ {MATCH_FIELDS} }} }}"
        undo = f"mutation($id: UUID!) {{ undoMatch(id: $id) {{ {MATCH_FIELDS} }} }}"
        reject = f"mutation($id: UUID!) {{ rejectMatch(id: $id) {{ {MATCH_FIELDS} }} }}"
        confirmed = data(client, world_a, confirm, variables)["confirmMatch"]
        assert confirmed["status"] == "CONFIRMED"
        assert Decimal(confirmed["allocations"][0]["amount"]) == Decimal("150.00")
        with tenant_context(world_a.tenant.id):
            assert Invoice.objects.get().status == InvoiceStatus.PAID
        assert_error(gql(client, world_a, confirm, variables), "conflict", 409)
        assert data(client, world_a, undo, variables)["undoMatch"]["status"] == "UNDONE"
        with tenant_context(world_a.tenant.id):
            invoice = Invoice.objects.get()
            assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, Decimal("0"))
        second = data(client, world_a, RECONCILE)["reconcile"]["candidates"][0]
        rejected = data(client, world_a, reject, {"id": second["matchId"]})["rejectMatch"]
        assert rejected["status"] == "REJECTED"
        assert data(client, world_a, RECONCILE)["reconcile"]["candidates"] == []

    def test_create_and_delete_invoice_with_exact_amounts(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        create = """mutation($input: CreateInvoiceInput!) { createInvoice(input: $input) {
                      id number amount currency kind status vendor { name } } }"""
        made = data(
            client,
            world_a,
            create,
            {
                "input": {
                    "amount": "0.10",
                    "description": "Tiny",
                    "number": "T-1",
                    "vendorName": "New Vendor",
                    "kind": "PAYABLE",
                    "issueDate": "2024-03-01",
                    "dueDate": "2024-03-31",
                }
            },
        )["createInvoice"]
        assert made["amount"] == "0.10"
        assert made["currency"] == "USD"  # the tenant's default
        assert made["kind"] == "PAYABLE"
        assert made["vendor"] == {"name": "New Vendor"}
        # A JSON number in the variables and a literal in the document are read exactly too.
        document = (
            'mutation($a: Decimal!) { createInvoice(input: {amount: $a, description: "n", number: "T-2"}) '
            "{ amount } }"
        )
        raw = json.dumps({"query": document, "variables": {"a": "AMOUNT"}}).replace(
            '"AMOUNT"', "99999999999999.99"
        )
        response = client.post(url(world_a), data=raw, content_type="application/json")
        assert response.json()["data"]["createInvoice"]["amount"] == "99999999999999.99"  # float: ...98
        literal = (
            'mutation { createInvoice(input: {amount: 99999999999999.99, description: "l", number: "T-3"}) '
            "{ amount } }"
        )
        assert data(client, world_a, literal)["createInvoice"]["amount"] == "99999999999999.99"
        with tenant_context(world_a.tenant.id):
            assert Invoice.objects.get(number="T-1").amount == Decimal("0.10")
        error = assert_error(
            gql(
                client, world_a, create, {"input": {"amount": "1.001", "description": "x", "currency": "USD"}}
            ),
            "invalid-input",
            400,
        )
        assert "amount" in error["extensions"]["errors"]
        assert_error(
            gql(client, world_a, create, {"input": {"amount": "5", "description": "x", "number": "T-1"}}),
            "conflict",
            409,
        )
        delete = "mutation($id: UUID!) { deleteInvoice(id: $id) { id deleted } }"
        assert data(client, world_a, delete, {"id": made["id"]})["deleteInvoice"] == {
            "id": made["id"],
            "deleted": True,
        }
        with tenant_context(world_a.tenant.id):
            assert not Invoice.objects.filter(number="T-1").exists()

    def test_delete_of_a_paid_invoice_is_a_conflict(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
        make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
        candidate = data(client, world_a, RECONCILE)["reconcile"]["candidates"][0]
        assert candidate["autoConfirmed"] is True
        body = gql(
            client,
            world_a,
            "mutation($id: UUID!) { deleteInvoice(id: $id) { id } }",
            {"id": candidate["invoiceId"]},
        )
        assert_error(body, "conflict", 409)

    def test_viewers_cannot_run_any_mutation(self, world_a, api_client_for):
        accountant = api_client_for(world_a.accountant)
        candidate = proposed_match(world_a, accountant)
        viewer = api_client_for(world_a.viewer)
        match_id = candidate["matchId"]

        def snapshot() -> tuple:
            with tenant_context(world_a.tenant.id):
                return (
                    list(Match.objects.values_list("status", flat=True)),
                    list(Invoice.objects.values_list("id", "status", "amount_paid")),
                    ReconciliationRun.objects.count(),
                    ImportBatch.objects.count(),
                    BankTransaction.objects.count(),
                )

        before = snapshot()
        mutations = [
            ("mutation { reconcile { runId } }", None),
            (f'mutation {{ confirmMatch(id: "{match_id}") {{ id }} }}', None),
            (f'mutation {{ rejectMatch(id: "{match_id}") {{ id }} }}', None),
            (f'mutation {{ undoMatch(id: "{match_id}") {{ id }} }}', None),
            ('mutation { createInvoice(input: {amount: "5", description: "x"}) { id } }', None),
            (f'mutation {{ deleteInvoice(id: "{candidate["invoiceId"]}") {{ id }} }}', None),
            (
                'mutation { importBankTransactions(idempotencyKey: "k", '
                'transactions: [{amount: "1", date: "2024-01-01"}]) { batchId } }',
                None,
            ),
        ]
        for query, variables in mutations:
            body = gql(viewer, world_a, query, variables)
            assert body["data"] is None
            assert_error(body, "forbidden", 403)
        assert snapshot() == before
        assert before[0] == [MatchStatus.PROPOSED]
        # ...but they read.
        assert data(viewer, world_a, "{ matches { totalCount } }")["matches"]["totalCount"] == 1


# --- Import ------------------------------------------------------------------------------------------------


IMPORT = """
mutation Import($key: String!, $tx: [BankTransactionInput!]!, $account: String) {
  importBankTransactions(idempotencyKey: $key, transactions: $tx, account: $account) {
    batchId imported duplicates transactionIds replayed
  }
}
"""
ITEMS = [
    {"amount": "150.00", "date": "2023-10-25T10:00:00Z", "description": "Payment INV-1001"},
    {"amount": "-20.50", "date": "2023-10-26", "currency": "eur", "externalId": "FEE-1"},
]


class TestImport:
    def counts(self, world) -> tuple[int, int, int]:
        with tenant_context(world.tenant.id):
            return (
                BankTransaction.objects.count(),
                ImportBatch.objects.count(),
                IdempotencyKey.objects.count(),
            )

    def test_import_is_idempotent_per_key(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        variables = {"key": "key-1", "tx": ITEMS}
        first = data(client, world_a, IMPORT, variables)["importBankTransactions"]
        assert (first["imported"], first["duplicates"], first["replayed"]) == (2, 0, False)
        assert len(first["transactionIds"]) == 2
        with tenant_context(world_a.tenant.id):
            amounts = dict(BankTransaction.objects.values_list("currency", "amount"))
        assert amounts == {"USD": Decimal("150.00"), "EUR": Decimal("-20.50")}
        replay = data(client, world_a, IMPORT, variables)["importBankTransactions"]
        assert replay == {**first, "replayed": True}
        assert self.counts(world_a) == (2, 1, 1)
        other = gql(client, world_a, IMPORT, {"key": "key-1", "tx": ITEMS[:1]})
        assert_error(other, "unprocessable", 422)
        again = data(client, world_a, IMPORT, {"key": "key-2", "tx": ITEMS})["importBankTransactions"]
        assert (again["imported"], again["duplicates"], again["replayed"]) == (0, 2, False)
        assert self.counts(world_a) == (2, 2, 2)

    def test_bad_rows_import_nothing_and_do_not_use_the_key(self, world_a, api_client_for):
        client = api_client_for(world_a.accountant)
        bad = [*ITEMS, {"amount": "1.001", "date": "2023-10-27"}, {"amount": "5", "date": "yesterday"}]
        error = assert_error(gql(client, world_a, IMPORT, {"key": "k", "tx": bad}), "import-rejected", 400)
        assert set(error["extensions"]["errors"]) == {"transactions[2]", "transactions[3].date"}
        assert self.counts(world_a) == (0, 0, 0)
        assert_error(gql(client, world_a, IMPORT, {"key": "k", "tx": []}), "invalid-input", 400)
        assert_error(gql(client, world_a, IMPORT, {"key": " ", "tx": ITEMS}), "invalid-input", 400)
        assert_error(
            gql(client, world_a, IMPORT, {"key": "k", "tx": ITEMS, "account": "A" * 65}), "invalid-input", 400
        )
        assert self.counts(world_a) == (0, 0, 0)
        body = data(client, world_a, IMPORT, {"key": "k", "tx": ITEMS, "account": "DE89370400440532013000"})
        assert body["importBankTransactions"]["imported"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_mutation_commits_nothing_of_the_request(world_a, api_client_for):
    """Two mutations in one document: the second fails, so the first's invoice is not committed."""
    client = api_client_for(world_a.accountant)
    make_invoice(world_a.tenant, amount="10.00", number="TAKEN")
    body = gql(
        client,
        world_a,
        """mutation {
             first: createInvoice(input: {amount: "1.00", description: "a", number: "NEW-1"}) { id }
             second: createInvoice(input: {amount: "2.00", description: "b", number: "TAKEN"}) { id }
           }""",
    )
    assert body["data"] is None
    assert_error(body, "conflict", 409)
    with tenant_context(world_a.tenant.id):
        assert list(Invoice.objects.values_list("number", flat=True)) == ["TAKEN"]
    # The same document without the conflict commits both.
    body = gql(
        client,
        world_a,
        """mutation {
             first: createInvoice(input: {amount: "1.00", description: "a", number: "NEW-1"}) { id }
             second: createInvoice(input: {amount: "2.00", description: "b", number: "NEW-2"}) { id }
           }""",
    )
    assert "errors" not in body
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.count() == 3


# --- Stateless scoring -------------------------------------------------------------------------------------

SCORE = """
query Score(
  $invoices: [ScoreInvoiceInput!]!, $transactions: [ScoreTransactionInput!]!, $settings: ScoreSettingsInput
) {
  scoreCandidates(invoices: $invoices, transactions: $transactions, settings: $settings) {
    engineVersion
    proposals {
      shape confidence autoConfirm feeAmount
      allocations { transactionId invoiceId amount invoiceAmount }
      reasons { code message }
      autoConfirmBlockers { code }
      breakdown { invoiceId transactionId confidence isCandidate signals { signal score } }
    }
  }
}
"""
SCORE_INVOICES = [
    {
        "id": "inv-1",
        "number": "INV-1001",
        "amount": "150.00",
        "currency": "USD",
        "issueDate": "2024-03-01",
        "dueDate": "2024-03-31",
        "counterpartyName": "Acme Supplies",
    },
    {"id": "inv-2", "number": "INV-1002", "amount": "99.00", "currency": "USD", "issueDate": "2024-03-01"},
]
SCORE_TRANSACTIONS = [
    {
        "id": "tx-1",
        "amount": "150.00",
        "currency": "USD",
        "bookingDate": "2024-03-20",
        "description": "Payment INV-1001",
        "counterpartyName": "ACME SUPPLIES",
    },
]


class TestScoreCandidates:
    def test_scores_supplied_data_without_touching_the_database(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        variables = {"invoices": SCORE_INVOICES, "transactions": SCORE_TRANSACTIONS}
        with CaptureQueriesContext(connection) as queries:
            body = data(client, world_a, SCORE, variables)["scoreCandidates"]
        tables = ("invoices_", "banking_", "reconciliation_", "tenants_tenantsettings", "tenants_idempotency")
        touched = [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in tables)]
        assert touched == []
        (proposal,) = body["proposals"]
        (allocation,) = proposal["allocations"]
        assert (allocation["transactionId"], allocation["invoiceId"]) == ("tx-1", "inv-1")
        assert Decimal(allocation["amount"]) == Decimal(allocation["invoiceAmount"]) == Decimal("150.00")
        assert proposal["shape"] == "ONE_TO_ONE"
        assert Decimal(proposal["confidence"]) >= Decimal("0.95")
        assert proposal["autoConfirm"] is True
        assert "ref.exact" in {reason["code"] for reason in proposal["reasons"]}
        assert proposal["breakdown"][0]["isCandidate"] is True

    def test_the_resolver_runs_no_query_at_all(self, world_a, django_assert_num_queries):
        """Executed directly inside the tenant (the middleware's own queries excluded): zero queries."""
        from reconciliation.schema.context import TenantGraphQLContext
        from reconciliation.schema.schema import schema
        from tenants.models import Membership

        membership = Membership.objects.get(tenant=world_a.tenant, user=world_a.viewer)
        context = TenantGraphQLContext(
            request=None, response=None, tenant=world_a.tenant, membership=membership, user=world_a.viewer
        )
        variables = {"invoices": SCORE_INVOICES, "transactions": SCORE_TRANSACTIONS}
        with tenant_context(world_a.tenant.id), django_assert_num_queries(0):
            result = schema.execute_sync(SCORE, variable_values=variables, context_value=context)
        assert result.errors is None
        assert len(result.data["scoreCandidates"]["proposals"]) == 1

    def test_settings_and_empty_inputs(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        variables = {
            "invoices": SCORE_INVOICES,
            "transactions": SCORE_TRANSACTIONS,
            "settings": {"autoConfirmThreshold": None},
        }
        (proposal,) = data(client, world_a, SCORE, variables)["scoreCandidates"]["proposals"]
        assert proposal["autoConfirm"] is False
        empty = data(client, world_a, SCORE, {"invoices": [], "transactions": []})["scoreCandidates"]
        assert empty["proposals"] == []

    def test_invalid_inputs_are_reported_per_field(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        invoices = [
            {**SCORE_INVOICES[0], "amount": "150.001"},
            {**SCORE_INVOICES[1], "currency": "XYZ"},
            {**SCORE_INVOICES[1], "id": "inv-1", "amount": "-5"},
        ]
        transactions = [{**SCORE_TRANSACTIONS[0], "unallocated": "151"}]
        variables = {
            "invoices": invoices,
            "transactions": transactions,
            "settings": {"autoConfirmThreshold": "1.5"},
        }
        error = assert_error(gql(client, world_a, SCORE, variables), "invalid-input", 400)
        assert set(error["extensions"]["errors"]) == {
            "invoices[0].amount",
            "invoices[1].currency",
            "invoices[2].id",
            "invoices[2].amount",
            "transactions[0].unallocated",
            "settings.autoConfirmThreshold",
        }

    def test_input_sizes_are_capped_per_request(self, world_a, api_client_for):
        client = api_client_for(world_a.viewer)
        many = [{"id": f"i{n}", "amount": "1.00", "currency": "USD"} for n in range(2001)]
        error = assert_error(
            gql(client, world_a, SCORE, {"invoices": many, "transactions": []}), "invalid-input", 400
        )
        assert set(error["extensions"]["errors"]) == {"invoices"}
        # Aliases cannot multiply the budget.
        half = many[:1500]
        twice = """query($i: [ScoreInvoiceInput!]!) {
                     a: scoreCandidates(invoices: $i, transactions: []) { engineVersion }
                     b: scoreCandidates(invoices: $i, transactions: []) { engineVersion } }"""
        body = gql(client, world_a, twice, {"i": half})
        assert body["data"] is None
        assert_error(body, "invalid-input", 400)


# --- Tenancy ----------------------------------------------------------------------------------------------


class TestTenancy:
    def test_non_members_get_404_for_the_endpoint(self, world_a, world_b, api_client_for):
        b_client = api_client_for(world_b.owner)
        for query in ("{ invoices { totalCount } }", "mutation { reconcile { runId } }"):
            assert_problem(post(b_client, world_a, query), 404)
        score = json.dumps({"query": SCORE, "variables": {"invoices": [], "transactions": []}})
        assert_problem(b_client.post(url(world_a), data=score, content_type="application/json"), 404)
        missing = f"/v1/tenants/{uuid.uuid4()}/graphql"
        assert_problem(b_client.post(missing, data=score, content_type="application/json"), 404)

    def test_tenant_a_ids_find_nothing_in_tenant_b(self, world_a, world_b, api_client_for):
        a_client = api_client_for(world_a.accountant)
        vendor = make_vendor(world_a.tenant, name="Acme")
        candidate = proposed_match(world_a, a_client)
        invoice_id, transaction_id, match_id = (
            candidate["invoiceId"],
            candidate["transactionId"],
            candidate["matchId"],
        )
        with tenant_context(world_a.tenant.id):
            run_id = str(ReconciliationRun.objects.get().id)
        b_client = api_client_for(world_b.owner)
        not_found = [
            f'{{ invoice(id: "{invoice_id}") {{ id }} }}',
            f'{{ vendor(id: "{vendor.id}") {{ id }} }}',
            f'{{ bankTransaction(id: "{transaction_id}") {{ id }} }}',
            f'{{ match(id: "{match_id}") {{ id }} }}',
            f'{{ reconciliationRun(id: "{run_id}") {{ id }} }}',
            f'{{ explain(invoiceId: "{invoice_id}", transactionId: "{transaction_id}") {{ confidence }} }}',
            f'mutation {{ confirmMatch(id: "{match_id}") {{ id }} }}',
            f'mutation {{ rejectMatch(id: "{match_id}") {{ id }} }}',
            f'mutation {{ undoMatch(id: "{match_id}") {{ id }} }}',
            f'mutation {{ deleteInvoice(id: "{invoice_id}") {{ id }} }}',
        ]
        for query in not_found:
            assert_error(gql(b_client, world_b, query), "not-found", 404)
        lists = data(
            b_client,
            world_b,
            f"""{{
              invoices {{ totalCount }} vendors {{ totalCount }} bankTransactions {{ totalCount }}
              matches {{ totalCount }} reconciliationRuns {{ totalCount }}
              byInvoice: matches(filter: {{invoiceId: "{invoice_id}"}}) {{ items {{ id }} }}
              byVendor: invoices(filter: {{vendorId: "{vendor.id}"}}) {{ items {{ id }} }}
            }}""",
        )
        assert {name: page.get("totalCount") for name, page in lists.items() if "totalCount" in page} == {
            "invoices": 0,
            "vendors": 0,
            "bankTransactions": 0,
            "matches": 0,
            "reconciliationRuns": 0,
        }
        assert lists["byInvoice"]["items"] == lists["byVendor"]["items"] == []
        # Creating in B with A's vendor id reads like an unknown vendor.
        error = assert_error(
            gql(
                b_client,
                world_b,
                'mutation($v: UUID!) { createInvoice(input: {amount: "5", description: "x", vendorId: $v}) '
                "{ id } }",
                {"v": str(vendor.id)},
            ),
            "invalid-input",
            400,
        )
        assert "vendor_id" in error["extensions"]["errors"]
        # Running B's engine only sees B's (empty) ledgers.
        assert data(b_client, world_b, RECONCILE)["reconcile"]["candidates"] == []
        # Scoring in B with A's ids only uses the data supplied (nothing of A is looked up).
        scored = data(
            b_client,
            world_b,
            SCORE,
            {
                "invoices": [{"id": invoice_id, "amount": "1.00", "currency": "USD"}],
                "transactions": [
                    {"id": transaction_id, "amount": "500.00", "currency": "EUR", "bookingDate": "2024-03-20"}
                ],
            },
        )["scoreCandidates"]
        assert scored["proposals"] == []
        # Nothing of A changed, and the REST twin agrees.
        with tenant_context(world_a.tenant.id):
            assert Match.objects.get().status == MatchStatus.PROPOSED
            assert Invoice.objects.filter(id=invoice_id).exists()
            assert BankTransaction.objects.get().allocated_amount == 0
        with tenant_context(world_b.tenant.id):
            assert Invoice.objects.count() == 0
        rest = f"/v1/tenants/{world_b.tenant.id}"
        assert_problem(b_client.get(f"{rest}/invoices/{invoice_id}"), 404)
        assert_problem(b_client.post(f"{rest}/matches/{match_id}/confirm"), 404)
        assert_problem(b_client.get(f"/v1/tenants/{world_a.tenant.id}/invoices/{invoice_id}"), 404)


def test_dates_and_decimals_round_trip(world_a, api_client_for):
    """Dates arrive as ISO strings; a Decimal given as an integer is fine; floats never reach money."""
    client = api_client_for(world_a.accountant)
    body = data(
        client,
        world_a,
        "mutation($input: CreateInvoiceInput!) { createInvoice(input: $input) { amount issueDate dueDate } }",
        {"input": {"amount": 7, "description": "int", "issueDate": "2024-01-02", "dueDate": "2024-02-03"}},
    )["createInvoice"]
    assert body == {"amount": "7.00", "issueDate": "2024-01-02", "dueDate": "2024-02-03"}
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.get().due_date == dt.date(2024, 2, 3)
