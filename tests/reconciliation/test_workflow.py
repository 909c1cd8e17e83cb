"""Reconciliation end to end through the REST API: runs, confirm / reject / undo, explain, tenancy."""

from __future__ import annotations

import threading
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, connections

from banking.models import BankTransaction
from invoices.models import Invoice
from reconciliation import services
from reconciliation.engine import core as engine_core
from reconciliation.models import Match, MatchAllocation, MatchShape, MatchStatus, ReconciliationRun
from tenants.context import tenant_context
from tenants.models import AuditEvent, TenantSettings
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile as run_reconcile

pytestmark = pytest.mark.django_db


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def reconcile(client, world, **body):
    return client.post(f"{base(world)}/reconcile", body, format="json")


def refresh(world, obj):
    with tenant_context(world.tenant.id):
        obj.refresh_from_db()
    return obj


def test_empty_tenant_gives_an_empty_list(world_a, api_client_for):
    response = reconcile(api_client_for(world_a.accountant), world_a)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["candidates"] == []
    assert body["auto_confirmed"] == 0
    assert body["run_id"]


def test_reference_match_is_proposed_with_reasons_and_auto_confirmed(world_a, api_client_for):
    vendor = make_vendor(world_a.tenant, iban="DE89370400440532013000")
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001", vendor=vendor)
    transaction = make_transaction(
        world_a.tenant,
        amount="150.00",
        description="Payment INV-1001 Acme Supplies",
        counterparty_name="ACME SUPPLIES",
        counterparty_account="DE89370400440532013000",
    )
    body = reconcile(api_client_for(world_a.accountant), world_a).json()
    assert len(body["candidates"]) == 1
    candidate = body["candidates"][0]
    assert candidate["invoice_id"] == str(invoice.id)
    assert candidate["transaction_id"] == str(transaction.id)
    assert Decimal(candidate["confidence"]) >= Decimal("0.95")
    codes = {reason["code"] for reason in candidate["reasons"]}
    assert "ref.exact" in codes, codes
    assert all(reason["message"] for reason in candidate["reasons"])
    assert candidate["auto_confirmed"] is True
    assert body["auto_confirmed"] == 1
    assert refresh(world_a, invoice).status == "paid"
    assert refresh(world_a, transaction).status == "matched"
    with tenant_context(world_a.tenant.id):
        assert AuditEvent.objects.filter(action="match.auto_confirmed").count() == 1


def test_auto_confirm_can_be_switched_off(world_a, api_client_for):
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    body = reconcile(api_client_for(world_a.accountant), world_a).json()
    assert len(body["candidates"]) == 1
    assert body["auto_confirmed"] == 0


def test_ambiguous_twins_are_suggested_never_auto_confirmed(world_a, api_client_for):
    vendor = make_vendor(world_a.tenant)
    make_invoice(world_a.tenant, amount="99.00", number="A-1", vendor=vendor)
    make_invoice(world_a.tenant, amount="99.00", number="A-2", vendor=vendor)
    make_transaction(
        world_a.tenant, amount="99.00", description="Acme Supplies", counterparty_name="Acme Supplies"
    )
    body = reconcile(api_client_for(world_a.accountant), world_a).json()
    assert body["auto_confirmed"] == 0
    assert len(body["candidates"]) == 1


def test_dry_run_writes_nothing(world_a, api_client_for):
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    body = reconcile(api_client_for(world_a.accountant), world_a, dry_run=True).json()
    assert body["dry_run"] is True
    assert body["run_id"] is None
    assert len(body["candidates"]) == 1
    assert body["candidates"][0]["match_id"] is None
    with tenant_context(world_a.tenant.id):
        assert Match.objects.count() == ReconciliationRun.objects.count() == 0
        assert Invoice.objects.get().status == "open"


def _proposed(world, client) -> dict:
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    body = reconcile(client, world).json()
    assert len(body["candidates"]) == 1
    return body["candidates"][0]


