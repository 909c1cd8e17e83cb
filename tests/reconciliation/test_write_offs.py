"""Write-offs at confirmation (tenant policy), undo, overpayments, through REST, GraphQL and admin."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from banking.models import BankTransaction
from invoices.models import Invoice
from reconciliation.models import Match, MatchAllocation, MatchStatus
from tenants.context import tenant_context
from tenants.models import AuditEvent, TenantSettings
from tests.admin.conftest import make_staff
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor
from tests.reconciliation.test_graphql import data as gql_data
from tests.reconciliation.test_graphql import gql
from tests.support.runs import reconcile as run_reconcile

pytestmark = pytest.mark.django_db


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def policy(world, **fields) -> None:
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None, **fields)


def short_payment(world, *, amount: str = "200.00", paid: str = "197.00", number: str = "INV-7001"):
    """A payment quoting its invoice, ``paid`` of ``amount``: proposed, never auto-confirmed."""
    vendor = make_vendor(world.tenant, name=f"Customer {number}")
    invoice = make_invoice(world.tenant, amount=amount, number=number, vendor=vendor)
    transaction = make_transaction(
        world.tenant, amount=paid, description=f"Payment {number}", counterparty_name=f"Customer {number}"
    )
    policy(world)
    run_reconcile(world.tenant.id, source="api")
    with tenant_context(world.tenant.id):
        match = Match.objects.get(status=MatchStatus.PROPOSED, allocations__invoice=invoice)
    return invoice, transaction, match


def confirm(client, world, match, body=None):
    return client.post(f"{base(world)}/matches/{match.id}/confirm", body, format="json")


def state(world, invoice, transaction, match):
    with tenant_context(world.tenant.id):
        i = Invoice.objects.get(pk=invoice.pk)
        t = BankTransaction.objects.get(pk=transaction.pk)
        m = Match.objects.get(pk=match.pk)
        return (i.amount_paid, i.amount_written_off, i.status, t.allocated_amount, t.status, m.status,
                m.write_off_amount, m.write_off_reason)  # fmt: skip


def audit(world, action: str) -> list[AuditEvent]:
    with tenant_context(world.tenant.id):
        return list(AuditEvent.objects.filter(action=action))


def test_a_short_payment_is_written_off_within_policy_and_settles_the_invoice(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a)
    policy(world_a, write_off_max_amount=Decimal("5.00"), write_off_max_percent=Decimal("2.00"))

    response = confirm(
        api_client_for(world_a.accountant), world_a, match, {"write_off": {"reason": "discount"}}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "confirmed"
    assert (body["write_off_amount"], body["write_off_reason"]) == ("3.00", "discount")
    assert body["allocations"][0]["write_off_amount"] == "3.00"
    assert state(world_a, invoice, transaction, match) == (
        Decimal("200.00"), Decimal("3.00"), "paid", Decimal("197.00"), "matched", "confirmed",
        Decimal("3.00"), "discount",
    )  # fmt: skip
    (event,) = audit(world_a, "match.written_off")
    assert event.after == {
        "write_off_amount": "3.00",
        "write_off_reason": "discount",
        "currency": "USD",
        "invoices": {str(invoice.id): "3.00"},
    }
    assert event.actor_id == world_a.accountant.pk
    detail = api_client_for(world_a.viewer).get(f"{base(world_a)}/invoices/{invoice.id}").json()
    assert (detail["amount_paid"], detail["amount_written_off"], detail["outstanding_amount"]) == (
        "200.00",
        "3.00",
        "0.00",
    )


def test_without_a_write_off_the_invoice_stays_partly_paid(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a)
    policy(world_a, write_off_max_amount=Decimal("5.00"), write_off_max_percent=Decimal("2.00"))
    assert confirm(api_client_for(world_a.accountant), world_a, match).status_code == 200
    assert state(world_a, invoice, transaction, match)[:3] == (
        Decimal("197.00"),
        Decimal("0"),
        "partially_paid",
    )


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (
            {"write_off_max_amount": Decimal("2.99"), "write_off_max_percent": Decimal("100")},
            "maximum write-off",
        ),
        ({"write_off_max_amount": Decimal("100"), "write_off_max_percent": Decimal("1.49")}, "1.49 %"),
        ({}, "maximum write-off"),  # the default policy allows nothing
    ],
)
def test_a_write_off_beyond_policy_is_refused_and_writes_nothing(world_a, api_client_for, limits, expected):
    invoice, transaction, match = short_payment(world_a)
    policy(world_a, **limits)
    before = state(world_a, invoice, transaction, match)

    response = confirm(
        api_client_for(world_a.accountant), world_a, match, {"write_off": {"reason": "bank_fee"}}
    )

    problem = assert_problem(response, 422)
    assert expected in problem["detail"]
    assert state(world_a, invoice, transaction, match) == before
    assert audit(world_a, "match.confirmed") == audit(world_a, "match.written_off") == []


def test_a_reason_the_tenant_does_not_allow_is_refused(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a)
    policy(
        world_a,
        write_off_max_amount=Decimal("5"),
        write_off_max_percent=Decimal("5"),
        write_off_reasons=["rounding"],
    )
    before = state(world_a, invoice, transaction, match)
    problem = assert_problem(
        confirm(api_client_for(world_a.accountant), world_a, match, {"write_off": {"reason": "discount"}}),
        422,
    )
    assert "write_off.reason" in problem["errors"]
    assert state(world_a, invoice, transaction, match) == before


@pytest.mark.parametrize(
    "body",
    [
        {"write_off": {"reason": "charity"}},
        {"write_off": {}},
        {"write_off": {"reason": "discount", "amount": "3.00"}},
        {"write_off": "discount"},
        {"writeoff": {"reason": "discount"}},
    ],
)
def test_malformed_write_off_requests_are_400(world_a, api_client_for, body):
    invoice, transaction, match = short_payment(world_a)
    policy(world_a, write_off_max_amount=Decimal("5"), write_off_max_percent=Decimal("5"))
    before = state(world_a, invoice, transaction, match)
    assert_problem(confirm(api_client_for(world_a.accountant), world_a, match, body), 400)
    assert state(world_a, invoice, transaction, match) == before


def test_nothing_short_is_a_conflict(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a, paid="200.00")
    policy(world_a, write_off_max_amount=Decimal("5"), write_off_max_percent=Decimal("5"))
    before = state(world_a, invoice, transaction, match)
    problem = assert_problem(
        confirm(api_client_for(world_a.accountant), world_a, match, {"write_off": {"reason": "rounding"}}),
        409,
    )
    assert "nothing to write off" in problem["detail"]
    assert state(world_a, invoice, transaction, match) == before


def test_undo_gives_back_the_write_off_exactly(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a)
    policy(world_a, write_off_max_amount=Decimal("5"), write_off_max_percent=Decimal("5"))
    client = api_client_for(world_a.accountant)
    assert confirm(client, world_a, match, {"write_off": {"reason": "bank_fee"}}).status_code == 200

    response = client.post(f"{base(world_a)}/matches/{match.id}/undo", format="json")

    assert response.status_code == 200, response.content
    assert state(world_a, invoice, transaction, match) == (
        Decimal("0"), Decimal("0"), "open", Decimal("0"), "unmatched", "undone", Decimal("3.00"), "bank_fee",
    )  # fmt: skip
    (event,) = audit(world_a, "match.write_off_reversed")
    assert event.before == {"write_off_amount": "3.00", "write_off_reason": "bank_fee", "currency": "USD"}


def test_undo_of_another_match_keeps_the_write_off(world_a, api_client_for):
    """Invoice 300: a first payment of 100, then 197 written off 3 on confirmation; undoing the
    first leaves the write-off (it belongs to the second match) and 100 outstanding."""
    vendor = make_vendor(world_a.tenant, name="Split Payer")
    invoice = make_invoice(world_a.tenant, amount="300.00", number="INV-7100", vendor=vendor)
    first = make_transaction(world_a.tenant, amount="100.00", description="INV-7100 part 1")
    policy(world_a, write_off_max_amount=Decimal("5"), write_off_max_percent=Decimal("5"))
    run_reconcile(world_a.tenant.id, source="api")
    client = api_client_for(world_a.accountant)
    with tenant_context(world_a.tenant.id):
        first_match = Match.objects.get(status=MatchStatus.PROPOSED, allocations__transaction=first)
    assert confirm(client, world_a, first_match).status_code == 200
    second = make_transaction(world_a.tenant, amount="197.00", description="INV-7100 rest")
    run_reconcile(world_a.tenant.id, source="api")
    with tenant_context(world_a.tenant.id):
        second_match = Match.objects.get(status=MatchStatus.PROPOSED, allocations__transaction=second)
    assert confirm(client, world_a, second_match, {"write_off": {"reason": "rounding"}}).status_code == 200
    assert client.post(f"{base(world_a)}/matches/{first_match.id}/undo", format="json").status_code == 200
    with tenant_context(world_a.tenant.id):
        stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.amount_paid, stored.amount_written_off, stored.outstanding, stored.status) == (
        Decimal("200.00"),
        Decimal("3.00"),
        Decimal("100.00"),
        "partially_paid",
    )


def test_an_overpayment_settles_the_invoice_and_leaves_the_rest_unallocated(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a, amount="200.00", paid="250.00")
    response = confirm(api_client_for(world_a.accountant), world_a, match)
    assert response.status_code == 200, response.content
    amount_paid, written_off, status, allocated, transaction_status, *_ = state(
        world_a, invoice, transaction, match
    )
    assert (amount_paid, written_off, status) == (Decimal("200.00"), Decimal("0"), "paid")
    assert (allocated, transaction_status) == (Decimal("200.00"), "unmatched")
    with tenant_context(world_a.tenant.id):
        assert (
            BankTransaction.objects.unmatched().filter(pk=transaction.pk).exists()
        )  # 50.00 left to allocate


def test_write_off_through_graphql(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a)
    policy(world_a, write_off_max_amount=Decimal("5"), write_off_max_percent=Decimal("5"))
    client = api_client_for(world_a.accountant)
    query = (
        "mutation($id: UUID!, $reason: WriteOffReason) { confirmMatch(id: $id, writeOffReason: $reason) "
        "{ status writeOffAmount writeOffReason allocations { writeOffAmount } } }"
    )
    body = gql(client, world_a, query, {"id": str(match.id), "reason": "CHARITY"})
    assert body["errors"][0]["extensions"]["status"] == 400
    confirmed = gql_data(client, world_a, query, {"id": str(match.id), "reason": "PROCESSOR_FEE"})[
        "confirmMatch"
    ]
    assert confirmed == {
        "status": "CONFIRMED",
        "writeOffAmount": "3.00",
        "writeOffReason": "PROCESSOR_FEE",
        "allocations": [{"writeOffAmount": "3.00"}],
    }
    read = gql_data(
        client,
        world_a,
        "query($id: UUID!) { invoice(id: $id) { amountWrittenOff status } }",
        {"id": str(invoice.id)},
    )
    assert read["invoice"] == {"amountWrittenOff": "3.00", "status": "PAID"}


def test_write_off_beyond_policy_through_graphql_is_unprocessable(world_a, api_client_for):
    invoice, transaction, match = short_payment(world_a)
    client = api_client_for(world_a.accountant)
    body = gql(
        client,
        world_a,
        "mutation($id: UUID!) { confirmMatch(id: $id, writeOffReason: DISCOUNT) { status } }",
        {"id": str(match.id)},
    )
    assert body["errors"][0]["extensions"]["status"] == 422
    assert state(world_a, invoice, transaction, match)[5] == "proposed"


def test_write_off_policy_settings(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    url = f"{base(world_a)}/settings"
    changes = {
        "write_off_max_amount": "5.00",
        "write_off_max_percent": "2.5",
        "write_off_reasons": ["rounding", "bank_fee"],
    }
    response = client.patch(url, changes, format="json")
    assert response.status_code == 200, response.content
    assert {k: response.json()[k] for k in changes} == {
        "write_off_max_amount": "5.00",
        "write_off_max_percent": "2.50",
        "write_off_reasons": ["rounding", "bank_fee"],
    }
    (event,) = audit(world_a, "tenant_settings.updated")
    assert event.after["write_off_reasons"] == ["rounding", "bank_fee"]
    for wrong in (
        {"write_off_max_amount": "-1"},
        {"write_off_max_amount": "1e3"},
        {"write_off_max_percent": "100.01"},
        {"write_off_reasons": ["charity"]},
        {"write_off_reasons": ["rounding", "rounding"]},
        {"write_off_reasons": "rounding"},
    ):
        body = assert_problem(client.patch(url, wrong, format="json"), 400)
        assert set(body["errors"]) == set(wrong), body
    assert_problem(
        api_client_for(world_a.accountant).patch(url, {"write_off_max_amount": "9"}, format="json"), 403
    )
    gql_body = gql_data(
        client,
        world_a,
        'mutation { updateTenantSettings(input: {writeOffReasons: [OTHER], writeOffMaxAmount: "1.00"}) '
        "{ writeOffReasons writeOffMaxAmount writeOffMaxPercent rejectionMemory } }",
    )
    assert gql_body["updateTenantSettings"] == {
        "writeOffReasons": ["OTHER"],
        "writeOffMaxAmount": "1.00",
        "writeOffMaxPercent": "2.50",
        "rejectionMemory": 3,
    }


def test_admin_confirms_with_a_write_off_and_exports_it(world_a, client):
    make_staff(world_a.accountant)
    invoice, transaction, match = short_payment(world_a)
    policy(world_a, write_off_max_amount=Decimal("5"), write_off_max_percent=Decimal("5"))
    client.force_login(world_a.accountant)
    page = client.get(reverse("admin:reconciliation_match_change", args=[match.pk]))
    assert page.status_code == 200
    assert b"Confirm with write-off" in page.content

    decide = reverse("admin:reconciliation_match_decide", args=[match.pk, "confirm"])
    response = client.post(decide, {"write_off_reason": "rounding"})
    assert response.status_code == 302
    assert state(world_a, invoice, transaction, match)[:3] == (Decimal("200.00"), Decimal("3.00"), "paid")
    page = client.get(reverse("admin:reconciliation_match_change", args=[match.pk]))
    assert "3.00 USD: Rounding" in page.content.decode()

    export = client.get("/admin/reconciliation/match/export/")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    (row,) = [r for r in rows if r["status"] == "confirmed"]
    assert (row["write_off_amount"], row["write_off_reason"]) == ("3.00", "rounding")
    with tenant_context(world_a.tenant.id):
        assert MatchAllocation.objects.get(match=match).write_off_amount == Decimal("3.00")


def test_admin_write_off_beyond_policy_is_a_message_and_writes_nothing(world_a, client):
    make_staff(world_a.accountant)
    invoice, transaction, match = short_payment(world_a)
    before = state(world_a, invoice, transaction, match)
    client.force_login(world_a.accountant)
    decide = reverse("admin:reconciliation_match_decide", args=[match.pk, "confirm"])
    response = client.post(decide, {"write_off_reason": "rounding"}, follow=True)
    assert "may not be written off" in response.content.decode()
    assert state(world_a, invoice, transaction, match) == before
