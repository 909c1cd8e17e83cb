"""Issue 17 (B): early-payment discounts, payments through processors, equal invoices."""

from __future__ import annotations

from datetime import date

import pytest

from reconciliation.engine import EngineSettings, reconcile, score_pair
from reconciliation.engine.processors import find_processor

from .helpers import D, codes, inv, signal, tx

TERMS = {"discount_percent": D("2"), "discount_days": 10}  # 2/10 net 30 on an invoice of 2024-01-01


def _only(result):
    (proposal,) = result.proposals
    return proposal


# -- discounts ---------------------------------------------------------------------------------


def test_the_discounted_amount_paid_in_time_settles_the_invoice() -> None:
    invoice = inv(amount="1000.00", **TERMS)
    payment = tx(amount="980.00", booking_date=date(2024, 1, 9), description="INV-000123 less 2% discount")
    proposal = _only(reconcile([invoice], [payment]))
    assert proposal.discount_amount == D("20.00")
    assert proposal.fee_amount == 0
    assert proposal.allocations[0].invoice_amount == D("980.00")
    assert "shape.partial" not in codes(proposal.reasons)
    assert {"amount.discount_taken", "amount.discount_mentioned", "shape.discount"} <= codes(proposal.reasons)
    assert proposal.confidence == 1 and proposal.auto_confirm  # exact amount + invoice number


def test_the_discount_period_counts_from_the_issue_date_plus_bank_lag() -> None:
    invoice = inv(amount="1000.00", **TERMS)  # discount until 2024-01-11, bank lag 5 days
    late = tx(amount="980.00", booking_date=date(2024, 1, 17), description="INV-000123")
    proposal = _only(reconcile([invoice], [late]))
    assert proposal.discount_amount == 0
    assert "shape.partial" in codes(proposal.reasons)  # as before terms existed
    in_lag = tx(amount="980.00", booking_date=date(2024, 1, 16), description="INV-000123")
    assert _only(reconcile([invoice], [in_lag])).discount_amount == D("20.00")


def test_without_terms_or_issue_date_the_same_payment_is_partial() -> None:
    payment = tx(amount="980.00", booking_date=date(2024, 1, 9), description="INV-000123")
    for invoice in (inv(amount="1000.00"), inv(amount="1000.00", issue_date=None, **TERMS)):
        proposal = _only(reconcile([invoice], [payment]))
        assert proposal.discount_amount == 0
        assert "shape.partial" in codes(proposal.reasons)


def test_a_discount_payment_without_reference_is_found_by_its_amount() -> None:
    """The discounted amount is indexed like the outstanding one (blocking)."""
    invoice = inv(amount="1000.00", **TERMS)
    payment = tx(amount="980.00", booking_date=date(2024, 1, 9), description="Thanks")
    pair = score_pair(invoice, payment)
    assert pair.is_candidate
    assert signal(pair, "amount").score == 1
    proposal = _only(reconcile([invoice], [payment]))
    assert proposal.discount_amount == D("20.00") and not proposal.auto_confirm


def test_a_half_cent_discount_is_recognised_rounded_either_way() -> None:
    invoice = inv(amount="100.25", **TERMS)  # 2 % = 2.005
    for paid in ("98.24", "98.25"):
        payment = tx(amount=paid, booking_date=date(2024, 1, 5), description="INV-000123")
        assert _only(reconcile([invoice], [payment])).discount_amount == D("100.25") - D(paid)


# -- processors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "processor", "payer"),
    [
        ("PAYPAL *ACMEGMBH", "paypal", "ACMEGMBH"),
        ("Ref. PP*ACME GMBH 4711", "paypal", "ACME GMBH 4711"),
        ("SQ *JOES COFFEE", "square", "JOES COFFEE"),
        ("STRIPE PAYMENT ACME GMBH py_3Nx", "stripe", "ACME GMBH PY"),
        ("SUMUP *Bäckerei Müller", "sumup", "BACKEREI MULLER"),
        ("PAYPAL ACMEGMBH", "paypal", "ACMEGMBH"),  # SWIFT has no "*": dropped at the start
    ],
)
def test_processor_descriptors_name_the_payer_after_the_prefix(text: str, processor: str, payer: str) -> None:
    found = find_processor(text)
    assert found is not None and (found.processor, found.payer) == (processor, payer)


