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
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
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

from ._text import FALLBACK_ERRORS, PrefixedStream, collapse_ws
from .types import CsvOptions, ParsedTransaction, RowError, StatementParseError

HEADER_SCAN_LINES = 30
SAMPLE_LINES = 200
MAX_ERRORS = 50
#: A line with more cells is not a header: classifying each cell of a 10 MB line of commas as a
#: header name took ~40 s (real exports have at most a few dozen columns).
MAX_HEADER_COLUMNS = 500
_ENCODING_SAMPLE = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")

FIELDS = (
    "date",
    "value_date",
    "amount",
    "debit",
    "credit",
    "indicator",
    "description",
    "counterparty_name",
    "counterparty_account",
    "external_id",
    "end_to_end_id",
    "currency",
    "account",
)


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


# Normalised header names (lower case, no accents, punctuation -> space).
_SYNONYMS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "indicator",
        _names(
            "s h",
            "soll haben",
            "soll haben kennzeichen",
            "af bij",
            "debit credit",
            "credit debit",
            "d c",
            "c d",
            "dc",
            "cd",
            "dr cr",
            "cr dr",
            "sign",
            "credit debit indicator",
            "debit credit indicator",
            "cdtdbtind",
            "cdt dbt ind",
            "vorzeichen",
            "sens",
            "debit credit mark",
        ),
    ),
    (
        "value_date",
        _names(
            "value date",
            "valuedate",
            "valuta",
            "valutadatum",
            "valuta datum",
            "wertstellung",
            "wertstellungsdatum",
            "wertstellungstag",
            "wert",
            "date de valeur",
            "date valeur",
            "rentedatum",
            "value dt",
        ),
    ),
    (
        "date",
        _names(
            "date",
            "transaction date",
            "posting date",
            "posted date",
            "booking date",
            "book date",
            "trans date",
            "txn date",
            "completed date",
            "datum",
            "buchungstag",
            "buchungsdatum",
            "buchung",
            "buchungs datum",
            "datum buchung",
            "umsatzdatum",
            "date operation",
            "date de l operation",
            "date d operation",
            "date comptable",
            "date de comptabilisation",
            "date de transaction",
            "transactiedatum",
            "boekdatum",
            "boekingsdatum",
            "datum transactie",
            "rentedatum boeking",
        ),
    ),
    (
        "debit",
        _names(
            "debit",
            "debits",
            "debit amount",
            "withdrawal",
            "withdrawals",
            "withdrawal amount",
            "money out",
            "paid out",
            "out",
            "soll",
            "ausgang",
            "ausgaben",
            "belastung",
            "debet",
            "af",
            "montant debit",
            "retrait",
            "retraits",
            "sortie",
            "sorties",
            "uitgaven",
        ),
    ),
    (
        "credit",
        _names(
            "credit",
            "credits",
            "credit amount",
            "deposit",
            "deposits",
            "deposit amount",
            "money in",
            "paid in",
            "in",
            "haben",
            "eingang",
            "einnahmen",
            "gutschrift",
            "bij",
            "montant credit",
            "versement",
            "versements",
            "entree",
            "entrees",
            "inkomsten",
        ),
    ),
    (
        "amount",
        _names(
            "amount",
            "betrag",
            "montant",
            "bedrag",
            "umsatz",
            "transaction amount",
            "value",
            "net amount",
            "buchungsbetrag",
            "umsatzbetrag",
            "somme",
        ),
    ),
    (
        "currency",
        _names(
            "currency",
            "ccy",
            "curr",
            "cur",
            "wahrung",
            "waehrung",
            "devise",
            "monnaie",
            "monn",
            "munt",
            "currency code",
            "wahrungscode",
        ),
    ),
    (
        "counterparty_account",
        _names(
            "iban",
            "counterparty iban",
            "counterparty account",
            "counter account",
            "payee account",
            "payee iban",
            "payer iban",
            "beneficiary account",
            "beneficiary iban",
            "other account",
            "iban zahlungsbeteiligter",
            "kontonummer iban",
            "konto nr",
            "gegenkonto",
            "iban gegenkonto",
            "iban beguenstigter zahlungspflichtiger",
            "iban empfanger",
            "iban begunstigter zahlungspflichtiger",
            "empfanger iban",
            "tegenrekening",
            "tegenrekening iban",
            "tegenrekening iban bban",
            "iban tegenpartij",
            "compte contrepartie",
            "iban contrepartie",
            "iban du beneficiaire",
            "compte du beneficiaire",
        ),
    ),
    (
        "account",
        _names(
            "account",
            "account number",
            "account no",
            "account iban",
            "own account",
            "my account",
            "kontonummer",
            "konto",
            "auftragskonto",
            "mein konto",
            "iban auftragskonto",
            "rekening",
            "rekeningnummer",
            "iban rekening",
            "compte",
            "numero de compte",
            "n de compte",
            "no de compte",
        ),
    ),
    (
        "external_id",
        _names(
            "transaction id",
            "transaction reference",
            "transaction number",
            "reference number",
            "bank reference",
            "fitid",
            "id",
            "transaktions id",
            "transaktionsnummer",
            "transaktionsreferenz",
            "buchungsreferenz",
            "bankreferenz",
            "n de transaction",
            "numero de transaction",
            "no de transaction",
            "reference de l operation",
            "transactiereferentie",
            "volgnummer",
            "transactie id",
        ),
    ),
    (
        "end_to_end_id",
        _names("end to end id", "end to end reference", "endtoendid", "eref"),
    ),
    (
        "counterparty_name",
        _names(
            "payee",
            "payer",
            "payee name",
            "payer name",
            "payee payer",
            "name",
            "counterparty",
            "counterparty name",
            "counter party",
            "beneficiary",
            "beneficiary name",
            "recipient",
            "merchant",
            "merchant name",
            "other party",
            "partner name",
            "empfanger",
            "zahlungsempfanger",
            "empfanger auftraggeber",
            "auftraggeber empfanger",
            "auftraggeber",
            "auftraggeber zahlungsempfanger",
            "zahlungspflichtiger",
            "empfanger zahlungspflichtiger",
            "beguenstigter zahlungspflichtiger",
            "begunstigter zahlungspflichtiger",
            "name zahlungsbeteiligter",
            "zahlungsbeteiligter",
            "naam",
            "naam tegenpartij",
            "tegenpartij",
            "naam begunstigde",
            "begunstigde",
            "tiers",
            "beneficiaire",
            "contrepartie",
            "nom",
            "nom du tiers",
            "donneur d ordre",
        ),
    ),
    (
        "description",  # purpose text proper: wins over the generic names below
        _names(
            "verwendungszweck",
            "purpose",
            "memo",
            "narrative",
            "details",
            "omschrijving",
            "mededelingen",
            "libelle",
            "libelle operation",
            "libelle de l operation",
            "remittance information",
            "reference text",
            "remarks",
            "zahlungsgrund",
            "vorgang verwendungszweck",
            "motif",
            "communication",
            "communications",
            "transaction details",
            "payment details",
            "payment reference",
        ),
    ),
    ("reference", _names("reference")),
    (
        "description_generic",
        _names(
            "description",
            "beschreibung",
            "text",
            "buchungstext",
            "umsatztext",
            "transaction description",
            "particulars",
            "detail",
            "descriptif",
            "naam omschrijving",
            "libelle complet",
        ),
    ),
)
_NUMBERED_DESCRIPTION = re.compile(
    r"(vwz|verwendungszweck|description|desc|memo|details|transaction ref|ref|"
    r"reference|libelle|omschrijving|text|narrative|mededelingen) ?\d{1,2}"
)
_PREFIX_FIELDS = (
    ("amount", ("amount", "betrag", "montant", "bedrag", "umsatz")),
    ("debit", ("debit", "withdrawal", "withdrawals", "soll", "debet")),
    ("credit", ("credit", "deposit", "deposits", "haben")),
)
_NOT_AMOUNT_WORDS = frozenset(
    {
        "currency",
        "wahrung",
        "waehrung",
        "devise",
        "valuta",
        "munt",
        "original",
        "fremdwahrung",
        "balance",
        "saldo",
        "solde",
        "kontostand",
        "date",
        "datum",
    }
)
#: Header words of banks that write decimal commas (German, French, Dutch).
_DECIMAL_COMMA_WORDS = frozenset(
    {
        "betrag",
        "umsatz",
        "buchungstag",
        "montant",
        "bedrag",
        "datum",
        "soll",
        "haben",
        "valuta",
        "wertstellung",
        "libelle",
        "omschrijving",
        "solde",
        "saldo",
    }
)

