"""MT940 parsing on top of the mt-940 package."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from banking.statements import StatementParseError

from .support import fixture, parse_bytes, parse_file


def test_basic_statement() -> None:
    txs = parse_file(fixture("mt940/basic.sta"))
    assert len(txs) == 3
    gvc, reversal, swift = txs

    # :61:2312290102 -> value date 2023-12-29, entry (booking) date 01-02 of the NEXT year.
    assert gvc.value_date == datetime.date(2023, 12, 29)
    assert gvc.booking_date == datetime.date(2024, 1, 2)
    assert type(gvc.booking_date) is datetime.date
    assert gvc.amount == Decimal("-50.00")
    assert gvc.currency == "EUR"
    assert gvc.account == "DE89370400440532013000"
    assert gvc.account_currency == "EUR"
    assert gvc.external_id == "BREF1"
    assert gvc.end_to_end_id == "E2E-REF-1"
    assert gvc.description == "Rechnung RF18 5390 0754 7034 Müller"  # latin-1 file
    assert gvc.structured_reference == "RF18539007547034"
    assert gvc.counterparty_name == "Müller GmbH"
    assert gvc.counterparty_account == "DE02120300000000202051"
    assert gvc.location == "line 5"

    assert reversal.amount == Decimal("-20.00")  # RC: reversal of a credit
    assert reversal.external_id == ""  # NONREF
    assert reversal.description == "Storno Gutschrift vom 29.12."
    assert reversal.location == "line 7"

    assert swift.amount == Decimal("1234.5")
    assert swift.booking_date == swift.value_date == datetime.date(2024, 1, 3)
    assert swift.external_id == "CUST-REF-9"
    assert swift.end_to_end_id == "E2E-9"
    assert swift.counterparty_name == "ACME BV"
    assert swift.counterparty_account == "NL91ABNA0417164300"
    assert swift.description == "Invoice 2023-99"
    assert swift.location == "line 10"


def test_malformed_line_is_named() -> None:
    with pytest.raises(StatementParseError) as info:
        parse_file(fixture("mt940/malformed.sta"))
    (error,) = info.value.errors
    assert error.location == "line 7"
    assert "24XX01" in error.message


def test_empty_statement() -> None:
    assert parse_file(fixture("mt940/empty.sta")) == []


def test_not_mt940() -> None:
    with pytest.raises(StatementParseError, match="not an MT940 file"):
        parse_bytes(b"hello\nworld\n", format="mt940")


def test_bad_amount_is_located_in_a_long_statement() -> None:
    lines = [":20:REF", ":25:DE89370400440532013000", ":28C:1", ":60F:C240101EUR0,00"]
    for i in range(40):
        lines += [f":61:2401010101C{i + 1},00NTRFNONREF//B{i}", f":86:row {i}"]
    lines[4 + 2 * 25] = ":61:2401010101C,,,NTRFNONREF//BAD"  # amount the library cannot read
    lines.append(":62F:C240101EUR1,00")
    with pytest.raises(StatementParseError) as info:
        parse_bytes("\n".join(lines).encode(), format="mt940")
    assert info.value.errors[0].location == f"line {4 + 2 * 25 + 1}"


def test_swift_envelope_and_crlf_keep_line_numbers() -> None:
    data = (
        b"{1:F01BANKBEBBAXXX0000000000}{2:I940BANKBEBBXXXXN}{4:\r\n"
        b":20:REF\r\n:25:BE68539007547034\r\n:28C:1\r\n:60F:C240101EUR0,00\r\n"
        b":61:240102C5,00NTRFNONREF//B1\r\n:86:/REMI/Hello/RTRN/AC01/\r\n"
        b":62F:C240102EUR5,00\r\n-}"
    )
    (tx,) = parse_bytes(data)
    assert tx.location == "line 6"
    assert tx.description == "Hello"
    assert tx.return_reason == "AC01"
    assert tx.external_id == "B1"
