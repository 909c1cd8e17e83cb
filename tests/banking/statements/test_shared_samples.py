"""Real-world samples in ``shared/samples/statements`` (see SOURCES.md there).

Expected values were read off the files by hand, not copied from parser
output. The folder is a sibling of the project root (``/work/shared`` next
to ``/work/main``; the same layout in CI) or ``$STATEMENT_SAMPLES_DIR``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from banking.statements import (
    ParsedTransaction,
    detect_format,
    iter_statement,
    read_camt053_balances,
)
from tests.samples import statement_samples_dir

SAMPLES = statement_samples_dir()

# Fails when STATEMENT_SAMPLES_DIR names a folder without them, skips when unset (tests/samples.py).
pytestmark = pytest.mark.usefixtures("statement_samples")

D = Decimal
day = datetime.date


def parse(name: str) -> list[ParsedTransaction]:
    path = SAMPLES / name
    with path.open("rb") as fh:
        return list(iter_statement(fh, filename=path.name))


# (file, detected format, transaction count)
COUNTS = [
    ("csv/csv2ofx__c24.csv", "csv", 3),
    ("csv/csv2ofx__dbs.csv", "csv", 9),
    ("csv/csv2ofx__gls.csv", "csv", 1),
    ("csv/csv2ofx__schwab-checking.csv", "csv", 4),
    ("csv/csv2ofx__ubs-ch-fr_trimmed.csv", "csv", 3),
    ("ofx/bankfile__unnamed-bank_charset-8859-1-without-iso-prefix.qfx", "ofx", 1),
    ("ofx/ofxparse__bank_medium.ofx", "ofx", 3),
    ("ofx/ofxparse__checking.ofx", "ofx", 3),
    ("ofx/ofxparse__multiple_accounts.ofx", "ofx", 0),
    ("ofx/ofxparse__ofx-v102-empty-tags.ofx", "ofx", 1),
    ("ofx/ofxparse__suncorp.ofx", "ofx", 1),
    ("camt053/actual__camt.053.xml", "camt053", 7),
    ("camt053/genkgo-camt__camt053.v2.multi.statement.xml", "camt053", 2),
    ("camt053/genkgo-camt__camt053.v8.xml", "camt053", 1),
    ("mt940/actual__data.sta", "mt940", 6),
    ("mt940/wolph-mt940__betterplace_sepa_snippet.sta", "mt940", 11),
    ("mt940/wolph-mt940__jejik_abnamro.sta", "mt940", 10),
    ("mt940/wolph-mt940__jejik_rabobank-iban.sta", "mt940", 4),
    ("mt940/wolph-mt940__mBank_mt940.sta", "mt940", 3),
    ("mt940/wolph-mt940__sberbank_171011_01234945.sta", "mt940", 3),
]


def test_every_sample_is_covered() -> None:
    on_disk = {
        p.relative_to(SAMPLES).as_posix()
        for folder in ("csv", "ofx", "camt053", "mt940")
        for p in (SAMPLES / folder).iterdir()
    }
    assert on_disk == {name for name, _fmt, _count in COUNTS}


@pytest.mark.parametrize(("name", "fmt", "count"), COUNTS)
def test_detect_and_count(name: str, fmt: str, count: int) -> None:
    path = SAMPLES / name
    assert detect_format(path.read_bytes()[:65536], path.name) == fmt
    txs = parse(name)
    assert len(txs) == count
    for tx in txs:
        assert isinstance(tx.amount, Decimal)
        assert tx.amount != 0 or fmt == "ofx"
        assert tx.currency == tx.currency.upper()
        assert tx.location


def expect(tx: ParsedTransaction, **fields: object) -> None:
    actual = {key: getattr(tx, key) for key in fields}
    assert actual == fields


# --------------------------------------------------------------------- CSV
def test_csv_c24() -> None:
    first, second, last = parse("csv/csv2ofx__c24.csv")
    expect(first, amount=D("-123.45"), currency="EUR", booking_date=day(2025, 12, 5),
           counterparty_name="My savings account", description="To be donated",
           account="0987654321", location="line 2")
    expect(second, amount=D("123.45"), counterparty_name="My main account", account="1234567890")
    expect(last, amount=D("-50.00"), currency="EUR", booking_date=day(2026, 1, 5),
           counterparty_name="Ärzte ohne Grenzen", counterparty_account="PAYEE_IBAN",
           description="Ihre Spendernummer 1234567 SEPA-Mandat 1234567-001 "
                       "Vielen Dank für Ihre Spende",
           location="line 4")


def test_csv_dbs_preamble_and_debit_column() -> None:
    txs = parse("csv/csv2ofx__dbs.csv")
    assert all(t.amount < 0 for t in txs)  # only the Debit Amount column is filled
    expect(txs[0], amount=D("-34.65"), booking_date=day(2020, 5, 6),
           description="COLD STORAGE NG 04MAY 4628-4500-", location="line 21")
    expect(txs[5], amount=D("-2603.31"), booking_date=day(2020, 5, 2))
    expect(txs[-1], amount=D("-4100.00"), booking_date=day(2020, 5, 1),
           description="XXX : I-BANK", location="line 29")
    assert sum(t.amount for t in txs) == D("-16880.26")


def test_csv_gls_latin1_decimal_comma() -> None:
    (tx,) = parse("csv/csv2ofx__gls.csv")
    expect(tx, amount=D("-98.76"), currency="EUR", booking_date=day(2017, 10, 10),
           value_date=day(2017, 10, 10), counterparty_name="Drillisch Online AG",
           account="1234567890",
           description="B4658645 U123456789 B123456 987 SIMply Rechnung", location="line 2")


def test_csv_schwab_withdrawal_deposit_us_dates() -> None:
    txs = parse("csv/csv2ofx__schwab-checking.csv")
    expect(txs[0], amount=D("20.00"), currency="USD", booking_date=day(2022, 8, 17),
           description="Deposit Mobile Banking")
    expect(txs[2], amount=D("-75.00"), booking_date=day(2022, 8, 9),
           description="Check Paid #558")
    expect(txs[-1], amount=D("-57.27"), currency="USD", booking_date=day(2022, 8, 4),
           description="PAYPAL INST XFER 220803~ Tran: ACHDW", location="line 5")


def test_csv_ubs_debit_credit_french() -> None:
    first, second, last = parse("csv/csv2ofx__ubs-ch-fr_trimmed.csv")
    expect(first, amount=D("-10.00"), currency="CHF", booking_date=day(2019, 3, 31),
           external_id="A01234BC01234567", description="Solde prix prestations")
    expect(second, amount=D("240.00"), booking_date=day(2019, 2, 28),
           external_id="3456789ZT1234567")
    assert second.description.startswith("Virement postal ASSOCIATION FOO-BAR")
    expect(last, amount=D("-200.00"), currency="CHF", booking_date=day(2019, 4, 27),
           external_id="9979360TI2115087")
    assert last.description.endswith("E-Banking CHF intérieur")


# --------------------------------------------------------------------- OFX
def test_ofx_charset_without_iso_prefix() -> None:
    (tx,) = parse("ofx/bankfile__unnamed-bank_charset-8859-1-without-iso-prefix.qfx")
    expect(tx, amount=D("-10.00"), currency="USD", booking_date=day(2026, 1, 15),
           external_id="T0001", counterparty_name="ANON MERCHANT", description="ANON MEMO",
           account="0000123456", location="STMTTRN #1")


def test_ofx_bank_medium() -> None:
    first, second, last = parse("ofx/ofxparse__bank_medium.ofx")
    expect(first, amount=D("-6.60"), currency="CAD", booking_date=day(2009, 4, 1),
           external_id="0000123456782009040100001", counterparty_name="MCDONALD'S #112",
           description="POS MERCHANDISE;MCDONALD'S #112", account="12300 000012345678")
    expect(second, amount=D("-316.67"), counterparty_name="Joe's Bald Hairstyles")
    expect(last, amount=D("-22.00"), booking_date=day(2009, 4, 3),
           external_id="0000123456782009040300005", counterparty_name="CONNIE'S HAIR D",
           location="STMTTRN #3")


def test_ofx_checking() -> None:
    first, second, last = parse("ofx/ofxparse__checking.ofx")
    expect(first, amount=D("0.01"), currency="USD", booking_date=day(2011, 3, 31),
           external_id="0000486", account="1452687~7")
    expect(second, amount=D("-34.51"), external_id="0000487")
    expect(last, amount=D("-25.00"), booking_date=day(2011, 4, 7), external_id="0000488",
           counterparty_name="RETURNED CHECK FEE, CHECK # 319",
           description="RETURNED CHECK FEE, CHECK # 319 FOR $45.33 ON 04/07/11")


def test_ofx_empty_tags_and_blank_lines() -> None:
    (tx,) = parse("ofx/ofxparse__ofx-v102-empty-tags.ofx")
    expect(tx, amount=D("12.34"), currency="AUD", account_currency="",
           booking_date=day(2018, 5, 7), account="12345678", description="CBA:Transfer",
           external_id="", counterparty_name="")


def test_ofx_suncorp_cdata_crlf() -> None:
    (tx,) = parse("ofx/ofxparse__suncorp.ofx")
    expect(tx, amount=D("-16.85"), currency="AUD", booking_date=day(2013, 12, 15),
           external_id="1", account="123456789",
           counterparty_name="EFTPOS WDL HANDYWAY ALDI STORE",
           description="EFTPOS WDL HANDYWAY ALDI STORE GEELONG WEST VICAU")


# -------------------------------------------------------------------- CAMT
def test_camt_actual_v04() -> None:
    txs = parse("camt053/actual__camt.053.xml")
    assert {t.account for t in txs} == {"DE14740618130000033626"}
    assert {t.currency for t in txs} == {"EUR"}
    expect(txs[0], amount=D("0.60"), booking_date=day(2013, 12, 30),
           external_id="2013123001153870000", counterparty_name="Testkonto Nummer 2",
           counterparty_account="DE58740618130100033626",
           end_to_end_id="STZV-EtE28122013-11:29-1", location="Stmt[0]/Ntry[0]")
    assert txs[0].description.startswith("Sammler aus Testknto 2 Zweite Ueberweisung EREF:")
    expect(txs[2], amount=D("-89.85"), booking_date=day(2024, 3, 12),
           value_date=day(2024, 3, 11), description="Supermarkt A",
           end_to_end_id="VSDB 4395 9061")
    # SEPA direct-debit return.
    expect(txs[3], amount=D("1.20"), booking_date=day(2014, 1, 7), value_date=day(2014, 1, 5),
           return_reason="MD06", external_id="2014010509572410000")
    # QRR structured reference, debit: counterparty is the creditor.
    expect(txs[4], amount=D("-80"), counterparty_name="Rega",
           counterparty_account="CH803000000", structured_reference="002462",
           description="Rega")
    # Batch of two TxDtls with TxAmt.
    expect(txs[5], amount=D("2.25"), booking_date=day(2014, 1, 3),
           end_to_end_id="STZV-EtE27122013-11:05-1", description="Lastschrift 2. Zahlung TAN:747216",
           location="Stmt[0]/Ntry[5]/TxDtls[0]")
    expect(txs[6], amount=D("1.20"), end_to_end_id="STZV-EtE27122013-11:05-2",
           location="Stmt[0]/Ntry[5]/TxDtls[1]")
    with (SAMPLES / "camt053/actual__camt.053.xml").open("rb") as fh:
        balances = read_camt053_balances(fh)
    assert [(b.type, b.amount) for b in balances] == [("PRCD", D("24.16")), ("CLBD", D("27.61"))]


def test_camt_v2_two_statements() -> None:
    first, second = parse("camt053/genkgo-camt__camt053.v2.multi.statement.xml")
    expect(first, amount=D("8.85"), currency="EUR", account="NL26VAYB8060476890",
           booking_date=day(2014, 12, 31), value_date=day(2015, 1, 2),
           end_to_end_id="000000001", description="Transaction Description 1",
           counterparty_name="", location="Stmt[0]/Ntry[0]")
    expect(second, amount=D("-7.00"), counterparty_name="Company Name 2",
           counterparty_account="NL56AGDH9619008421", end_to_end_id="000000002",
           location="Stmt[1]/Ntry[0]")


def test_camt_v8() -> None:
    (tx,) = parse("camt053/genkgo-camt__camt053.v8.xml")
    expect(tx, amount=D("8.85"), currency="EUR", account="NL26VAYB8060476890",
           account_currency="", booking_date=day(2014, 12, 31), value_date=day(2015, 1, 2),
           external_id="AAAASESS-FP-CN_98765/01", end_to_end_id="MUELL/FINP/RA12345",
           counterparty_name="NAME NAME", counterparty_account="NL56AGDH9619008421",
           structured_reference="4654654654654654")
    with (SAMPLES / "camt053/genkgo-camt__camt053.v8.xml").open("rb") as fh:
        balances = read_camt053_balances(fh)
    assert [(b.type, b.amount, b.currency) for b in balances] == [
        ("OPBD", D("18.15"), "EUR"),
        ("CLBD", D("-27.00"), "SEK"),
        ("OPAV", D("35.00"), "CHF"),
        ("CLAV", D("-2700"), "JPY"),
    ]


# ------------------------------------------------------------------- MT940
def test_mt940_abnamro_value_vs_entry_date() -> None:
    txs = parse("mt940/wolph-mt940__jejik_abnamro.sta")
    assert {t.account for t in txs} == {"517852257"}
    expect(txs[0], amount=D("-9"), currency="EUR", booking_date=day(2011, 5, 24),
           value_date=day(2011, 5, 24), external_id="", location="line 8")
    assert txs[0].description.startswith("GIRO 428428 KPN - DIGITENNE BETALINGSKENM.")
    assert txs[0].description.endswith("BETREFT FACTUUR D.D. 20-05-2011 INCL. 1,44 BTW")
    # :61:1105210523D11,59 -> value 2011-05-21, entry (booking) 2011-05-23.
    expect(txs[1], amount=D("-11.59"), booking_date=day(2011, 5, 23),
           value_date=day(2011, 5, 21), location="line 12")
    expect(txs[-1], amount=D("-15"), booking_date=day(2011, 5, 24),
           description="52.89.39.882 MYCOM DEN HAAG", location="line 38")


def test_mt940_rabobank_structured_86() -> None:
    txs = parse("mt940/wolph-mt940__jejik_rabobank-iban.sta")
    assert {t.account for t in txs} == {"NL71RABO0123456789"}
    expect(txs[0], amount=D("-25.00"), booking_date=day(2013, 1, 1),
           counterparty_name="CONTRA ACCOUNT HOLDER",  # wrapped mid-word in the file
           counterparty_account="NL70ABNA0987654321",  # 2nd line of :61:
           end_to_end_id="01-01-2013 12:00 0030000987654321", location="line 6")
    expect(txs[1], amount=D("-10.00"), booking_date=day(2013, 1, 2),
           counterparty_name="JOHN DOE", description="Reference 201301234")
    expect(txs[-1], amount=D("-10.00"), booking_date=day(2013, 1, 9), location="line 22")


def test_mt940_betterplace_gvc_two_accounts() -> None:
    txs = parse("mt940/wolph-mt940__betterplace_sepa_snippet.sta")
    assert [t.account for t in txs] == ["50880050/0194787400888"] * 4 + [
        "50880050/0194791600888"
    ] * 7
    expect(txs[0], amount=D("50990.05"), currency="EUR", value_date=day(2007, 9, 7),
           booking_date=day(2007, 9, 4), external_id="0724710333343453",
           counterparty_name="KARL KAUFMANN", counterparty_account="DE14508800500194785000",
           end_to_end_id="EndToEndId TFNR 22 004 00001",
           description="Verw CTSc-01 BC-PPP TFNr 22 004", location="line 5")
    expect(txs[3], amount=D("-1500.00"), external_id="536D80EFEC56ACF8")
    expect(txs[4], amount=D("-0.08"), end_to_end_id="TFNR 40001 00005", return_reason="914")
    expect(txs[6], amount=D("15000"))  # "15000," without decimals
    expect(txs[-1], amount=D("-3572569.03"), booking_date=day(2007, 9, 4), external_id="",
           location="line 53")


def test_mt940_mbank_control_characters() -> None:
    txs = parse("mt940/wolph-mt940__mBank_mt940.sta")
    assert [t.external_id for t in txs] == ["MB170119012058", "MB170119012085", "MB170119012121"]
    for tx in txs:
        expect(tx, amount=D("0.01"), currency="PLN", booking_date=day(2017, 1, 19),
               account="PL29114010810000267002001002")
    assert "TNR: 179171073864111.010001" in txs[0].description
    assert "OD: JAN NOWAK UL. NIJAKA" in txs[0].description


def test_mt940_sberbank_ns_tags() -> None:
    txs = parse("mt940/wolph-mt940__sberbank_171011_01234945.sta")
    assert [t.amount for t in txs] == [D("-2402.00"), D("-3460.00"), D("-3575.00")]
    for tx in txs:
        expect(tx, currency="HUF", booking_date=day(2017, 10, 11), account="1966315302010001")
    assert "ERGO Eletbiztosito Zrt." in txs[1].description


def test_mt940_actual_swift_envelope_utf8() -> None:
    txs = parse("mt940/actual__data.sta")
    assert {t.account for t in txs} == {"FR7630006000011234567890189"}
    expect(txs[0], amount=D("-42.50"), currency="EUR", booking_date=day(2025, 8, 1),
           external_id="BANKREF001", counterparty_name="Boulangerie L'Étoile",
           counterparty_account="FR1420041010050500013M02606", description="Facture 2025-0042",
           location="line 8")
    expect(txs[1], amount=D("1200.00"), description="Salaire août 2025")
    expect(txs[2], amount=D("-89.99"), counterparty_name="MÜLLER GMBH",
           description="Rechnung 4711")
    expect(txs[-1], amount=D("-31.00"), booking_date=day(2025, 8, 6), external_id="BANKREF006",
           location="line 19")
