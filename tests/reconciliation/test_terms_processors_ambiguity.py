"""Issue 17 (B) through the real stack: discounts settle invoices, processor fees follow the
tenant's settings, ambiguous matches list their alternatives everywhere and wait for a person."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from invoices.models import Invoice
from reconciliation.models import Match, MatchAllocation
from tenants.context import tenant_context
from tenants.models import AuditEvent, TenantSettings
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile as run_reconcile

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


def refresh(world, obj):
    with tenant_context(world.tenant.id):
        obj.refresh_from_db()
    return obj


def only_match(world) -> Match:
    with tenant_context(world.tenant.id):
        (match,) = Match.objects.all()
        return match


def test_a_discount_taken_in_time_settles_the_invoice(world_a) -> None:
    invoice = make_invoice(
        world_a.tenant, amount="1000.00", number="INV-D-1", discount_percent=Decimal("2"), discount_days=10
    )  # issued 2024-03-01: discount until 2024-03-11
    payment = make_transaction(
        world_a.tenant,
        amount="980.00",
        description="INV-D-1 abzgl. 2% Skonto",
        booking_date=dt.date(2024, 3, 8),
    )
    result = run_reconcile(world_a.tenant.id)
    (candidate,) = result.proposals
    assert candidate.auto_confirmed and candidate.discount_amount == Decimal("20.00")
    match = only_match(world_a)
    assert match.discount_amount == Decimal("20.00") and match.status == "confirmed"
    with tenant_context(world_a.tenant.id):
        (allocation,) = MatchAllocation.objects.all()
    assert (allocation.amount, allocation.invoice_amount) == (Decimal("980.00"), Decimal("1000.00"))
    invoice = refresh(world_a, invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("1000.00"))
    assert refresh(world_a, payment).status == "matched"


def test_the_same_payment_after_the_discount_period_leaves_the_rest_open(world_a) -> None:
    invoice = make_invoice(
        world_a.tenant, amount="1000.00", number="INV-D-2", discount_percent=Decimal("2"), discount_days=10
    )
    make_transaction(
        world_a.tenant, amount="980.00", description="INV-D-2", booking_date=dt.date(2024, 3, 25)
    )
    (candidate,) = run_reconcile(world_a.tenant.id).proposals
    assert candidate.discount_amount == 0 and not candidate.auto_confirmed
    assert "shape.partial" in {r["code"] for r in candidate.reasons}  # 20.00 would stay open
    assert refresh(world_a, invoice).status == "open"


def test_a_manual_confirm_of_a_discount_settles_the_invoice(world_a, api_client_for) -> None:
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    invoice = make_invoice(
        world_a.tenant, amount="500.00", number="INV-D-3", discount_percent=Decimal("3"), discount_days=14
    )
    make_transaction(world_a.tenant, amount="485.00", description="INV-D-3", booking_date=dt.date(2024, 3, 5))
    (candidate,) = run_reconcile(world_a.tenant.id).proposals
    client = api_client_for(world_a.accountant)
    response = client.post(f"/v1/tenants/{world_a.tenant.id}/matches/{candidate.match_id}/confirm")
    assert response.status_code == 200, response.content
    assert response.json()["discount_amount"] == "15.00"
    assert refresh(world_a, invoice).status == "paid"


def test_processor_fees_follow_the_tenants_settings(world_a, api_client_for) -> None:
    vendor = make_vendor(world_a.tenant, name="Oakblau Manufacturing Inc.")
    invoice = make_invoice(world_a.tenant, amount="200.00", number="INV-P-1", vendor=vendor)
    make_transaction(
        world_a.tenant,
        amount="194.67",  # 200.00 less PayPal's 2.49 % + 0.35
        description="PAYPAL *OAKBLAUMANUFAC",
        counterparty_name="PayPal Europe S.a r.l. et Cie S.C.A.",
    )
    owner = api_client_for(world_a.owner)
    url = f"/v1/tenants/{world_a.tenant.id}/settings"
    off = owner.patch(url, {"processor_fee_percent": "0", "processor_fee_fixed": "0"}, format="json")
    assert off.status_code == 200, off.content
    body = run_reconcile(world_a.tenant.id, dry_run=True)
    assert all(c.fee_amount == 0 for c in body.proposals)  # a name alone is below min_score
    on = owner.patch(url, {"processor_fee_percent": "3.5", "processor_fee_fixed": "0.35"}, format="json")
    assert on.json()["processor_fee_percent"] == "3.50"
    (candidate,) = run_reconcile(world_a.tenant.id).proposals
    assert candidate.invoice_id == str(invoice.id) and candidate.fee_amount == Decimal("5.33")
    assert "amount.processor_fee" in {r["code"] for r in candidate.reasons}
    with tenant_context(world_a.tenant.id):
        event = AuditEvent.objects.filter(action="tenant_settings.updated").latest("created_at")
    assert Decimal(str(event.after["processor_fee_percent"])) == Decimal("3.5")


@pytest.mark.parametrize(
    "body",
    [
        {"processor_fee_percent": "-1"},
        {"processor_fee_percent": "101"},
        {"processor_fee_fixed": "-0.01"},
        {"processor_fee_percent": "1e1"},
        {"processor_fee_percent": None},
    ],
)
def test_bad_processor_fee_settings_are_refused(world_a, api_client_for, body: dict) -> None:
    response = api_client_for(world_a.owner).patch(
        f"/v1/tenants/{world_a.tenant.id}/settings", body, format="json"
    )
    assert_problem(response, 400)
    with tenant_context(world_a.tenant.id):
        row = TenantSettings.objects.get()
    assert (row.processor_fee_percent, row.processor_fee_fixed) == (Decimal("3.50"), Decimal("0.35"))


def _subscription(world):
    vendor = make_vendor(world.tenant, name="Jäger Fördertechnik UG", iban=IBAN)
    invoices = [
        make_invoice(
            world.tenant,
            amount="99.00",
            number=f"SUB-{month}",
            vendor=vendor,
            issue_date=dt.date(2024, month, 1),
            due_date=dt.date(2024, month, 28),
        )
        for month in (2, 1, 3)
    ]
    make_transaction(
        world.tenant, amount="99.00", description="Monthly fee", counterparty_account=IBAN,
        booking_date=dt.date(2024, 3, 20),
    )  # fmt: skip
    return sorted(invoices, key=lambda i: i.issue_date)


def test_an_ambiguous_payment_is_shown_with_its_alternatives_and_never_confirmed(
    world_a, api_client_for
) -> None:
    oldest, middle, newest = _subscription(world_a)
    result = run_reconcile(world_a.tenant.id)
    (candidate,) = result.proposals
    assert not candidate.auto_confirmed and candidate.ambiguous
    assert candidate.invoice_id == str(oldest.id)
    assert candidate.alternatives == [str(middle.id), str(newest.id)]
    match = only_match(world_a)
    assert match.ambiguous and match.alternatives == [middle.id, newest.id] and match.status == "proposed"
    assert refresh(world_a, oldest).status == "open"

    client = api_client_for(world_a.accountant)
    rest = client.get(f"/v1/tenants/{world_a.tenant.id}/matches/{match.id}").json()
    assert rest["ambiguous"] is True
    assert rest["alternatives"] == [str(middle.id), str(newest.id)]
    query = "query($id: UUID!) { match(id: $id) { ambiguous alternatives discountAmount } }"
    response = client.post(
        f"/v1/tenants/{world_a.tenant.id}/graphql",
        data=json.dumps({"query": query, "variables": {"id": str(match.id)}}),
        content_type="application/json",
    )
    assert response.json()["data"]["match"] == {
        "ambiguous": True,
        "alternatives": [str(middle.id), str(newest.id)],
        "discountAmount": "0.00",
    }


def test_a_second_run_keeps_the_ambiguous_proposal_and_its_alternatives(world_a) -> None:
    _oldest, middle, newest = _subscription(world_a)
    run_reconcile(world_a.tenant.id)
    first = only_match(world_a)
    run_reconcile(world_a.tenant.id)
    again = only_match(world_a)
    assert again.id == first.id and again.alternatives == [middle.id, newest.id]


def test_the_back_office_names_the_alternatives(world_a, client) -> None:
    oldest, middle, newest = _subscription(world_a)
    run_reconcile(world_a.tenant.id)
    match = only_match(world_a)
    world_a.accountant.is_staff = True
    world_a.accountant.save(update_fields=["is_staff"])
    client.force_login(world_a.accountant)
    session = client.session
    session["tenant_id"] = str(world_a.tenant.id)
    session.save()
    workbench = client.get("/admin/reconciliation/workbench/").content.decode()
    assert "Several open invoices fit equally: applied to the oldest." in workbench
    assert ">SUB-2<" in workbench and ">SUB-3<" in workbench
    page = client.get(f"/admin/reconciliation/match/{match.id}/change/").content.decode()
    assert "Applied to the oldest; these fit as well:" in page
    assert page.index(">SUB-2<") < page.index(">SUB-3<")  # oldest first
    assert ">SUB-1<" in page  # the match itself names the invoice it applies to
    with tenant_context(world_a.tenant.id):
        Invoice.objects.filter(id__in=[middle.id, newest.id]).delete()  # gone since: not shown
    page = client.get(f"/admin/reconciliation/match/{match.id}/change/").content.decode()
    assert "none left" in page and ">SUB-2<" not in page


def test_graphql_creates_an_invoice_with_terms_and_reads_the_settings(world_a, api_client_for) -> None:
    client = api_client_for(world_a.owner)
    url = f"/v1/tenants/{world_a.tenant.id}/graphql"

    def call(query: str) -> dict:
        response = client.post(url, data=json.dumps({"query": query}), content_type="application/json")
        return response.json()

    created = call(
        'mutation { createInvoice(input: {amount: "100.00", description: "x", paymentTerms: "2/10 net 30"}) '
        "{ discountPercent discountDays netDays paymentTerms } }"
    )
    assert created["data"]["createInvoice"] == {
        "discountPercent": "2.00", "discountDays": 10, "netDays": 30, "paymentTerms": "2/10 net 30",
    }  # fmt: skip
    refused = call(
        'mutation { createInvoice(input: {amount: "1", description: "x", paymentTerms: "soon"}) { id } }'
    )
    assert refused["errors"][0]["extensions"]["status"] == 400
    settings = call(
        'mutation { updateTenantSettings(input: {processorFeePercent: "2.9", processorFeeFixed: "0.30"}) '
        "{ processorFeePercent processorFeeFixed } }"
    )
    values = settings["data"]["updateTenantSettings"]
    assert (Decimal(values["processorFeePercent"]), Decimal(values["processorFeeFixed"])) == (
        Decimal("2.9"), Decimal("0.30"),
    )  # fmt: skip


SCORE = """
query(
  $invoices: [ScoreInvoiceInput!]!, $transactions: [ScoreTransactionInput!]!, $settings: ScoreSettingsInput
) {
  scoreCandidates(invoices: $invoices, transactions: $transactions, settings: $settings) {
    proposals { discountAmount feeAmount ambiguous alternatives allocations { invoiceId } }
  }
}
"""


def test_score_candidates_takes_terms_and_processor_fees(world_a, api_client_for) -> None:
    client = api_client_for(world_a.viewer)

    def score(invoice: dict, transaction: dict, settings: dict | None = None) -> dict:
        base_invoice = {
            "id": "i1",
            "number": "INV-9",
            "amount": "1000.00",
            "currency": "USD",
            "issueDate": "2024-03-01",
        }
        base_tx = {"id": "t1", "currency": "USD", "bookingDate": "2024-03-05", "description": "INV-9"}
        variables = {
            "invoices": [{**base_invoice, **invoice}],
            "transactions": [{**base_tx, **transaction}],
            "settings": settings,
        }
        response = client.post(
            f"/v1/tenants/{world_a.tenant.id}/graphql",
            data=json.dumps({"query": SCORE, "variables": variables}),
            content_type="application/json",
        )
        return response.json()

    (proposal,) = score({"discountPercent": "2", "discountDays": 10}, {"amount": "980.00"})["data"][
        "scoreCandidates"
    ]["proposals"]
    assert proposal["discountAmount"] == "20.00"
    refused = score({"discountPercent": "2"}, {"amount": "980.00"})  # no period
    assert refused["errors"][0]["extensions"]["status"] == 400
    through_paypal = {"amount": "970.00", "description": "PAYPAL *ACME INV-9"}  # 3 % short
    (proposal,) = score({}, through_paypal)["data"]["scoreCandidates"]["proposals"]
    assert Decimal(proposal["feeAmount"]) == Decimal("30.00")
    (proposal,) = score({}, through_paypal, {"processorFeePercent": "1", "processorFeeFixed": "0"})["data"][
        "scoreCandidates"
    ]["proposals"]
    assert Decimal(proposal["feeAmount"]) == 0  # beyond 1 %: a partial payment


def test_matches_are_filtered_by_ambiguity(world_a, api_client_for) -> None:
    _subscription(world_a)
    make_invoice(world_a.tenant, amount="150.00", number="INV-U")
    make_transaction(world_a.tenant, amount="150.00", description="INV-U")
    run_reconcile(world_a.tenant.id)
    client = api_client_for(world_a.viewer)
    url = f"/v1/tenants/{world_a.tenant.id}/matches"
    found = {
        flag: [m["ambiguous"] for m in client.get(url, {"ambiguous": flag}).json()["results"]]
        for flag in ("true", "false")
    }
    assert found == {"true": [True], "false": [False]}
    assert len(client.get(url).json()["results"]) == 2  # no filter: both
    assert_problem(client.get(url, {"ambiguous": "maybe"}), 400)
    query = "{ matches(filter: {ambiguous: true}) { items { ambiguous } } }"
    response = client.post(
        f"/v1/tenants/{world_a.tenant.id}/graphql",
        data=json.dumps({"query": query}),
        content_type="application/json",
    )
    assert response.json()["data"]["matches"]["items"] == [{"ambiguous": True}]