#: A bank reference: an identifier without spaces that has a digit (``A01234BC01234567``).
_REFERENCE_ID = re.compile(r"(?=[^0-9]*[0-9])[A-Za-z0-9][A-Za-z0-9/._:+\-]{0,127}")

_DEBIT_MARKS = frozenset({"s", "d", "dr", "db", "dbit", "debit", "soll", "af", "-", "debet"})
_CREDIT_MARKS = frozenset({"h", "c", "cr", "crdt", "credit", "haben", "bij", "+"})

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "jan january januar janv janvier januari jänner jaenner",
            "feb february februar fev fevr février fevrier februari",
            "mar march mär maerz märz mrz mars mrt maart",
            "apr april avr avril",
            "may mai mei",
            "jun june juni juin",
            "jul july juli juil juillet",
            "aug august aout août augustus",
            "sep sept september septembre",
            "oct october okt oktober octobre",
            "nov november novembre",
            "dec december dez dezember déc décembre",
        ),
        start=1,
    )
    for name in names.split()
}
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[AaPp][Mm])?(Z|[+-]\d{2}:?\d{2})?$")
_NAMED_DMY = re.compile(r"(\d{1,2})[ .\-/]+([^\W\d_]+)\.?[ .\-/,]+(\d{4}|\d{2})")
_NAMED_MDY = re.compile(r"([^\W\d_]+)\.?[ .\-/]+(\d{1,2}),?[ .\-/]+(\d{4})")

