"""SWIFT MT940 reader built on the ``mt-940`` package (module ``mt940``).

Pre-cleaning before the library sees the text: byte-order mark, SOH/ETX
control characters (mBank) and the SWIFT block envelope ``{1:..}{2:..}{4:
... -}`` are blanked out, keeping line numbers intact. Bytes are decoded as
UTF-8, else cp1252 (latin-1 for its undefined bytes).

Mapping decisions:

* Dates: in ``:61:`` the first six digits are the VALUE date and the
  optional four (MMDD) the ENTRY date, i.e. the booking date. The library
  calls them ``date`` and ``entry_date`` (with year roll-over handled), so
  booking_date = ``entry_date`` (``date`` when absent), value_date = ``date``.
* Amount: every ``:61:`` amount is read first by the financial kernel
  (``MT940_AMOUNT``: digits and the mandatory decimal comma of ``15d``) and
  must be followed by the transaction type code (``1!a3!c``, e.g.
  ``NTRF``). The library reads ``CR1a2,00`` as 1.00 with the rest in the
  reference, and a ``:61:`` without a type code overwrites the previous
  transaction; both are refused with the line and column instead. The value
  is the library's ``Amount.amount`` (the same digits), negative for ``D``
  and ``RC`` (reversal of a credit), positive for ``C`` and ``RD``.
* external_id: the bank reference (after ``//``), else the customer
  reference; placeholders (NONREF, EREF, KREF, NOTPROVIDED, one-character
  values) count as no reference.
* ``:86:`` is interpreted here, not by the library (whose merge of ``:86:``
  keys into the ``:61:`` fields garbles the customer reference):
  German GVC ``NNN?00..?20..`` sub-fields give description (``SVWZ+``,
  else the free purpose text, else posting text), ``EREF+`` end_to_end_id,
  ``?31`` counterparty account, ``?32``/``?33`` name and ``?34`` return
  reason for return codes; SWIFT-style ``/CODE/value`` (``/REMI/``,
  ``/NAME/``, ``/IBAN/``, ``/EREF/``, ``/RTRN/``, ``/CNTP/``) is split on
  the known codes with wrapped lines glued back together; anything else is
  free text with line breaks turned into single spaces.
* A ``:61:`` supplementary-details line holding an IBAN (Rabobank) is the
  counterparty account when ``:86:`` has none. Without any ``:86:`` the
  bank-specific ``:NS:`` text is used as description (Sberbank).
* location: "line N" of the ``:61:`` tag.

Statements (``parse_mt940_file``): one per ``:20:`` message, with ``:20:`` as its id, ``:28C:``
as its sequence and ``:60F:``/``:60M:`` and ``:62F:``/``:62M:`` as its opening and closing
balances, read here by the kernel's amount rule (``_balance``), not by the library.

Cost: linear in the file. Line numbers are counted once, front to back (counting from the
start of a block for every ``:61:`` was quadratic: large files did not finish; figures in
docs/benchmarks.md).
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

import mt940
import mt940.models
import mt940.tags

from common.finance import (
    MT940_AMOUNT,
    AmountError,
    compact_account,
    find_rf_reference,
    looks_like_iban,
    parse_amount_text,
)

from ._text import collapse_ws, decode_bytes, read_all
from .types import (
    ParsedBalance,
    ParsedStatement,
    ParsedTransaction,
    StatementParseError,
    statement_movements,
)

_ENVELOPE_BLOCK = re.compile(r"\{[1235]:(?:[^{}\n]|\{[^{}\n]*\})*\}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STATEMENT_START = re.compile(r"^:20:", re.MULTILINE)
_TRANSACTION_TAG = re.compile(r"^:61:", re.MULTILINE)
_ACCOUNT_TAG = re.compile(r"^:25:", re.MULTILINE)
# The library's :61: layout up to the amount (value date, entry date, mark, funds code), then
# what is written where the amount stands and the four characters after it.
_STATEMENT_LINE = re.compile(
    r"[0-9]{6}(?:[0-9]{2}|\s{2})?(?:[0-9]{2}|\s{2})?R?[DC][A-Z]?(?P<gap>[\n ]?)"
    r"(?P<amount>[0-9,.]*)(?P<after>.{0,4})",
    re.IGNORECASE,
)
# SWIFT's 1!a3!c: S, N or F and three more (Sberbank pads with spaces). Strict on purpose: the
# library takes any letter case-insensitively, so "1,5e3NTRF" would read as 1.5 of type "E3NT".
_TYPE_CODE = re.compile(r"[SNF][A-Z0-9 ]{3}")
_ANY_TAG = re.compile(r"^:(?:\d{2}[A-Z]?|NS):", re.MULTILINE)
_PLACEHOLDER_REFS = frozenset({"NONREF", "NOREF", "NOTPROVIDED", "NONE", "EREF", "KREF", "MREF"})
_GVC = re.compile(r"^(\d{3})\?")
_GVC_FIELD = re.compile(r"\?(\d{2})")
_GVC_PURPOSE_KEYS = tuple(str(n) for n in range(20, 30)) + ("60", "61", "62", "63")
_SEPA_KEYWORDS = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|PURP|COAM|OAMT|SQTP|ORCR|ORMR|"
    r"DDAT|MDAT|RTRN)\+"
)
_REFERENCE_KEYWORDS = frozenset({"EREF", "KREF", "MREF", "CRED", "DEBT"})
_MAX_REF = 35  # SEPA references are at most 35 characters
_GVC_RETURN_CODES = frozenset(
    {"108", "109", "159", "160", "161", "162", "163", "164", "165", "181", "183", "184", "185"}
)
_SWIFT_CODES = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|MARF|CSID|BENM|ORDP|ISDT|RTRN|PREF|KREF|ULTC|ULTD|ULTB|"
    "PURP|ACCW|ADDR|CNTP|SVCL|CDTRREF|CDTRREFTP|CD|ISSR|USTD|STRD|EXCH|CHGS|ORIG|RTYP|OCMT|"
    "BENA|ORDA|ID|NAMA|CITY"
)
_SWIFT_FIELD = re.compile(rf"/({_SWIFT_CODES})(?=/)")
_SWIFT_START = re.compile(rf"^/({_SWIFT_CODES})/")

# The library logs every failed tag match at ERROR level; we report it ourselves.
logging.getLogger("mt940").setLevel(logging.CRITICAL)


@dataclass(slots=True)
class _Details:
    description: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    end_to_end_id: str = ""
    return_reason: str = ""


def _clean(text: str) -> str:
    """Blank out envelope and control characters without changing line numbers."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = _ENVELOPE_BLOCK.sub("", text)
    text = re.sub(r"^\{4:", "", text, flags=re.MULTILINE)
    text = re.sub(r"^-\}\s*$", "", text, flags=re.MULTILINE)
    return _CONTROL.sub("", text)