@pytest.mark.parametrize(
    "text",
    [
        "SQUARE FEET LTD",
        "Stripe Payments Europe Ltd",
        "ORIG CO NAME:PAYPAL ORIG ID:123",
        "APP*STORE",
        "SQ *AB",
    ],
)
def test_texts_that_only_look_like_a_processor_are_not_one(text: str) -> None:
    assert find_processor(text) is None


def test_a_processor_payment_net_of_its_fee_matches_the_payer_after_the_prefix() -> None:
    invoice = inv(amount="200.00", counterparty_name="Oakblau Manufacturing Inc.")
    fee = D("200.00") * D("0.0249") + D("0.35")  # PayPal's list price: 5.33
    payment = tx(
        amount=str(D("200.00") - fee.quantize(D("0.01"))),
        counterparty_name="PayPal Europe S.a r.l. et Cie S.C.A.",
        counterparty_account="LU829574890682883607",
        description="PAYPAL *OAKBLAUMANUFAC",
    )
    proposal = _only(reconcile([invoice], [payment]))
    assert proposal.fee_amount == D("5.33")
    assert "amount.processor_fee" in codes(proposal.reasons)
    assert "cp.name" in codes(proposal.reasons)
    assert not proposal.auto_confirm  # a name is no independent evidence
    assert proposal.allocations[0].invoice_amount + proposal.fee_amount == D("200.00")


def test_a_processor_fee_beyond_its_tolerance_or_without_processor_is_partial() -> None:
    invoice = inv(amount="200.00")
    beyond = tx(amount="190.00", description="PAYPAL *ACMEGMBH INV-000123")  # 5 % short
    assert "shape.partial" in codes(_only(reconcile([invoice], [beyond])).reasons)
    plain = tx(amount="194.67", description="ACME GMBH INV-000123")  # not through a processor
    assert "shape.partial" in codes(_only(reconcile([invoice], [plain])).reasons)
    wider = EngineSettings(processor_fee_percent=D("5"), processor_fee_fixed=D("0"))
    assert _only(reconcile([invoice], [beyond], wider)).fee_amount == D("10.00")


def test_a_processor_fee_with_the_invoice_number_is_auto_confirmed() -> None:
    invoice = inv(amount="200.00")
    payment = tx(amount="194.67", description="PAYPAL *ACMEGMBH INV-000123")
    proposal = _only(reconcile([invoice], [payment]))
    assert proposal.auto_confirm and proposal.fee_amount == D("5.33")


# -- equal invoices ----------------------------------------------------------------------------


def _subscription(n: int, **kw):
    """``n`` equal monthly invoices of one customer, the oldest first by issue date."""
    return [
        inv(
            f"i{k}",
            f"SUB-{k:04d}",
            "99.00",
            issue_date=date(2024, 1 + k, 1),
            due_date=date(2024, 1 + k, 28),
            counterparty_account="DE89370400440532013000",
            **kw,
        )
        for k in (2, 0, 1)[:n]
    ]


def test_a_payment_fitting_equal_invoices_goes_to_the_oldest_and_names_the_others() -> None:
    invoices = _subscription(3)
    payment = tx(
        amount="99.00",
        booking_date=date(2024, 3, 20),
        counterparty_account="DE89370400440532013000",
        description="Monthly fee",
    )
    proposal = _only(reconcile(invoices, [payment]))
    assert proposal.invoice_ids == ("i0",)  # issued January: the oldest
    assert proposal.ambiguous
    assert proposal.alternatives == ("i1", "i2")  # oldest first
    assert not proposal.auto_confirm
    assert "auto.ambiguous_invoices" in codes(proposal.auto_confirm_blockers)
    assert "shape.ambiguous" in codes(proposal.reasons)


