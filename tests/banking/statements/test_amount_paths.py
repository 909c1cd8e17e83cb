"""Every statement format reads amounts by the kernel's rule (issue 13.2): an exactly written
amount is imported digit for digit; a letter, exponent, second sign or second decimal separator
rejects the file, naming the line and the column. Properties per format, on whole files."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banking.statements import CsvOptions, ParsedTransaction, StatementParseError, iter_statement
from common.finance import CAMT_AMOUNT, MT940_AMOUNT, OFX_AMOUNT, csv_amount_format
from tests.common.finance.strategies import DEFECTS, PROPERTY_SETTINGS, defective_amounts, written_amounts


def parse(data: bytes, fmt: str, options: CsvOptions | None = None) -> list[ParsedTransaction]:
    return list(iter_statement(io.BytesIO(data), format=fmt, csv_options=options))


# --- CSV ------------------------------------------------------------------------------------------


def csv_file(amount: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerows([["Date", "Memo", "Amount"], ["2024-01-02", "x", amount]])
    return out.getvalue().encode()


def parse_csv(amount: str, decimal: str) -> list[ParsedTransaction]:
    return parse(csv_file(amount), "csv", CsvOptions(delimiter=";", decimal=decimal, currency="EUR"))


@pytest.mark.parametrize("decimal", [",", "."])
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_csv_amounts_are_imported_as_written(decimal: str, data: st.DataObject) -> None:
    text, expected = data.draw(written_amounts(csv_amount_format(decimal)))
    (tx,) = parse_csv(text, decimal)
    assert tx.amount == expected and tx.amount.as_tuple() == expected.as_tuple()


@pytest.mark.parametrize("decimal", [",", "."])
@pytest.mark.parametrize("defect", DEFECTS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_csv_defects_reject_the_file_naming_line_and_column(
    decimal: str, defect: str, data: st.DataObject
) -> None:
    text = data.draw(defective_amounts(csv_amount_format(decimal), defect))
    with pytest.raises(StatementParseError) as info:
        parse_csv(text, decimal)
    (error,) = info.value.errors
    assert error.location == "line 2"
    assert "column 3 ('Amount')" in error.message


@pytest.mark.parametrize(
    "amount",
    ["1.5e3", "12abc34", "5 Feb", "1e1000000", "1O0.00", "l00.00", "12,5", "-5.00-", "1.2.3"],
)
def test_csv_reproductions_of_the_issue_import_nothing(amount: str) -> None:
    """The decimal separator is detected (from the other rows), as for a real upload."""
    data = (
        "Date,Description,Amount\n"
        "2024-01-01,a,1234.50\n"
        '2024-01-02,b,"1,000.25"\n'
        f'2024-01-03,c,"{amount}"\n'
        "2024-01-04,d,7.00\n"
    ).encode()
    with pytest.raises(StatementParseError) as info:
        parse(data, "csv")
    (error,) = info.value.errors
    assert error.location == "line 4"
    assert f"invalid amount {amount!r} in column 3 ('Amount')" in error.message


def test_csv_decimal_comma_file_refuses_a_decimal_point_amount() -> None:
    data = b"Buchungstag;Verwendungszweck;Betrag\n01.01.2024;a;-1.234,56\n02.01.2024;b;1.5\n"
    with pytest.raises(StatementParseError, match="thousands separators must group exactly three"):
        parse(data, "csv")


def test_csv_debit_and_credit_columns_are_read_strictly_too() -> None:
    data = b"Date;Debit;Credit\n2024-01-01;12,50;\n2024-01-02;;1x0,00\n"
    with pytest.raises(StatementParseError) as info:
        parse(data, "csv")
    (error,) = info.value.errors
    assert error.location == "line 3"
    assert "column 3 ('Credit')" in error.message


# --- MT940 ------------------------------------------------------------------------------------------


def mt940_file(amount: str) -> bytes:
    return (
        ":20:REF\n:25:DE89370400440532013000\n:28C:1\n:60F:C240101EUR0,00\n"
        f":61:2401010101C{amount}NTRFNONREF//B1\n:86:x\n:62F:C240101EUR0,00\n"
    ).encode()


@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_mt940_amounts_are_imported_as_written(data: st.DataObject) -> None:
    text, expected = data.draw(written_amounts(MT940_AMOUNT))
    (tx,) = parse(mt940_file(text), "mt940")
    assert tx.amount == expected and tx.amount.as_tuple() == expected.as_tuple()
    assert tx.external_id == "B1"


@pytest.mark.parametrize("defect", DEFECTS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_mt940_defects_reject_the_file_naming_line_and_column(defect: str, data: st.DataObject) -> None:
    text = data.draw(defective_amounts(MT940_AMOUNT, defect))
    with pytest.raises(StatementParseError) as info:
        parse(mt940_file(text), "mt940")
    (error,) = info.value.errors
    assert error.location == "line 5"
    assert "at column 16" in error.message


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (":61:2401010101CR1a2,00NTRFNONREF//B1", "decimal separator ',' is missing"),  # was 1.00
        (":61:2401010101C1O0,00NTRFNONREF//B1", "decimal separator ',' is missing"),
        (":61:2401010101C1,5e3NTRFNONREF//B1", "transaction type code"),  # was 1.5, type 'E3NT'
        (":61:2401010101C12345678901234,00NTRF", "longer than 15"),  # was cut to 12345678901234
        (":61:2401010101C12,00//B1", "transaction type code"),
    ],
)
def test_mt940_amount_the_library_would_misread_is_refused(line: str, why: str) -> None:
    data = mt940_file("1,00").replace(b":61:2401010101C1,00NTRFNONREF//B1", line.encode())
    with pytest.raises(StatementParseError, match=why) as info:
        parse(data, "mt940")
    assert info.value.errors[0].location == "line 5"


def test_mt940_line_without_type_code_no_longer_swallows_the_previous_one() -> None:
    """The library files a :61: without a type code into the previous transaction."""
    data = (
        b":20:REF\n:25:DE89370400440532013000\n:28C:1\n:60F:C240101EUR0,00\n"
        b":61:2401010101C1,00\n:86:first\n:61:2401020102C2,00NTRFNONREF\n:86:second\n"
    )
    with pytest.raises(StatementParseError, match="transaction type code") as info:
        parse(data, "mt940")
    assert info.value.errors[0].location == "line 5"


# --- OFX --------------------------------------------------------------------------------------------


def ofx_file(amount: str) -> bytes:
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
        "<CURDEF>EUR<BANKACCTFROM><ACCTID>1</BANKACCTFROM><BANKTRANLIST>\n<STMTTRN>\n<TRNTYPE>DEBIT\n"
        f"<DTPOSTED>20240101\n<TRNAMT>{amount}\n<FITID>F1\n</STMTTRN>\n"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()


@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_ofx_amounts_are_imported_as_written(data: st.DataObject) -> None:
    text, expected = data.draw(written_amounts(OFX_AMOUNT))
    (tx,) = parse(ofx_file(text), "ofx")
    assert tx.amount == expected and tx.amount.as_tuple() == expected.as_tuple()


@pytest.mark.parametrize("defect", DEFECTS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_ofx_defects_reject_the_file_naming_the_element(defect: str, data: st.DataObject) -> None:
    text = data.draw(defective_amounts(OFX_AMOUNT, defect))
    with pytest.raises(StatementParseError) as info:
        parse(ofx_file(text), "ofx")
    (error,) = info.value.errors
    assert error.location == "STMTTRN #1"
    assert error.message.startswith("invalid TRNAMT")


# --- CAMT.053 -----------------------------------------------------------------------------------------


def camt_file(amount: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>\n'
        "<Stmt><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        f'<Ntry>\n<Amt Ccy="EUR">{amount}</Amt>\n<CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2024-01-01</Dt></BookgDt></Ntry>\n</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_camt_amounts_are_imported_as_written(data: st.DataObject) -> None:
    text, expected = data.draw(written_amounts(CAMT_AMOUNT))
    (tx,) = parse(camt_file(text), "camt053")
    assert -tx.amount == expected and (-tx.amount).as_tuple() == expected.as_tuple() or expected == 0


@pytest.mark.parametrize("defect", DEFECTS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_camt_defects_reject_the_file_naming_entry_and_line(defect: str, data: st.DataObject) -> None:
    text = data.draw(defective_amounts(CAMT_AMOUNT, defect))
    with pytest.raises(StatementParseError) as info:
        parse(camt_file(text), "camt053")
    (error,) = info.value.errors
    assert error.location == "Stmt[0]/Ntry[0]"
    assert "in <Amt> on line 5" in error.message


def test_amounts_stay_decimal_end_to_end() -> None:
    (tx,) = parse(camt_file("0.10"), "camt053")
    assert tx.amount == Decimal("-0.10") and isinstance(tx.amount, Decimal)


@pytest.mark.parametrize(
    ("tag", "location", "column"),
    [
        (":61:  2401010101C1a2,00NTRFNONREF", "line 5", 18),  # the library strips the value
        (":61:\n2401010101C1a2,00NTRFNONREF", "line 6", 12),  # value on the next line
        (":61:2401010101C\n1a2,00NTRFNONREF", "line 6", 1),  # amount on the next line
        (":61:2401010101C\n\n1a2,00NTRFNONREF", "line 7", 1),  # blank lines are dropped
    ],
)
def test_mt940_amount_is_checked_wherever_the_library_reads_it(tag: str, location: str, column: int) -> None:
    data = mt940_file("1,00").replace(b":61:2401010101C1,00NTRFNONREF//B1", tag.encode())
    with pytest.raises(StatementParseError) as info:
        parse(data, "mt940")
    (error,) = info.value.errors
    assert error.location == location
    assert f"invalid amount '1a2,00NTRFNONREF' at column {column}: " in error.message
