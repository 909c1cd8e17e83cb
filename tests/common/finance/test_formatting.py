"""Money for people: the currency's ISO 4217 minor unit, grouped, with its code (issue 16)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.finance import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "written"),
    [
        (Decimal("1234.5"), "EUR", "1,234.50 EUR"),
        (Decimal("1234.5000"), "EUR", "1,234.50 EUR"),  # as a numeric(18, 4) column reads
        (Decimal("1.234"), "KWD", "1.234 KWD"),  # the back office showed "1.23 KWD"
        (Decimal("1234567.891"), "BHD", "1,234,567.891 BHD"),
        (Decimal("1500"), "JPY", "1,500 JPY"),  # and "1,500.00 JPY"
        (Decimal("1500.0000"), "JPY", "1,500 JPY"),
        (Decimal("0.5"), "CLF", "0.5000 CLF"),
        (Decimal("-1234.5"), "USD", "-1,234.50 USD"),
        (Decimal("1E+3"), "EUR", "1,000.00 EUR"),
        (1000, "EUR", "1,000.00 EUR"),
        (Decimal("0.125"), "EUR", "0.12 EUR"),  # half to even, like quantize
        (Decimal("0.135"), "EUR", "0.14 EUR"),
        (Decimal("-0.001"), "USD", "0.00 USD"),  # never "-0.00"
        (Decimal("-0"), "JPY", "0 JPY"),
        (Decimal("12.5"), "XYZ", "12.50 XYZ"),  # outside the table: two decimals
    ],
)
def test_format_money(amount: Decimal | int, currency: str, written: str) -> None:
    assert format_money(amount, currency) == written


def test_two_decimal_currencies_read_as_before() -> None:
    """The engine's reason texts and the back office wrote ``f"{x:,.2f} {cur}"``: for the
    two-decimal currencies nothing changes (the bench's proposals stay byte-identical)."""
    for amount in ("0", "0.01", "999.995", "1234567.8", "-42.424", "100000000000.0049"):
        value = Decimal(amount)
        if value.is_zero() or value.quantize(Decimal("0.01")).is_zero():
            continue
        assert format_money(value, "EUR") == f"{value:,.2f} EUR"
