"""Payment terms on invoices: REST (fields or printed text), CSV import, audit, database rules."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from invoices import services
from invoices.models import Invoice
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tests.helpers import assert_problem
from tests.invoices.factories import count_rows, fetch, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_a(world_a, api_client_for) -> APIClient:
    return api_client_for(world_a.accountant)


def url(world, suffix: str = "") -> str:
    return f"/v1/tenants/{world.tenant.id}/invoices{suffix}"


def test_terms_as_text_are_stored_as_fields_and_shown_both_ways(world_a, client_a) -> None:
    body = {"amount": "1000.00", "description": "Pumps", "payment_terms": "2/10 net 30"}
    response = client_a.post(url(world_a), body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["discount_percent"], data["discount_days"], data["net_days"], data["payment_terms"]) == (
        "2.00", 10, 30, "2/10 net 30",
    )  # fmt: skip
    listed = client_a.get(url(world_a)).json()["results"][0]  # list rows render in SQL
    assert {k: listed[k] for k in ("discount_percent", "discount_days", "net_days", "payment_terms")} == {
        k: data[k] for k in ("discount_percent", "discount_days", "net_days", "payment_terms")
    }


def test_terms_as_fields_and_a_partial_update(world_a, client_a) -> None:
    body = {"amount": "500.00", "description": "Valves", "discount_percent": "2.5", "discount_days": 14}
    created = client_a.post(url(world_a), body, format="json").json()
    assert created["payment_terms"] == "2.5/14"
    response = client_a.patch(url(world_a, f"/{created['id']}"), {"net_days": 30}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["payment_terms"] == "2.5/14 net 30"
    removed = client_a.patch(url(world_a, f"/{created['id']}"), {"payment_terms": ""}, format="json").json()
    assert (removed["discount_percent"], removed["discount_days"], removed["net_days"]) == (None, None, None)
    with tenant_context(world_a.tenant.id):
        changes = [e.after for e in AuditEvent.objects.filter(object_id=created["id"]).order_by("created_at")]
    assert changes[1] == {"net_days": 30}
    assert changes[2] == {"discount_percent": None, "discount_days": None, "net_days": None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payment_terms": "2/10 EOM"}, "payment_terms"),  # not understood: refused, not guessed
        ({"payment_terms": "pay soon please"}, "payment_terms"),
        ({"payment_terms": "x" * 121}, "payment_terms"),
        ({"payment_terms": "2/10 net 30", "discount_days": 10}, "payment_terms"),  # both ways at once
        ({"discount_percent": "2"}, "discount_percent"),  # no period
        ({"discount_days": 10}, "discount_days"),  # no percent
        ({"discount_percent": "100", "discount_days": 10}, "discount_percent"),
        ({"discount_percent": "0", "discount_days": 10}, "discount_percent"),
        ({"discount_percent": "2.555", "discount_days": 10}, "discount_percent"),  # never rounded
        ({"discount_percent": "1e1", "discount_days": 10}, "discount_percent"),
        ({"discount_percent": "2", "discount_days": 40, "net_days": 30}, "discount_percent"),
        ({"discount_percent": "2", "discount_days": 0}, "discount_days"),
        ({"net_days": 366}, "net_days"),
        ({"net_days": "thirty"}, "net_days"),
    ],
)
def test_bad_terms_are_refused_and_change_nothing(world_a, client_a, body: dict, field: str) -> None:
    before = count_rows(world_a.tenant, Invoice)
    response = client_a.post(url(world_a), {"amount": "10.00", "description": "x", **body}, format="json")
    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert count_rows(world_a.tenant, Invoice) == before


def test_an_update_refusing_terms_changes_nothing(world_a, client_a) -> None:
    invoice = make_invoice(world_a.tenant, number="T-1")
    response = client_a.patch(url(world_a, f"/{invoice.id}"), {"discount_percent": "3"}, format="json")
    assert assert_problem(response, 400)["errors"]["discount_percent"]
    assert fetch(world_a.tenant, Invoice, invoice.id).discount_percent is None


def test_the_database_refuses_inconsistent_terms(world_a) -> None:
    invoice = make_invoice(world_a.tenant, number="T-2")
    with tenant_context(world_a.tenant.id):
        for fields in (
            {"discount_percent": Decimal("2")},
            {"discount_days": 10},
            {"discount_percent": Decimal("2"), "discount_days": 40, "net_days": 30},
            {"net_days": 0},
        ):
            with pytest.raises(IntegrityError), transaction.atomic():
                Invoice.objects.filter(id=invoice.id).update(**fields)


def test_csv_import_reads_terms_columns(world_a) -> None:
    text = (
        "number,amount,issue_date,payment_terms,discount_percent,discount_days,net_days\n"
        "C-1,100.00,2024-01-01,2/10 net 30,,,\n"
        "C-2,200.00,2024-01-01,,3,14,30\n"
        "C-3,300.00,2024-01-01,,,,45\n"
    )
    with tenant_context(world_a.tenant.id):
        services.invoice_bulk_import(rows=services.invoice_csv_rows(io.StringIO(text)))
        terms = {i.number: i.payment_terms for i in Invoice.objects.all()}
    assert terms == {"C-1": "2/10 net 30", "C-2": "3/14 net 30", "C-3": "net 45"}


@pytest.mark.parametrize(
    "row",
    ["C-1,100.00,2/10 EOM,,,", "C-1,100.00,,2,,", "C-1,100.00,,2,ten,", "C-1,100.00,2/10,2,10,"],
)
def test_csv_import_refuses_bad_terms_whole(world_a, row: str) -> None:
    text = "number,amount,payment_terms,discount_percent,discount_days,net_days\nOK-1,5.00,,,,\n" + row + "\n"
    with tenant_context(world_a.tenant.id):
        with pytest.raises(services.InvoiceImportRejected):
            services.invoice_bulk_import(rows=services.invoice_csv_rows(io.StringIO(text)))
    assert count_rows(world_a.tenant, Invoice) == 0
