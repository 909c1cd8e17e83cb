"""CSV parsing: header/delimiter/number/date detection, errors and streaming."""

from __future__ import annotations

import datetime
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest

from banking.statements import CsvOptions, StatementParseError, iter_statement
from banking.statements.csv_format import detect_date_format

from .support import fixture, parse_bytes, parse_file


def test_latin1_preamble_decimal_comma() -> None:
    txs = parse_file(fixture("csv/de_latin1_preamble.csv"))
    assert len(txs) == 3
    first, second, third = txs
    assert first.amount == Decimal("-1234.56")
    assert first.currency == "EUR"
    assert first.booking_date == datetime.date(2024, 3, 1)
    assert first.counterparty_name == "Stadtwerke Köln GmbH"  # latin-1 decoded
    assert first.description == "Abschlag März Kd-Nr 4711"
    assert first.counterparty_account == "DE02120300000000202051"
    assert first.location == "line 7"  # 4 preamble lines + blank + header
    assert second.amount == Decimal("2500.00")
    assert second.value_date == datetime.date(2024, 3, 4)
    assert second.counterparty_name == "Müller & Söhne KG"
    assert second.structured_reference == "RF18539007547034"
    assert third.amount == Decimal("-3.5")
    assert third.description == "Brötchen"
    assert third.counterparty_account == ""
    assert third.location == "line 9"


def test_debit_credit_columns_and_date_disambiguation() -> None:
    txs = parse_file(fixture("csv/en_debit_credit.csv"))
    assert [t.amount for t in txs] == [Decimal("-4.50"), Decimal("2000.00"), Decimal("-10.00")]
    # 13/04/2024 only fits day-first, so 03/04/2024 is the 3rd of April.
    assert [t.booking_date for t in txs] == [
        datetime.date(2024, 4, 3),
        datetime.date(2024, 4, 13),
        datetime.date(2024, 4, 14),
    ]
    assert txs[0].counterparty_name == "Coffee House, Inc."
    assert txs[0].description == "Card payment"
    assert txs[0].currency == ""  # nothing says which currency
    assert txs[0].location == "line 2"


def test_sh_indicator_column_without_header() -> None:
    txs = parse_file(fixture("csv/sh_indicator.csv"))
    assert [t.amount for t in txs] == [Decimal("-120.00"), Decimal("1190.00")]
    assert txs[0].counterparty_name == "Versicherung AG"
    assert txs[0].description == "Beitrag 2024"
    assert txs[1].counterparty_account == "DE44500105175407324931"
    assert txs[1].currency == "EUR"


def test_named_indicator_column() -> None:
    data = (
        b"Datum;Naam / Omschrijving;Rekening;Tegenrekening;Af Bij;Bedrag (EUR);Mededelingen\n"
        b"20240105;Albert Heijn;NL91ABNA0417164300;NL20INGB0001234567;Af;12,34;Boodschappen\n"
        b"20240106;Werkgever BV;NL91ABNA0417164300;NL20INGB0007654321;Bij;2.000,00;Salaris\n"
    )
    txs = parse_bytes(data, csv_options=CsvOptions(currency="eur"))
    assert [t.amount for t in txs] == [Decimal("-12.34"), Decimal("2000.00")]
    assert txs[0].booking_date == datetime.date(2024, 1, 5)
    assert txs[0].account == "NL91ABNA0417164300"
    assert txs[0].counterparty_account == "NL20INGB0001234567"
    assert txs[0].description == "Boodschappen"
    assert txs[0].currency == "EUR"
    assert txs[0].account_currency == "EUR"


def test_malformed_rows_are_all_reported() -> None:
    with pytest.raises(StatementParseError) as info:
        parse_file(fixture("csv/malformed.csv"))
    errors = info.value.errors
    assert [e.location for e in errors] == ["line 3", "line 4", "line 5", "line 6"]
    assert "invalid date '2024-13-45'" in errors[0].message
    assert "invalid amount 'abc'" in errors[1].message
    assert errors[2].message == "missing amount"
    assert "missing date" in errors[3].message
    text = str(info.value)
    assert "line 3" in text and "line 6" in text


def test_row_errors_are_capped_at_50() -> None:
    rows = "".join(f"2024-01-{(i % 28) + 1:02d};not-a-number\n" for i in range(80))
    data = ("Date;Amount\n2024-01-01;1.00\n" + rows).encode()
    with pytest.raises(StatementParseError) as info:
        parse_bytes(data)
    assert len(info.value.errors) == 50
    assert info.value.errors[0].location == "line 3"
    assert "... and 30 more" in str(info.value)