def test_several_payments_take_the_oldest_equal_invoices_in_payment_order() -> None:
    invoices = _subscription(3)
    payments = [
        tx(
            f"t{k}",
            "99.00",
            booking_date=date(2024, 3, 10 + k),
            counterparty_account="DE89370400440532013000",
        )
        for k in (1, 0)
    ]
    result = reconcile(invoices, payments)
    applied = {p.transaction_ids[0]: p.invoice_ids[0] for p in result.proposals}
    assert applied == {"t0": "i0", "t1": "i1"}
    assert all(p.ambiguous and not p.auto_confirm for p in result.proposals)


def test_a_reference_tells_equal_invoices_apart() -> None:
    invoices = _subscription(3)
    payment = tx(amount="99.00", booking_date=date(2024, 3, 20), description="SUB-0002")
    proposal = _only(reconcile(invoices, [payment]))
    assert proposal.invoice_ids == ("i2",) and not proposal.ambiguous and proposal.alternatives == ()


def test_a_common_amount_is_still_proposed_when_the_payer_names_the_customer() -> None:
    """More open invoices of 99.00 than max_amount_candidates: the amount alone picks nothing,
    but the payer's name (spelt too differently for the word index) narrows it to one party.
    Before, blocking dropped every such pair."""
    others = [
        inv(f"x{k}", f"OTH-{k:04d}", "99.00", counterparty_id=f"c{k}", counterparty_name=f"Party {k} Ltd")
        for k in range(8)
    ]
    mine = [
        inv(f"j{k}", f"JAE-{k:04d}", "99.00", issue_date=date(2024, 1, 1 + k), counterparty_id="c-jaeger",
            counterparty_name="Jäger Fördertechnik UG")
        for k in range(2)
    ]  # fmt: skip
    payment = tx(amount="99.00", counterparty_name="Jaeger Foerdertechnik UG", description="Ihre Rechnung")
    proposal = _only(reconcile(others + mine, [payment]))
    assert proposal.invoice_ids == ("j0",)
    assert proposal.alternatives == ("j1",) and proposal.ambiguous


def test_an_invoice_issued_after_the_payment_is_no_equal_fit() -> None:
    invoices = _subscription(3)  # issued January, February, March
    payment = tx(
        amount="99.00", booking_date=date(2024, 2, 20), counterparty_account="DE89370400440532013000"
    )
    proposal = _only(reconcile(invoices, [payment]))
    assert proposal.invoice_ids == ("i0",) and proposal.alternatives == ("i1",)  # not March's


@pytest.mark.parametrize(
    ("payer", "party", "matches"),
    [
        ("acmegmbh", "acme", True),  # the descriptor keeps the legal form the party name drops
        ("oakblaumanufac trn", "oakblau manufacturing", True),  # cut at 22, payout text after it
        ("graefmedizinte", "graf medizintechnik und haustechnik", True),  # SWIFT transliteration
        ("voegeleholzbau", "vogele holzbau", True),  # SWIFT's OE for ö, the party's o
        ("gebrueder schae", "gebruder schafer haustechnik", True),
        ("lehmann kaeltet py", "lehmann druckerei", False),  # a shared surname is not a name
        ("gebrueder froeh", "gebruder wagner maschinenbau", False),  # nor a shared word
    ],
)
def test_descriptor_names_are_compared_without_spaces_and_cut(payer: str, party: str, matches: bool) -> None:
    from reconciliation.engine.signals import NAME_BANDS, descriptor_ratio

    assert (descriptor_ratio(payer, (party,))[0] >= NAME_BANDS[-1][0]) is matches
