"""Every free text has a maximum (common.limits), on every way in, and in the database too.

Over the bound: a 400 naming the field (REST and GraphQL), a statement file rejected naming its
line, a refused ERP import; nothing is written and nothing is truncated. At the bound: stored as
sent. NUL, which PostgreSQL text cannot hold, is refused the same way instead of failing in SQL.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.migrations.state import ProjectState

from banking.models import BankTransaction
from banking.services import ImportRejected, statement_import
from common import limits
from common.errors import InvalidInput
from invoices.models import Invoice, Vendor
from invoices.services import InvoiceImportRejected, invoice_bulk_import, vendor_create
from tenants.context import tenant_context
from tenants.migration_operations import AddTextBound
from tenants.models import Tenant
from tenants.services import tenant_create
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db

LONG = "x" * (limits.DESCRIPTION + 1)
FULL = "y" * limits.DESCRIPTION


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def graphql(client, world, query: str, variables: dict) -> dict:
    response = client.post(
        f"{base(world)}/graphql",
        json.dumps({"query": query, "variables": variables}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def stored(world, model) -> list:
    with tenant_context(world.tenant.id):
        return list(model.objects.all())


# --- REST ------------------------------------------------------------------------------------------------


def test_rest_invoice_descriptions_are_bounded(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    for bad in (LONG, "a\x00b"):
        response = client.post(
            f"{base(world_a)}/invoices", {"amount": "1.00", "description": bad}, format="json"
        )
        body = assert_problem(response, 400)
        assert list(body["errors"]) == ["description"]
    created = client.post(f"{base(world_a)}/invoices", {"amount": "1.00", "description": FULL}, format="json")
    assert created.status_code == 201
    invoice_url = f"{base(world_a)}/invoices/{created.json()['id']}"
    body = assert_problem(client.patch(invoice_url, {"description": LONG}, format="json"), 400)
    assert list(body["errors"]) == ["description"]
    (invoice,) = stored(world_a, Invoice)
    assert invoice.description == FULL


def test_rest_vendor_aliases_are_bounded_in_number_and_length(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    too_many = [f"Alias {n}" for n in range(limits.ALIASES_PER_VENDOR + 1)]
    for aliases in (too_many, ["a" * (limits.NAME + 1)]):
        body = assert_problem(
            client.post(f"{base(world_a)}/vendors", {"name": "V", "aliases": aliases}, format="json"), 400
        )
        assert list(body["errors"]) == ["aliases"]
    assert stored(world_a, Vendor) == []
    ok = client.post(f"{base(world_a)}/vendors", {"name": "V", "aliases": too_many[:-1]}, format="json")
    assert ok.status_code == 201


def test_rest_import_rows_name_the_text_over_its_bound(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    for field, value in [("description", LONG), ("description", "a\x00b"), ("counterparty", "n" * 201)]:
        items = [
            {"amount": "1.00", "date": "2024-01-01"},
            {"amount": "2.00", "date": "2024-01-02", field: value},
        ]
        response = client.post(
            f"{base(world_a)}/bank-transactions/import",
            json.dumps({"transactions": items}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"k-{field}-{len(value)}",
        )
        body = assert_problem(response, 400)
        (problem,) = body["errors"]["transactions[1]"]
        stored_name = "counterparty_name" if field == "counterparty" else field
        assert problem.startswith(stored_name), problem
    assert stored(world_a, BankTransaction) == []


def test_rest_tenant_names_are_bounded(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    before = Tenant.objects.count()
    for name in ("t" * (limits.NAME + 1), "a\x00b"):
        assert_problem(client.post("/v1/tenants", {"name": name}, format="json"), 400)
    with pytest.raises(InvalidInput) as refused:
        tenant_create(name="t" * (limits.NAME + 1), owner=world_a.owner)
    assert list(refused.value.errors or {}) == ["name"]
    assert Tenant.objects.count() == before


# --- GraphQL ---------------------------------------------------------------------------------------------

CREATE = "mutation($input: CreateInvoiceInput!) { createInvoice(input: $input) { id description } }"
IMPORT = """
mutation($tx: [BankTransactionInput!]!) {
  importBankTransactions(idempotencyKey: "k", transactions: $tx) { imported }
}
"""


def test_graphql_create_invoice_names_the_description(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    for bad in (LONG, "a\x00b"):
        (error,) = graphql(client, world_a, CREATE, {"input": {"amount": "1.00", "description": bad}})[
            "errors"
        ]
        assert error["extensions"]["code"] == "invalid-input"
        assert list(error["extensions"]["errors"]) == ["description"]
    assert stored(world_a, Invoice) == []
    body = graphql(client, world_a, CREATE, {"input": {"amount": "1.00", "description": FULL}})
    assert body["data"]["createInvoice"]["description"] == FULL


def test_graphql_import_names_the_row_and_text(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    for value in (LONG, "a\x00b"):
        rows = [{"amount": "1.00", "date": "2024-01-01", "description": value}]
        (error,) = graphql(client, world_a, IMPORT, {"tx": rows})["errors"]
        assert error["extensions"]["errors"]["transactions[0]"][0].startswith("description")
    assert stored(world_a, BankTransaction) == []


def test_graphql_scoring_inputs_are_bounded_like_the_fields_they_stand_for(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    query = """
    query($inv: [ScoreInvoiceInput!]!, $tx: [ScoreTransactionInput!]!) {
      scoreCandidates(invoices: $inv, transactions: $tx) { engineVersion }
    }
    """
    invoice = {
        "id": "i1",
        "amount": "1.00",
        "currency": "EUR",
        "counterpartyName": "n" * 201,
        "counterpartyAliases": ["a"] * (limits.ALIASES_PER_VENDOR + 1),
    }
    tx = {
        "id": "t" * 201,
        "amount": "1.00",
        "currency": "EUR",
        "bookingDate": "2024-01-01",
        "description": LONG,
    }
    (error,) = graphql(client, world_a, query, {"inv": [invoice], "tx": [tx]})["errors"]
    assert set(error["extensions"]["errors"]) == {
        "invoices[0].counterpartyName",
        "invoices[0].counterpartyAliases",
        "transactions[0].id",
        "transactions[0].description",
    }


def test_graphql_search_terms_are_bounded(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    for field in ("invoices", "vendors", "bankTransactions"):
        query = f"query($q: String) {{ {field}(filter: {{q: $q}}) {{ totalCount }} }}"
        (error,) = graphql(client, world_a, query, {"q": "q" * (limits.SEARCH + 1)})["errors"]
        assert list(error["extensions"]["errors"]) == ["q"], field


# --- files -----------------------------------------------------------------------------------------------


def csv_statement(description: str) -> io.BytesIO:
    text = f"Date,Amount,Description\n2024-01-01,1.00,ok\n2024-01-02,2.00,{description}\n"
    return io.BytesIO(text.encode())


def test_a_statement_row_over_a_bound_rejects_the_file_naming_its_line(world_a):
    for description in (LONG, "a\x00b"):
        with tenant_context(world_a.tenant.id), pytest.raises(ImportRejected) as rejected:
            statement_import(stream=csv_statement(description), file_name="s.csv", file_format="csv")
        problems = rejected.value.errors["line 3"]
        assert any(problem.startswith("description") for problem in problems), problems
    assert stored(world_a, BankTransaction) == []
    with tenant_context(world_a.tenant.id):
        result = statement_import(stream=csv_statement(FULL), file_name="s.csv", file_format="csv")
    assert result.imported == 2
    assert {row.description for row in stored(world_a, BankTransaction)} == {"ok", FULL}


def test_erp_invoice_import_rejects_long_descriptions_by_line(world_a):
    rows = [
        (2, {"number": "A-1", "amount": "1.00", "description": "ok"}),
        (3, {"number": "A-2", "amount": "1.00", "description": LONG}),
    ]
    with tenant_context(world_a.tenant.id), pytest.raises(InvoiceImportRejected) as rejected:
        invoice_bulk_import(rows=rows)
    assert list(rejected.value.errors or {}) == ["line 3: description"]
    assert stored(world_a, Invoice) == []


def test_services_refuse_too_many_aliases_before_looking_at_them(world_a):
    with tenant_context(world_a.tenant.id), pytest.raises(InvalidInput) as refused:
        vendor_create(name="V", aliases=["same"] * 100_000)
    assert list(refused.value.errors or {}) == ["aliases"]


# --- the database holds the bounds too ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "create"),
    [
        (Invoice, lambda: Invoice.objects.create(amount=Decimal("1"), currency="USD", description=LONG)),
        (Vendor, lambda: Vendor.objects.create(name="V", aliases=["a"] * (limits.ALIASES_PER_VENDOR + 1))),
    ],
)
def test_sql_refuses_what_the_services_would(world_a, model, create):
    with (
        tenant_context(world_a.tenant.id),
        pytest.raises(IntegrityError, match="bounded"),
        transaction.atomic(),
    ):
        create()


def test_bank_transaction_descriptions_are_bounded_in_sql(world_a):
    with pytest.raises(IntegrityError, match="banktransaction_description_bounded"), transaction.atomic():
        make_transaction(world_a.tenant, amount="1.00", description=LONG)


def test_the_migration_refuses_rows_stored_before_the_bound_naming_the_table(world_a):
    """A deployed database with a longer description stops the migration; nothing is truncated."""
    make_invoice(world_a.tenant, amount="1.00", number="OLD")
    constraint = next(c for c in Invoice._meta.constraints if c.name == "invoice_description_bounded")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE invoices_invoice DROP CONSTRAINT invoice_description_bounded")
    with tenant_context(world_a.tenant.id):
        Invoice.objects.filter(number="OLD").update(description=LONG)  # written before the bound existed

    state = ProjectState.from_apps(apps)
    operation = AddTextBound(model_name="invoice", constraint=constraint)
    with pytest.raises(IntegrityError, match=r"rows of invoices_invoice already exceed it") as refused:
        with transaction.atomic(), connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("invoices", editor, state, state)
    assert "invoice_description_bounded" in str(refused.value)
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.get(number="OLD").description == LONG
