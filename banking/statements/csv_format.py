"""Streaming CSV statement reader with header, delimiter, number and date detection.

Detection works on a bounded buffer (the first 30 lines for the header, up
to 200 more for samples); the rows are then streamed, so memory does not
grow with the file.

Decisions where banks disagree:

* Header: the first of the first 30 lines that maps to a date column and an
  amount (or debit/credit) column, for the delimiter (``,;\\t|``) mapping the
  most columns. Header names are matched case/accent-insensitively against
  English, German, French and Dutch synonyms. A bare ``IBAN`` column is the
  counterparty's, ``Kontonummer``/``Account`` the statement's own account.
  A plain ``Reference`` (``Référence``) column is the bank reference
  (``external_id``, the import's dedup key) when no other column is, and
  only when its sampled values look like one: identifiers without spaces,
  each with a digit, none repeated. Banks such as DBS head their
  transaction codes (``MST``, ``ITR``, repeated on every row) that way, and
  a code taken as the reference would make the next import drop every row
  of that code as a duplicate; then the column stays unused (map it
  explicitly if wanted).
* Description: purpose-like columns (Verwendungszweck, VWZ1.., Memo,
  Description 1.., Transaction Ref1..) win over generic ones (Description,
  Buchungstext), joined with single spaces.
* Dates: the first format that parses every sampled value; when day-first
  and month-first both fit (all days <= 12) day-first wins unless the
  amounts carry ``$`` or the currency is USD. Rows after the sample that do
  not fit become row errors: set ``CsvOptions.date_format`` then.
* Decimal separator: voted by the sampled amounts (``1.234,56``, ``12,5``);
  undecided files (only ``1,234``-like values) use ``,`` when the delimiter
  is ``;`` or the headers are German/French/Dutch, else ``.``.
* Debit/credit columns: amount = |credit| - |debit|. An indicator column
  (S/H, D/C, Soll/Haben, Af/Bij, DR/CR, +/-) forces the sign; an unnamed
  column right after the amount holding only such marks is taken as one.
* Rows whose date and amount cells are all empty are skipped (blank or
  separator lines); any other incomplete row is an error.
* Currency: currency column, else ``CsvOptions.currency``, else a symbol or
  ISO code written in the amount (``€``, ``£``, ``$`` = USD), else "".

The pieces: ``csv_synonyms`` (header names and indicator marks, as data), ``csv_detect`` (header
row, columns, encoding, decimal separator), ``csv_dates`` (date formats); this module reads.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import chain
from typing import BinaryIO

from common.finance import (
    AmountError,
    AmountFormat,
    amount_reader,
    compact_account,
    csv_amount_format,
    find_rf_reference,
)

from ._text import PrefixedStream, collapse_ws
from .csv_dates import DateParser, detect_date_format
from .csv_detect import (
    REFERENCE_ID,
    HeaderMapping,
    choose_encoding,
    detect_decimal,
    map_header,
    normalize_header,
)
from .csv_synonyms import CREDIT_MARKS, DEBIT_MARKS, DECIMAL_COMMA_WORDS, FIELDS
from .types import CsvOptions, ParsedTransaction, RowError, StatementParseError

HEADER_SCAN_LINES = 30
SAMPLE_LINES = 200
MAX_ERRORS = 50
#: A line with more cells is not a header: classifying each cell of a huge line of commas as a
#: header name takes seconds per megabyte (docs/benchmarks.md); real exports have at most a few
#: dozen columns.
MAX_HEADER_COLUMNS = 500
_ENCODING_SAMPLE = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")


def _records(
    lines: Iterable[str], delimiter: str, *, tolerant: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """csv records with the 1-based physical line each one starts on.

    ``tolerant`` (detection on the buffered head) stops at a broken record
    instead of raising: the real pass reports it with its line number.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            yield start, record
            start = reader.line_num + 1
    except csv.Error:
        if not tolerant:
            raise