def _e2e(value: str) -> str:
    value = collapse_ws(value)
    return "" if value.upper() in {"NOTPROVIDED", "NONREF", ""} else value


def _gvc_sections(subfields: list[str]) -> tuple[dict[str, str], str]:
    """Split purpose sub-fields on SEPA keywords (``EREF+``, ``SVWZ+`` ...).

    A keyword's value runs on into the next sub-fields (they are cut every
    27 characters), but a reference (EREF, KREF, MREF, CRED, DEBT) is at most
    35 characters, so text beyond that is free text, not reference.
    Returns the sections and the free text.
    """
    sections: dict[str, str] = {}
    free: list[str] = []
    current: str | None = None
    overflowed = False  # the current reference is complete: what follows is free text

    def add(text: str) -> None:
        nonlocal overflowed
        if not text:
            return
        if current is None or overflowed:
            free.append(text)
        elif current in _REFERENCE_KEYWORDS and len(sections[current] + text.rstrip()) > _MAX_REF:
            overflowed = True
            free.append(text)
        else:
            sections[current] += text

    for subfield in subfields:
        position = 0
        for match in _SEPA_KEYWORDS.finditer(subfield):
            add(subfield[position : match.start()])
            current, overflowed = match.group(1), False
            sections.setdefault(current, "")
            position = match.end()
        add(subfield[position:])
    return sections, "".join(free)


