"""The pure advice readers (camt.054, CSV): what they take, what they refuse, whole files only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from remittances.parsing import (
    MAX_LINES_PER_ADVICE,
    AdviceParseError,
    ParsedAdvice,
    ParsedAdviceLine,
    parse_advice_file,
    parse_camt054,
    parse_csv_advices,
    validate_advice,
)

D = Decimal
FIXTURE = Path(__file__).parent / "fixtures" / "batch.camt054.xml"


def camt(entries: str, version: str = "001.02") -> bytes:
    return (
        f'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.{version}">'
        f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>M</MsgId></GrpHdr><Ntfctn><Id>NTF-7</Id>{entries}"
        "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


def one_document(total: str, indicator: str, paid: str) -> str:
    return (
        f'<Ntry><Amt Ccy="EUR">{total}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><NtryDtls><TxDtls>'
        f'<Amt Ccy="EUR">{paid}</Amt><RmtInf><Strd><RfrdDocInf><Nb>A</Nb></RfrdDocInf></Strd></RmtInf>'
        "</TxDtls></NtryDtls></Ntry>"
    )


def test_camt054_fixture_reads_reference_payer_lines_and_discounts() -> None:
    fmt, (advice,) = parse_advice_file(FIXTURE.read_bytes())
    assert fmt == "camt054"
    assert (advice.reference, advice.end_to_end_id, advice.amount, advice.currency) == (
        "PAYRUN-5531",
        "E2E-99887766",
        D("348.00"),
        "USD",
    )
    assert (advice.payer_name, advice.payer_account, advice.payment_date) == (
        "Acme Supplies GmbH",
        "DE89370400440532013000",
        dt.date(2024, 3, 20),
    )
    assert advice.lines == (
        ParsedAdviceLine("INV-1001", D("98.00"), D("2.00")),  # .08: DscntApldAmt/Amt
        ParsedAdviceLine("INV-1002", D("250.00"), D(0)),  # one document: the TxDtls amount
    )


def test_camt054_version_02_discounts_several_documents_and_debits() -> None:
    entry = (
        '<Ntry><Amt Ccy="EUR">150.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><ValDt><Dt>2024-05-02</Dt></ValDt>'
        "<NtryDtls><Btch><PmtInfId>RUN-2024-05</PmtInfId></Btch><TxDtls>"
        "<RltdPties><Cdtr><Nm>Vendor AG</Nm></Cdtr></RltdPties><RmtInf>"
        '<Strd><RfrdDocInf><Nb>B-1</Nb></RfrdDocInf><RfrdDocAmt><DscntApldAmt Ccy="EUR">3.00</DscntApldAmt>'
        '<RmtdAmt Ccy="EUR">97.00</RmtdAmt></RfrdDocAmt></Strd>'
        "<Strd><RfrdDocInf><Nb>B-2</Nb></RfrdDocInf>"
        '<RfrdDocAmt><RmtdAmt Ccy="EUR">53.00</RmtdAmt></RfrdDocAmt></Strd>'
        "</RmtInf></TxDtls></NtryDtls></Ntry>"
        # an ordinary notification without documents is no advice: skipped
        '<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>'
    )
    (advice,) = parse_camt054(camt(entry))
    assert (advice.reference, advice.payer_name, advice.payment_date) == (
        "RUN-2024-05",
        "Vendor AG",
        dt.date(2024, 5, 2),
    )
    assert advice.lines == (
        ParsedAdviceLine("B-1", D("97.00"), D("3.00")),
        ParsedAdviceLine("B-2", D("53.00")),
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><NtryDtls><TxDtls><RmtInf><Strd>'
         "<RfrdDocInf><Nb>A</Nb></RfrdDocInf></Strd><Strd><RfrdDocInf><Nb>B</Nb></RfrdDocInf></Strd>"
         "</RmtInf></TxDtls></NtryDtls></Ntry>", "one of several documents"),
        (one_document("1,00", "CRDT", "1.00"), "invalid amount"),
        (one_document("1.00", "X", "1.00"), "CdtDbtInd"),
        (one_document("2.00", "CRDT", "1.00"), "sum to"),
        ('<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>', "holds no remittance advice"),
    ],
)  # fmt: skip
def test_camt054_problems_refuse_the_file(entry: str, message: str) -> None:
    with pytest.raises(AdviceParseError) as error:
        parse_camt054(camt(entry))
    assert message in str([error.value.message, *map(str, error.value.problems)])


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>',
        b"<Document><BkToCstmrStmt/></Document>",  # a camt.053 statement is no advice
        b"<Document><unclosed>",
    ],
)
def test_camt054_unsafe_or_foreign_xml_is_refused(data: bytes) -> None:
    with pytest.raises(AdviceParseError):
        parse_camt054(data)


def test_csv_groups_rows_by_advice_and_reads_every_column() -> None:
    data = (
        "\ufeffAdvice,Payer,Payer_Account,Invoice,Amount,Discount,Currency,Date,End_To_End_Id\n"
        'RA-1,"Müller, Söhne",DE89 3704 0044 0532 0130 00,INV-1,100.00,2.00,eur,2024-03-01,E2E-1\n'
        'RA-1,"Müller, Söhne",DE89 3704 0044 0532 0130 00,INV-2,50.00,,eur,2024-03-01,E2E-1\n'
        "RA-2,Other,,X-9,7,0,JPY,,\n"
    ).encode("utf-8")
    first, second = parse_csv_advices(data)
    assert (first.reference, first.payer_name, first.payer_account, first.currency) == (
        "RA-1",
        "Müller, Söhne",
        "DE89370400440532013000",
        "EUR",
    )
    assert (first.amount, first.payment_date, first.end_to_end_id) == (
        D("150.00"),
        dt.date(2024, 3, 1),
        "E2E-1",
    )
    assert first.lines == (
        ParsedAdviceLine("INV-1", D("100.00"), D("2.00")),
        ParsedAdviceLine("INV-2", D("50.00")),
    )
    assert (second.amount, second.currency, second.payment_date) == (D("7"), "JPY", None)


def test_csv_tab_separated_and_windows_1252() -> None:
    data = "advice\tinvoice\tamount\tcurrency\tpayer\nA-1\tF-1\t1.50\tEUR\tCafé Zürich\n".encode("cp1252")
    (advice,) = parse_csv_advices(data)
    assert advice.payer_name == "Café Zürich" and advice.amount == D("1.50")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("advice;invoice;amount\nA;B;1\n", "missing currency"),
        ("advice;invoice;amount;currency;colour\nA;B;1;EUR;red\n", "unknown colour"),
        ("advice;invoice;amount;currency\nA;B;1.000,00;EUR\n", "line 2"),
        ("advice;invoice;amount;currency\nA;B;1e3;EUR\n", "line 2"),
        ("advice;invoice;amount;currency\nA;B;-1.00;EUR\n", "line 2"),
        ("advice;invoice;amount;currency\nA;B;1.00;EUR;extra\n", "5 cells"),
        ("advice;invoice;amount;currency\nA;B;1.00;EUR\nA;C;1.00;USD\n", "disagree on currency"),
        ("advice;invoice;amount;currency\nA;B;1.005;EUR\n", "more decimals"),
        ("advice;invoice;amount;currency\n;B;1.00;EUR\n", "no advice reference"),
        ("advice;invoice;amount;currency\n", "holds no remittance advice"),
        ("no separators here\n", "not a CSV advice file"),
    ],
)
def test_csv_problems_refuse_the_file(data: str, message: str) -> None:
    with pytest.raises(AdviceParseError) as error:
        parse_csv_advices(data.encode())
    assert message in str([error.value.message, *map(str, error.value.problems)])


def test_one_check_bounds_every_source() -> None:
    line = ParsedAdviceLine("INV-1", D("1.00"))
    too_many = ParsedAdvice("R-1", D(MAX_LINES_PER_ADVICE + 1), "EUR", (line,) * (MAX_LINES_PER_ADVICE + 1))
    assert any("at most 1000" in p for p in validate_advice(too_many))
    long_reference = ParsedAdvice("R" * 141, D("1.00"), "EUR", (line,))
    assert any("reference is longer" in p for p in validate_advice(long_reference))
    assert validate_advice(ParsedAdvice("R-1", D("1.00"), "EUR", (line,))) == []
