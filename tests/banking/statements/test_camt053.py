"""CAMT.053 parsing: batches, statuses, references, safety."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from banking.statements import StatementParseError, read_camt053_balances

from .support import fixture, parse_bytes, parse_file


def test_batch_entry_is_split_and_references_found() -> None:
    txs = parse_file(fixture("camt053/batch_rf.xml"))
    # 3 TxDtls of the batch + 1 booked return; PDNG and INFO entries skipped.
    assert len(txs) == 4
    first, second, third, ret = txs

    assert first.location == "Stmt[0]/Ntry[0]/TxDtls[0]"
    assert first.amount == Decimal("-100.00")  # sign from the entry's DBIT
    assert first.currency == "EUR"
    assert first.account == "DE89370400440532013000"
    assert first.account_currency == "EUR"
    assert first.booking_date == datetime.date(2024, 3, 4)
    assert first.value_date == datetime.date(2024, 3, 5)
    assert first.counterparty_name == "Lieferant Eins GmbH"
    assert first.counterparty_account == "DE02120300000000202051"
    assert first.structured_reference == "RF18539007547034"  # CdtrRefInf/Ref normalised
    assert first.end_to_end_id == "E2E-1"
    assert first.external_id == "BATCH-REF-1"
    assert first.description == "SEPA Sammler"

    assert second.location == "Stmt[0]/Ntry[0]/TxDtls[1]"
    assert second.amount == Decimal("-200.00")  # AmtDtls/TxAmt
    assert second.end_to_end_id == ""  # NOTPROVIDED
    assert second.counterparty_name == "Lieferant Zwei"  # debit: the creditor
    assert second.counterparty_account == "123456"
    assert second.description == "Invoice 2024-042 ref RF38 INV2 0240 42 second line SEPA Sammler"
    assert second.structured_reference == "RF38INV2024042"  # RF found in Ustrd

    assert third.amount == Decimal("-50.00")
    assert third.counterparty_name == "Bank Fees Dept"  # Cdtr/Pty/Nm (v8 style)
    assert third.external_id == "TX-REF-3"  # TxDtls/Refs/AcctSvcrRef
    assert third.description == "Fee for March SEPA Sammler"

    assert ret.location == "Stmt[0]/Ntry[3]"
    assert ret.amount == Decimal("25.00")
    assert ret.booking_date == datetime.date(2024, 3, 8)  # from DtTm
    assert ret.value_date is None
    assert ret.external_id == "NREF-1"  # no AcctSvcrRef: NtryRef
    assert ret.return_reason == "AC04"
    assert ret.counterparty_name == "Kunde X"
    assert ret.counterparty_account == "NL91ABNA0417164300"
    assert sum(t.amount for t in txs) == Decimal("-325.00")


def test_balances() -> None:
    with fixture("camt053/batch_rf.xml").open("rb") as fh:
        balances = read_camt053_balances(fh)
    assert [(b.type, b.amount, b.currency, b.date) for b in balances] == [
        ("OPBD", Decimal("1000.00"), "EUR", datetime.date(2024, 3, 1)),
        ("CLBD", Decimal("675.00"), "EUR", datetime.date(2024, 3, 8)),
    ]
    with fixture("camt053/empty.xml").open("rb") as fh:
        (opening, _closing) = read_camt053_balances(fh)
    assert opening.amount == Decimal("-5.00")  # DBIT balance


@pytest.mark.parametrize("name", ["camt053/billion_laughs.xml", "camt053/external_entity.xml"])
def test_doctype_and_entities_are_rejected(name: str) -> None:
    with pytest.raises(StatementParseError, match="DOCTYPE"):
        parse_file(fixture(name))
    with pytest.raises(StatementParseError, match="DOCTYPE"):
        parse_file(fixture(name), format="camt053")


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(StatementParseError) as info:
        parse_file(fixture("camt053/malformed.xml"))
    (error,) = info.value.errors
    assert error.location == "line 10"
    assert "Ntry" in error.message


def test_bad_values_name_the_entry() -> None:
    with pytest.raises(StatementParseError) as info:
        parse_file(fixture("camt053/bad_amount.xml"))
    assert [(e.location, e.message) for e in info.value.errors] == [
        (
            "Stmt[0]/Ntry[0]",
            "invalid amount '1,50' in <Amt> on line 8: not a number written with the decimal separator '.'",
        ),
        ("Stmt[0]/Ntry[1]", "invalid or missing CdtDbtInd 'XXXX' in Stmt[0]/Ntry[1]"),
    ]


def test_empty_statement() -> None:
    assert parse_file(fixture("camt053/empty.xml")) == []


def test_other_xml_is_rejected() -> None:
    data = b'<?xml version="1.0"?><Document xmlns="urn:x"><Other/></Document>'
    with pytest.raises(StatementParseError, match="BkToCstmrStmt"):
        parse_bytes(data, format="camt053")


def test_v8_status_code_and_pending() -> None:
    data = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Acct><Id><Othr><Id>ACC-1</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2024-01-01</Dt></BookgDt></Ntry>
<Ntry><Amt Ccy="EUR">2.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
<BookgDt><Dt>2024-01-02</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
    (tx,) = parse_bytes(data)
    assert tx.amount == Decimal("-1.00")
    assert tx.account == "ACC-1"
    assert tx.account_currency == ""