def _parse_gvc(text: str, code: str) -> _Details:
    """German DK/GVC ``:86:``: ``166?00posting text?20purpose...?32name``."""
    joined = text.replace("\n", "")  # sub-fields wrap anywhere
    parts = _GVC_FIELD.split(joined[len(code) :])
    fields: dict[str, list[str]] = {}
    for key, value in zip(parts[1::2], parts[2::2], strict=False):
        fields.setdefault(key, []).append(value)

    def get(*keys: str) -> str:
        return "".join("".join(fields.get(k, [])) for k in keys)

    subfields = [v for k in _GVC_PURPOSE_KEYS if k in fields for v in fields[k]]
    purpose = "".join(subfields)
    sections, free_text = _gvc_sections(subfields)
    description = (
        collapse_ws(sections.get("SVWZ"))
        or collapse_ws(free_text)
        or collapse_ws(purpose)
        or collapse_ws(get("00"))
    )
    posting_text = get("00").upper()
    is_return = code in _GVC_RETURN_CODES or "RETOUR" in posting_text or "RUECK" in posting_text
    return _Details(
        description=description,
        counterparty_name=collapse_ws(get("32", "33")),
        counterparty_account=compact_account(get("31") or sections.get("IBAN", "")),
        end_to_end_id=_e2e(sections.get("EREF", "")),
        return_reason=collapse_ws(get("34")) if is_return else "",
    )


def _parse_swift_codes(text: str) -> _Details:
    """SWIFT-style ``/CODE/value/CODE/value`` (Rabobank, ING, French banks)."""
    joined = "".join(text.split("\n"))  # lines are cut at 65 chars, mid-word
    matches = list(_SWIFT_FIELD.finditer(joined))
    values: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(joined)
        values.setdefault(match.group(1), joined[match.end() + 1 : end].strip("/ "))
    counterparty = values.get("CNTP", "").split("/")
    remittance = " ".join(v for v in (values.get("REMI"), values.get("USTD")) if v)
    return _Details(
        description=collapse_ws(remittance) or collapse_ws(values.get("TRTP")) or collapse_ws(joined),
        counterparty_name=collapse_ws(
            values.get("NAME") or (counterparty[2] if len(counterparty) > 2 else "")
        ),
        counterparty_account=compact_account(values.get("IBAN") or counterparty[0]),
        end_to_end_id=_e2e(values.get("EREF", "")),
        return_reason=collapse_ws(values.get("RTRN", "")).split("/")[0],
    )


def parse_details(text: str | None) -> _Details:
    """Interpret a ``:86:`` value (lines separated by newlines)."""
    if not text or not text.strip():
        return _Details()
    text = text.strip()
    gvc = _GVC.match(text)
    if gvc and _GVC_FIELD.search(text):
        return _parse_gvc(text, gvc.group(1))
    if _SWIFT_START.match(text):
        return _parse_swift_codes(text)
    return _Details(description=collapse_ws(text))


def _reference(value: object) -> str:
    text = collapse_ws(str(value)) if value else ""
    if len(text) < 2 or text.upper().rstrip("+") in _PLACEHOLDER_REFS:
        return ""
    return text


def _new_transactions() -> mt940.models.Transactions:
    # Disable the library's :86: interpretation; parse_details() does it.
    return mt940.models.Transactions(processors={"post_transaction_details": []}, options=mt940.Options.all())


