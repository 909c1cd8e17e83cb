"""What the team taught the engine: learned payer names and accounts, and rejection memory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.models import EvidenceKind, Invoice, VendorLearnedEvidence
from reconciliation import selectors, services
from reconciliation.models import Match, MatchStatus
from tenants.context import tenant_context
from tenants.models import AuditEvent, TenantSettings
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor
from tests.reconciliation.test_graphql import data as gql_data
from tests.support.runs import reconcile as run_reconcile

pytestmark = pytest.mark.django_db

PAYER_ACCOUNT = "DE44500105175407324931"
PAYER_NAME = "ACME HOLDING INTERNATIONAL"


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def auto_confirm(world, threshold: str | None) -> None:
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=threshold)


def run(world, actor=None):
    return run_reconcile(world.tenant.id, actor=actor, source="api")


def the_proposal(world, invoice, transaction) -> Match:
    with tenant_context(world.tenant.id):
        return Match.objects.filter(
            status=MatchStatus.PROPOSED,
            allocations__invoice=invoice,
            allocations__transaction=transaction,
        ).get()


def evidence_of(world, vendor) -> list[VendorLearnedEvidence]:
    with tenant_context(world.tenant.id):
        return list(VendorLearnedEvidence.objects.filter(vendor=vendor).order_by("kind"))


def events(world, action: str) -> list[AuditEvent]:
    with tenant_context(world.tenant.id):
        return list(AuditEvent.objects.filter(action=action))


def teach(world, api_client_for, *, number: str = "INV-1001", amount: str = "150.00", vendor=None):
    """A payment from an unknown payer quoting an invoice of Acme; the accountant confirms it."""
    vendor = vendor or make_vendor(world.tenant, name="Acme Supplies GmbH")
    invoice = make_invoice(world.tenant, amount=amount, number=number, vendor=vendor)
    transaction = make_transaction(
        world.tenant,
        amount=amount,
        description=f"Payment {number}",
        counterparty_name=PAYER_NAME,
        counterparty_account=PAYER_ACCOUNT,
    )
    auto_confirm(world, None)
    run(world)
    match = the_proposal(world, invoice, transaction)
    response = api_client_for(world.accountant).post(
        f"{base(world)}/matches/{match.id}/confirm", format="json"
    )
    assert response.status_code == 200, response.content
    return vendor, match


def test_confirming_teaches_the_unknown_payer_name_and_account(world_a, api_client_for):
    vendor, match = teach(world_a, api_client_for)

    learned = evidence_of(world_a, vendor)
    assert [(e.kind, e.value, e.taught_by) for e in learned] == [
        (EvidenceKind.ACCOUNT, PAYER_ACCOUNT, [match.id]),
        (EvidenceKind.ALIAS, PAYER_NAME, [match.id]),
    ]
    assert {e.created_by_id for e in learned} == {world_a.accountant.pk}
    assert len(events(world_a, "vendor_learned_evidence.created")) == 2
    listed = api_client_for(world_a.viewer).get(f"{base(world_a)}/vendors/{vendor.id}/learned-evidence")
    assert listed.status_code == 200, listed.content
    rows = listed.json()["results"]
    assert {(row["kind"], row["value"], row["normalized_value"]) for row in rows} == {
        ("account", PAYER_ACCOUNT, PAYER_ACCOUNT),
        ("alias", PAYER_NAME, "acme holding international"),
    }
    assert all(row["taught_by"] == [str(match.id)] for row in rows)


def test_a_payer_the_customer_is_known_by_teaches_nothing(world_a, api_client_for):
    vendor = make_vendor(world_a.tenant, name="Acme Holding International Ltd", iban=PAYER_ACCOUNT)
    teach(world_a, api_client_for, vendor=vendor)
    assert evidence_of(world_a, vendor) == []


def test_a_payment_for_several_customers_teaches_nothing(world_a, api_client_for):
    first = make_vendor(world_a.tenant, name="First Customer")
    second = make_vendor(world_a.tenant, name="Second Customer")
    make_invoice(world_a.tenant, amount="100.00", number="INV-2001", vendor=first)
    make_invoice(world_a.tenant, amount="50.00", number="INV-2002", vendor=second)
    make_transaction(
        world_a.tenant,
        amount="150.00",
        description="INV-2001 INV-2002",
        counterparty_name=PAYER_NAME,
        counterparty_account=PAYER_ACCOUNT,
    )
    auto_confirm(world_a, None)
    result = run(world_a)
    (candidate,) = result.proposals
    assert candidate.shape == "one_to_many"
    with tenant_context(world_a.tenant.id):
        services.match_confirm(match_id=candidate.match_id, actor=world_a.accountant)
        assert VendorLearnedEvidence.objects.count() == 0


def test_a_learned_account_auto_confirms_like_a_registered_iban(world_a, api_client_for):
    vendor, _ = teach(world_a, api_client_for)
    # A later payment from the same account, quoting nothing: exact amount + the learned account.
    invoice = make_invoice(world_a.tenant, amount="480.00", vendor=vendor)
    make_transaction(
        world_a.tenant,
        amount="480.00",
        description="Monthly transfer",
        counterparty_name="A.H.I.",
        counterparty_account=PAYER_ACCOUNT,
    )
    auto_confirm(world_a, "0.95")
    result = run(world_a)

    (candidate,) = [c for c in result.proposals if c.invoice_id == str(invoice.id)]
    assert candidate.auto_confirmed, candidate.reasons
    assert "cp.account" in {reason["code"] for reason in candidate.reasons}
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_a_learned_name_counts_like_an_alias(world_a, api_client_for):
    vendor, _ = teach(world_a, api_client_for)
    invoice = make_invoice(world_a.tenant, amount="77.00", vendor=vendor)
    transaction = make_transaction(world_a.tenant, amount="77.00", counterparty_name=PAYER_NAME)
    with tenant_context(world_a.tenant.id):
        score = services.explain_pair(invoice_id=invoice.id, transaction_id=transaction.id)
    counterparty = next(s for s in score.signals if s.signal == "counterparty")
    assert counterparty.score == Decimal("0.5500"), counterparty.reasons
    assert score.is_candidate


def test_undoing_the_only_teaching_match_removes_what_it_taught(world_a, api_client_for):
    vendor, match = teach(world_a, api_client_for)
    response = api_client_for(world_a.accountant).post(
        f"{base(world_a)}/matches/{match.id}/undo", format="json"
    )
    assert response.status_code == 200, response.content
    assert evidence_of(world_a, vendor) == []
    removed = events(world_a, "vendor_learned_evidence.deleted")
    assert len(removed) == 2
    assert {event.after["cause"] for event in removed} == {"match.undone"}


def test_evidence_taught_twice_survives_undoing_one_teacher(world_a, api_client_for):
    vendor, first = teach(world_a, api_client_for)
    _, second = teach(world_a, api_client_for, vendor=vendor, number="INV-1002", amount="90.00")
    assert {tuple(e.taught_by) for e in evidence_of(world_a, vendor)} == {(first.id, second.id)}

    with tenant_context(world_a.tenant.id):
        services.match_undo(match_id=first.id, actor=world_a.accountant)
    assert {tuple(e.taught_by) for e in evidence_of(world_a, vendor)} == {(second.id,)}
    with tenant_context(world_a.tenant.id):
        services.match_undo(match_id=second.id, actor=world_a.accountant)
    assert evidence_of(world_a, vendor) == []


def test_a_person_removes_learned_evidence(world_a, api_client_for):
    vendor, _ = teach(world_a, api_client_for)
    account = next(e for e in evidence_of(world_a, vendor) if e.kind == EvidenceKind.ACCOUNT)
    url = f"{base(world_a)}/vendors/{vendor.id}/learned-evidence/{account.id}"

    assert_problem(api_client_for(world_a.viewer).delete(url), 403)
    response = api_client_for(world_a.accountant).delete(url)
    assert response.status_code == 204, response.content
    assert [e.kind for e in evidence_of(world_a, vendor)] == [EvidenceKind.ALIAS]
    (event,) = events(world_a, "vendor_learned_evidence.deleted")
    assert event.after == {"cause": "deleted"}
    assert event.source == "api"
    assert event.before["value"] == PAYER_ACCOUNT
    assert_problem(api_client_for(world_a.accountant).delete(url), 404)
    other_vendor = make_vendor(world_a.tenant, name="Someone Else")
    alias = evidence_of(world_a, vendor)[0]
    wrong_vendor = f"{base(world_a)}/vendors/{other_vendor.id}/learned-evidence/{alias.id}"
    assert_problem(api_client_for(world_a.accountant).delete(wrong_vendor), 404)


def test_learned_evidence_through_graphql(world_a, api_client_for):
    vendor, match = teach(world_a, api_client_for)
    client = api_client_for(world_a.accountant)
    body = gql_data(
        client,
        world_a,
        "query($id: UUID!) { vendor(id: $id) { learnedEvidence { id kind value normalizedValue taughtBy } } "
        "}",
        {"id": str(vendor.id)},
    )
    learned = body["vendor"]["learnedEvidence"]
    assert {(row["kind"], row["value"]) for row in learned} == {
        ("ACCOUNT", PAYER_ACCOUNT),
        ("ALIAS", PAYER_NAME),
    }
    assert all(row["taughtBy"] == [str(match.id)] for row in learned)
    deleted = gql_data(
        client,
        world_a,
        "mutation($vendor: UUID!, $id: UUID!) "
        "{ deleteLearnedEvidence(vendorId: $vendor, id: $id) { deleted } }",
        {"vendor": str(vendor.id), "id": learned[0]["id"]},
    )
    assert deleted["deleteLearnedEvidence"]["deleted"] is True
    assert len(evidence_of(world_a, vendor)) == 1


# --- rejection memory -------------------------------------------------------------------------------


def _amount_only_proposals(world, vendor, amounts: list[str], payer: str = "J SMITH PRIVATE") -> list:
    """Invoices of ``vendor`` paid by ``payer`` (unrelated name, nothing quoted): proposed on the
    amount alone, as the engine does."""
    pairs = []
    for amount in amounts:
        invoice = make_invoice(world.tenant, amount=amount, vendor=vendor)
        transaction = make_transaction(world.tenant, amount=amount, counterparty_name=payer)
        pairs.append((invoice, transaction))
    return pairs


def test_a_customer_rejected_repeatedly_for_a_payer_is_no_longer_proposed_for_it(world_a):
    vendor = make_vendor(world_a.tenant, name="Nordwind Logistik GmbH")
    auto_confirm(world_a, None)
    rejected = _amount_only_proposals(world_a, vendor, ["111.00", "222.00", "333.00"])
    run(world_a)
    with tenant_context(world_a.tenant.id):
        for invoice, transaction in rejected[:2]:
            services.match_reject(
                match_id=the_proposal(world_a, invoice, transaction).id, actor=world_a.accountant
            )
    [(invoice, transaction)] = _amount_only_proposals(world_a, vendor, ["444.00"])
    # Two rejections (below the default 3): still proposed.
    assert any(c.invoice_id == str(invoice.id) for c in run(world_a).proposals)

    with tenant_context(world_a.tenant.id):
        third_invoice, third_transaction = rejected[2]
        services.match_reject(
            match_id=the_proposal(world_a, third_invoice, third_transaction).id, actor=world_a.accountant
        )
        assert selectors.rejected_payers() == frozenset({(str(vendor.id), "name:j smith private")})
    assert not any(c.invoice_id == str(invoice.id) for c in run(world_a).proposals)
    with tenant_context(world_a.tenant.id):
        score = services.explain_pair(invoice_id=invoice.id, transaction_id=transaction.id)
    assert not score.is_candidate
    assert [b.code for b in score.blockers] == ["payer.rejected"]

    # Another payer is still proposed the customer's invoices.
    [(other_invoice, _)] = _amount_only_proposals(world_a, vendor, ["555.00"], payer="Someone Different")
    assert any(c.invoice_id == str(other_invoice.id) for c in run(world_a).proposals)

    # Switched off: proposed again.
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(rejection_memory=0)
    assert any(c.invoice_id == str(invoice.id) for c in run(world_a).proposals)


def test_rejections_for_the_customers_own_account_are_no_rejection_of_the_customer(world_a):
    vendor = make_vendor(world_a.tenant, name="Nordwind Logistik GmbH", iban=PAYER_ACCOUNT)
    auto_confirm(world_a, None)
    pairs = []
    for amount in ["111.00", "222.00", "333.00"]:
        invoice = make_invoice(world_a.tenant, amount=amount, vendor=vendor)
        transaction = make_transaction(world_a.tenant, amount=amount, counterparty_account=PAYER_ACCOUNT)
        pairs.append((invoice, transaction))
    run(world_a)
    with tenant_context(world_a.tenant.id):
        for invoice, transaction in pairs:
            services.match_reject(
                match_id=the_proposal(world_a, invoice, transaction).id, actor=world_a.accountant
            )
        assert selectors.rejected_payers() == frozenset()


def test_rejection_memory_is_a_setting_with_bounds(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    response = client.patch(f"{base(world_a)}/settings", {"rejection_memory": 5}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rejection_memory"] == 5
    (event,) = events(world_a, "tenant_settings.updated")
    assert event.before == {"rejection_memory": 3}
    for wrong in (-1, 101, "3x", 2.5):
        body = assert_problem(
            client.patch(f"{base(world_a)}/settings", {"rejection_memory": wrong}, format="json"), 400
        )
        assert "rejection_memory" in body["errors"]
    with tenant_context(world_a.tenant.id):
        assert TenantSettings.objects.get().rejection_memory == 5


def test_the_back_office_shows_learned_evidence_and_removes_it_through_the_service(
    world_a, api_client_for, client
):
    from django.urls import reverse

    from tests.admin.conftest import make_staff

    vendor, _ = teach(world_a, api_client_for)
    make_staff(world_a.accountant, world_a.viewer)
    url = reverse("admin:invoices_vendor_change", args=[vendor.pk])
    client.force_login(world_a.viewer)
    page = client.get(url).content.decode()
    assert PAYER_NAME in page and PAYER_ACCOUNT in page
    assert "learned_evidence-0-DELETE" not in page  # viewers cannot remove

    client.force_login(world_a.accountant)
    page = client.get(url).content.decode()
    assert "learned_evidence-0-DELETE" in page
    first, second = sorted(evidence_of(world_a, vendor), key=lambda e: (-e.created_at.timestamp(), -e.id.int))
    form = {
        "name": vendor.name,
        "iban": "",
        "account_reference": "",
        "aliases": "",
        "learned_evidence-TOTAL_FORMS": "2",
        "learned_evidence-INITIAL_FORMS": "2",
        "learned_evidence-MIN_NUM_FORMS": "0",
        "learned_evidence-MAX_NUM_FORMS": "1000",
        "learned_evidence-0-id": str(first.id),
        "learned_evidence-0-vendor": str(vendor.id),
        "learned_evidence-0-DELETE": "on",
        "learned_evidence-1-id": str(second.id),
        "learned_evidence-1-vendor": str(vendor.id),
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [e.id for e in evidence_of(world_a, vendor)] == [second.id]
    (event,) = events(world_a, "vendor_learned_evidence.deleted")
    assert event.after == {"cause": "deleted"}
    assert event.source == "admin"
    assert event.actor_id == world_a.accountant.pk
