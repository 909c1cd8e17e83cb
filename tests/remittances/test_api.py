"""Remittance advices over REST: create (JSON), import a file (camt.054, CSV), read; all or nothing,
idempotent, tenant-isolated; a run matches the payment an advice describes to exactly its invoices."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from invoices.models import Invoice
from reconciliation.models import Match, MatchStatus
from remittances.models import RemittanceAdvice, RemittanceAdviceLine
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/remittance-advices"


def body(lines=None, **fields) -> dict:
    lines = (
        lines
        if lines is not None
        else [
            {"invoice_number": "INV-1001", "amount": "98.00", "discount": "2.00"},
            {"invoice_number": "INV-1002", "amount": "250.00"},
        ]
    )
    total = sum((Decimal(str(line["amount"])) for line in lines), Decimal(0))
    return {
        "payment_reference": "AV-2024-0042",
        "payer_name": "Acme Supplies GmbH",
        "payer_account": IBAN,
        "amount": str(total),
        "currency": "USD",
        "payment_date": "2024-03-20",
        "lines": lines,
        **fields,
    }


def post(client, world, data, key: str | None = "k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(base(world), data=json.dumps(data), content_type="application/json", **headers)


def advice_count(world) -> tuple[int, int]:
    with tenant_context(world.tenant.id):
        return RemittanceAdvice.objects.count(), RemittanceAdviceLine.objects.count()


def test_create_stores_the_advice_resolves_numbers_and_is_idempotent(world_a, api_client_for):
    invoice = make_invoice(world_a.tenant, amount="100.00", number="INV-1001")
    client = api_client_for(world_a.accountant)
    response = post(client, world_a, body())
    assert response.status_code == 201, response.content
    result = response.json()
    assert (result["imported"], result["duplicates"], result["format"]) == (1, 0, "api")
    advice_id = result["advices"][0]
    detail = client.get(f"{base(world_a)}/{advice_id}").json()
    assert detail["amount"] == "348.00" and detail["payment_reference"] == "AV-2024-0042"
    assert [(line["invoice_number"], line["amount"], line["discount"]) for line in detail["lines"]] == [
        ("INV-1001", "98.00", "2.00"),
        ("INV-1002", "250.00", "0.00"),
    ]
    assert detail["lines"][0]["invoice_id"] == str(invoice.id) and detail["lines"][1]["invoice_id"] is None
    replay = post(client, world_a, body())
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    again = post(client, world_a, body(), key="k-2").json()  # same advice, another key: not stored twice
    assert (again["imported"], again["duplicates"], again["advices"]) == (0, 1, [advice_id])
    assert advice_count(world_a) == (1, 2)
    with tenant_context(world_a.tenant.id):
        assert AuditEvent.objects.filter(action="remittance_advice.imported").count() == 1
    listed = client.get(base(world_a)).json()
    assert [row["id"] for row in listed["results"]] == [advice_id]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (body(amount="999.00"), "advice"),  # the lines do not sum to the total
        (body(amount="1e3"), "amount"),
        (body(currency="XXY"), "currency"),
        (body(lines=[{"invoice_number": "INV-1", "amount": "98.50"}], currency="JPY"), "advice"),
        (body(lines=[]), "lines"),
        (body(lines=[{"invoice_number": "A-1", "amount": "1.00"}] * 1001), "lines"),
        (body(iban="x"), "iban"),
        (body(lines=[{"invoice_number": "INV-1", "amount": "-5.00"}]), "advice"),
        (body(lines=[{"invoice_number": "INV-1", "amount": "5.00", "discount": "-1"}]), "advice"),
        (body(payment_reference=""), "payment_reference"),
        (body(payment_reference="R" * 141), "payment_reference"),
    ],
)
def test_bad_advices_are_refused_whole(world_a, api_client_for, data, field):
    response = post(api_client_for(world_a.accountant), world_a, data)
    problem = assert_problem(response, 400)
    assert any(key.startswith(field) for key in problem["errors"]), problem
    assert advice_count(world_a) == (0, 0)


def test_a_key_is_required_and_viewers_may_not_write(world_a, api_client_for):
    assert_problem(post(api_client_for(world_a.accountant), world_a, body(), key=None), 400)
    assert_problem(post(api_client_for(world_a.viewer), world_a, body()), 403)
    assert advice_count(world_a) == (0, 0)


def test_other_tenants_advices_are_invisible(world_a, world_b, api_client_for):
    result = post(api_client_for(world_a.accountant), world_a, body()).json()
    client_b = api_client_for(world_b.accountant)
    assert_problem(client_b.get(f"{base(world_b)}/{result['advices'][0]}"), 404)
    assert client_b.get(base(world_b)).json()["results"] == []
    assert_problem(client_b.get(f"{base(world_a)}"), 404)


CSV = (
    "advice;payer;invoice;amount;discount;currency;date\n"
    "RA-77;Acme Supplies GmbH;INV-1001;98.00;2.00;USD;2024-03-20\n"
    "RA-77;Acme Supplies GmbH;inv 1002;250.00;;USD;2024-03-20\n"
    "RA-78;Acme Supplies GmbH;INV-1003;10.00;0;USD;2024-03-21\n"
)

CAMT054 = (Path(__file__).parent / "fixtures" / "batch.camt054.xml").read_text(encoding="utf-8")


def upload(client, world, name: str, content: bytes, key: str = "f-1"):
    return client.post(
        f"{base(world)}/import-file",
        {"file": SimpleUploadedFile(name, content)},
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_csv_and_camt054_files_are_imported(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    csv_result = upload(client, world_a, "advices.csv", CSV.encode())
    assert csv_result.status_code == 201, csv_result.content
    assert (csv_result.json()["format"], csv_result.json()["imported"]) == ("csv", 2)
    camt_result = upload(client, world_a, "n.xml", CAMT054.encode(), key="f-2")
    assert camt_result.status_code == 201, camt_result.content
    assert (camt_result.json()["format"], camt_result.json()["imported"]) == ("camt054", 1)
    with tenant_context(world_a.tenant.id):
        camt = RemittanceAdvice.objects.get(source="camt054")
        assert (camt.payment_reference, camt.end_to_end_id, camt.payer_account) == (
            "PAYRUN-5531",
            "E2E-99887766",
            IBAN,
        )
        assert camt.amount == Decimal("348.00") and camt.line_count == 2
        first = camt.lines.get(position=1)
        assert (first.invoice_number, first.amount, first.discount) == (
            "INV-1001",
            Decimal("98.00"),
            Decimal("2"),
        )
        csv_advice = RemittanceAdvice.objects.get(payment_reference="RA-77")
        assert csv_advice.amount == Decimal("348.00") and csv_advice.file_name == "advices.csv"


@pytest.mark.parametrize(
    ("content", "location"),
    [
        (CSV.replace("250.00", "250,00").encode(), "line 3"),
        (
            CSV.replace(
                "RA-78;Acme Supplies GmbH;INV-1003;10.00;0;USD", "RA-78;Acme;INV-1003;10.00;0;EUR"
            ).encode()
            + b"RA-78;Acme;INV-1004;1.00;0;USD;2024-03-21\n",
            "line 4",
        ),
        (b"advice;invoice;amount\nA;B;1.00\n", "file"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "file"),
        (b"<Document><BkToCstmrDbtCdtNtfctn><Ntfctn><Ntry><Amt Ccy='USD'>1.00</Amt>", "line 1"),
        (CAMT054.replace("348.00", "349.00").encode(), "Ntfctn[0]/Ntry[0]"),
    ],
)
def test_bad_files_are_refused_whole(world_a, api_client_for, content, location):
    problem = assert_problem(upload(api_client_for(world_a.accountant), world_a, "x", content), 400)
    assert location in problem["errors"], problem
    assert advice_count(world_a) == (0, 0)


def test_a_run_matches_a_batch_of_twenty_to_exactly_the_advised_invoices(world_a, api_client_for):
    vendor = make_vendor(world_a.tenant, iban=IBAN)
    invoices = [
        make_invoice(world_a.tenant, amount=f"{100 + k}.{k:02d}", number=f"INV-{2000 + k}", vendor=vendor)
        for k in range(20)
    ]
    extra = make_invoice(
        world_a.tenant, amount="101.01", number="INV-2999", vendor=vendor
    )  # same amount as one
    lines = [{"invoice_number": i.number.lower(), "amount": str(i.amount)} for i in invoices]
    client = api_client_for(world_a.accountant)
    assert post(client, world_a, body(lines=lines, payment_reference="RA99887766")).status_code == 201
    total = sum((i.amount for i in invoices), Decimal(0))
    payment = make_transaction(
        world_a.tenant,
        amount=str(total),
        description="Payment run RA99887766 see advice",
        counterparty_name="ACME SUPPLIES",
        counterparty_account=IBAN,
    )
    response = client.post(f"/v1/tenants/{world_a.tenant.id}/reconcile", {}, format="json")
    assert response.status_code == 200, response.content
    (candidate,) = [c for c in response.json()["candidates"] if c["transaction_id"] == str(payment.id)]
    assert {a["invoice_id"] for a in candidate["allocations"]} == {str(i.id) for i in invoices}
    assert candidate["reasons"][0]["code"] == "remittance_advice"
    assert "RA99887766" in candidate["reasons"][0]["message"]
    assert candidate["auto_confirmed"] is True
    with tenant_context(world_a.tenant.id):
        match = Match.objects.get(pk=candidate["match_id"])
        assert match.status == MatchStatus.CONFIRMED and match.allocations.count() == 20
        assert set(Invoice.objects.filter(status="paid").values_list("id", flat=True)) == {
            i.id for i in invoices
        }
        assert Invoice.objects.get(pk=extra.pk).status == "open"
