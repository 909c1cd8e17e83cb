"""Payment terms: the strict reader, the consistency rules and the discounted amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.finance.terms import (
    PAYMENT_TERMS_MAX_CHARS,
    PaymentTerms,
    TermsError,
    check_terms,
    discount_amount,
    discounted_amounts,
    format_payment_terms,
    parse_payment_terms,
)

D = Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2/10 net 30", PaymentTerms(D("2"), 10, 30)),
        ("2/10, n/30", PaymentTerms(D("2"), 10, 30)),
        ("1.5/15 NET 45 days", PaymentTerms(D("1.5"), 15, 45)),
        ("2/10", PaymentTerms(D("2"), 10, None)),
        ("2 % Skonto within 14 days", PaymentTerms(D("2"), 14, None)),
        ("3 % Skonto innerhalb von 14 Tagen, 30 Tage netto", PaymentTerms(D("3"), 14, 30)),
        ("2,5 % Skonto bei Zahlung innerhalb 10 Tagen", PaymentTerms(D("2.5"), 10, None)),
        ("2% discount 10 days, net 30", PaymentTerms(D("2"), 10, 30)),
        ("net 30", PaymentTerms(None, None, 30)),
        ("n/30", PaymentTerms(None, None, 30)),
        ("30 Tage netto", PaymentTerms(None, None, 30)),
    ],
)
def test_printed_terms_are_read(text: str, expected: PaymentTerms) -> None:
    assert parse_payment_terms(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "soon",
        "2/10 EOM",  # end of month terms: not supported, so refused rather than misread
        "1%",
        "2/40 net 30",  # discount period longer than the net period
        "0/10 net 30",
        "100/10 net 30",
        "2.555/10 net 30",  # more than two decimals
        "2/0 net 30",
        "2/10 net 400",
        "x" * (PAYMENT_TERMS_MAX_CHARS + 1),
        None,
        30,
    ],
)
def test_anything_else_is_refused(text: object) -> None:
    with pytest.raises(TermsError):
        parse_payment_terms(text)


def test_terms_round_trip_through_their_text() -> None:
    for terms in (
        PaymentTerms(D("2"), 10, 30),
        PaymentTerms(D("1.75"), 14, None),
        PaymentTerms(None, None, 45),
    ):
        assert parse_payment_terms(format_payment_terms(terms)) == terms


def test_percent_and_discount_days_go_together() -> None:
    with pytest.raises(TermsError, match="together"):
        check_terms(D("2"), None, 30)
    with pytest.raises(TermsError, match="together"):
        check_terms(None, 10, 30)
    assert check_terms(None, None, None) == PaymentTerms()
    assert str(check_terms(D("2"), 10, None).discount_percent) == "2.00"  # the column's scale
    assert format_payment_terms(check_terms(D("20"), 10, None)) == "20/10"  # never "2E+1/10"


def test_discount_is_rounded_half_up_at_the_currencys_minor_unit() -> None:
    assert discount_amount(D("100.25"), D("2"), "EUR") == D("2.01")  # 2.005
    assert discount_amount(D("1001"), D("2.5"), "JPY") == D("25")  # 25.025 yen
    assert discount_amount(D("10.005"), D("10"), "KWD") == D("1.001")  # 1.0005 dinar, 3 decimals


def test_a_half_minor_unit_discount_accepts_either_rounding() -> None:
    assert discounted_amounts(D("100.25"), D("2"), "EUR") == (D("98.24"), D("98.25"))
    assert discounted_amounts(D("100.00"), D("2"), "EUR") == (D("98.00"),)