#: Date formats in preference order; NAMED_* are handled by hand because
#: strptime's %b depends on the process locale.
NAMED_DMY = "%d %b %Y"
NAMED_MDY = "%b %d, %Y"
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%m-%y",
    "%m-%d-%y",
    NAMED_DMY,
    NAMED_MDY,
)
_MONTH_FIRST = {
    "%m/%d/%Y": "%d/%m/%Y",
    "%m-%d-%Y": "%d-%m-%Y",
    "%m/%d/%y": "%d/%m/%y",
    "%m-%d-%y": "%d-%m-%y",
}


def _norm_header(header: str) -> str:
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("ß", "ss")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def _classify(name: str) -> str | None:
    """Which field a normalised header name stands for, if any."""
    if not name:
        return None
    for field_name, names in _SYNONYMS:
        if name in names:
            return field_name
    if _NUMBERED_DESCRIPTION.fullmatch(name):
        return "description"
    words = name.split()
    if not _NOT_AMOUNT_WORDS.intersection(words):
        for field_name, prefixes in _PREFIX_FIELDS:
            if words[0] in prefixes:
                return field_name
    return None


@dataclass(slots=True)
class _Mapping:
    """Column indexes per field (description may use several columns)."""

    columns: dict[str, int] = field(default_factory=dict)
    description: list[int] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    reference: int | None = None  # a plain "Reference" column: external_id if its values fit

    def valid(self) -> bool:
        has_date = "date" in self.columns or "value_date" in self.columns
        has_amount = any(k in self.columns for k in ("amount", "debit", "credit"))
        return has_date and has_amount

    def score(self) -> int:
        return len(self.columns) + len(self.description)


