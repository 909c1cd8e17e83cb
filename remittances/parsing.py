"""Remittance advice files, read into plain records: ISO 20022 camt.054 and the CSV advice format.

Pure (no Django, nothing of the project but the financial kernel): the same amounts, currencies
and account ids as every other import, and the same XML hardening as the camt.053 statement
reader (lxml without DTDs, entities, network or huge trees; any DOCTYPE/ENTITY refused). A file
is read whole or refused whole: every problem found is listed (:class:`AdviceParseError`), and
nothing of a refused file is imported.

**camt.054** (``BkToCstmrDbtCdtNtfctn``, any version, namespaces ignored): one advice per entry
(``Ntfctn/Ntry``) that carries referred documents (``TxDtls/RmtInf/Strd/RfrdDocInf/Nb``); an
entry without them is an ordinary notification, not an advice, and is skipped.

* reference (what the payment quotes): the batch's ``Btch/PmtInfId``, else the entry's
  ``NtryRef``, else the notification's ``Id``; end-to-end id: the first ``Refs/EndToEndId``
  (``NOTPROVIDED`` is none);
* amount and currency: the entry's ``Amt``; date: ``BookgDt`` else ``ValDt`` (``Dt`` or the date
  of ``DtTm``);
* payer: ``RltdPties/Dbtr`` (name and account) of a credit, ``Cdtr`` of a debit;
* lines: one per ``Strd`` document: number ``RfrdDocInf/Nb``, amount ``RfrdDocAmt/RmtdAmt`` (else
  the ``TxDtls/Amt`` when that ``TxDtls`` lists one document), discount ``RfrdDocAmt/DscntApldAmt``
  (``.02``: an amount; ``.04`` on: ``DscntApldAmt/Amt``, summed).

**CSV** (documented in the README): a header row naming the columns, separated by ``;``, ``,`` or
a tab (the header's first separator); ``advice``, ``invoice``, ``amount`` and ``currency`` are
required, ``payer``, ``payer_account``, ``discount``, ``date`` (YYYY-MM-DD) and
``end_to_end_id`` optional. Rows with the same ``advice`` form one advice (its total is the sum of
its amounts); its payer, currency, date and end-to-end id must agree across its rows. Amounts
are written with a decimal point, without grouping or sign (like camt's).

Every advice must be sound: 1 to :data:`MAX_LINES_PER_ADVICE` lines, amounts positive and within
the currency's minor units, discounts not negative, the lines' amounts summing exactly to the
total, texts within their bounds.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from common.finance import (
    CAMT_AMOUNT,
    AmountError,
    MoneyError,
    compact_account,
    fits_minor_units,
    normalize_currency,
    parse_amount_text,
)

MAX_LINES_PER_ADVICE = 1_000
MAX_ADVICES_PER_FILE = 1_000
MAX_ERRORS = 50  # problems listed before the rest are only counted
# Text bounds (characters), the model's column sizes.
REFERENCE_MAX = 140
INVOICE_NUMBER_MAX = 64
NAME_MAX = 200
ACCOUNT_MAX = 64

_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedAdviceLine:
    invoice_number: str
    amount: Decimal
    discount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ParsedAdvice:
    """One advice as a file or a request gives it (amounts exact, currency checked)."""

    reference: str
    amount: Decimal
    currency: str
    lines: tuple[ParsedAdviceLine, ...]
    payer_name: str = ""
    payer_account: str = ""
    payment_date: datetime.date | None = None
    end_to_end_id: str = ""
    location: str = ""


@dataclass(frozen=True, slots=True)
class AdviceProblem:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class AdviceParseError(Exception):
    """The advice (file) cannot be imported; ``problems`` lists what was found (never empty)."""

    def __init__(self, message: str, problems: list[AdviceProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or [AdviceProblem("", message)]


@dataclass
class _Problems:
    items: list[AdviceProblem] = field(default_factory=list)
    count: int = 0

    def add(self, location: str, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(AdviceProblem(location, message))


def _collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _bounded(value: str, bound: int, what: str) -> str:
    if len(value) > bound:
        raise ValueError(f"{what} is longer than {bound} characters")
    return value


def validate_advice(advice: ParsedAdvice) -> list[str]:
    """What makes an advice unsound (empty when it is sound): the one check every source passes."""
    problems: list[str] = []
    if not advice.reference:
        problems.append("the advice has no reference (what the payment quotes)")
    for value, bound, what in (
        (advice.reference, REFERENCE_MAX, "the reference"),
        (advice.end_to_end_id, REFERENCE_MAX, "the end-to-end id"),
        (advice.payer_name, NAME_MAX, "the payer's name"),
        (advice.payer_account, ACCOUNT_MAX, "the payer's account"),
    ):
        if len(value) > bound:
            problems.append(f"{what} is longer than {bound} characters")
    if not advice.lines:
        problems.append("the advice lists no invoice")
    if len(advice.lines) > MAX_LINES_PER_ADVICE:
        problems.append(f"the advice lists {len(advice.lines)} invoices; at most {MAX_LINES_PER_ADVICE}")
    if advice.amount <= 0:
        problems.append("the total must be positive")
    elif not fits_minor_units(advice.amount, advice.currency):
        problems.append(f"the total {advice.amount} has more decimals than {advice.currency} has")
    for k, line in enumerate(advice.lines[:MAX_LINES_PER_ADVICE], start=1):
        item = f"invoice {k} ({line.invoice_number[:40]})" if line.invoice_number else f"invoice {k}"
        if not line.invoice_number:
            problems.append(f"{item}: no invoice number")
        elif len(line.invoice_number) > INVOICE_NUMBER_MAX:
            problems.append(f"{item}: the invoice number is longer than {INVOICE_NUMBER_MAX} characters")
        if line.amount <= 0:
            problems.append(f"{item}: the amount must be positive")
        if line.discount < 0:
            problems.append(f"{item}: the discount must not be negative")
        for money in (line.amount, line.discount):
            if not fits_minor_units(money, advice.currency):
                problems.append(f"{item}: {money} has more decimals than {advice.currency} has")
    total = sum((line.amount for line in advice.lines), Decimal(0))
    if advice.lines and advice.amount > 0 and total != advice.amount:
        problems.append(f"the lines sum to {total}, not to the total {advice.amount}")
    return problems


def _amount(text: str | None, where: str) -> Decimal:
    if not text or not text.strip():
        raise ValueError(f"missing {where}")
    try:
        return parse_amount_text(text.strip(), CAMT_AMOUNT)
    except AmountError as error:
        raise ValueError(f"invalid amount {text.strip()[:40]!r} in {where}: {error}") from None


def _currency(text: str | None, where: str) -> str:
    try:
        return normalize_currency(text or "")
    except MoneyError:
        raise ValueError(f"{where}: {str(text)[:10]!r} is not an ISO 4217 currency code") from None


def _date(text: str, where: str) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"invalid date {text[:20]!r} in {where}") from None


def _finish(advices: list[ParsedAdvice], problems: _Problems, what: str) -> list[ParsedAdvice]:
    for advice in advices:
        for message in validate_advice(advice):
            problems.add(advice.location, message)
    if len(advices) > MAX_ADVICES_PER_FILE:
        problems.add("", f"the file holds {len(advices)} advices; at most {MAX_ADVICES_PER_FILE}")
    if problems.count:
        more = f" (the first {len(problems.items)} listed)" if problems.count > len(problems.items) else ""
        raise AdviceParseError(f"{problems.count} problem(s) in the {what}{more}", problems.items)
    if not advices:
        raise AdviceParseError(f"the {what} holds no remittance advice")
    return advices


# --- camt.054 -----------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _load_camt054(data: bytes) -> etree._Element:
    if _FORBIDDEN.search(data) or _FORBIDDEN.search(data.replace(b"\x00", b"")):
        raise AdviceParseError("DOCTYPE/ENTITY declarations are not allowed in camt.054 files")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise AdviceParseError(
            f"not well-formed XML: {exc.msg}", [AdviceProblem(f"line {line}" if line else "XML", exc.msg)]
        ) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise AdviceParseError("DOCTYPE declarations are not allowed in camt.054 files")
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    found = root if root.tag == "BkToCstmrDbtCdtNtfctn" else root.find("BkToCstmrDbtCdtNtfctn")
    if found is None:
        raise AdviceParseError(f"not a camt.054 notification: no BkToCstmrDbtCdtNtfctn under <{root.tag}>")
    return found


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return _collapse(found.text) if found is not None and found.text else ""


def _amount_of(element: etree._Element | None, where: str) -> Decimal | None:
    if element is None:
        return None
    if element.find("Amt") is not None and not (element.text or "").strip():
        element = element.find("Amt")  # .04 on: <DscntApldAmt><Tp/><Amt Ccy=..>..</Amt>
    return _amount(element.text if element is not None else None, f"<{where}>")


def _camt_lines(details: etree._Element, where: str) -> list[ParsedAdviceLine]:
    documents = details.findall("RmtInf/Strd")
    documents = [d for d in documents if d.find("RfrdDocInf/Nb") is not None]
    lines: list[ParsedAdviceLine] = []
    for d_index, document in enumerate(documents):
        place = f"{where}/Strd[{d_index}]"
        number = _bounded(_text(document, "RfrdDocInf/Nb"), INVOICE_NUMBER_MAX, f"{place} RfrdDocInf/Nb")
        amounts = document.find("RfrdDocAmt")
        amount = _amount_of(amounts.find("RmtdAmt") if amounts is not None else None, "RmtdAmt")
        if amount is None:
            if len(documents) != 1:
                raise ValueError(f"{place}: no RfrdDocAmt/RmtdAmt for one of several documents")
            amount = _amount_of(details.find("Amt"), "TxDtls/Amt") or _amount_of(
                details.find("AmtDtls/TxAmt/Amt"), "TxAmt/Amt"
            )
            if amount is None:
                raise ValueError(f"{place}: no amount for the document")
        discount = Decimal(0)
        if amounts is not None:
            for element in amounts.findall("DscntApldAmt"):
                discount += _amount_of(element, "DscntApldAmt") or Decimal(0)
        lines.append(ParsedAdviceLine(number, amount, discount))
    return lines


def _camt_advice(notification: etree._Element, entry: etree._Element, where: str) -> ParsedAdvice | None:
    all_details = entry.findall("NtryDtls/TxDtls")
    lines: list[ParsedAdviceLine] = []
    for t_index, details in enumerate(all_details):
        lines.extend(_camt_lines(details, f"{where}/TxDtls[{t_index}]"))
    if not lines:
        return None  # a notification without referred documents is not an advice
    amount_element = entry.find("Amt")
    total = _amount_of(amount_element, "Ntry/Amt")
    if total is None:
        raise ValueError("missing Ntry/Amt")
    currency = _currency(amount_element.get("Ccy") if amount_element is not None else "", "Ntry/Amt Ccy")
    indicator = _text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise ValueError(f"invalid or missing CdtDbtInd {indicator!r}")
    role = "Dbtr" if indicator == "CRDT" else "Cdtr"
    first = all_details[0] if all_details else None
    parties = first.find("RltdPties") if first is not None else None
    e2e = next(
        (
            _text(details, "Refs/EndToEndId")
            for details in all_details
            if _text(details, "Refs/EndToEndId").upper() not in ("", "NOTPROVIDED")
        ),
        "",
    )
    booking = entry.find("BookgDt")
    if booking is None:
        booking = entry.find("ValDt")
    when = _text(booking, "Dt") or _text(booking, "DtTm")[:10]
    reference = _text(entry, "NtryDtls/Btch/PmtInfId") or _text(entry, "NtryRef") or _text(notification, "Id")
    return ParsedAdvice(
        reference=reference,
        amount=total,
        currency=currency,
        lines=tuple(lines),
        payer_name=_text(parties, f"{role}/Nm") or _text(parties, f"{role}/Pty/Nm"),
        payer_account=compact_account(
            _text(parties, f"{role}Acct/Id/IBAN") or _text(parties, f"{role}Acct/Id/Othr/Id")
        ),
        payment_date=_date(when, f"{where} BookgDt"),
        end_to_end_id=e2e,
        location=where,
    )


def parse_camt054(data: bytes) -> list[ParsedAdvice]:
    """Every advice of a camt.054 file (see the module docstring); AdviceParseError otherwise."""
    root = _load_camt054(data)
    advices: list[ParsedAdvice] = []
    problems = _Problems()
    for n_index, notification in enumerate(root.findall("Ntfctn")):
        for e_index, entry in enumerate(notification.findall("Ntry")):
            where = f"Ntfctn[{n_index}]/Ntry[{e_index}]"
            try:
                advice = _camt_advice(notification, entry, where)
            except ValueError as exc:
                problems.add(where, str(exc))
                continue
            if advice is not None:
                advices.append(advice)
    return _finish(advices, problems, "camt.054 file")


# --- CSV ------------------------------------------------------------------------------------------

CSV_REQUIRED = ("advice", "invoice", "amount", "currency")
CSV_OPTIONAL = ("payer", "payer_account", "discount", "date", "end_to_end_id")
_CSV_AGREE = ("payer", "payer_account", "currency", "date", "end_to_end_id")
_CSV_FIELD_MAX = 1_000  # characters of one cell (the csv module's own limit is 128 kB)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (what spreadsheet exports write)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_csv_advices(data: bytes) -> list[ParsedAdvice]:
    """Every advice of a CSV advice file (see the module docstring); AdviceParseError otherwise."""
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    separators = [c for c in first_line if c in ";,\t"]
    if not separators:
        raise AdviceParseError("not a CSV advice file: the header names no columns separated by ; , or tab")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separators[0], strict=True)
    try:
        header = [_collapse(name).lower() for name in next(reader)]
    except (StopIteration, csv.Error):
        raise AdviceParseError("not a CSV advice file: no header row") from None
    missing = [name for name in CSV_REQUIRED if name not in header]
    unknown = [name for name in header if name not in CSV_REQUIRED + CSV_OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        raise AdviceParseError(
            "not a CSV advice file: the header must name the columns "
            f"{', '.join(CSV_REQUIRED)} (and may name {', '.join(CSV_OPTIONAL)}), each once"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(u[:30] for u in unknown[:5])}" if unknown else "")
        )
    problems = _Problems()
    groups: dict[str, list[tuple[str, dict[str, str], ParsedAdviceLine]]] = {}
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.add(where, f"{len(row)} cells, the header names {len(header)}")
                continue
            if any(len(cell) > _CSV_FIELD_MAX for cell in row):
                problems.add(where, f"a cell is longer than {_CSV_FIELD_MAX} characters")
                continue
            cells = {name: _collapse(cell) for name, cell in zip(header, row, strict=True)}
            try:
                line = ParsedAdviceLine(
                    invoice_number=cells["invoice"],
                    amount=_amount(cells["amount"], "amount"),
                    discount=_amount(cells["discount"], "discount") if cells.get("discount") else Decimal(0),
                )
                cells["currency"] = _currency(cells["currency"], "currency")
            except ValueError as exc:
                problems.add(where, str(exc))
                continue
            if not cells["advice"]:
                problems.add(where, "no advice reference")
                continue
            groups.setdefault(cells["advice"], []).append((where, cells, line))
    except csv.Error as exc:
        problems.add(f"line {reader.line_num}", f"not valid CSV: {exc}")
    advices: list[ParsedAdvice] = []
    for reference, rows in groups.items():
        where, first, _ = rows[0]
        disagree = [
            name
            for name in _CSV_AGREE
            if any(cells.get(name, "") != first.get(name, "") for _, cells, _ in rows)
        ]
        if disagree:
            problems.add(where, f"advice {reference[:40]!r}: its rows disagree on {', '.join(disagree)}")
            continue
        try:
            when = _date(first.get("date", ""), where)
        except ValueError as exc:
            problems.add(where, str(exc))
            continue
        lines = tuple(line for _, _, line in rows)
        advices.append(
            ParsedAdvice(
                reference=reference,
                amount=sum((line.amount for line in lines), Decimal(0)),
                currency=first["currency"],
                lines=lines,
                payer_name=first.get("payer", ""),
                payer_account=compact_account(first.get("payer_account", "")),
                payment_date=when,
                end_to_end_id=first.get("end_to_end_id", ""),
                location=where,
            )
        )
    return _finish(advices, problems, "CSV advice file")


def detect_format(data: bytes) -> str:
    """``camt054`` for XML, ``csv`` otherwise (the CSV reader then says what is wrong)."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "camt054" if head.startswith(b"<") else "csv"


def parse_advice_file(data: bytes) -> tuple[str, list[ParsedAdvice]]:
    """``(format, advices)`` of an advice file of either format."""
    fmt = detect_format(data)
    return fmt, (parse_camt054(data) if fmt == "camt054" else parse_csv_advices(data))
