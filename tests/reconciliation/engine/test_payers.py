"""Learned accounts and rejection memory in the pure engine (engine.payers)."""

from __future__ import annotations

from reconciliation.engine import reconcile, score_pair
from reconciliation.engine.payers import Rejections, party_keys, payer_keys

from .helpers import codes, inv, tx

ACCOUNT = "DE44 5001 0517 5407 3249 31"


def test_payer_keys_compare_what_the_counterparty_signal_compares():
    assert payer_keys("ACME Holding GmbH", ACCOUNT) == ("account:DE44500105175407324931", "name:acme holding")
    assert payer_keys("", "") == ()
    assert payer_keys("AB", "123") == ()  # too short to identify anyone, as the signal ignores them
    assert party_keys("ACME GmbH", ["Acme Holding"], ["", ACCOUNT]) == {
        "name:acme",
        "name:acme holding",
        "account:DE44500105175407324931",
    }


def test_a_learned_account_counts_like_the_registered_one_for_auto_confirmation():
    payment = tx(amount="480.00", description="Monthly transfer", counterparty_account=ACCOUNT)
    unknown = reconcile([inv(number="", amount="480.00")], [payment]).proposals
    learned_account = inv(number="", amount="480.00", counterparty_accounts=(ACCOUNT,))
    learned = reconcile([learned_account], [payment]).proposals

    assert not unknown[0].auto_confirm
    assert learned[0].auto_confirm, learned[0].auto_confirm_blockers
    assert "cp.account" in codes(learned[0].reasons)


def test_a_customer_rejected_for_a_payer_is_not_proposed_for_it():
    invoices = [inv(number="", amount="99.00")]
    payment = tx(amount="99.00", counterparty_name="J Smith Private")
    assert reconcile(invoices, [payment]).proposals  # the amount alone proposes it

    blocked = frozenset({("c-acme", "name:j smith private")})
    result = reconcile(invoices, [payment], rejected_payers=blocked)
    assert result.proposals == ()
    assert result.stats["rejected_skipped"] == 1
    explained = score_pair(invoices[0], payment, rejected_payers=blocked)
    assert not explained.is_candidate
    assert codes(explained.blockers) == {"payer.rejected"}

    # Another customer, or another payer, is not affected.
    other_customer = [inv(number="", amount="99.00", counterparty_id="c-other")]
    assert reconcile(other_customer, [payment], rejected_payers=blocked).proposals
    other_payer = tx(amount="99.00", counterparty_name="Someone Else")
    assert reconcile(invoices, [other_payer], rejected_payers=blocked).proposals


def test_rejection_memory_by_account_and_the_pair_memory_together():
    invoices = [inv("i1", number="", amount="99.00"), inv("i2", number="", amount="55.00")]
    payments = [
        tx("t1", amount="99.00", counterparty_account=ACCOUNT),
        tx("t2", amount="55.00", counterparty_name="Other Payer"),
    ]
    result = reconcile(
        invoices,
        payments,
        rejected_pairs=frozenset({("i2", "t2")}),
        rejected_payers=frozenset({("c-acme", "account:DE44500105175407324931")}),
    )
    assert result.proposals == ()
    rejections = Rejections(
        frozenset({("i2", "t2")}),
        frozenset({("c-acme", "account:DE44500105175407324931")}),
        {"i1": "c-acme", "i2": "c-acme"},
        {"t1": payer_keys("", ACCOUNT), "t2": payer_keys("Other Payer", "")},
    )
    assert ("i1", "t1") in rejections and ("i2", "t2") in rejections
    assert ("i1", "t2") not in rejections
    assert not rejections.payer_rejected("i2", "t2")
