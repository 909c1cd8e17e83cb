"""One RF finder on every path (issue 16): the statement parsers, the API import (REST and
GraphQL), the engine over the ledger and GraphQL's stateless scoring all read the issue's two
bank lines as the same valid reference, and one bank line is stored alike whichever way it
arrived.

Before: the engine found nothing in ``Payment RF18 53900754 7034`` and reported ``RF18539`` with
an invalid checksum for ``Ref RF18 539 007547034``; the API import stored no structured
reference where the CSV importer stored the RF; and the API upper-cased any account id."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from banking.models import BankTransaction
from banking.services import statement_import
from banking.statements import CsvOptions, iter_statement
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice
from tests.support.runs import reconcile

RF = "RF18539007547034"
ISSUE_EXAMPLES = ["Payment RF18 53900754 7034", "Ref RF18 539 007547034"]


# --- the statement parsers -----------------------------------------------------------------------


def csv_statement(description: str, account: str = "") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerows(
        [
            ["Date", "Description", "Counterparty", "Counterparty IBAN", "Amount"],
            ["2024-03-20", description, "Acme Supplies", account, "150.00"],
        ]
    )
    return out.getvalue().encode()


def mt940_statement(description: str) -> bytes:
    return (
        ":20:REF\n:25:DE89370400440532013000\n:28C:1\n:60F:C240320EUR0,00\n"
        f":61:2403200320C150,00NTRFNONREF//B1\n:86:{description}\n:62F:C240320EUR150,00\n"
    ).encode()


def ofx_statement(description: str) -> bytes:
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
        "<CURDEF>EUR<BANKACCTFROM><ACCTID>1</BANKACCTFROM><BANKTRANLIST>\n<STMTTRN>\n<TRNTYPE>CREDIT\n"
        f"<DTPOSTED>20240320\n<TRNAMT>150.00\n<FITID>F1\n<MEMO>{description}\n</STMTTRN>\n"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()


def camt_statement(description: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>\n'
        "<Stmt><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        '<Ntry>\n<Amt Ccy="EUR">150.00</Amt>\n<CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2024-03-20</Dt></BookgDt>"
        f"<NtryDtls><TxDtls><RmtInf><Ustrd>{description}</Ustrd></RmtInf></TxDtls></NtryDtls>"
        "</Ntry>\n</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


STATEMENTS = {"csv": csv_statement, "mt940": mt940_statement, "ofx": ofx_statement, "camt053": camt_statement}


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
@pytest.mark.parametrize("fmt", sorted(STATEMENTS))
def test_every_statement_format_stores_the_reference(fmt: str, text: str) -> None:
    options = CsvOptions(delimiter=";", decimal=".", currency="EUR")
    (row,) = iter_statement(io.BytesIO(STATEMENTS[fmt](text)), format=fmt, csv_options=options)
    assert row.description == text
    assert row.structured_reference == RF


# --- the API import ------------------------------------------------------------------------------


def rest_import(client, world, items: list[dict], key: str) -> None:
    response = client.post(
        f"/v1/tenants/{world.tenant.id}/bank-transactions/import",
        data=json.dumps({"transactions": items}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 201, response.content


def graphql_import(client, world, items: list[dict], key: str) -> None:
    query = (
        "mutation($items: [BankTransactionInput!]!, $key: String!) {"
        " importBankTransactions(idempotencyKey: $key, transactions: $items) { imported } }"
    )
    response = client.post(
        f"/v1/tenants/{world.tenant.id}/graphql",
        data=json.dumps({"query": query, "variables": {"items": items, "key": key}}),
        content_type="application/json",
    )
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["importBankTransactions"]["imported"] == len(items)


def stored(world, description: str) -> BankTransaction:
    with tenant_context(world.tenant.id):
        return BankTransaction.objects.get(description=description)


@pytest.mark.django_db
@pytest.mark.parametrize("send", [rest_import, graphql_import], ids=["rest", "graphql"])
def test_the_api_import_stores_the_reference_found_in_the_description(world_a, api_client_for, send):
    client = api_client_for(world_a.accountant)
    reference = "externalId" if send is graphql_import else "external_id"
    items = [
        {"amount": "150.00", "date": "2024-03-20", "description": text, reference: f"B{n}"}
        for n, text in enumerate(ISSUE_EXAMPLES)
    ]
    send(client, world_a, items, "rf-1")
    for text in ISSUE_EXAMPLES:
        assert stored(world_a, text).structured_reference == RF


@pytest.mark.django_db
def test_a_structured_reference_the_client_gives_is_kept(world_a, api_client_for):
    """Any scheme (here a Belgian structured communication): stored compact, never replaced."""
    client = api_client_for(world_a.accountant)
    item = {
        "amount": "150.00",
        "date": "2024-03-20",
        "description": "Payment RF18 5390 0754 7034",
        "structured_reference": " 090 9337 55493 ",
    }
    rest_import(client, world_a, [item], "rf-2")
    assert stored(world_a, item["description"]).structured_reference == "090933755493"


@pytest.mark.django_db
def test_one_bank_line_is_stored_alike_from_a_file_and_from_the_api(world_a, world_b, api_client_for):
    lines = zip(ISSUE_EXAMPLES, ("de89 3704 0044 0532 0130 00", "acct 12ab"), strict=True)
    for description, account in lines:
        with tenant_context(world_a.tenant.id):
            statement_import(
                stream=io.BytesIO(csv_statement(description, account)),
                file_name="statement.csv",
                file_format="csv",
                csv_options=CsvOptions(delimiter=";", decimal=".", currency="USD"),
            )
            from_file = BankTransaction.objects.get(counterparty_account__iexact=account.replace(" ", ""))
        item = {
            "amount": "150.00",
            "date": "2024-03-20",
            "description": description,
            "counterparty": "Acme Supplies",
            "counterparty_account": account,
        }
        rest_import(api_client_for(world_b.accountant), world_b, [item], f"line-{account}")
        with tenant_context(world_b.tenant.id):
            from_api = BankTransaction.objects.get(counterparty_account__iexact=account.replace(" ", ""))
        fields = ("description", "counterparty_name", "counterparty_account", "structured_reference")
        assert {f: getattr(from_api, f) for f in fields} == {f: getattr(from_file, f) for f in fields}
        assert from_api.structured_reference == RF
    assert from_api.counterparty_account == "acct12ab"  # a bank's own id keeps its case


# --- the engine -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_the_engine_finds_the_reference_in_the_text(world_a, text):
    """A transaction stored with no structured reference (before this fix the API stored none):
    the engine reads the RF in its description and credits it."""
    make_invoice(world_a.tenant, amount="150.00", number="INV-77", structured_reference=RF)
    make_transaction(world_a.tenant, amount="150.00", description=text)
    result = reconcile(world_a.tenant.id, dry_run=True, source="test")
    (candidate,) = result.proposals
    codes = {reason["code"] for reason in candidate.reasons}
    assert "rf.match" in codes and "rf.invalid" not in codes
    assert candidate.confidence >= Decimal("0.95")


SCORE = """
query Score($invoices: [ScoreInvoiceInput!]!, $transactions: [ScoreTransactionInput!]!) {
  scoreCandidates(invoices: $invoices, transactions: $transactions) {
    proposals { reasons { code message } }
  }
}
"""


@pytest.mark.django_db
@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_stateless_scoring_finds_the_reference_too(world_a, api_client_for, text):
    variables = {
        "invoices": [
            {"id": "inv-1", "amount": "150.00", "currency": "USD", "structuredReference": RF},
        ],
        "transactions": [
            {
                "id": "tx-1",
                "amount": "150.00",
                "currency": "USD",
                "bookingDate": "2024-03-20",
                "description": text,
            }
        ],
    }
    response = api_client_for(world_a.viewer).post(
        f"/v1/tenants/{world_a.tenant.id}/graphql",
        data=json.dumps({"query": SCORE, "variables": variables}),
        content_type="application/json",
    )
    body = response.json()
    assert "errors" not in body, body
    (proposal,) = body["data"]["scoreCandidates"]["proposals"]
    messages = {reason["code"]: reason["message"] for reason in proposal["reasons"]}
    assert RF in messages["rf.match"]