def test_empty_statement() -> None:
    assert parse_file(fixture("csv/empty.csv")) == []


def test_no_header_is_a_structural_error() -> None:
    with pytest.raises(StatementParseError, match="cannot find a header row"):
        parse_file(fixture("csv/no_header.csv"))


def test_blank_file() -> None:
    with pytest.raises(StatementParseError, match="empty"):
        parse_bytes(b"\n\n", format="csv")


def test_explicit_columns_skip_rows_and_joined_description() -> None:
    data = (
        b"Report generated 2024-02-01\n"
        b"When|How much|Part 1|Part 2|Who|Ref\n"
        b"2024/02/01|-12.00|Monthly|fee|Bank|R-1\n"
    )
    options = CsvOptions(
        delimiter="|",
        skip_rows=1,
        date_format="%Y/%m/%d",
        decimal=".",
        currency="GBP",
        columns={
            "date": "When",
            "amount": "How much",
            "description": "Part 1+Part 2",
            "counterparty_name": "Who",
            "external_id": "Ref",
        },
    )
    (tx,) = parse_bytes(data, csv_options=options)
    assert tx.amount == Decimal("-12.00")
    assert tx.booking_date == datetime.date(2024, 2, 1)
    assert tx.description == "Monthly fee"
    assert tx.counterparty_name == "Bank"
    assert tx.external_id == "R-1"
    assert tx.currency == "GBP"
    assert tx.location == "line 3"


def test_explicit_columns_missing_in_header() -> None:
    options = CsvOptions(columns={"date": "Datum", "amount": "Nope"})
    with pytest.raises(StatementParseError, match="Nope"):
        parse_bytes(b"Datum;Betrag\n01.01.2024;1,00\n", csv_options=options)


def test_unknown_column_field_is_rejected() -> None:
    with pytest.raises(StatementParseError, match="unknown field"):
        parse_bytes(b"a;b\n", csv_options=CsvOptions(columns={"colour": "a"}))


def test_french_tab_separated_space_thousands() -> None:
    data = (
        "Date opération\tLibellé\tDébit\tCrédit\n"
        "02/01/2024\tLoyer janvier\t1 250,00\t\n"
        "05/01/2024\tVirement reçu\t\t3 000,50\n"
    ).encode()
    txs = parse_bytes(data)
    assert [t.amount for t in txs] == [Decimal("-1250.00"), Decimal("3000.50")]
    assert txs[0].booking_date == datetime.date(2024, 1, 2)
    assert txs[1].description == "Virement reçu"


def test_parentheses_trailing_minus_and_currency_symbols() -> None:
    data = (
        b"Posting Date,Details,Amount\n"
        b'2024-01-02,A,"(1,234.50)"\n'
        b"2024-01-03,B,12.00-\n"
        b'2024-01-04,C,"\xe2\x82\xac 1,000.00"\n'
    )
    txs = parse_bytes(data)
    assert [t.amount for t in txs] == [Decimal("-1234.50"), Decimal("-12.00"), Decimal("1000.00")]
    assert txs[2].currency == "EUR"


def test_ambiguous_dates_prefer_day_first_unless_dollars() -> None:
    day_first = parse_bytes(b"Date,Amount\n03/04/2024,1.00\n05/06/2024,2.00\n")
    assert day_first[0].booking_date == datetime.date(2024, 4, 3)
    month_first = parse_bytes(b"Date,Amount\n03/04/2024,$1.00\n05/06/2024,$2.00\n")
    assert month_first[0].booking_date == datetime.date(2024, 3, 4)
    assert month_first[0].currency == "USD"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-01-31", "2024-02-01"], "%Y-%m-%d"),
        (["31.01.2024"], "%d.%m.%Y"),
        (["12/31/2024", "01/02/2024"], "%m/%d/%Y"),
        (["20240131"], "%Y%m%d"),
        (["31-01-2024"], "%d-%m-%Y"),
        (["06 May 2020", "01 Mai 2020"], "%d %b %Y"),
        (["2024-01-31T10:20:00", "2024-02-01 08:00"], "%Y-%m-%d"),
        (["garbage"], None),
    ],
)
def test_detect_date_format(values: list[str], expected: str | None) -> None:
    assert detect_date_format(values) == expected