class _CsvReader:
    """Holds the detected layout and turns records into transactions."""

    def __init__(self, stream: BinaryIO, options: CsvOptions) -> None:
        self.options = options
        if options.columns:
            unknown = sorted(set(options.columns) - set(FIELDS))
            if unknown:
                raise StatementParseError(
                    f"unknown field(s) in CsvOptions.columns: {', '.join(unknown)}; "
                    f"known fields: {', '.join(FIELDS)}"
                )
        head = stream.read(_ENCODING_SAMPLE)
        if isinstance(head, str):  # a text stream slipped in: re-encode as UTF-8
            head = head.encode("utf-8")
            encoding, errors = "utf-8", "strict"
            rest: BinaryIO = io.BytesIO(stream.read().encode("utf-8"))
        else:
            encoding, errors = choose_encoding(head, options.encoding)
            rest = stream
        self.encoding = encoding
        raw = io.BufferedReader(PrefixedStream(head, rest))
        try:
            self.text = io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")
        except LookupError:
            raise StatementParseError(f"unknown encoding {encoding!r}") from None
        self.buffer: list[str] = []
        self._fill_buffer(
            (options.skip_rows or 0) + 1 if options.skip_rows is not None else HEADER_SCAN_LINES
        )

    def _fill_buffer(self, count: int) -> None:
        try:
            while len(self.buffer) < count:
                line = self.text.readline()
                if not line:
                    break
                self.buffer.append(line)
        except UnicodeDecodeError as exc:
            raise StatementParseError(
                f"cannot decode the file as {self.encoding}: {exc.reason}",
                location=f"line {len(self.buffer) + 1}",
            ) from None

    # -- layout detection -------------------------------------------------
    def detect_layout(self) -> None:
        options = self.options
        delimiters = (options.delimiter,) if options.delimiter else _DELIMITERS
        excel_hint = re.fullmatch(r"\ufeff?sep=(.)\s*", self.buffer[0]) if self.buffer else None
        if excel_hint and not options.delimiter:
            delimiters = (excel_hint.group(1),)  # Excel's "sep=;" first line
        if not "".join(self.buffer).strip():
            raise StatementParseError("the CSV file is empty")
        best: tuple[int, int, str, HeaderMapping] | None = None
        for delimiter in delimiters:
            for start, record in _records(self.buffer, delimiter, tolerant=True):
                if options.skip_rows is not None and start != options.skip_rows + 1:
                    continue
                if not 2 <= len(record) <= MAX_HEADER_COLUMNS:
                    continue
                mapping = map_header(record, options.columns)
                if mapping is None:
                    continue
                key = (mapping.score(), -start)
                if best is None or key > best[:2]:
                    best = (key[0], key[1], delimiter, mapping)
                break  # the first fitting line of this delimiter is its header
        if best is None:
            where = (
                f"line {options.skip_rows + 1}"
                if options.skip_rows is not None
                else f"the first {HEADER_SCAN_LINES} lines"
            )
            wanted = (
                f"the columns {sorted(options.columns.values())}"
                if options.columns
                else "a date column and an amount (or debit/credit) column"
            )
            raise StatementParseError(
                f"cannot find a header row with {wanted} in {where}; set CsvOptions.columns / skip_rows"
            )
        _score, neg_start, self.delimiter, self.mapping = best
        self.header_line = -neg_start  # 1-based physical line of the header
        self._fill_buffer(len(self.buffer) + SAMPLE_LINES)
        self._detect_values()

    def _sample_rows(self) -> list[list[str]]:
        rows: list[list[str]] = []
        lines = self.buffer[self.header_line - 1 :]
        for _start, record in _records(lines, self.delimiter, tolerant=True):
            if _start == 1 or not any(cell.strip() for cell in record):
                continue
            rows.append(record)
        return rows

    def _detect_values(self) -> None:
        cols = self.mapping.columns
        rows = self._sample_rows()

        def cells(key: str) -> list[str]:
            idx = cols.get(key)
            if idx is None:
                return []
            return [r[idx] for r in rows if idx < len(r) and r[idx].strip()]

        amount_texts = cells("amount") + cells("debit") + cells("credit")
        # Unnamed column right after the amount holding only S/H-like marks.
        if "amount" in cols and "indicator" not in cols:
            nxt = cols["amount"] + 1
            headers = self.mapping.headers
            if nxt < len(headers) and not headers[nxt].strip():
                marks = [r[nxt].strip().lower() for r in rows if nxt < len(r) and r[nxt].strip()]
                if marks and all(m in DEBIT_MARKS or m in CREDIT_MARKS for m in marks):
                    cols["indicator"] = nxt

        reference = self.mapping.reference
        if reference is not None and "external_id" not in cols:
            values = [r[reference].strip() for r in rows if reference < len(r) and r[reference].strip()]
            if values and len(set(values)) == len(values) and all(map(REFERENCE_ID.fullmatch, values)):
                cols["external_id"] = reference

        explicit_currency = self.options.currency.upper()
        currencies = {c.strip().upper() for c in cells("currency")}
        self.default_currency = explicit_currency
        self.infer_currency = not explicit_currency and "currency" not in cols
        usd = explicit_currency == "USD" or currencies == {"USD"} or any("$" in t for t in amount_texts)
        if self.options.decimal:
            if self.options.decimal not in {".", ","}:
                raise StatementParseError(
                    f"CsvOptions.decimal must be '.' or ',', not {self.options.decimal!r}"
                )
            self.decimal = self.options.decimal
        else:
            words = set(" ".join(normalize_header(h) for h in self.mapping.headers).split())
            hint = "," if self.delimiter == ";" or words & DECIMAL_COMMA_WORDS else "."
            if words & {"amount", "withdrawal", "deposit"}:
                hint = "."
            self.decimal = detect_decimal(amount_texts, hint)
        self.amount_format: AmountFormat = csv_amount_format(self.decimal)
        self.read_amount = amount_reader(self.amount_format)

        self.date_parsers: dict[str, DateParser] = {}
        for key in ("date", "value_date"):
            if key not in cols:
                continue
            samples = cells(key)
            fmt = self.options.date_format or detect_date_format(samples, usd)
            if fmt is None and key == "value_date" and "date" in self.date_parsers:
                fmt = self.date_parsers["date"]._fmt
            if fmt is None and samples:
                sample = (cells(key) or [""])[0]
                raise StatementParseError(
                    f"cannot recognise the date format of column "
                    f"{self.mapping.headers[cols[key]]!r} (e.g. {sample!r}); "
                    f"set CsvOptions.date_format"
                )
            self.date_parsers[key] = DateParser(fmt)

    # -- rows ---------------------------------------------------------------
    def rows(self) -> Iterator[ParsedTransaction]:
        self.detect_layout()
        lines = chain(self.buffer[self.header_line - 1 :], self.text)
        cols = self.mapping.columns
        date_idx = cols["date"]
        value_idx = cols.get("value_date")
        amount_idx = cols.get("amount")
        debit_idx = cols.get("debit")
        credit_idx = cols.get("credit")
        indicator_idx = cols.get("indicator")
        currency_idx = cols.get("currency")
        desc_idx = self.mapping.description
        name_idx = cols.get("counterparty_name")
        cp_acct_idx = cols.get("counterparty_account")
        ext_idx = cols.get("external_id")
        e2e_idx = cols.get("end_to_end_id")
        account_idx = cols.get("account")
        width = 1 + max(
            [i for i in cols.values()] + desc_idx  # every index we read
        )
        padding = [""] * width
        amount_cols = [i for i in (amount_idx, debit_idx, credit_idx) if i is not None]
        parse_booking = self.date_parsers["date"].parse
        parse_value = self.date_parsers["value_date"].parse if value_idx is not None else None
        amount_of = self._amount
        errors: list[RowError] = []
        offset = self.header_line - 1
        records = _records(lines, self.delimiter)
        start = 1
        try:
            next(records, None)  # the header itself
            for start, record in records:
                if len(record) < width:
                    record = record + padding[len(record) :]  # ragged rows: missing = ""
                date_text = record[date_idx].strip()
                amount_texts = [record[i].strip() for i in amount_cols]
                if not date_text and not any(amount_texts):
                    continue  # blank or separator line
                location = f"line {start + offset}"
                problems: list[str] = []
                booking = value = None
                if not date_text:
                    problems.append(f"missing date ({self.mapping.headers[date_idx]!r})")
                else:
                    try:
                        booking = parse_booking(date_text)
                    except ValueError:
                        problems.append(
                            f"invalid date {date_text!r} (expected {self.date_parsers['date'].fmt})"
                        )
                if (
                    parse_value is not None
                    and value_idx is not None
                    and (value_text := record[value_idx].strip())
                ):
                    try:
                        value = parse_value(value_text)
                    except ValueError:
                        problems.append(f"invalid value date {value_text!r}")
                amount: Decimal | None = None
                written_currency = ""
                try:
                    amount, written_currency = amount_of(
                        record[amount_idx].strip() if amount_idx is not None else "",
                        record[debit_idx].strip() if debit_idx is not None else "",
                        record[credit_idx].strip() if credit_idx is not None else "",
                        record[indicator_idx].strip() if indicator_idx is not None else "",
                    )
                except ValueError as exc:
                    problems.append(str(exc))
                if problems:
                    errors.extend(RowError(location, p) for p in problems)
                    if len(errors) >= MAX_ERRORS:
                        raise StatementParseError(
                            f"{len(errors)} errors in the CSV file, stopped reading "
                            f"(first at {errors[0].location})",
                            errors[:MAX_ERRORS],
                        )
                    continue
                if errors or booking is None or amount is None:
                    continue  # the file is rejected anyway: only look for more errors
                row_currency = record[currency_idx].strip().upper() if currency_idx is not None else ""
                currency = row_currency or self.default_currency
                if not currency and self.infer_currency:
                    currency = written_currency
                description = " ".join(text for text in (collapse_ws(record[i]) for i in desc_idx) if text)
                yield ParsedTransaction(
                    account=record[account_idx].strip() if account_idx is not None else "",
                    account_currency=self.default_currency or row_currency,
                    amount=amount,
                    currency=currency,
                    booking_date=booking,
                    value_date=value,
                    description=description,
                    counterparty_name=collapse_ws(record[name_idx]) if name_idx is not None else "",
                    counterparty_account=(
                        compact_account(record[cp_acct_idx]) if cp_acct_idx is not None else ""
                    ),
                    external_id=record[ext_idx].strip() if ext_idx is not None else "",
                    end_to_end_id=record[e2e_idx].strip() if e2e_idx is not None else "",
                    structured_reference=find_rf_reference(description),
                    location=location,
                )
        except csv.Error as exc:
            # The failing record starts after the last good one.
            raise StatementParseError(
                f"malformed CSV: {exc}", location=f"line {offset + start + 1}"
            ) from None
        except UnicodeDecodeError as exc:
            raise StatementParseError(f"cannot decode the file as {self.encoding}: {exc.reason}") from None
        if errors:
            raise StatementParseError(
                f"{len(errors)} error(s) in the CSV file (first at {errors[0].location})",
                errors,
            )

    def _amount(self, amount_text: str, debit_text: str, credit_text: str, mark: str) -> tuple[Decimal, str]:
        """The row's signed amount and the currency written with it ("" if none).

        Every amount cell must be exactly a number in the file's format (see
        ``common.finance.amounts``); anything else is a row error naming the column.
        """
        read = self.read_amount
        if amount_text:
            try:
                amount, currency = read(amount_text)
            except AmountError as error:
                raise self._cell_error("amount", amount_text, error) from None
        elif debit_text or credit_text:
            amount, currency = Decimal(0), ""
            for key, text, sign in (("debit", debit_text, -1), ("credit", credit_text, 1)):
                if not text:
                    continue
                try:
                    value, written = read(text)
                except AmountError as error:
                    raise self._cell_error(key, text, error) from None
                amount += sign * abs(value)
                currency = currency or written
        else:
            raise ValueError("missing amount")
        if mark:
            lowered = mark.lower()
            if lowered in DEBIT_MARKS:
                amount = -abs(amount)
            elif lowered in CREDIT_MARKS:
                amount = abs(amount)
            else:
                raise ValueError(f"unknown debit/credit mark {mark!r}")
        return amount, currency

    def _cell_error(self, key: str, text: str, error: AmountError) -> ValueError:
        index = self.mapping.columns[key]
        header = self.mapping.headers[index].strip()
        return ValueError(f"invalid amount {text!r} in column {index + 1} ({header!r}): {error}")


def iter_csv(stream: BinaryIO, options: CsvOptions | None = None) -> Iterator[ParsedTransaction]:
    """Stream the transactions of a CSV export (see the module docs for the rules).

    Row errors (bad date/amount, missing value) are collected, up to 50, and
    raised together as one StatementParseError after the last row; once an
    error is seen no further transactions are yielded.
    """
    reader = _CsvReader(stream, options or CsvOptions())
    yield from reader.rows()