def _parse_block(block: str) -> mt940.models.Transactions:
    transactions = _new_transactions()
    transactions.parse(block)
    return transactions


def _failing_tag_line(block: str, first_line: int) -> int:
    """Line of the first tag whose parsing fails, by bisecting tag prefixes.

    Parsing is sequential, so if a prefix fails every longer one fails too;
    the binary search costs O(n log n) and only runs on the error path.
    """
    starts = [m.start() for m in _ANY_TAG.finditer(block)]
    if not starts:
        return first_line
    ends = starts[1:] + [len(block)]
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high) // 2
        try:
            _parse_block(block[: ends[middle]])
        except Exception:  # noqa: BLE001 - any library failure counts
            high = middle
        else:
            low = middle + 1
    return first_line + block.count("\n", 0, starts[low])


def _statement_line_error(text: str, start: int) -> tuple[str, int] | None:
    """Why the ``:61:`` value at ``text[start:]`` has no exact amount, and on which line after
    the tag's (0: the tag's own line); None when it has one.

    Reads what the library would take as the amount with the kernel's MT940 rule and checks
    the transaction type code follows it, so the library cannot split the amount elsewhere.
    The value is read as the library sees it: stripped, blank lines dropped, the amount
    possibly on the next line. A value whose dates or mark do not fit is left to the library's
    own error.
    """
    lines: list[tuple[str, int, int]] = []  # (text, line offset from the tag's, first column)
    end = text.find("\n", start)
    piece = text[start : end if end >= 0 else len(text)].rstrip()
    if piece.strip():
        lines.append((piece, 0, 5))  # ":61:" takes columns 1 to 4
    offset = 0
    while end >= 0 and len(lines) < 2:
        following = text.find("\n", end + 1)
        piece = text[end + 1 : following if following >= 0 else len(text)].rstrip()
        end, offset = following, offset + 1
        if piece.startswith(":"):
            break  # the next tag
        if piece.strip():
            lines.append((piece, offset, 1))
    if not lines:
        return None
    value = "\n".join(piece for piece, _offset, _column in lines)
    skipped = len(value) - len(value.lstrip())
    match = _STATEMENT_LINE.match(value, skipped)
    if match is None:
        return None
    position = match.start("amount")
    piece, line_offset, column = lines[0]
    if position > len(piece):
        position -= len(piece) + 1
        piece, line_offset, column = lines[1]
    shown = f"invalid amount {piece[position : position + 16]!r} at column {column + position}"
    try:
        parse_amount_text(match.group("amount"), MT940_AMOUNT)
    except AmountError as error:
        return f"{shown}: {error}", line_offset
    if not _TYPE_CODE.fullmatch(match.group("after")):
        return (
            f"{shown}: the amount (digits and a decimal comma) must be followed by the "
            "transaction type code (S, N or F and three more, e.g. NTRF)",
            line_offset,
        )
    return None


# The statement's own tags: reference, number/sequence, and the booked balances (final or
# intermediate, ``F``/``M``, or the tag without a letter that older files write).
_STATEMENT_TAG = re.compile(r"^:(20|28C?|60[FM]?|62[FM]?):[ \t]*(.*?)[ \t]*$", re.MULTILINE)
# 1!a6!n3!a15d: mark, YYMMDD, currency, amount (read by the kernel's MT940 rule, not here).
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>[0-9]{6})(?P<currency>[A-Z]{3})(?P<amount>.*)")