def test_utf8_with_stray_cp1252_byte_after_sample() -> None:
    # 64 KiB of ASCII rows, then one cp1252 byte: still decoded, no crash.
    rows = b"".join(b"2024-01-01;1,00;x\n" for _ in range(5000))
    data = b"Datum;Betrag;Verwendungszweck\n" + rows + b"2024-01-02;2,00;Gr\xfc\xdfe\n"
    txs = parse_bytes(data)
    assert txs[-1].description == "Grüße"
    assert len(txs) == 5001


def test_utf16_with_bom() -> None:
    text = "Datum\tBetrag\tVerwendungszweck\n01.02.2024\t-5,00\tÜberweisung\n"
    (tx,) = parse_bytes(text.encode("utf-16"))
    assert tx.amount == Decimal("-5.00")
    assert tx.description == "Überweisung"


def test_quoted_multiline_field_keeps_line_numbers() -> None:
    data = b'Date,Description,Amount\n2024-01-01,"two\nlines",1.00\n2024-01-02,x,bad\n'
    with pytest.raises(StatementParseError) as info:
        parse_bytes(data)
    assert info.value.errors[0].location == "line 4"


@pytest.mark.slow
def test_streaming_memory_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Buchungstag;Verwendungszweck;Empfänger;Betrag\n")
        for i in range(60_000):
            fh.write(
                f"{(i % 28) + 1:02d}.01.2024;Rechnung {i} mit etwas Text;"
                f"Firma {i % 97};-{i},{i % 100:02d}\n"
            )
    assert path.stat().st_size > 3_000_000
    count = 0
    total = Decimal(0)
    tracemalloc.start()
    try:
        with path.open("rb") as fh:
            for tx in iter_statement(fh, filename=path.name):
                count += 1
                total += tx.amount
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert total < 0
    # Holding the 60,000 parsed rows would take well over 20 MB; streaming stays far below.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_excel_sep_hint_line() -> None:
    (tx,) = parse_bytes(b"sep=;\nDatum;Betrag;Text\n01.02.2024;1,5;Hallo\n")
    assert tx.amount == Decimal("1.5")
    assert tx.location == "line 3"


def test_oversized_field_is_a_parse_error() -> None:
    data = b"Date,Amount,Memo\n2024-01-01,1.00,ok\n2024-01-02,2.00,\"" + b"x" * 200_000 + b'"\n'
    with pytest.raises(StatementParseError, match="malformed CSV") as info:
        parse_bytes(data)
    assert info.value.errors[0].location == "line 3"


def test_undecidable_thousands_follow_header_language() -> None:
    english = parse_bytes(b'Date,Description,Amount\n2024-01-01,x,"1,234"\n')
    assert english[0].amount == Decimal("1234")
    german = parse_bytes(b"Buchungstag;Verwendungszweck;Betrag\n01.01.2024;x;1.234\n")
    assert german[0].amount == Decimal("1234")
    german_decimal = parse_bytes(b"Buchungstag;Verwendungszweck;Betrag\n01.01.2024;x;1,234\n")
    assert german_decimal[0].amount == Decimal("1.234")


def test_reference_column_is_the_bank_reference() -> None:
    data = (
        b"Date,Description,Amount,Reference\n"
        b"2024-01-01,a,1.00,REF000000001\n2024-01-02,b,2.00,TRX-2024/02\n"
    )
    first, second = parse_bytes(data)
    assert (first.external_id, second.external_id) == ("REF000000001", "TRX-2024/02")


def test_reference_column_of_repeated_codes_is_not_the_bank_reference() -> None:
    """DBS heads its transaction codes "Reference": as dedup keys they would drop the next
    import's rows of the same code as duplicates."""
    data = b"Date,Description,Amount,Reference\n2024-01-01,a,1.00,MST\n2024-01-02,b,2.00,MST\n"
    assert [t.external_id for t in parse_bytes(data)] == ["", ""]
    texts = b"Date,Description,Amount,Reference\n2024-01-01,a,1.00,Rent March\n2024-01-02,b,2.00,X1\n"
    assert [t.external_id for t in parse_bytes(texts)] == ["", ""]  # free text is not an id


def test_an_identifier_column_wins_over_reference() -> None:
    data = b"Date,Amount,Transaction ID,Reference\n2024-01-01,1.00,T-1,R-1\n"
    (tx,) = parse_bytes(data)
    assert tx.external_id == "T-1"


def test_a_line_with_thousands_of_cells_is_not_a_header() -> None:
    """Classifying every cell of such a line as a header name took ~40 s for 10 MB."""
    data = b"Date,Amount" + b",x" * 1000 + b"\n2024-01-01,1.00\n"
    with pytest.raises(StatementParseError, match="cannot find a header row"):
        parse_bytes(data)
