"""Format detection and the iter_statement entry point."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from banking.statements import (
    SUPPORTED_FORMATS,
    StatementParseError,
    detect_format,
    iter_statement,
)

from .support import FIXTURES, NonSeekable, fixture

EXPECTED = {
    "csv/de_latin1_preamble.csv": "csv",
    "csv/en_debit_credit.csv": "csv",
    "csv/sh_indicator.csv": "csv",
    "csv/malformed.csv": "csv",
    "csv/empty.csv": "csv",
    "csv/no_header.csv": "csv",
    "ofx/two_accounts.ofx": "ofx",
    "ofx/malformed.ofx": "ofx",
    "ofx/truncated.ofx": "ofx",
    "ofx/empty.ofx": "ofx",
    "camt053/batch_rf.xml": "camt053",
    "camt053/billion_laughs.xml": "camt053",
    "camt053/external_entity.xml": "camt053",
    "camt053/malformed.xml": "camt053",
    "camt053/bad_amount.xml": "camt053",
    "camt053/empty.xml": "camt053",
    "mt940/basic.sta": "mt940",
    "mt940/malformed.sta": "mt940",
    "mt940/empty.sta": "mt940",
}


def test_every_fixture_is_listed() -> None:
    on_disk = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.*")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_detect_fixture(name: str, expected: str) -> None:
    head = fixture(name).read_bytes()[:65536]
    assert detect_format(head, None) == expected  # by content alone
    assert detect_format(head, "upload.bin") == expected  # a misleading extension is ignored


def test_supported_formats() -> None:
    assert SUPPORTED_FORMATS == ("csv", "ofx", "camt053", "mt940")


@pytest.mark.parametrize(
    ("head", "filename", "expected"),
    [
        (b"{1:F01BANKBEBBAXXX0000000000}{2:I940BANKBEBBXXXXN}{4:\r\n:20:X", None, "mt940"),
        (b"\x01\r\n:20:REF\r\n:25:123\r\n", None, "mt940"),
        (b"\xef\xbb\xbfDatum;Betrag\r\n", None, "csv"),
        (b"<OFX>\n<SIGNONMSGSRSV1>", None, "ofx"),
        (b"\n\n\nOFXHEADER:100\nDATA:OFXSGML", None, "ofx"),
        (b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.04'>",
         None, "camt053"),
        (b"garbage without structure", "statement.sta", "mt940"),  # extension as a hint
    ],
)
def test_detect_inline(head: bytes, filename: str | None, expected: str) -> None:
    assert detect_format(head, filename) == expected


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"%PDF-1.7 binary", "PDF"),
        (b"PK\x03\x04\x14\x00", "spreadsheet"),
        (b"<?xml version='1.0'?><Document><BkToCstmrAcctRpt/></Document>", "CAMT.052"),
        (b"<?xml version='1.0'?><html><body/></html>", "neither"),
        (b"just some words", "supported formats: csv, ofx, camt053, mt940"),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07\x08" * 20, "supported formats"),
    ],
)
def test_detect_unknown(head: bytes, message: str) -> None:
    with pytest.raises(StatementParseError, match=message):
        detect_format(head, "file.dat")


def test_iter_statement_on_non_seekable_stream() -> None:
    data = fixture("csv/de_latin1_preamble.csv").read_bytes()
    txs = list(iter_statement(NonSeekable(data)))
    assert [t.amount for t in txs] == [Decimal("-1234.56"), Decimal("2500.00"), Decimal("-3.5")]
    data = fixture("mt940/basic.sta").read_bytes()
    assert len(list(iter_statement(NonSeekable(data)))) == 3


def test_iter_statement_uses_stream_name() -> None:
    with fixture("ofx/two_accounts.ofx").open("rb") as fh:
        assert len(list(iter_statement(fh))) == 3


def test_iter_statement_unknown_format() -> None:
    with pytest.raises(StatementParseError, match="supported formats"):
        list(iter_statement(io.BytesIO(b"x"), format="qif"))


def test_iter_statement_is_lazy() -> None:
    # A generator: nothing is read until iteration starts.
    stream = io.BytesIO(b"")
    generator = iter_statement(stream)
    assert stream.tell() == 0
    with pytest.raises(StatementParseError):
        next(generator)