def _balance(tag: str, value: str, line: int) -> ParsedBalance:
    """A ``:60x:``/``:62x:`` balance, every part exactly as SWIFT writes it, or the file is refused.

    The library reads ``C231024EUR1e3`` as 1 (its pattern stops at the first character that is
    not a digit or comma): balances are amounts, read by the kernel's rule like ``:61:``.
    """
    location = f"line {line}"
    match = _BALANCE.fullmatch(value)
    if match is None:
        raise StatementParseError(
            f"invalid MT940 data: :{tag}: must be C or D, a YYMMDD date, a currency code and an amount "
            f"(e.g. C231024EUR1234,56), not {value[:40]!r}",
            location=location,
        )
    try:
        amount = parse_amount_text(match.group("amount"), MT940_AMOUNT)
    except AmountError as error:
        raise StatementParseError(
            f"invalid MT940 data: invalid amount {match.group('amount')[:20]!r} in :{tag}: at column "
            f"{len(tag) + 3 + match.start('amount')}: {error}",
            location=location,
        ) from None
    digits = match.group("date")
    try:
        # Two-digit years are in the 2000s, as the library reads the :61: dates.
        when = datetime.date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        raise StatementParseError(
            f"invalid MT940 data: invalid date {digits!r} in :{tag}:", location=location
        ) from None
    signed = -amount if match.group("mark") == "D" else amount
    return ParsedBalance(
        amount=signed if signed else abs(signed),
        currency=match.group("currency"),
        date=when,
        location=location,
    )


@dataclass(frozen=True, slots=True)
class _StatementTags:
    """A message's own tags: ``:20:``, ``:28C:`` and its booked balances."""

    reference: str
    sequence: str
    opening: ParsedBalance | None
    closing: ParsedBalance | None


def _statement_tags(block: str, first_line: int) -> _StatementTags:
    """Read before the library parses the message, so a malformed balance is refused in our words.

    Opening = the first ``:60F:``/``:60M:`` (``:60:``), closing = the first ``:62F:``/``:62M:``
    (``:62:``).
    """
    tags: dict[str, tuple[str, str, int]] = {}  # kind (20, 28, 60, 62) -> (tag, value, line)
    line, position = first_line, 0
    for match in _STATEMENT_TAG.finditer(block):
        line += block.count("\n", position, match.start())
        position = match.start()
        tags.setdefault(match.group(1)[:2], (match.group(1), match.group(2), line))
    return _StatementTags(
        reference=collapse_ws(tags["20"][1]) if "20" in tags else "",
        sequence=collapse_ws(tags["28"][1]) if "28" in tags else "",
        opening=_balance(*tags["60"]) if "60" in tags else None,
        closing=_balance(*tags["62"]) if "62" in tags else None,
    )


def _statement(
    tags: _StatementTags, first_line: int, account: str, transactions: list[ParsedTransaction], first: int
) -> ParsedStatement:
    """The statement of one message. Its currency is its balances' (else its transactions');
    MT940 carries no period, only the balances' dates."""
    opening, closing = tags.opening, tags.closing
    currency = (
        (opening.currency if opening else "")
        or (closing.currency if closing else "")
        or next((t.currency for t in transactions), "")
    )
    return ParsedStatement(
        account=account,
        currency=currency,
        statement_id=tags.reference,
        sequence=tags.sequence,
        opening=opening,
        closing=closing if closing is None or closing.currency == currency else None,
        first_transaction=first,
        transaction_count=len(transactions),
        movements=statement_movements(currency, transactions),
        location=f"line {first_line}",
    )


def parse_mt940(data: bytes | str) -> list[ParsedTransaction]:
    """All transactions of an MT940 file; raises StatementParseError."""
    return parse_mt940_file(data)[1]


