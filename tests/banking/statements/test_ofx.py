"""OFX/QFX parsing with the package's own tolerant tag extractor."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from banking.statements import StatementParseError

from .support import fixture, parse_bytes, parse_file


def test_two_accounts_bank_and_credit_card() -> None:
    txs = parse_file(fixture("ofx/two_accounts.ofx"))
    assert len(txs) == 3
    coffee, invoice, hotel = txs

    assert coffee.account == "DE89370400440532013000"
    assert coffee.account_currency == "EUR"
    assert coffee.amount == Decimal("-1.50")  # decimal comma in TRNAMT
    assert coffee.currency == "EUR"
    assert coffee.booking_date == datetime.date(2024, 3, 2)
    assert coffee.value_date == datetime.date(2024, 3, 1)  # DTUSER
    assert coffee.counterparty_name == "Smith & Sons"  # &amp; decoded
    assert coffee.description == "Coffee <large>"
    assert coffee.external_id == "CHK-0001"
    assert coffee.location == "STMTTRN #1"

    assert invoice.amount == Decimal("250.00")
    assert invoice.counterparty_name == "ACME Corp"  # PAYEE aggregate
    assert invoice.structured_reference == "RF38INV2024042"
    assert invoice.counterparty_account == "NL91ABNA0417164300"
    assert invoice.location == "STMTTRN #2"

    assert hotel.account == "4111111111111111"  # CCACCTFROM
    assert hotel.account_currency == "USD"
    assert hotel.currency == "GBP"  # CURRENCY/CURSYM overrides CURDEF
    assert hotel.amount == Decimal("-42.00")
    assert hotel.description == "London Hotel"  # empty MEMO falls back to NAME
    assert hotel.location == "STMTTRN #3"


def test_malformed_transactions_are_named() -> None:
    with pytest.raises(StatementParseError) as info:
        parse_file(fixture("ofx/malformed.ofx"))
    errors = info.value.errors
    assert [(e.location, e.message) for e in errors] == [
        ("STMTTRN #1", "invalid DTPOSTED '2024XX01'"),
        ("STMTTRN #2", "invalid TRNAMT '12.3.4': more than one decimal separator '.'"),
    ]


def test_truncated_file_is_rejected() -> None:
    with pytest.raises(StatementParseError, match="truncated"):
        parse_file(fixture("ofx/truncated.ofx"))


def test_empty_statement() -> None:
    assert parse_file(fixture("ofx/empty.ofx")) == []


def test_not_ofx() -> None:
    with pytest.raises(StatementParseError, match="no <OFX>"):
        parse_bytes(b"OFXHEADER:100\n\nnothing here", format="ofx")


def test_xml_ofx_with_entities_is_not_expanded() -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE OFX [<!ENTITY x "EXPANDED">]>\n'
        b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR</CURDEF>"
        b"<BANKACCTFROM><ACCTID>1</ACCTID></BANKACCTFROM><BANKTRANLIST>"
        b"<STMTTRN><DTPOSTED>20240101</DTPOSTED><TRNAMT>1.00</TRNAMT>"
        b"<NAME>&x;</NAME></STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS>"
        b"</BANKMSGSRSV1></OFX>"
    )
    (tx,) = parse_bytes(data)
    assert "EXPANDED" not in tx.counterparty_name


def test_cp1252_declared_and_utf8_sent() -> None:
    body = (
        "OFXHEADER:100\nDATA:OFXSGML\nCHARSET:1252\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
        "<CURDEF>EUR<BANKACCTFROM><ACCTID>1</BANKACCTFROM><BANKTRANLIST>"
        "<STMTTRN><DTPOSTED>20240101<TRNAMT>-1<NAME>Café Müller</STMTTRN>"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    )
    for encoding in ("utf-8", "cp1252"):
        (tx,) = parse_bytes(body.encode(encoding))
        assert tx.counterparty_name == "Café Müller"


@pytest.mark.parametrize(
    "body",
    [
        b"<A>" * 5000 + b"</A>" * 5000,  # was a RecursionError (a 500 for a 30 KB upload)
        b"<A>" * 20000 + b"</B>" * 20000,  # unclosed elements, stray end tags: was quadratic
    ],
)
def test_elements_nested_too_deep_are_refused(body: bytes) -> None:
    with pytest.raises(StatementParseError, match="nested more than 32 deep"):
        parse_bytes(b"OFXHEADER:100\n<OFX>" + body + b"</OFX>", format="ofx")
