"""What real clients rely on: JSON-only bodies, no empty bodies on writes, unknown fields refused,
an OpenAPI schema that says what the server does, and one money format at the currency's minor
unit. Endpoints are discovered from the live schema, so a new one is checked without editing
this file. (tests/test_generated_client.py drives the API through a client generated from it.)
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from banking.apis import TransactionItemSerializer
from banking.models import BankTransaction
from banking.services import API_TRANSACTION_FIELDS
from reconciliation.models import Match, ReconciliationRun
from tenants.context import tenant_context
from tenants.models import IdempotencyKey, TenantSettings
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice
from tests.seed import seed_every_tenant_table
from tests.test_isolation_attack import a_ids, a_snapshot, fill

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch")
MULTIPART_ONLY = frozenset(
    {
        "/v1/tenants/{tenant_id}/bank-transactions/import-file",
        "/v1/tenants/{tenant_id}/remittance-advices/import-file",
    }
)


def openapi() -> dict[str, Any]:
    return APIClient().get("/v1/schema", HTTP_ACCEPT="application/json").json()


def write_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every write, the multipart uploads left out."""
    return [
        (method, path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in WRITE_METHODS and path not in MULTIPART_ONLY
    ]


def as_url(path: str, world, ids: dict[str, str]) -> str:
    route = re.sub(r"\{(\w+)\}", lambda m: f"<{m[1]}>", path).lstrip("/")
    return fill(route, str(world.tenant.id), ids)


@pytest.fixture
def seeded(world_a, api_client_for):
    world_a.seeded = seed_every_tenant_table(world_a.tenant)
    return world_a, api_client_for(world_a.owner), a_ids(world_a)


# --- media types and empty bodies ----------------------------------------------------------------


def test_every_json_endpoint_refuses_form_and_multipart_bodies_with_415(seeded):
    world, client, ids = seeded
    before = a_snapshot(world)
    form = {"dry_run": "true", "name": "x", "amount": "1.00", "description": "x", "status": "void"}
    checked = 0
    for method, path, _operation in write_operations(openapi()):
        url = as_url(path, world, ids)
        urlencoded = client.generic(
            method.upper(),
            url,
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            HTTP_IDEMPOTENCY_KEY="form-1",
        )
        assert_problem(urlencoded, 415)
        multipart = getattr(client, method)(url, form, format="multipart", HTTP_IDEMPOTENCY_KEY="form-2")
        assert_problem(multipart, 415)
        checked += 1
    assert checked >= 12
    assert a_snapshot(world) == before


def test_a_dry_run_sent_as_a_form_runs_nothing(world_a, api_client_for):
    """The issue's case: the form body was read as empty and a real run auto-confirmed matches."""
    client = api_client_for(world_a.accountant)
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    url = f"/v1/tenants/{world_a.tenant.id}/reconcile"
    assert_problem(client.post(url, {"dry_run": "true"}), 415)  # APIClient's default: multipart
    assert_problem(client.post(url, "dry_run=true", content_type="application/x-www-form-urlencoded"), 415)
    assert_problem(client.post(url), 400)  # no body at all
    assert_problem(client.post(url, "", content_type="application/json"), 400)
    with tenant_context(world_a.tenant.id):
        assert not ReconciliationRun.objects.exists() and not Match.objects.exists()
    dry = client.post(url, {"dry_run": True}, format="json").json()
    assert dry["dry_run"] is True and dry["run_id"] is None
    real = client.post(url, {}, format="json")  # `{}` asks for the defaults
    assert real.status_code == 200 and real.json()["run_id"]


def test_an_empty_body_is_400_wherever_a_body_is_taken(seeded):
    world, client, ids = seeded
    before = a_snapshot(world)
    schema = openapi()
    with_body = [(m, p) for m, p, operation in write_operations(schema) if "requestBody" in operation]
    assert len(with_body) >= 9
    # Confirming a match takes no body, `{}`, or a write-off: its body is optional, declared so.
    optional = [(m, p) for m, p in with_body if not schema["paths"][p][m]["requestBody"]["required"]]
    assert optional == [("post", "/v1/tenants/{tenant_id}/matches/{match_id}/confirm")]
    for method, path in with_body:
        if (method, path) in optional:
            continue
        url = as_url(path, world, ids)
        for content_type in ("application/json", ""):
            response = client.generic(
                method.upper(), url, "", content_type=content_type, HTTP_IDEMPOTENCY_KEY="empty-1"
            )
            problem = assert_problem(response, 400)
            assert "body is empty" in problem["detail"], (method, path, problem)
        not_an_object = client.generic(
            method.upper(), url, "[]", content_type="application/json", HTTP_IDEMPOTENCY_KEY="empty-2"
        )
        assert_problem(not_an_object, 400)
    assert a_snapshot(world) == before


def test_patch_with_a_form_body_is_415_not_a_200_that_changes_nothing(seeded):
    world, client, ids = seeded
    base = f"/v1/tenants/{world.tenant.id}"
    for url, form in [
        (f"{base}/settings", "auto_confirm_threshold=0.5"),
        (f"{base}/invoices/{ids['invoice_id']}", "description=changed"),
        (f"{base}/vendors/{ids['vendor_id']}", "name=changed"),
    ]:
        assert_problem(client.patch(url, form, content_type="application/x-www-form-urlencoded"), 415)
        assert_problem(client.patch(url), 400)
    assert client.patch(f"{base}/settings", {}, format="json").status_code == 200  # `{}`: nothing to change
    with tenant_context(world.tenant.id):
        assert TenantSettings.objects.get().auto_confirm_threshold == Decimal("0.95")


# --- unknown fields ------------------------------------------------------------------------------------


def test_every_request_body_refuses_unknown_fields_naming_them(seeded):
    world, client, ids = seeded
    before = a_snapshot(world)
    checked = 0
    for method, path, _operation in write_operations(openapi()):
        url = as_url(path, world, ids)
        response = getattr(client, method)(
            url, {"zz_unknown": 1, "descripton": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="unknown-1"
        )
        problem = assert_problem(response, 400)
        assert {"zz_unknown", "descripton"} <= set(problem["errors"]), (method, path, problem)
        assert problem["errors"]["descripton"][0].startswith("Unknown field; accepted: ")
        checked += 1
    assert checked >= 12  # the match actions too: they take no field at all
    assert a_snapshot(world) == before


def test_nested_and_partial_bodies_are_strict_too(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    base = f"/v1/tenants/{world_a.tenant.id}"
    problem = assert_problem(client.patch(f"{base}/settings", {"threshold": "0.5"}, format="json"), 400)
    assert set(problem["errors"]) == {"threshold"}
    both = client.post(f"{base}/invoices", {"amount": True, "iban": "DE89"}, format="json")
    errors = assert_problem(both, 400)["errors"]
    assert {"amount", "description", "iban"} <= set(errors)  # one response lists every problem


def import_items(client, world, items, key: str, **body):
    return client.post(
        f"/v1/tenants/{world.tenant.id}/bank-transactions/import",
        {"transactions": items, **body},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_import_items_with_unknown_keys_are_refused_naming_each(world_a, api_client_for):
    """The issue's keys: the strongest matching evidence was dropped with a 201."""
    client = api_client_for(world_a.accountant)
    item = {"amount": "150.00", "date": "2023-10-25T10:00:00Z", "description": "Payment INV-1001"}
    bad = [
        {**item, "reference": "INV-1001", "counterparty_name": "Acme"},
        {**item, "iban": "DE89370400440532013000"},
        {**item, "descripton": "typo"},
    ]
    problem = assert_problem(import_items(client, world_a, bad, "batch_001"), 400)
    assert set(problem["errors"]) == {
        "transactions[0].reference",
        "transactions[0].counterparty_name",
        "transactions[1].iban",
        "transactions[2].descripton",
    }
    assert "counterparty" in problem["errors"]["transactions[1].iban"][0]  # lists what is accepted
    top = assert_problem(import_items(client, world_a, [item], "batch_001", acount="DE02"), 400)
    assert set(top["errors"]) == {"acount"}
    with tenant_context(world_a.tenant.id):
        assert not BankTransaction.objects.exists() and not IdempotencyKey.objects.exists()
    assert import_items(client, world_a, [item], "batch_001").status_code == 201  # key not consumed


def test_import_items_take_the_declared_fields_and_booking_date_as_an_alias(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    item = {
        "amount": "150.00",
        "booking_date": "2023-10-25",
        "end_to_end_id": "E2E-42",
        "structured_reference": "RF18 5390 0754 7034",
        "counterparty": "Acme",
        "counterparty_account": "DE89 3704 0044 0532 0130 00",
    }
    assert import_items(client, world_a, [item], "k-1").status_code == 201
    with tenant_context(world_a.tenant.id):
        stored = BankTransaction.objects.get()
    assert (str(stored.booking_date), stored.end_to_end_id, stored.structured_reference) == (
        "2023-10-25",
        "E2E-42",
        "RF18539007547034",
    )
    both = assert_problem(import_items(client, world_a, [{**item, "date": "2023-10-26"}], "k-2"), 400)
    assert set(both["errors"]) == {"transactions[0].booking_date"}


def test_the_statement_upload_refuses_unknown_form_fields_and_json(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    url = f"/v1/tenants/{world_a.tenant.id}/bank-transactions/import-file"
    statement = io.BytesIO((Path(__file__).parent / "banking" / "fixtures" / "small.csv").read_bytes())
    statement.name = "small.csv"
    typo = client.post(
        url, {"file": statement, "formt": "csv"}, format="multipart", HTTP_IDEMPOTENCY_KEY="f-1"
    )
    assert set(assert_problem(typo, 400)["errors"]) == {"formt"}
    as_json = client.post(url, {"file": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="f-2")
    assert_problem(as_json, 415)
    with tenant_context(world_a.tenant.id):
        assert not BankTransaction.objects.exists()


def test_the_item_schema_lists_exactly_the_keys_the_service_accepts():
    declared = set(openapi()["components"]["schemas"]["TransactionItemRequest"]["properties"])
    assert declared == set(TransactionItemSerializer().fields) == API_TRANSACTION_FIELDS


# --- the schema says what the server does -----------------------------------------------------------


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def test_every_error_response_has_the_problem_body():
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    errors = 0
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response.get("content") == problem, (method, path, status)
                    errors += 1
    assert errors > 100


def test_request_bodies_are_json_strict_and_required():
    schema = openapi()
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            content = operation["requestBody"]["content"]
            expected = ["multipart/form-data"] if path in MULTIPART_ONLY else ["application/json"]
            assert list(content) == expected, (method, path)
            # Confirming a match takes no body too (or a write-off): declared optional.
            optional = path == "/v1/tenants/{tenant_id}/matches/{match_id}/confirm"
            assert operation["requestBody"]["required"] is not optional
            if path not in MULTIPART_ONLY:
                name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert components[name]["additionalProperties"] is False, name
    assert components["TransactionItemRequest"]["additionalProperties"] is False


def test_amounts_are_declared_as_decimal_strings_in_and_out():
    schema = openapi()
    amounts = [
        (path, node["properties"][name])
        for path, node in _walk(schema["components"])
        if isinstance(node.get("properties"), dict)
        for name in node["properties"]
        if name == "amount" or name.endswith("_amount")
    ]
    assert len(amounts) >= 12
    for path, declared in amounts:
        assert declared["type"] == "string" and declared["format"] == "decimal", (path, declared)
        assert re.fullmatch(declared["pattern"], "-150.00") and not re.fullmatch(declared["pattern"], "1e3")
    assert not [path for path, node in _walk(schema) if node.get("type") == "number"]


def test_import_breakdown_settings_and_bounds_are_declared():
    schema = openapi()
    components = schema["components"]["schemas"]
    transactions = components["BankTransactionImportRequest"]["properties"]["transactions"]["oneOf"]
    assert transactions[0]["items"] == {"$ref": "#/components/schemas/TransactionItemRequest"}
    assert transactions[1]["type"] == "string"
    breakdown = components["MatchDetailOutput"]["properties"]["breakdown"]
    assert breakdown["items"] == {"$ref": "#/components/schemas/PairScore"}
    settings_used = components["RunOutput"]["properties"]["settings_used"]["properties"]
    assert settings_used["date_window_days"] == {"type": "integer"}
    assert settings_used["auto_confirm_threshold"]["nullable"] is True
    parameters = {
        (parameter["name"], path): parameter["schema"]
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
    }
    page_sizes = [value for (name, _path), value in parameters.items() if name == "page_size"]
    assert page_sizes and all(value["minimum"] == 1 and value["maximum"] == 500 for value in page_sizes)
    keys = [value for (name, _path), value in parameters.items() if name == "Idempotency-Key"]
    assert len(keys) == 4 and all((v["minLength"], v["maxLength"]) == (1, 255) for v in keys)


@pytest.mark.parametrize("page_size", ["0", "501", "abc", "-1", "1" * 5000])
def test_a_page_size_out_of_bounds_is_400_not_silently_changed(world_a, api_client_for, page_size):
    client = api_client_for(world_a.viewer)
    problem = assert_problem(
        client.get(f"/v1/tenants/{world_a.tenant.id}/invoices", {"page_size": page_size}), 400
    )
    assert set(problem["errors"]) == {"page_size"}


def test_the_largest_page_size_is_served(world_a, api_client_for):
    response = api_client_for(world_a.viewer).get(f"/v1/tenants/{world_a.tenant.id}/invoices?page_size=500")
    assert response.status_code == 200


# --- one money format -------------------------------------------------------------------------------

# (currency, amount as stored, as every interface shows it, a zero fee)
CURRENCIES = [
    ("USD", "150.00", "150.00", "0.00"),
    ("JPY", "1500", "1500", "0"),
    ("KWD", "1.5", "1.500", "0.000"),
]


@pytest.fixture
def proposals(world_a, api_client_for):
    """One proposed 1:1 match per currency (auto-confirmation off), from a REST reconcile."""
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    for currency, amount, _shown, _zero in CURRENCIES:
        make_invoice(world_a.tenant, amount=amount, number=f"INV-{currency}-7", currency=currency)
        make_transaction(
            world_a.tenant, amount=amount, description=f"Payment INV-{currency}-7", currency=currency
        )
    client = api_client_for(world_a.accountant)
    response = client.post(f"/v1/tenants/{world_a.tenant.id}/reconcile", {}, format="json")
    assert response.status_code == 200, response.content
    return client, response.json()["candidates"]


def test_rest_shows_every_amount_at_the_currency_minor_unit(world_a, proposals):
    client, candidates = proposals
    shown = {currency: (text, zero) for currency, _amount, text, zero in CURRENCIES}
    assert sorted(candidate["currency"] for candidate in candidates) == sorted(shown)
    base = f"/v1/tenants/{world_a.tenant.id}"
    for candidate in candidates:
        text, zero = shown[candidate["currency"]]
        assert candidate["fee_amount"] == zero
        assert [(a["amount"], a["currency"]) for a in candidate["allocations"]] == [
            (text, candidate["currency"])
        ]
        match = client.post(f"{base}/matches/{candidate['match_id']}/confirm").json()
        assert (match["fee_amount"], match["currency"]) == (zero, candidate["currency"])
        (allocation,) = match["allocations"]
        assert (allocation["amount"], allocation["invoice_amount"]) == (text, text)
        assert (allocation["currency"], allocation["invoice_currency"]) == (candidate["currency"],) * 2
        invoice = client.get(f"{base}/invoices/{candidate['invoice_id']}").json()
        assert (invoice["amount"], invoice["amount_paid"], invoice["outstanding_amount"]) == (
            text,
            text,
            zero,
        )
    listed = client.get(f"{base}/matches").json()["results"]
    assert sorted(a["amount"] for m in listed for a in m["allocations"]) == sorted(
        t for t, _z in shown.values()
    )


def test_graphql_shows_every_amount_at_the_currency_minor_unit(world_a, proposals):
    client, _candidates = proposals
    query = """{ matches { items { currency feeAmount
        allocations { amount currency invoiceAmount invoiceCurrency } } } }"""
    body = client.post(f"/v1/tenants/{world_a.tenant.id}/graphql", {"query": query}, format="json").json()
    shown = {currency: (text, zero) for currency, _amount, text, zero in CURRENCIES}
    matches = body["data"]["matches"]["items"]
    assert len(matches) == 3, body
    for match in matches:
        text, zero = shown[match["currency"]]
        assert match["feeAmount"] == zero
        assert match["allocations"] == [
            {
                "amount": text,
                "currency": match["currency"],
                "invoiceAmount": text,
                "invoiceCurrency": match["currency"],
            }
        ]
    mutation = """mutation { reconcile(dryRun: true) {
        candidates { currency feeAmount allocations { amount currency } } } }"""
    dry = client.post(f"/v1/tenants/{world_a.tenant.id}/graphql", {"query": mutation}, format="json").json()
    for candidate in dry["data"]["reconcile"]["candidates"]:
        text, zero = shown[candidate["currency"]]
        assert candidate["feeAmount"] == zero
        assert candidate["allocations"] == [{"amount": text, "currency": candidate["currency"]}]