def parse_mt940_file(data: bytes | str) -> tuple[list[ParsedStatement], list[ParsedTransaction]]:
    """Every statement (one per ``:20:`` message) and every transaction of an MT940 file.

    Raises StatementParseError at the first malformed line.
    """
    text = _clean(data if isinstance(data, str) else decode_bytes(data))
    if not _STATEMENT_START.search(text) or not (_TRANSACTION_TAG.search(text) or _ACCOUNT_TAG.search(text)):
        raise StatementParseError(
            "not an MT940 file: no ':20:' statement with ':25:'/':61:' tags found",
            location="line 1",
        )
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
    statements: list[ParsedStatement] = []
    results: list[ParsedTransaction] = []
    first_line, counted_to = 1, 0  # line numbers counted front to back, once
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        first_line += text.count("\n", counted_to, start)
        counted_to = start
        block = text[start:end]
        statement_tags = _statement_tags(block, first_line)
        tag_lines: list[int] = []
        line, position = first_line, 0
        for match in _TRANSACTION_TAG.finditer(block):
            line += block.count("\n", position, match.start())
            position = match.start()
            tag_lines.append(line)
            problem = _statement_line_error(block, match.end())
            if problem:
                reason, line_offset = problem
                raise StatementParseError(
                    f"invalid MT940 data: {reason}", location=f"line {line + line_offset}"
                )
        try:
            transactions = _parse_block(block)
        except Exception as exc:  # noqa: BLE001 - library raises RuntimeError/ValueError/...
            line = _failing_tag_line(block, first_line)
            reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else repr(exc)
            raise StatementParseError(f"invalid MT940 data: {reason}", location=f"line {line}") from None
        if len(tag_lines) != len(transactions):
            # Every :61: starts a transaction once its type code is checked: a difference means
            # the library merged or split lines, and importing would alter the statement.
            raise StatementParseError(
                f"invalid MT940 data: {len(tag_lines)} ':61:' lines but {len(transactions)} transactions "
                "read from this statement",
                location=f"line {first_line}",
            )
        account = collapse_ws(transactions.data.get("account_identification") or "")
        account_currency = (transactions.currency or "").upper()
        first = len(results)
        for position_in_block, transaction in enumerate(transactions):
            location = f"line {tag_lines[position_in_block]}"
            results.append(_convert(transaction.data, account, account_currency, location))
        statements.append(_statement(statement_tags, first_line, account, results[first:], first))
    return statements, results


def _plain_date(value: object) -> datetime.date | None:
    """The library's Date subclass as a plain ``datetime.date``."""
    if isinstance(value, datetime.date):
        return datetime.date(value.year, value.month, value.day)
    return None


def _convert(
    data: dict[str, object], account: str, account_currency: str, location: str
) -> ParsedTransaction:
    amount_obj = data.get("amount")
    amount = getattr(amount_obj, "amount", None)
    if not isinstance(amount, Decimal):
        raise StatementParseError("transaction without a valid amount", location=location)
    value_date = _plain_date(data.get("date"))
    booking_date = _plain_date(data.get("entry_date")) or value_date
    if booking_date is None:
        raise StatementParseError("transaction without a date", location=location)
    raw_details = data.get("transaction_details")
    details = parse_details(raw_details if isinstance(raw_details, str) else None)
    description = details.description
    if not description and isinstance(data.get("non_swift_text"), str):
        description = collapse_ws(str(data["non_swift_text"]))
    extra = collapse_ws(str(data.get("extra_details") or ""))
    counterparty_account = details.counterparty_account
    if not counterparty_account and extra and looks_like_iban(extra):
        counterparty_account = compact_account(extra)
    currency = getattr(amount_obj, "currency", None) or data.get("currency") or account_currency
    return ParsedTransaction(
        account=account,
        account_currency=account_currency,
        amount=amount if amount else abs(amount),
        currency=str(currency).upper(),
        booking_date=booking_date,
        value_date=value_date,
        description=description,
        counterparty_name=details.counterparty_name,
        counterparty_account=counterparty_account,
        external_id=_reference(data.get("bank_reference")) or _reference(data.get("customer_reference")),
        end_to_end_id=details.end_to_end_id,
        structured_reference=find_rf_reference(description),
        return_reason=details.return_reason,
        location=location,
    )


def iter_mt940(stream: BinaryIO) -> Iterator[ParsedTransaction]:
    """Yield the transactions of every statement in an MT940 file (see module docs)."""
    yield from parse_mt940(read_all(stream))
