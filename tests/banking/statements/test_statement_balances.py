"""Statement-level output of the parsers: which statements a file holds, their balances as the
file states them (read by the kernel's amount rule), and which transactions belong to each."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest

from banking.statements import StatementParseError, read_statement_file
from tests.banking.statement_builders import IBAN_SAVINGS, Entry, Statement, camt, mt940

D = Decimal


def read(data: bytes, fmt: str | None = None):
    parsed = read_statement_file(io.BytesIO(data), format=fmt)
    return parsed.statements, list(parsed.transactions)


# --- CAMT.053 ---------------------------------------------------------------------------------------


def test_camt_statements_own_their_entries_and_carry_their_balances() -> None:
    data = camt(
        Statement(
            opening="100.00",
            closing="-50.00",
            sequence="17",
            entries=[Entry("-200.00", "2024-03-05", "R1"), Entry("50.00", "2024-03-06", "R2")],
        ),
        Statement(
            opening="10.00",
            closing="10.00",
            account=IBAN_SAVINGS,
            statement_id="STMT-2",
            opening_type="PRCD",
        ),
        Statement(
            opening="0", closing="5.00", statement_id="STMT-3", entries=[Entry("5.00", "2024-03-07", "R3")]
        ),
    )
    statements, transactions = read(data)
    assert [s.location for s in statements] == ["Stmt[0]", "Stmt[1]", "Stmt[2]"]
    first, second, third = statements
    assert (first.account, first.currency, first.statement_id, first.sequence) == (
        "DE89370400440532013000",
        "EUR",
        "STMT-1",
        "17",
    )
    assert first.opening is not None and first.closing is not None
    assert (first.opening.amount, first.opening.date) == (D("100.00"), datetime.date(2024, 3, 1))
    assert (first.closing.amount, first.closing.date) == (D("-50.00"), datetime.date(2024, 3, 31))
    assert (first.first_transaction, first.transaction_count, first.movements) == (0, 2, D("-150.00"))
    # PRCD stands for the opening balance when OPBD is absent; no entries, no movements.
    assert second.opening is not None and second.opening.amount == D("10.00")
    assert (second.first_transaction, second.transaction_count, second.movements) == (2, 0, D(0))
    assert (third.first_transaction, third.transaction_count) == (2, 1)
    assert [t.external_id for t in transactions[third.first_transaction :]] == ["R3"]


def test_camt_balance_must_be_an_exact_amount_naming_its_place() -> None:
    data = camt(Statement(opening="100.00", closing="90.00")).replace(b">90.00<", b">9O.00<")
    with pytest.raises(StatementParseError) as refused:
        read(data)
    (error,) = refused.value.errors
    assert error.location == "Stmt[0]/Bal[1]"
    assert error.message.startswith("invalid amount '9O.00' in <Amt>")


def test_camt_balance_in_another_currency_is_not_the_accounts_balance() -> None:
    data = camt(Statement(opening="100.00", closing="90.00")).replace(
        b'<Amt Ccy="EUR">90.00</Amt>', b'<Amt Ccy="SEK">90.00</Amt>'
    )
    (statement,), _ = read(data)
    assert statement.currency == "EUR"
    assert statement.opening is not None
    assert statement.closing is None


def test_camt_movements_are_unknown_when_an_entry_is_in_another_currency() -> None:
    data = camt(Statement(opening="1.00", closing="1.00", entries=[Entry("5.00", "2024-03-05", "R1")]))
    (statement,), _ = read(data.replace(b'<Amt Ccy="EUR">5.00', b'<Amt Ccy="USD">5.00'))
    assert statement.movements is None


# --- MT940 --------------------------------------------------------------------------------------------


def test_mt940_messages_are_statements_with_their_balances() -> None:
    text = "\n".join(
        [
            mt940(),
            mt940(
                opening="C240331EUR900,00",
                closing="D240430EUR1,5",
                number="00002/001",
                lines=(":61:2404020402D901,50NTRFREF-2//B-2", ":86:Tax"),
                opening_tag="60M",
                closing_tag="62M",
            ),
        ]
    )
    statements, transactions = read(text.encode())
    first, second = statements
    assert (first.statement_id, first.sequence, first.currency) == ("STMT-1", "00001/001", "EUR")
    assert first.opening is not None and first.closing is not None
    assert (first.opening.amount, first.opening.date) == (D("1000.00"), datetime.date(2024, 3, 1))
    assert (first.closing.amount, first.closing.date) == (D("900.00"), datetime.date(2024, 3, 31))
    assert (first.first_transaction, first.transaction_count, first.movements) == (0, 1, D("-100.00"))
    # Intermediate balances (a statement continued on a next page) count as its balances.
    assert second.opening is not None and second.closing is not None
    assert (second.opening.amount, second.closing.amount) == (D("900.00"), D("-1.5"))
    assert (second.first_transaction, second.transaction_count) == (1, 1)
    assert transactions[1].amount == D("-901.50")
    assert first.period_start is None and first.period_end is None  # MT940 states no period


@pytest.mark.parametrize(
    ("closing", "why"),
    [
        ("C240331EUR1e3", "invalid amount '1e3' in :62F:"),
        ("C240331EUR900.00", "invalid amount '900.00' in :62F:"),
        ("C240331EUR", "invalid amount '' in :62F:"),
        ("X240331EUR900,00", ":62F: must be C or D"),
        ("C241331EUR900,00", "invalid date '241331' in :62F:"),
    ],
)
def test_mt940_balance_that_is_not_exact_rejects_the_file_naming_its_line(closing: str, why: str) -> None:
    """The library reads ``C240331EUR1e3`` as 1: balances are read by the kernel's rule instead."""
    with pytest.raises(StatementParseError) as refused:
        read(mt940(closing=closing).encode())
    (error,) = refused.value.errors
    assert error.location == "line 7"
    assert why in error.message


# --- OFX and CSV --------------------------------------------------------------------------------------

OFX = """OFXHEADER:100
DATA:OFXSGML

<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>USD
<BANKACCTFROM><BANKID>1<ACCTID>12345</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20240301<DTEND>20240331
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240305<TRNAMT>-10.00<FITID>F1<NAME>Shop</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>{balance}<DTASOF>20240331120000</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


def test_ofx_states_a_closing_balance_and_no_opening() -> None:
    (statement,), transactions = read(OFX.format(balance="90.00").encode())
    assert statement.opening is None
    assert statement.closing is not None
    assert (statement.closing.amount, statement.closing.date) == (D("90.00"), datetime.date(2024, 3, 31))
    assert (statement.period_start, statement.period_end) == (
        datetime.date(2024, 3, 1),
        datetime.date(2024, 3, 31),
    )
    assert (statement.account, statement.currency, statement.statement_id) == ("12345", "USD", "")
    assert (statement.transaction_count, statement.movements) == (1, D("-10.00"))
    assert len(transactions) == 1


def test_ofx_empty_balance_is_no_balance_and_a_bad_one_rejects_the_file() -> None:
    (statement,), _ = read(OFX.format(balance="").encode())
    assert not statement.has_balances
    with pytest.raises(StatementParseError) as refused:
        read(OFX.format(balance="9O.00").encode())
    assert refused.value.errors[0].location == "STMTRS #1/LEDGERBAL"


def test_csv_has_no_statements() -> None:
    parsed = read_statement_file(io.BytesIO(b"date;amount;description\n2024-03-01;1,00;x\n"), format="csv")
    assert parsed.statements == []
    assert len(list(parsed.transactions)) == 1
