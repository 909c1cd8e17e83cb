"""The financial kernel's amount rule: exact amounts accepted digit for digit, everything else
refused with a reason (issue 13.2). Django-free, like the kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.finance import (
    API_AMOUNT,
    CAMT_AMOUNT,
    MT940_AMOUNT,
    OFX_AMOUNT,
    AmountError,
    AmountFormat,
    csv_amount_format,
    exact_decimal,
    fits_minor_units,
    json_decimal,
    json_int,
    parse_amount_text,
    parse_money,
    read_amount_text,
)

from .strategies import DEFECTS, PROPERTY_SETTINGS, defective_amounts, digits_written, written_amounts

COMMA = csv_amount_format(",")
POINT = csv_amount_format(".")
FORMATS = {
    "csv ,": COMMA,
    "csv .": POINT,
    "mt940": MT940_AMOUNT,
    "ofx": OFX_AMOUNT,
    "camt": CAMT_AMOUNT,
    "api": API_AMOUNT,
}


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("1.234,56", COMMA, "1234.56"),
        ("1,234.56", POINT, "1234.56"),
        ("1 234,56", COMMA, "1234.56"),
        ("1\u00a0234,56", COMMA, "1234.56"),
        ("1\u202f234,56", COMMA, "1234.56"),
        ("11'373.94", POINT, "11373.94"),
        ("1\u2019000.50", POINT, "1000.50"),
        ("1,23,456.78", POINT, "123456.78"),  # Indian grouping
        ("-98,76", COMMA, "-98.76"),
        ("98,76-", COMMA, "-98.76"),
        ("(12.50)", POINT, "-12.50"),
        ("(1,234.50)", POINT, "-1234.50"),
        ("-123,45 €", COMMA, "-123.45"),
        ("$1,036.47", POINT, "1036.47"),
        ("EUR -5,00", COMMA, "-5.00"),
        ("CHF 1'000.00", POINT, "1000.00"),
        ("+7.5", POINT, "7.5"),
        ("\u221242.00", POINT, "-42.00"),
        ("15000,", COMMA, "15000"),
        ("1.234.567", COMMA, "1234567"),
        ("1,234", POINT, "1234"),  # a lone group of three after the other separator: thousands
        ("1.234", COMMA, "1234"),
        ("1,234", COMMA, "1.234"),
        ("100.00 DR", POINT, "-100.00"),
        ("100.00 CR", POINT, "100.00"),
        ("-0,00", COMMA, "0.00"),
        ("0.01", POINT, "0.01"),
        ("99999999999999.99", POINT, "99999999999999.99"),
        ("1.23450", POINT, "1.23450"),  # trailing zeros beyond 4 places are exact and kept
        ("000000000025,00", MT940_AMOUNT, "25.00"),  # Rabobank pads to 15 digits
        ("15000,", MT940_AMOUNT, "15000"),
        ("-6.60", OFX_AMOUNT, "-6.60"),
        ("12,34", OFX_AMOUNT, "12.34"),  # OFX tolerates a decimal comma
        ("8.85", CAMT_AMOUNT, "8.85"),
        (" -1234.50 ", API_AMOUNT, "-1234.50"),
        (".5", API_AMOUNT, "0.5"),
        ("5.", API_AMOUNT, "5"),
    ],
)
def test_exact_amounts_are_read_digit_for_digit(text: str, fmt: AmountFormat, expected: str) -> None:
    value = parse_amount_text(text, fmt)
    assert isinstance(value, Decimal)
    assert str(value) == expected


@pytest.mark.parametrize(
    ("text", "fmt", "reason"),
    [
        # The reproductions: each was stored as something else before.
        ("1.5e3", POINT, "exponent"),  # was 1.53
        ("1,5e3", COMMA, "exponent"),
        ("12abc34", POINT, "letters"),  # was 1234
        ("5 Feb", POINT, "letters"),  # was 5.00
        ("1e1000000", POINT, "exponent"),  # was 11,000,000.00
        ("1O0.00", POINT, "letters"),  # was 10.00
        ("l00.00", POINT, "letters"),  # was 0.00
        ("1a2,00", MT940_AMOUNT, "letters"),  # was 1.00
        ("1", MT940_AMOUNT, "decimal separator ',' is missing"),
        # Two signs, two decimal separators, malformed groups.
        ("-100.00 DR", POINT, "more than one sign"),
        ("(-5.00)", POINT, "more than one sign"),
        ("--5", POINT, "more than one sign"),
        ("+-5", API_AMOUNT, "more than one sign"),
        ("1.2.3", POINT, "more than one decimal separator"),
        ("12,34,5", COMMA, "more than one decimal separator"),
        ("12,5", POINT, "three digits"),  # a decimal comma in a decimal-point file
        ("1,234.56", COMMA, "three digits"),
        ("1,2345", POINT, "three digits"),
        ("1 2,5", COMMA, "three digits"),
        ("1.234'567,00", COMMA, "three digits"),  # one grouping character per number
        ("(5.00", POINT, "unbalanced parentheses"),
        ("5 FEB", POINT, "ISO 4217"),
        ("EUR 5 USD", POINT, "more than one currency mark"),
        ("-5", CAMT_AMOUNT, "no sign"),
        ("-5,00", MT940_AMOUNT, "no sign"),
        ("1_000", API_AMOUNT, "not a number"),
        ("NaN", API_AMOUNT, "letters"),
        ("Infinity", API_AMOUNT, "letters"),
        ("\u0661\u0662", API_AMOUNT, "not a number"),  # non-ASCII digits
        ("", POINT, "empty"),
        ("  ", API_AMOUNT, "empty"),
        ("€", POINT, "no digits"),
        # Beyond the storage precision numeric(18, 4).
        ("100000000000000", POINT, "too large"),
        ("1.23456", POINT, "more than 4 decimal places"),
        ("1" * 65, API_AMOUNT, "longer than 64"),
        ("1234567890123,45", MT940_AMOUNT, "longer than 15"),  # 15d: the library cut it at 15
    ],
)
def test_anything_else_is_refused_with_a_reason(text: str, fmt: AmountFormat, reason: str) -> None:
    with pytest.raises(AmountError, match=reason):
        parse_amount_text(text, fmt)


def test_the_currency_written_with_an_amount_is_reported() -> None:
    assert read_amount_text("-123,45 €", COMMA) == (Decimal("-123.45"), "EUR")
    assert read_amount_text("US$ 5.00", POINT) == (Decimal("5.00"), "USD")
    assert read_amount_text("5.00 CHF", POINT) == (Decimal("5.00"), "CHF")
    assert read_amount_text("5,00 kr", COMMA) == (Decimal("5.00"), "")  # several currencies
    assert read_amount_text("-1.234,50 Euro", COMMA) == (Decimal("-1234.50"), "EUR")
    assert read_amount_text("5.00", POINT) == (Decimal("5.00"), "")


@pytest.mark.parametrize("name", FORMATS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_every_exactly_written_amount_is_read_as_written(name: str, data: st.DataObject) -> None:
    fmt = FORMATS[name]
    text, expected = data.draw(written_amounts(fmt))
    value = parse_amount_text(text, fmt)
    assert value == expected
    assert value.as_tuple() == expected.as_tuple(), (text, value)  # same digits, same places


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("defect", DEFECTS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_a_letter_exponent_second_sign_or_second_separator_is_refused(
    name: str, defect: str, data: st.DataObject
) -> None:
    fmt = FORMATS[name]
    text = data.draw(defective_amounts(fmt, defect))
    with pytest.raises(AmountError):
        parse_amount_text(text, fmt)


_ANY_TEXT = st.text(alphabet="0123456789.,' -+()€$eEOlaDRCU\u00a0\u2212", max_size=24)


@pytest.mark.parametrize("name", FORMATS)
@settings(**{**PROPERTY_SETTINGS, "max_examples": 200})
@given(text=_ANY_TEXT)
def test_whatever_is_accepted_round_trips_to_the_digits_written(name: str, text: str) -> None:
    fmt = FORMATS[name]
    try:
        value = parse_amount_text(text, fmt)
    except AmountError:
        return
    assert digits_written(text) == digits_written(format(value, "f")), (text, value)
    separators = [i for i, character in enumerate(text) if character in fmt.decimal]
    after = text[separators[-1] + 1 :] if separators else ""
    places = len(after) - len(after.lstrip("0123456789"))
    assert -value.as_tuple().exponent == places, (text, value)  # type: ignore[operator]


class TestApiValues:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(150, "150"), (Decimal("150.00"), "150.00"), ("-20.50", "-20.50"), (Decimal("-0.0"), "0.0")],
    )
    def test_exact_values_are_kept(self, value: object, expected: str) -> None:
        assert str(exact_decimal(value)) == expected

    @pytest.mark.parametrize(
        "value",
        [
            True,
            1.5,
            None,
            [1],
            Decimal("NaN"),
            Decimal("Infinity"),
            Decimal("1E+1000000"),  # was a 500: normalize() overflowed
            Decimal("-1E+1000000"),
            Decimal("1E+2"),  # an exponent, even a small one
            Decimal("1E-1000000"),
            Decimal("1.000000000000000000000000000001"),  # normalize() would have rounded it
            10**14,
            "1e1000000",
            "1E2",
        ],
    )
    def test_anything_inexact_huge_or_with_an_exponent_is_refused(self, value: object) -> None:
        with pytest.raises(AmountError):
            exact_decimal(value)

    def test_money_has_at_most_the_currency_minor_unit(self) -> None:
        assert parse_money("150.10", "USD") == Decimal("150.10")
        assert parse_money("150.100", "USD") == Decimal("150.100")  # trailing zeros are exact
        assert parse_money(Decimal("1500"), "JPY") == Decimal("1500")
        for value, currency in (("150.005", "USD"), ("1.5", "JPY"), ("0.0001", "KWD")):
            with pytest.raises(AmountError, match="decimal places"):
                parse_money(value, currency)
        assert fits_minor_units(Decimal("0.001"), "KWD")
        assert not fits_minor_units(Decimal("0.001"), "EUR")

    @settings(**PROPERTY_SETTINGS)
    @given(exponent=st.integers(-(10**9), 10**9), digits=st.integers(1, 10**20))
    def test_huge_exponents_are_refused_without_building_the_number(self, exponent: int, digits: int) -> None:
        value = Decimal(f"{digits}E{exponent}")
        try:
            result = exact_decimal(value)
        except AmountError:
            return
        assert abs(result) < Decimal(10) ** 14 and result == value


class TestJsonNumbers:
    def loads(self, text: str) -> object:
        return json.loads(text, parse_float=json_decimal, parse_int=json_int)

    def test_plain_numbers_are_exact(self) -> None:
        assert self.loads('{"a": 150.10, "b": -0.5, "c": 7}') == {
            "a": Decimal("150.10"),
            "b": Decimal("-0.5"),
            "c": 7,
        }

    @pytest.mark.parametrize("literal", ["1e1000000", "1E+2", "-2.5e-1", "0e0", "1" * 65, "0." + "0" * 70])
    def test_exponents_and_overlong_numbers_are_refused(self, literal: str) -> None:
        with pytest.raises(ValueError, match="exponent|longer than 64"):
            self.loads(f'{{"amount": {literal}}}')

    @settings(**PROPERTY_SETTINGS)
    @given(
        mantissa=st.from_regex(r"-?(0|[1-9][0-9]{0,19})(\.[0-9]{1,20})?", fullmatch=True),
        marker=st.sampled_from(["e", "E"]),
        exponent=st.from_regex(r"[+-]?[0-9]{1,9}", fullmatch=True),
    )
    def test_any_exponent_is_refused(self, mantissa: str, marker: str, exponent: str) -> None:
        with pytest.raises(ValueError, match="exponent"):
            self.loads(f"[{mantissa}{marker}{exponent}]")


def test_the_kernel_imports_no_django() -> None:
    code = (
        "import sys, common.finance\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3], check=True, timeout=60
    )
