"""The reconciliation services, called directly: a dry run writes nothing, a run proposes, and
decisions move both ledgers together (confirm settles, undo reopens, a decided match is final)."""

from __future__ import annotations

import pytest

from banking.models import BankTransaction
from common.errors import Conflict
from invoices.models import Invoice
from reconciliation.models import Match, MatchStatus, ReconciliationRun
from reconciliation.services import match_confirm, match_reject, match_undo
from tenants.context import tenant_context
from tenants.models import TenantSettings
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice
from tests.support.runs import reconcile

pytestmark = pytest.mark.django_db


def _ledger(world):
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)  # every proposal waits for a person
    invoice = make_invoice(world.tenant, amount="150.00", number="INV-1001")
    transaction = make_transaction(world.tenant, amount="150.00", description="Payment INV-1001")
    return invoice, transaction


def _statuses(world, invoice, transaction) -> tuple[str, str]:
    with tenant_context(world.tenant.id):
        return (
            Invoice.objects.get(pk=invoice.pk).status,
            BankTransaction.objects.get(pk=transaction.pk).status,
        )


def test_a_dry_run_proposes_and_writes_nothing(world_a):
    invoice, transaction = _ledger(world_a)
    result = reconcile(world_a.tenant.id, dry_run=True)
    assert result.dry_run and result.run_id is None
    assert [(c.invoice_id, c.transaction_id) for c in result.proposals] == [
        (str(invoice.id), str(transaction.id))
    ]
    with tenant_context(world_a.tenant.id):
        assert not ReconciliationRun.objects.exists() and not Match.objects.exists()


def test_confirm_settles_both_ledgers_and_undo_reopens_them(world_a):
    invoice, transaction = _ledger(world_a)
    result = reconcile(world_a.tenant.id, actor=world_a.accountant)
    assert result.auto_confirmed == 0
    with tenant_context(world_a.tenant.id):
        (match,) = Match.objects.all()
        assert match.status == MatchStatus.PROPOSED
    assert _statuses(world_a, invoice, transaction) == ("open", "unmatched")
    with tenant_context(world_a.tenant.id):
        assert match_confirm(match_id=match.id, actor=world_a.accountant).status == MatchStatus.CONFIRMED
    assert _statuses(world_a, invoice, transaction) == ("paid", "matched")
    with tenant_context(world_a.tenant.id):
        with pytest.raises(Conflict):
            match_reject(match_id=match.id, actor=world_a.accountant)
        assert match_undo(match_id=match.id, actor=world_a.accountant).status == MatchStatus.UNDONE
    assert _statuses(world_a, invoice, transaction) == ("open", "unmatched")


def test_a_rejected_proposal_leaves_the_ledgers_open(world_a):
    invoice, transaction = _ledger(world_a)
    reconcile(world_a.tenant.id)
    with tenant_context(world_a.tenant.id):
        (match,) = Match.objects.all()
        assert match_reject(match_id=match.id, actor=world_a.accountant).status == MatchStatus.REJECTED
        with pytest.raises(Conflict):
            match_confirm(match_id=match.id, actor=world_a.accountant)
    assert _statuses(world_a, invoice, transaction) == ("open", "unmatched")
