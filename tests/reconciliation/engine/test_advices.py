"""Remittance advices and batch payments in the pure engine (issue 17, part A)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reconciliation.engine import EngineSettings, reconcile
from reconciliation.engine.types import AdviceInput, AdviceLineInput

from .helpers import codes, inv, tx

D = Decimal
IBAN = "DE89370400440532013000"


def batch(n: int, start: int = 1001, amount: str = "100.00") -> list:
    """``n`` open invoices of ACME, INV-<start>..., each of ``amount`` plus its index in cents."""
    return [
        inv(f"i{k:03d}", f"INV-{start + k}", str(D(amount) + D(k) / 100), counterparty_account=IBAN)
        for k in range(n)
    ]


def advice_for(invoices: list, reference: str = "AV-778899", **kw: object) -> AdviceInput:
    lines = tuple(AdviceLineInput(i.number.lower(), i.outstanding) for i in invoices)
    base: dict = {
        "id": "adv-1",
        "reference": reference,
        "amount": sum((line.amount for line in lines), D(0)),
        "currency": "USD",
        "lines": lines,
        "payer_name": "ACME GmbH",
        "payer_account": IBAN,
        "payment_date": date(2024, 1, 20),
    }
    base.update(kw)
    return AdviceInput(**base)


def test_advice_matches_a_batch_of_twenty_exactly_and_auto_confirms() -> None:
    invoices = batch(20) + [inv("other", "INV-9999", "55.00", counterparty_account=IBAN)]
    advice = advice_for(invoices[:20])
    payment = tx(
        amount=str(advice.amount), description="Payment run REF.AV-778899", counterparty_account=IBAN
    )
    result = reconcile(invoices, [payment], advices=[advice])
    (p,) = result.proposals
    assert p.advice_id == "adv-1"
    assert p.shape == "one_to_many"
    assert p.invoice_ids == tuple(i.id for i in invoices[:20])
    assert [a.amount for a in p.allocations] == [i.outstanding for i in invoices[:20]]
    assert "remittance_advice" in codes(p.reasons)
    assert "AV-778899" in p.reasons[0].message
    assert p.auto_confirm and not p.auto_confirm_blockers
    assert result.stats["advice_proposals"] == 1


def test_without_the_advice_the_same_payment_is_not_matched_as_a_batch() -> None:
    """The failing-before check: twenty invoices are beyond any subset search."""
    invoices = batch(20)
    advice = advice_for(invoices)
    payment = tx(
        amount=str(advice.amount), description="Payment run REF.AV-778899", counterparty_account=IBAN
    )
    result = reconcile(invoices, [payment])
    assert all(len(p.allocations) < 20 for p in result.proposals)


def test_discount_settles_the_invoice_and_partial_line_blocks_auto() -> None:
    invoices = [inv("i1", "INV-2001", "100.00"), inv("i2", "INV-2002", "200.00")]
    lines = (AdviceLineInput("INV-2001", D("98.00"), D("2.00")), AdviceLineInput("INV 2002", D("50.00")))
    advice = AdviceInput("adv-2", "RA123456", D("148.00"), "USD", lines)
    payment = tx(amount="148.00", description="RA123456 ACME")
    (p,) = reconcile(invoices, [payment], advices=[advice]).proposals
    first, second = p.allocations
    assert (first.amount, first.invoice_amount) == (D("98.00"), D("100.00"))  # discount settles
    assert (second.amount, second.invoice_amount) == (D("50.00"), D("50.00"))
    assert not p.auto_confirm
    assert any("INV 2002" in r.message and "leaves" in r.message for r in p.auto_confirm_blockers)
    assert p.confidence == D("0.8")


def test_unresolved_line_is_named_and_left_out() -> None:
    invoices = [inv("i1", "INV-3001", "100.00")]
    lines = (AdviceLineInput("INV-3001", D("100.00")), AdviceLineInput("INV-3999", D("20.00")))
    advice = AdviceInput("adv-3", "AV555666", D("120.00"), "USD", lines)
    (p,) = reconcile(invoices, [tx(amount="120.00", description="AV555666")], advices=[advice]).proposals
    assert p.invoice_ids == ("i1",) and p.shape == "one_to_one"
    assert not p.auto_confirm
    assert any("INV-3999" in r.message for r in p.auto_confirm_blockers)


def test_an_advice_needs_amount_reference_payer_and_uniqueness() -> None:
    invoices = batch(3)
    advice = advice_for(invoices)
    total = str(advice.amount)
    cases = {
        "amount differs": [tx(amount=str(advice.amount - 1), description="AV-778899")],
        "not quoted": [tx(amount=total, description="payment")],
        "other payer": [
            tx(
                amount=total,
                description="AV-778899",
                counterparty_name="Globex Corp",
                counterparty_account="GB1",
            )
        ],
        "two payments quote it": [
            tx("t1", total, "AV-778899"),
            tx("t2", total, "AV-778899"),
        ],
        "other currency": [tx(amount=total, description="AV-778899", currency="EUR")],
        "a month later": [tx(amount=total, description="AV-778899", booking_date=date(2024, 3, 1))],
    }
    for case, payments in cases.items():
        result = reconcile(invoices, payments, advices=[advice])
        assert not any(p.advice_id for p in result.proposals), case


def test_a_rejected_pair_keeps_the_advice_out() -> None:
    invoices = batch(3)
    advice = advice_for(invoices)
    payment = tx(amount=str(advice.amount), description="AV-778899")
    result = reconcile(invoices, [payment], advices=[advice], rejected_pairs=frozenset({("i001", "t1")}))
    assert not any(p.advice_id for p in result.proposals)
    assert result.stats["advices_rejected"] == 1


def test_advice_taken_amounts_are_not_proposed_again() -> None:
    """The rest of a partly paid invoice is still open to the ordinary pipeline, never more."""
    invoices = [inv("i1", "INV-4001", "100.00"), inv("i2", "INV-4002", "300.00")]
    lines = (AdviceLineInput("INV-4001", D("100.00")), AdviceLineInput("INV-4002", D("100.00")))
    advice = AdviceInput("adv-4", "AV-424242", D("200.00"), "USD", lines)
    payments = [
        tx("t1", "200.00", "AV-424242"),
        tx("t2", "200.00", "INV-4002 rest", booking_date=date(2024, 1, 25)),
    ]
    result = reconcile(invoices, payments, advices=[advice])
    settled: dict[str, Decimal] = {}
    for p in result.proposals:
        for a in p.allocations:
            settled[a.invoice_id] = settled.get(a.invoice_id, D(0)) + (a.invoice_amount or a.amount)
    assert settled == {"i1": D("100.00"), "i2": D("300.00")}


def test_auto_confirm_switched_off_holds_for_advices() -> None:
    invoices = batch(2)
    advice = advice_for(invoices)
    payment = tx(amount=str(advice.amount), description="AV-778899")
    settings = EngineSettings(auto_confirm_threshold=None)
    (p,) = reconcile(invoices, [payment], settings, advices=[advice]).proposals
    assert not p.auto_confirm and "auto.disabled" in codes(p.auto_confirm_blockers)


# -- batches without an advice -------------------------------------------------------------------


def test_a_payment_quoting_ten_numbers_matches_all_ten() -> None:
    """Before: quoted groups stopped at max_subset_size (5)."""
    invoices = batch(10) + [inv("x", "INV-7777", "100.05", counterparty_account=IBAN)]
    total = sum((i.outstanding for i in invoices[:10]), D(0))
    text = "Invoices " + " ".join(i.number for i in invoices[:10])
    (p,) = reconcile(invoices, [tx(amount=str(total), description=text)]).proposals
    assert p.shape == "one_to_many" and p.invoice_ids == tuple(i.id for i in invoices[:10])
    assert p.auto_confirm  # every invoice quoted, exact sum


def test_subset_search_finds_six_but_never_auto_confirms_on_the_sum_alone() -> None:
    amounts = ["101.00", "202.00", "303.00", "404.00", "505.00", "606.01"]
    invoices = [inv(f"i{k}", f"INV-50{k}", a, counterparty_account=IBAN) for k, a in enumerate(amounts)]
    invoices.append(inv("i9", "INV-509", "5000.00", counterparty_account=IBAN))
    total = sum((D(a) for a in amounts), D(0))
    payment = tx(amount=str(total), description="monthly payment", counterparty_account=IBAN)
    (p,) = reconcile(invoices, [payment]).proposals
    assert p.shape == "one_to_many" and p.invoice_ids == tuple(f"i{k}" for k in range(6))
    assert not p.auto_confirm and "auto.group_not_referenced" in codes(p.auto_confirm_blockers)
    assert EngineSettings().max_subset_size == 6


def test_abbreviated_numbers_complete_an_exact_batch_but_never_auto_confirm() -> None:
    """ "INV-2024-000791/792/793": before, the payment went to 791 alone as an overpayment."""
    invoices = [
        inv("i1", "INV-2024-000791", "250.00", counterparty_account=IBAN),
        inv("i2", "INV-2024-000792", "176.68", counterparty_account=IBAN),
        inv("i3", "INV-2024-000793", "100.00", counterparty_account=IBAN),
        inv("i4", "INV-2024-000794", "80.00", counterparty_account=IBAN),
    ]
    payment = tx(amount="526.68", description="Factures INV-2024-000791/792/793", counterparty_account=IBAN)
    (p,) = reconcile(invoices, [payment]).proposals
    assert p.shape == "one_to_many" and p.invoice_ids == ("i1", "i2", "i3")
    assert not p.auto_confirm and "auto.group_abbreviated" in codes(p.auto_confirm_blockers)


def test_completed_numbers_follow_only_a_quoted_head() -> None:
    from reconciliation.engine.abbreviations import completed_numbers

    def quoted(token: str) -> bool:
        return token in {"0010247", "INV-2024-000791"}

    assert completed_numbers("RE 0010247, 254, 255 thanks", quoted) == ["0010254", "0010255"]
    # A word as long as the head's digit run is a number of its own: the list ends there.
    assert completed_numbers("INV-2024-000791/792; 793456", quoted) == ["INV-2024-000792"]
    assert completed_numbers("order 4711, 12 boxes", quoted) == []  # not a quoted number
    assert completed_numbers("INV-12, 3", lambda token: True) == []  # too short a tail


def test_a_fully_quoted_batch_outweighs_a_split_into_weaker_matches() -> None:
    """Before: 1:1 overpayment (0.80) + another payment's typo match (0.61) beat the group (1.00)."""
    invoices = [
        inv("i1", "INV-2024-000620", "335.76", counterparty_account=IBAN),
        inv("i2", "INV-2024-000621", "252.55", counterparty_account=IBAN),
    ]
    batch_payment = tx("t1", "588.31", "Rechnungen INV-2024-000620 INV2024000621", counterparty_account=IBAN)
    other = tx("t2", "250.00", "INV-2024-00621X", booking_date=date(2024, 2, 10))
    settings = EngineSettings(fee_tolerance_fixed=D("5"))
    result = reconcile(invoices, [batch_payment, other], settings)
    (group,) = [p for p in result.proposals if "t1" in p.transaction_ids]
    assert group.invoice_ids == ("i1", "i2") and group.auto_confirm