def _resolve_explicit(
    headers: list[str], columns: dict[str, str]
) -> tuple[dict[str, int], list[int], list[str]]:
    """Indexes of the explicitly named columns, and the names not found."""
    exact = {h.strip(): i for i, h in reversed(list(enumerate(headers)))}
    normal = {_norm_header(h): i for i, h in reversed(list(enumerate(headers)))}
    found: dict[str, int] = {}
    description: list[int] = []
    missing: list[str] = []
    for field_name, spec in columns.items():
        names = [n for n in spec.split("+")] if field_name == "description" else [spec]
        for name in names:
            idx = exact.get(name.strip(), normal.get(_norm_header(name)))
            if idx is None:
                missing.append(name)
            elif field_name == "description":
                description.append(idx)
            else:
                found[field_name] = idx
    return found, description, missing


def _map_header(headers: list[str], explicit: dict[str, str] | None) -> _Mapping | None:
    """Map a candidate header row; None if it lacks a date or an amount column."""
    mapping = _Mapping(headers=headers)
    used: set[int] = set()
    if explicit:
        found, description, missing = _resolve_explicit(headers, explicit)
        if missing:
            return None
        mapping.columns.update(found)
        mapping.description = description
        used.update(found.values())
        used.update(description)
    generic: list[int] = []
    purpose: list[int] = []
    for idx, header in enumerate(headers):
        if idx in used:
            continue
        kind = _classify(_norm_header(header))
        if kind is None:
            continue
        if kind == "description":
            purpose.append(idx)
        elif kind == "reference":
            if mapping.reference is None:
                mapping.reference = idx
        elif kind == "description_generic":
            generic.append(idx)
        elif kind not in mapping.columns:
            mapping.columns[kind] = idx
    if not (explicit and "description" in explicit):
        mapping.description = purpose or generic
    explicit_keys = set(explicit or ())
    if explicit_keys & {"debit", "credit"} and "amount" not in explicit_keys:
        mapping.columns.pop("amount", None)
    elif "amount" in mapping.columns:
        mapping.columns.pop("debit", None)
        mapping.columns.pop("credit", None)
    if "date" not in mapping.columns and "value_date" in mapping.columns:
        mapping.columns["date"] = mapping.columns["value_date"]
    return mapping if mapping.valid() else None


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


def _choose_encoding(head: bytes, requested: str | None) -> tuple[str, str]:
    """(encoding, errors) for the text layer; see module docs."""
    if requested:
        return requested, "strict"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", FALLBACK_ERRORS
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "strict"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        # Consistent legacy decoding for the whole file.
        return "cp1252", FALLBACK_ERRORS
    # Looks like UTF-8; a stray legacy byte later on still decodes (as cp1252).
    return "utf-8", FALLBACK_ERRORS


class _DateParser:
    """Parses dates with one chosen format; caches because dates repeat a lot.

    Without a format (nothing to sample) each value gets the first format
    of DATE_FORMATS that fits it.
    """

    def __init__(self, fmt: str | None) -> None:
        self.fmt = fmt or "a recognisable date"
        self._fmt = fmt
        self.parse = lru_cache(maxsize=4096)(self._parse)

    def _parse(self, value: str) -> datetime.date:
        if self._fmt:
            return parse_date(value, self._fmt)
        for fmt in DATE_FORMATS:
            try:
                return parse_date(value, fmt)
            except ValueError:
                continue
        raise ValueError(value)