def test_confirm_then_undo_restores_amounts_and_statuses_exactly(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    invoice = make_invoice(world_a.tenant, amount="300.00", number="INV-2001")
    transaction = make_transaction(world_a.tenant, amount="100.00", description="INV-2001 part 1")
    candidate = _proposed(world_a, client)
    match_url = f"{base(world_a)}/matches/{candidate['match_id']}"
    confirmed = client.post(f"{match_url}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "confirmed"
    invoice = refresh(world_a, invoice)
    assert (invoice.amount_paid, invoice.status) == (Decimal("100.00"), "partially_paid")
    assert refresh(world_a, transaction).status == "matched"
    assert_problem(client.post(f"{match_url}/confirm"), 409)
    undone = client.post(f"{match_url}/undo")
    assert undone.json()["status"] == "undone"
    invoice = refresh(world_a, invoice)
    assert (invoice.amount_paid, invoice.status) == (Decimal("0"), "open")
    transaction = refresh(world_a, transaction)
    assert (transaction.allocated_amount, transaction.status) == (Decimal("0"), "unmatched")
    assert_problem(client.post(f"{match_url}/undo"), 409)
    with tenant_context(world_a.tenant.id):
        actions = list(
            AuditEvent.objects.filter(object_type="match")
            .order_by("created_at")
            .values_list("action", "before", "after")
        )
    assert [a for a, _, _ in actions] == ["match.confirmed", "match.undone"]
    assert actions[0][1]["status"] == "proposed"
    assert actions[0][2]["status"] == "confirmed"


def test_rejected_pair_is_never_proposed_again(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    candidate = _proposed(world_a, client)
    rejected = client.post(f"{base(world_a)}/matches/{candidate['match_id']}/reject")
    assert rejected.json()["status"] == "rejected"
    assert reconcile(client, world_a).json()["candidates"] == []
    explain = client.get(
        f"{base(world_a)}/reconcile/explain",
        {"invoice_id": candidate["invoice_id"], "transaction_id": candidate["transaction_id"]},
    ).json()
    assert explain["is_candidate"] is False
    assert explain["blockers"]


def test_repeated_runs_keep_the_id_of_an_unchanged_proposal(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    first = _proposed(world_a, client)
    second = reconcile(client, world_a).json()["candidates"][0]
    assert second["match_id"] == first["match_id"]
    with tenant_context(world_a.tenant.id):
        assert Match.objects.count() == 1


def test_a_kept_proposal_is_auto_confirmed_by_a_later_run(world_a, api_client_for):
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    client = api_client_for(world_a.accountant)
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    transaction = make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    first = _proposed(world_a, client)
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=Decimal("0.90"))
    body = reconcile(client, world_a).json()
    assert body["auto_confirmed"] == 1
    assert body["candidates"][0]["match_id"] == first["match_id"]
    with tenant_context(world_a.tenant.id):
        match = Match.objects.get()
        assert (match.status, match.auto, str(match.run_id)) == ("confirmed", True, body["run_id"])
        assert match.confirmed_at is not None
        assert [(a.transaction_id, a.invoice_id, a.amount) for a in match.allocations.all()] == [
            (transaction.id, invoice.id, Decimal("150.00"))
        ]
        event = AuditEvent.objects.get(action="match.auto_confirmed")
        assert event.object_id == match.id
        assert event.before["status"] == "proposed" and event.after["status"] == "confirmed"
    assert refresh(world_a, invoice).amount_paid == Decimal("150.00")
    assert refresh(world_a, transaction).allocated_amount == Decimal("150.00")


def test_a_proposal_not_proposed_again_is_removed_with_its_allocations(world_a, api_client_for):
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    client = api_client_for(world_a.accountant)
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    transaction = make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    _proposed(world_a, client)
    with tenant_context(world_a.tenant.id):
        BankTransaction.objects.filter(pk=transaction.pk).update(status="ignored")
    assert reconcile(client, world_a).json()["candidates"] == []
    with tenant_context(world_a.tenant.id):
        assert Match.objects.count() == 0
        assert MatchAllocation.objects.count() == 0


def test_a_run_plans_with_hash_joins_and_then_restores_the_planner_settings(world_a, monkeypatch):
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    seen: list[str] = []
    original = services.engine.reconcile

    def spying_engine(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_nestloop")
            seen.append(cursor.fetchone()[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(services.engine, "reconcile", spying_engine)
    run_reconcile(world_a.tenant.id)  # the test's transaction stays open afterwards
    assert seen == ["off"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_nestloop")
        assert cursor.fetchone()[0] == "on"


def test_a_run_scored_by_forked_workers_keeps_its_database_connection(world_a, monkeypatch, settings):
    """The workers are forked from the process holding the request's connection and transaction."""
    monkeypatch.setattr(engine_core, "PARALLEL_MIN_TRANSACTIONS", 1)
    settings.RECONCILE_WORKERS = 2
    for k in range(6):
        make_invoice(world_a.tenant, amount=f"{100 + k}.00", number=f"INV-{500 + k}")
        make_transaction(world_a.tenant, amount=f"{100 + k}.00", description=f"Payment INV-{500 + k}")
    result = run_reconcile(world_a.tenant.id, actor=world_a.accountant)
    assert result.stats["workers"] == 2
    assert result.auto_confirmed == 6
    match_ids = [candidate.match_id for candidate in result.proposals]
    assert match_ids == sorted(match_ids)  # time-ordered ids, growing with the proposal order
    with tenant_context(world_a.tenant.id):
        assert Match.objects.filter(status=MatchStatus.CONFIRMED).count() == 6
        assert ReconciliationRun.objects.get().stats["workers"] == 2
        assert not Invoice.objects.exclude(status="paid").exists()


def test_explain_any_pair_including_non_candidates(world_a, api_client_for):
    client = api_client_for(world_a.viewer)
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    euros = make_transaction(world_a.tenant, amount="150.00", currency="EUR", description="INV-1001")
    body = client.get(
        f"{base(world_a)}/reconcile/explain", {"invoice_id": invoice.id, "transaction_id": euros.id}
    ).json()
    assert body["is_candidate"] is False
    assert any("currency" in blocker["code"] for blocker in body["blockers"])
    assert {signal["signal"] for signal in body["signals"]} >= {"amount", "reference"}


def test_viewer_cannot_run_or_decide(world_a, api_client_for):
    viewer = api_client_for(world_a.viewer)
    assert_problem(reconcile(viewer, world_a), 403)
    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    candidate = _proposed(world_a, api_client_for(world_a.accountant))
    for action in ("confirm", "reject", "undo"):
        assert_problem(viewer.post(f"{base(world_a)}/matches/{candidate['match_id']}/{action}"), 403)
    assert viewer.get(f"{base(world_a)}/matches").status_code == 200


def test_bad_ids_are_404_or_400_never_500(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    assert_problem(client.post(f"{base(world_a)}/matches/00000000-0000-0000-0000-000000000000/confirm"), 404)
    assert_problem(client.post(f"{base(world_a)}/matches/not-a-uuid/confirm"), 404)
    assert_problem(
        client.get(f"{base(world_a)}/reconcile/explain", {"invoice_id": "x", "transaction_id": "y"}), 400
    )
    assert_problem(client.get(f"{base(world_a)}/reconcile/explain"), 400)
    missing = "00000000-0000-0000-0000-000000000001"
    assert_problem(
        client.get(f"{base(world_a)}/reconcile/explain", {"invoice_id": missing, "transaction_id": missing}),
        404,
    )
    assert_problem(client.get(f"{base(world_a)}/matches", {"status": "bogus"}), 400)
    assert_problem(client.post(f"{base(world_a)}/reconcile", {"dry_run": "maybe"}, format="json"), 400)


def test_tenant_b_cannot_see_explain_confirm_or_run_against_tenant_a(world_a, world_b, api_client_for):
    a_client = api_client_for(world_a.accountant)
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    transaction = make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    candidate = _proposed(world_a, a_client)
    b_client = api_client_for(world_b.owner)
    for tenant_base in (base(world_a), base(world_b)):
        expected = 404
        assert_problem(b_client.post(f"{tenant_base}/matches/{candidate['match_id']}/confirm"), expected)
        assert_problem(b_client.get(f"{tenant_base}/matches/{candidate['match_id']}"), expected)
        assert_problem(
            b_client.get(
                f"{tenant_base}/reconcile/explain",
                {"invoice_id": invoice.id, "transaction_id": transaction.id},
            ),
            expected,
        )
    assert b_client.get(f"{base(world_b)}/matches").json()["results"] == []
    assert reconcile(b_client, world_b).json()["candidates"] == []
    assert_problem(reconcile(b_client, world_a), 404)
    with tenant_context(world_a.tenant.id):
        assert Match.objects.get().status == MatchStatus.PROPOSED


def test_second_run_while_one_is_in_progress_gets_409(world_a, world_b, api_client_for):
    """A run holds a transaction-scoped advisory lock; another connection holds it here."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=settings["NAME"],
    ) as other:
        other.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"reconcile:{world_a.tenant.id}"]
        )
        assert_problem(reconcile(api_client_for(world_a.accountant), world_a), 409)
        # Runs of another tenant are not blocked.
        assert reconcile(api_client_for(world_b.accountant), world_b).status_code == 200
        other.rollback()
    assert reconcile(api_client_for(world_a.accountant), world_a).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_of_the_same_transaction_exactly_one_wins(world_a):
    """Matches competing for one transaction's money: row locks let exactly one confirm."""
    transaction = make_transaction(world_a.tenant, amount="100.00", description="one payment")
    matches = []
    with tenant_context(world_a.tenant.id):
        for n in range(8):
            invoice = Invoice.objects.create(number=f"C-{n}", amount=Decimal("100.00"), currency="USD")
            match = Match.objects.create(shape=MatchShape.ONE_TO_ONE, confidence=Decimal("0.5"))
            MatchAllocation.objects.create(
                match=match,
                transaction=transaction,
                invoice=invoice,
                amount=Decimal("100.00"),
                invoice_amount=Decimal("100.00"),
            )
            matches.append(match.id)
    barrier = threading.Barrier(len(matches))
    outcomes: list[str] = []

    def confirm(match_id) -> None:
        try:
            barrier.wait()
            with tenant_context(world_a.tenant.id):
                services.match_confirm(match_id=match_id, actor=None)
            outcomes.append("confirmed")
        except services.Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(match_id,)) for match_id in matches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["confirmed"] + ["conflict"] * (len(matches) - 1)
    with tenant_context(world_a.tenant.id), connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.amount, t.allocated_amount, coalesce(sum(a.amount), 0) FROM banking_banktransaction t "
            "LEFT JOIN reconciliation_matchallocation a "
            "ON a.tenant_id = t.tenant_id AND a.transaction_id = t.id "
            "LEFT JOIN reconciliation_match m ON m.tenant_id = a.tenant_id AND m.id = a.match_id "
            "AND m.status = 'confirmed' "
            "WHERE t.tenant_id = %s AND m.id IS NOT NULL GROUP BY t.tenant_id, t.id",
            [world_a.tenant.id],
        )
        amount, allocated, confirmed_sum = cursor.fetchone()
        assert allocated == confirmed_sum == amount
        assert BankTransaction.objects.get().status == "matched"
        assert Invoice.objects.filter(status="paid").count() == 1


def test_reconcile_command_runs_the_same_service(world_a, capsys):
    from django.core.management import call_command

    make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    call_command("reconcile", "--tenant", "Acme Corp", "--dry-run")
    assert "[dry run, nothing saved] 1 proposals" in capsys.readouterr().out
    with tenant_context(world_a.tenant.id):
        assert Match.objects.count() == 0
    call_command("reconcile", "--tenant", str(world_a.tenant.id))
    assert "1 proposals" in capsys.readouterr().out
    with tenant_context(world_a.tenant.id):
        assert ReconciliationRun.objects.get().source == "command"


def _explain(client, world, invoice, transaction) -> dict:
    response = client.get(
        f"{base(world)}/reconcile/explain", {"invoice_id": invoice.id, "transaction_id": transaction.id}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_explain_judges_a_pair_over_the_open_books_like_a_run(world_a, world_b, api_client_for):
    client = api_client_for(world_a.accountant)
    same_amount = make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    quoted = make_invoice(world_a.tenant, amount="80.00", number="INV-1002")
    payment = make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1002")
    # Tenant B's books hold an invoice B's payment quotes; it must not count here.
    make_invoice(world_b.tenant, amount="150.00", number="INV-1003")
    body = reconcile(client, world_a, dry_run=True).json()
    assert {c["invoice_id"] for c in body["candidates"]} == {str(quoted.id)}
    # Alone the amount would do (0.45); beside the invoice the payment quotes it does not.
    explain = _explain(client, world_a, same_amount, payment)
    assert explain["is_candidate"] is False
    assert explain["confidence"] == "0.2700"
    assert [b["code"] for b in explain["blockers"]] == ["score.below_min"]
    assert _explain(client, world_a, quoted, payment)["is_candidate"] is True


def test_explain_says_when_a_run_leaves_a_side_out(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    invoice = make_invoice(world_a.tenant, amount="150.00", number="INV-1001")
    payment = make_transaction(world_a.tenant, amount="150.00", description="Payment INV-1001")
    with tenant_context(world_a.tenant.id):
        Invoice.objects.filter(pk=invoice.pk).update(status="void")
    assert reconcile(client, world_a, dry_run=True).json()["candidates"] == []
    void = _explain(client, world_a, invoice, payment)
    assert void["is_candidate"] is False
    assert [b["code"] for b in void["blockers"]] == ["invoice.not_open"]
    with tenant_context(world_a.tenant.id):
        Invoice.objects.filter(pk=invoice.pk).update(status="open")
        BankTransaction.objects.filter(pk=payment.pk).update(status="ignored")
    assert reconcile(client, world_a, dry_run=True).json()["candidates"] == []
    ignored = _explain(client, world_a, invoice, payment)
    assert [b["code"] for b in ignored["blockers"]] == ["transaction.not_open"]


def test_a_conflict_names_an_unnumbered_invoice_by_vendor_amount_and_date(world_a, api_client_for):
    client = api_client_for(world_a.accountant)
    vendor = make_vendor(world_a.tenant, name="Acme Supplies GmbH")
    invoice = make_invoice(world_a.tenant, amount="150.00", vendor=vendor)
    make_transaction(world_a.tenant, amount="150.00", description="Payment for Consulting")
    candidate = _proposed(world_a, client)
    with tenant_context(world_a.tenant.id):
        Invoice.objects.filter(pk=invoice.pk).update(status="void")
    response = client.post(f"{base(world_a)}/matches/{candidate['match_id']}/confirm")
    problem = assert_problem(response, 409)
    assert problem["detail"] == "Unnumbered invoice (Acme Supplies GmbH, 150.00 USD, 2024-03-01) is void."
