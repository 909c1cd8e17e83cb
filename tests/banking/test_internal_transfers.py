"""Transfers between the tenant's own accounts: paired at import (the later leg with the earlier
one), never proposed against invoices, never paired when allocated or contradicted; a person
unpairs a wrong pairing (REST, GraphQL), audited, and the legs are not paired again."""

from __future__ import annotations

import json

import pytest

from banking.models import BankTransaction, InternalTransfer
from reconciliation.models import Match
from tenants.context import tenant_context
from tenants.models import AuditEvent, TenantSettings
from tests.banking.statement_builders import IBAN_MAIN, IBAN_SAVINGS, IBAN_THIRD_PARTY
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def leg(amount: str, date: str, reference: str, **fields) -> dict:
    return {"amount": amount, "date": date, "external_id": reference, "currency": "EUR", **fields}


def load(client, world, account: str, *items: dict, key: str | None = None):
    response = client.post(
        f"{base(world)}/bank-transactions/import",
        data=json.dumps({"transactions": list(items), "account": account}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key or f"{account}-{items[0]['external_id']}",
    )
    assert response.status_code == 201, response.content
    return response.json()


def statuses(world) -> dict[str, str]:
    with tenant_context(world.tenant.id):
        return dict(BankTransaction.objects.values_list("external_id", "status"))


def pairs(world) -> list[tuple[str, str, str]]:
    with tenant_context(world.tenant.id):
        return sorted(
            InternalTransfer.objects.values_list("outgoing__external_id", "incoming__external_id", "status")
        )


def test_the_later_leg_pairs_with_the_earlier_one(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    first = load(client, world_a, IBAN_MAIN, leg("-500.00", "2024-03-01", "OUT-1", description="To savings"))
    assert first["internal_transfers"] == 0
    second = load(client, world_a, IBAN_SAVINGS, leg("500.00", "2024-03-03", "IN-1"))
    assert second["internal_transfers"] == 1
    assert pairs(world_a) == [("OUT-1", "IN-1", "paired")]
    assert statuses(world_a) == {"OUT-1": "internal", "IN-1": "internal"}
    with tenant_context(world_a.tenant.id):
        event = AuditEvent.objects.get(action="internal_transfer.paired")
        assert event.actor_id is None  # paired by the import, not a person
    listed = client.get(f"{base(world_a)}/internal-transfers").json()["results"]
    assert [(t["outgoing"]["account"], t["incoming"]["account"], t["days_apart"]) for t in listed] == [
        (IBAN_MAIN, IBAN_SAVINGS, 2)
    ]
    assert listed[0]["outgoing"]["amount"] == "-500.00"


def test_both_legs_in_one_import_pair_too_but_not_on_one_account(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    # Same account: a refund of a payment is not a transfer between accounts.
    load(client, world_a, IBAN_MAIN, leg("-80.00", "2024-03-01", "PAY"), leg("80.00", "2024-03-02", "REFUND"))
    assert pairs(world_a) == []


def test_legs_further_apart_than_the_tenants_window_are_not_paired(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    load(client, world_a, IBAN_MAIN, leg("-500.00", "2024-03-01", "OUT-1"))
    load(client, world_a, IBAN_SAVINGS, leg("500.00", "2024-03-06", "IN-1"))  # 5 days; default window 4
    assert pairs(world_a) == []
    owner = api_client_for(world_a.owner)
    response = owner.patch(f"{base(world_a)}/settings", {"internal_transfer_days": 5}, format="json")
    assert response.status_code == 200, response.content
    load(client, world_a, IBAN_MAIN, leg("-70.00", "2024-04-01", "OUT-2"))
    load(client, world_a, IBAN_SAVINGS, leg("70.00", "2024-04-06", "IN-2"))
    assert pairs(world_a) == [("OUT-2", "IN-2", "paired")]
    too_wide = owner.patch(f"{base(world_a)}/settings", {"internal_transfer_days": 32}, format="json")
    assert assert_problem(too_wide, 400)["errors"]["internal_transfer_days"]


def test_several_candidates_pair_the_closest_in_time(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    load(
        client,
        world_a,
        IBAN_MAIN,
        leg("-100.00", "2024-03-01", "OUT-EARLY"),
        leg("-100.00", "2024-03-04", "OUT-LATE"),
    )
    load(client, world_a, IBAN_SAVINGS, leg("100.00", "2024-03-05", "IN-1"))
    assert pairs(world_a) == [("OUT-LATE", "IN-1", "paired")]
    assert statuses(world_a)["OUT-EARLY"] == "unmatched"


def test_a_counterparty_elsewhere_is_no_transfer_and_one_naming_the_account_wins(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    load(
        client,
        world_a,
        IBAN_MAIN,
        leg("-300.00", "2024-03-01", "OUT-1", counterparty_account=IBAN_THIRD_PARTY),
    )
    load(client, world_a, IBAN_SAVINGS, leg("300.00", "2024-03-01", "IN-1"))
    assert pairs(world_a) == []  # the money went to a third party's IBAN
    # Two outgoing legs: the one whose counterparty is the savings account is the transfer, even
    # a day further away than a card payment of the same amount.
    load(
        client,
        world_a,
        IBAN_MAIN,
        leg("-40.00", "2024-03-10", "OUT-CARD"),
        leg("-40.00", "2024-03-09", "OUT-B", counterparty_account=IBAN_SAVINGS),
    )
    load(client, world_a, IBAN_SAVINGS, leg("40.00", "2024-03-10", "IN-2"))
    assert pairs(world_a) == [("OUT-B", "IN-2", "paired")]


def test_an_iban_that_cannot_be_the_german_account_named_by_blz_and_number_is_no_transfer(
    world_a, api_client_for
):
    """A German MT940 names its account by BLZ/Kontonummer; the other bank's leg names IBANs."""
    client = api_client_for(world_a.accountant)
    german = "37040044/532013000"  # IBAN_MAIN as its own bank writes it
    load(client, world_a, german, leg("-100.00", "2024-03-01", "CARD-1", description="Card payment"))
    load(
        client,
        world_a,
        IBAN_SAVINGS,
        leg("100.00", "2024-03-01", "CUST-1", counterparty_account=IBAN_THIRD_PARTY),
    )
    assert pairs(world_a) == []  # a customer paid into savings from their own IBAN
    load(client, world_a, german, leg("-200.00", "2024-03-05", "OUT-2"))
    load(client, world_a, IBAN_SAVINGS, leg("200.00", "2024-03-06", "IN-2", counterparty_account=IBAN_MAIN))
    assert pairs(world_a) == [("OUT-2", "IN-2", "paired")]  # IBAN_MAIN holds BLZ and number


def test_a_leg_allocated_to_an_invoice_is_never_paired(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    make_invoice(world_a.tenant, amount="250.00", number="INV-77", currency="EUR")
    load(client, world_a, IBAN_SAVINGS, leg("250.00", "2024-03-20", "IN-1", description="Payment INV-77"))
    run = client.post(f"{base(world_a)}/reconcile", {}, format="json").json()
    (candidate,) = run["candidates"]
    if not candidate["auto_confirmed"]:
        confirm = client.post(f"{base(world_a)}/matches/{candidate['match_id']}/confirm")
        assert confirm.status_code == 200, confirm.content
    load(client, world_a, IBAN_MAIN, leg("-250.00", "2024-03-19", "OUT-1"))
    assert pairs(world_a) == []
    assert statuses(world_a) == {"IN-1": "matched", "OUT-1": "unmatched"}


def test_paired_legs_are_never_proposed_and_a_stale_proposal_cannot_be_confirmed(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)  # the proposal stays proposed
    make_invoice(world_a.tenant, amount="900.00", number="INV-9", currency="EUR")
    load(client, world_a, IBAN_SAVINGS, leg("900.00", "2024-03-20", "IN-1", description="INV-9"))
    proposal = client.post(f"{base(world_a)}/reconcile", {}, format="json").json()["candidates"][0]
    # The other leg arrives: the incoming money was our own transfer, not the customer paying.
    assert load(client, world_a, IBAN_MAIN, leg("-900.00", "2024-03-19", "OUT-1"))["internal_transfers"] == 1
    stale = client.post(f"{base(world_a)}/matches/{proposal['match_id']}/confirm")
    assert "internal transfer" in assert_problem(stale, 409)["detail"]
    again = client.post(f"{base(world_a)}/reconcile", {}, format="json").json()
    assert again["candidates"] == []
    with tenant_context(world_a.tenant.id):
        assert not Match.objects.filter(status="proposed").exists()  # the stale proposal is gone
    # Unpaired (it was a payment after all), the money is open again and proposed.
    (transfer,) = client.get(f"{base(world_a)}/internal-transfers").json()["results"]
    unpaired = client.post(f"{base(world_a)}/internal-transfers/{transfer['id']}/unpair")
    assert unpaired.status_code == 200, unpaired.content
    assert unpaired.json()["status"] == "unpaired"
    assert [
        c["transaction_id"]
        for c in client.post(f"{base(world_a)}/reconcile", {}, format="json").json()["candidates"]
    ] == [transfer["incoming"]["id"]]


def test_unpairing_is_audited_refused_twice_and_never_undone_by_a_later_import(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    load(client, world_a, IBAN_MAIN, leg("-60.00", "2024-03-01", "OUT-1"))
    load(client, world_a, IBAN_SAVINGS, leg("60.00", "2024-03-01", "IN-1"))
    (transfer,) = client.get(f"{base(world_a)}/internal-transfers", {"status": "paired"}).json()["results"]
    url = f"{base(world_a)}/internal-transfers/{transfer['id']}/unpair"
    assert_problem(api_client_for(world_a.viewer).post(url), 403)
    assert_problem(client.post(url, {"reason": "x"}, format="json"), 400)  # takes no input
    assert client.post(url, {}, format="json").status_code == 200
    assert statuses(world_a) == {"OUT-1": "unmatched", "IN-1": "unmatched"}
    with tenant_context(world_a.tenant.id):
        event = AuditEvent.objects.get(action="internal_transfer.unpaired")
        assert (event.actor_id, event.before, event.after, event.source) == (
            world_a.accountant.pk,
            {"status": "paired"},
            {"status": "unpaired"},
            "api",
        )
    assert "paired" in assert_problem(client.post(url), 409)["detail"]
    # A new incoming leg of the same amount does not pair with the leg a person unpaired.
    load(client, world_a, IBAN_SAVINGS, leg("60.00", "2024-03-02", "IN-2"))
    assert pairs(world_a) == [("OUT-1", "IN-1", "unpaired")]
    assert client.get(f"{base(world_a)}/internal-transfers", {"status": "paired"}).json()["results"] == []
    listed = client.get(f"{base(world_a)}/internal-transfers", {"transaction_id": transfer["outgoing"]["id"]})
    assert [t["id"] for t in listed.json()["results"]] == [transfer["id"]]


def test_graphql_lists_and_unpairs_internal_transfers(world_a, world_b, api_client_for):
    client = api_client_for(world_a.accountant)
    make_invoice(world_a.tenant, amount="25.00", number="INV-25", currency="EUR")
    load(client, world_a, IBAN_MAIN, leg("-25.00", "2024-03-01", "OUT-1"))
    load(client, world_a, IBAN_SAVINGS, leg("25.00", "2024-03-02", "IN-1", description="INV-25"))

    def graphql(who, world, query: str, variables: dict | None = None) -> dict:
        response = who.post(
            f"{base(world)}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
        )
        return response.json()

    listing = graphql(
        client,
        world_a,
        "{ internalTransfers(filter: {status: PAIRED}) { items { id status amount currency daysApart "
        "outgoing { externalId status amount } incoming { externalId status } } } }",
    )
    (transfer,) = listing["data"]["internalTransfers"]["items"]
    assert (transfer["amount"], transfer["currency"], transfer["daysApart"]) == ("25.00", "EUR", 1)
    assert transfer["outgoing"] == {"externalId": "OUT-1", "status": "INTERNAL", "amount": "-25.00"}
    run = "mutation { reconcile(dryRun: true) { candidates { transactionId invoiceId } } }"
    assert graphql(client, world_a, run)["data"]["reconcile"]["candidates"] == []  # though it names INV-25
    mutation = "mutation($id: UUID!) { unpairInternalTransfer(id: $id) { status incoming { status } } }"
    viewer = graphql(api_client_for(world_a.viewer), world_a, mutation, {"id": transfer["id"]})
    assert viewer["errors"][0]["extensions"]["code"] == "forbidden"
    other = graphql(api_client_for(world_b.accountant), world_b, mutation, {"id": transfer["id"]})
    assert other["errors"][0]["extensions"]["code"] == "not-found"
    done = graphql(client, world_a, mutation, {"id": transfer["id"]})
    assert done["data"]["unpairInternalTransfer"] == {
        "status": "UNPAIRED",
        "incoming": {"status": "UNMATCHED"},
    }
    with tenant_context(world_a.tenant.id):
        assert AuditEvent.objects.get(action="internal_transfer.unpaired").source == "graphql"
        incoming = str(BankTransaction.objects.get(external_id="IN-1").pk)
    # Unpaired, the incoming money is open again and proposed against the invoice it names.
    candidates = graphql(client, world_a, run)["data"]["reconcile"]["candidates"]
    assert [c["transactionId"] for c in candidates] == [incoming]