def parse_date(value: str, fmt: str) -> datetime.date:
    """Parse ``value`` with ``fmt`` (strptime syntax), ignoring a time of day."""
    text = _TIME_SUFFIX.sub("", value.strip())
    if fmt == "%Y-%m-%d":
        return datetime.date.fromisoformat(text) if len(text) == 10 else _strp(text, fmt)
    if fmt in (NAMED_DMY, NAMED_MDY):
        match = (_NAMED_DMY if fmt == NAMED_DMY else _NAMED_MDY).fullmatch(text)
        if not match:
            raise ValueError(f"does not match {fmt}")
        if fmt == NAMED_DMY:
            day, month_name, year = match.groups()
        else:
            month_name, day, year = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month is None:
            raise ValueError(f"unknown month {month_name!r}")
        full_year = int(year) + (2000 if len(year) == 2 else 0)
        return datetime.date(full_year, month, int(day))
    return _strp(text, fmt)


def _strp(text: str, fmt: str) -> datetime.date:
    return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no tz


def _fits(values: list[str], fmt: str) -> int:
    count = 0
    for value in values:
        try:
            parse_date(value, fmt)
        except ValueError:
            continue
        count += 1
    return count


def detect_date_format(values: list[str], month_first: bool = False) -> str | None:
    """Pick the format that parses every sampled value (see module docs)."""
    values = [v.strip() for v in values if v.strip()]
    if not values:
        return None
    scores = {fmt: _fits(values, fmt) for fmt in DATE_FORMATS}
    best = max(scores.values())
    if best == 0:
        return None
    winners = [fmt for fmt in DATE_FORMATS if scores[fmt] == best]
    choice = winners[0]
    if month_first:
        for fmt in winners:
            if fmt in _MONTH_FIRST and _MONTH_FIRST[fmt] in winners:
                return fmt
    return choice


def detect_decimal(values: list[str], fallback: str) -> str:
    """Vote the decimal separator from sampled amount texts."""
    votes = {",": 0, ".": 0}
    for raw in values:
        s = re.sub(r"[^\d.,']", "", raw)
        if "'" in s:
            votes["."] += 1
            continue
        if "," in s and "." in s:
            votes["," if s.rfind(",") > s.rfind(".") else "."] += 1
            continue
        for sep in (",", "."):
            if s.count(sep) == 1:
                frac = s.split(sep)[1]
                if len(frac) != 3:
                    votes[sep] += 1
            elif s.count(sep) > 1:
                votes["." if sep == "," else ","] += 1
    if votes[","] != votes["."]:
        return "," if votes[","] > votes["."] else "."
    return fallback


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
            encoding, errors = _choose_encoding(head, options.encoding)
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
        best: tuple[int, int, str, _Mapping] | None = None
        for delimiter in delimiters:
            for start, record in _records(self.buffer, delimiter, tolerant=True):
                if options.skip_rows is not None and start != options.skip_rows + 1:
                    continue
                if not 2 <= len(record) <= MAX_HEADER_COLUMNS:
                    continue
                mapping = _map_header(record, options.columns)
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
                if marks and all(m in _DEBIT_MARKS or m in _CREDIT_MARKS for m in marks):
                    cols["indicator"] = nxt

        reference = self.mapping.reference
        if reference is not None and "external_id" not in cols:
            values = [r[reference].strip() for r in rows if reference < len(r) and r[reference].strip()]
            if values and len(set(values)) == len(values) and all(map(_REFERENCE_ID.fullmatch, values)):
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
            words = set(" ".join(_norm_header(h) for h in self.mapping.headers).split())
            hint = "," if self.delimiter == ";" or words & _DECIMAL_COMMA_WORDS else "."
            if words & {"amount", "withdrawal", "deposit"}:
                hint = "."
            self.decimal = detect_decimal(amount_texts, hint)
        self.amount_format: AmountFormat = csv_amount_format(self.decimal)
        self.read_amount = amount_reader(self.amount_format)

        self.date_parsers: dict[str, _DateParser] = {}
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
            self.date_parsers[key] = _DateParser(fmt)

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
            if lowered in _DEBIT_MARKS:
                amount = -abs(amount)
            elif lowered in _CREDIT_MARKS:
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
