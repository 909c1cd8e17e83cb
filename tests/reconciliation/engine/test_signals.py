"""One signal at a time through score_pair: amounts, references, counterparty, dates, blockers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reconciliation.engine import EngineSettings, score_pair

from .helpers import codes, inv, make_rf, signal, tx

D = Decimal


def test_exact_amount_and_reference_is_certain() -> None:
    ps = score_pair(inv(), tx(description="Payment INV-000123"))
    assert ps.is_candidate and not ps.blockers
    assert ps.confidence == D("1.0000")
    amount = signal(ps, "amount")
    assert amount.score == 1 and codes(amount.reasons) == {"amount.exact"}
    assert "150.00 USD" in amount.reasons[0].message
    assert signal(ps, "reference").reasons[0].code == "ref.exact"


def test_amount_bands_are_graded() -> None:
    scores = {}
    for paid in ("150.00", "148.80", "147.30", "143.00", "120.00", "165.00"):
        ps = score_pair(inv(), tx(amount=paid, description="INV-000123"))
        scores[paid] = signal(ps, "amount").score
    assert scores["150.00"] == 1
    assert scores["150.00"] > scores["148.80"] > scores["147.30"] > scores["143.00"] > 0
    assert scores["120.00"] == 0 and scores["165.00"] == 0  # partial / overpaid


def test_amount_mismatch_alone_is_not_a_candidate() -> None:
    for paid in ("148.80", "143.00", "120.00"):
        ps = score_pair(inv(), tx(amount=paid, description="thanks"))
        assert not ps.is_candidate
        assert "score.below_min" in codes(ps.blockers)


def test_fee_tolerance_is_underpayment_only() -> None:
    settings = EngineSettings(fee_tolerance_fixed=D("2.00"))
    under = score_pair(inv(), tx(amount="148.50", description="INV-000123"), settings)
    over = score_pair(inv(), tx(amount="151.50", description="INV-000123"), settings)
    assert codes(signal(under, "amount").reasons) == {"amount.fee"}
    assert "1.50 USD short" in signal(under, "amount").reasons[0].message
    assert "amount.fee" not in codes(signal(over, "amount").reasons)
    pct = EngineSettings(fee_tolerance_percent=D("1"))  # 1 % of 150.00 = 1.50
    assert "amount.fee" in codes(signal(score_pair(inv(), tx(amount="148.50"), pct), "amount").reasons)
    assert "amount.fee" not in codes(signal(score_pair(inv(), tx(amount="148.40"), pct), "amount").reasons)
    # Without a reference or counterparty a fee-reduced amount counts half: not a candidate.
    assert not score_pair(inv(), tx(amount="148.50"), pct).is_candidate


def test_partial_payment_with_reference_is_a_candidate() -> None:
    ps = score_pair(inv(), tx(amount="50.00", description="INV-000123 part 1"))
    assert ps.is_candidate
    assert "amount.partial" in codes(signal(ps, "amount").reasons)


def test_rf_reference_valid_and_invalid() -> None:
    invoice = inv(number="X-9", structured_reference="RF18539007547034")
    good = score_pair(invoice, tx(structured_reference="RF18 5390 0754 7034"))
    bad = score_pair(invoice, tx(description="RF18 5390 0754 7035"))
    assert signal(good, "reference").reasons[0].code == "rf.match" and good.confidence == 1
    assert signal(bad, "reference").score == 0
    assert "rf.invalid" in codes(signal(bad, "reference").reasons)


def test_rf_embedding_the_invoice_number() -> None:
    rf = make_rf("INV000123")
    ps = score_pair(inv(), tx(description=f"pay {rf}"))
    assert signal(ps, "reference").reasons[0].code == "rf.embedded"


def test_fuzzy_reference_is_weaker_evidence() -> None:
    invoice = inv(number="INV-2024-004711")
    typo = score_pair(invoice, tx(description="INV-2024-004717"))
    exact = score_pair(invoice, tx(description="INV-2024-004711"))
    assert signal(typo, "reference").reasons[0].code == "ref.fuzzy"
    assert 0 < signal(typo, "reference").score < signal(exact, "reference").score
    short = score_pair(inv(number="A-12"), tx(description="A-13"))  # too short for typos
    assert signal(short, "reference").score == 0


def test_counterparty_alias_name_and_iban() -> None:
    invoice = inv(counterparty_aliases=("Acme Trading",), counterparty_account="DE89 3704 0044 0532 0130 00")
    by_alias = score_pair(invoice, tx(counterparty_name="ACME TRADING LTD"))
    by_iban = score_pair(invoice, tx(counterparty_account="de89370400440532013000"))
    stranger = score_pair(invoice, tx(counterparty_name="Globex Corporation"))
    assert signal(by_alias, "counterparty").reasons[0].code == "cp.name"
    assert signal(by_iban, "counterparty").score == 1
    assert signal(by_iban, "counterparty").reasons[0].code == "cp.account"
    assert signal(stranger, "counterparty").score == 0
    # Exact amount + IBAN, paid in terms, is strong enough to be auto-confirmable.
    assert by_iban.confidence >= D("0.95")


def test_dates_before_issue_in_terms_late_and_outside_window() -> None:
    def date_score(day: date) -> Decimal:
        return signal(score_pair(inv(), tx(booking_date=day, description="INV-000123")), "date").score

    in_terms = date_score(date(2024, 1, 20))
    lag = date_score(date(2024, 2, 4))  # within the 5-day bank lag after the due date
    late = date_score(date(2024, 3, 15))
    very_late = date_score(date(2024, 5, 15))
    beyond = date_score(date(2024, 8, 1))
    before = date_score(date(2023, 12, 10))
    assert in_terms == lag == 1
    assert 1 > late > very_late > beyond == 0
    assert before < late


def test_value_date_wins_over_booking_date() -> None:
    ps = score_pair(inv(), tx(booking_date=date(2024, 9, 1), value_date=date(2024, 1, 20)))
    assert signal(ps, "date").reasons[0].code == "date.in_terms"


def test_currency_mismatch_blocks_unless_fx_rate() -> None:
    blocked = score_pair(inv(), tx(currency="EUR", amount="138.00", description="INV-000123"))
    assert not blocked.is_candidate and "currency.mismatch" in codes(blocked.blockers)
    settings = EngineSettings(fx_rates={("EUR", "USD"): D("1.087")})
    converted = score_pair(inv(), tx(currency="EUR", amount="138.00", description="INV-000123"), settings)
    assert converted.is_candidate
    amount_codes = codes(signal(converted, "amount").reasons)
    # 138 * 1.087 = 150.006: within FX rounding, so it counts as exact after conversion.
    assert "amount.fx" in amount_codes and "amount.exact" in amount_codes
    off = score_pair(inv(), tx(currency="EUR", amount="137.00", description="INV-000123"), settings)
    assert "amount.exact" not in codes(signal(off, "amount").reasons)
    inverse = EngineSettings(fx_rates={("USD", "EUR"): D("0.92")})
    assert score_pair(inv(), tx(currency="EUR", amount="138.00"), inverse).blockers == ()


def test_direction_receivable_and_payable() -> None:
    debit = score_pair(inv(), tx(amount="-150.00", description="INV-000123"))
    assert "direction.receivable_debit" in codes(debit.blockers)
    bill = inv(direction="payable")
    assert score_pair(bill, tx(amount="-150.00", description="INV-000123")).is_candidate
    assert "direction.payable_credit" in codes(score_pair(bill, tx(description="INV-000123")).blockers)
    anyway = inv(direction="any")
    assert score_pair(anyway, tx(amount="-150.00", description="INV-000123")).is_candidate


def test_rejected_and_allocated_pairs_explain_why() -> None:
    ps = score_pair(inv(), tx(description="INV-000123"), rejected_pairs=frozenset({("i1", "t1")}))
    assert not ps.is_candidate and "pair.rejected" in codes(ps.blockers)
    assert ps.confidence == 1  # still explained: it *would* match
    used = score_pair(inv(), tx(description="INV-000123", unallocated=D("0")))
    assert "transaction.allocated" in codes(used.blockers)
    paid = score_pair(inv(outstanding="0"), tx(description="INV-000123"))
    assert "invoice.settled" in codes(paid.blockers)


def test_every_signal_carries_weight_and_reasons() -> None:
    ps = score_pair(inv(), tx(amount="12.00"))
    assert [s.signal for s in ps.signals] == ["amount", "reference", "counterparty", "date"]
    for s in ps.signals:
        assert 0 <= s.score <= 1 and s.weight > 0 and s.reasons
        assert all(r.code and r.message for r in s.reasons)
    assert ps.confidence == ps.confidence.quantize(D("0.0001"))
