"""Amount parsing, RF references and account clean-up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from banking.statements._text import (
    compact_account,
    find_rf_reference,
    normalize_reference,
    parse_amount,
)


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1.234,56", None, "1234.56"),
        ("1,234.56", None, "1234.56"),
        ("1 234,56", ",", "1234.56"),
        ("1\u00a0234,56", ",", "1234.56"),
        ("1\u202f234,56", ",", "1234.56"),
        ("11'373.94", ".", "11373.94"),
        ("1\u2019000.50", ".", "1000.50"),
        ("-98,76", ",", "-98.76"),
        ("98,76-", ",", "-98.76"),
        ("(12.50)", ".", "-12.50"),
        ("(1,234.50)", ".", "-1234.50"),
        ("-123,45 €", ",", "-123.45"),
        ("$1,036.47", ".", "1036.47"),
        ("EUR -5,00", ",", "-5.00"),
        ("CHF 1'000.00", ".", "1000.00"),
        ("+7.5", ".", "7.5"),
        ("\u221242.00", ".", "-42.00"),
        ("15000,", ",", "15000"),
        ("1.234.567", ",", "1234567"),
        ("1,234", ".", "1234"),
        ("1.234", ",", "1234"),
        ("1,234", ",", "1.234"),
        ("12,5", ".", "12.5"),  # lone separator not followed by 3 digits: decimal
        ("100.00 DR", ".", "-100.00"),
        ("100.00 CR", ".", "100.00"),
        ("-0,00", ",", "0.00"),
        ("0.01", None, "0.01"),
    ],
)
def test_parse_amount(text: str, decimal: str | None, expected: str) -> None:
    value = parse_amount(text, decimal)
    assert isinstance(value, Decimal)
    assert value == Decimal(expected)
    assert str(value) == expected  # exact digits kept: no float round trip


@pytest.mark.parametrize("text", ["", "abc", "1,2,3.4.5", "--", "12.34.56,78,9", "€"])
def test_parse_amount_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_amount(text, ",")


def test_parse_amount_never_uses_float() -> None:
    # 0.1 + 0.2 would show float noise; Decimal arithmetic stays exact.
    assert parse_amount("0,10", ",") + parse_amount("0,20", ",") == Decimal("0.30")
    assert parse_amount("12345678901234567,89", ",") == Decimal("12345678901234567.89")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rechnung RF18 5390 0754 7034 danke", "RF18539007547034"),
        ("ref rf18539007547034.", "RF18539007547034"),
        ("Invoice RF38INV2024042", "RF38INV2024042"),
        ("RF38 INV2 0240 42 second line", "RF38INV2024042"),
        ("RF19 5390 0754 7034", ""),  # wrong check digits
        ("no reference here", ""),
        ("", ""),
        ("PERFECT 12", ""),
    ],
)
def test_find_rf_reference(text: str, expected: str) -> None:
    assert find_rf_reference(text) == expected


def test_normalize_reference_and_accounts() -> None:
    assert normalize_reference("rf18 5390 0754 7034") == "RF18539007547034"
    assert compact_account(" de89 3704 0044 0532 0130 00 ") == "DE89370400440532013000"
    assert compact_account("12 34 56") == "123456"
    assert compact_account("") == ""
