"""OFX/QFX reader (SGML OFX 1.x and XML OFX 2.x) with a small tolerant tag extractor.

ofxparse is not used: it fails on real files (empty tags, blank lines before
the header, odd charsets). Instead the body is tokenised into a light tree:
an element followed by text is a leaf (SGML leaves have no closing tag), any
other element is an aggregate closed by its end tag; end tags for elements
that are not open are ignored; aggregates nest at most ``MAX_DEPTH`` deep
(which keeps parsing linear in the file). No DTD or entity definitions are processed:
only the standard character entities (``&amp;`` ...) are decoded, so XML
OFX cannot expand entities.

Mapping: one transaction per ``STMTTRN`` of every ``STMTRS``/``CCSTMTRS``
(several accounts per file work). TRNAMT is taken with its sign as written,
read by the financial kernel's rule (``OFX_AMOUNT``).
DTPOSTED -> booking_date, DTUSER (else DTAVAIL, else the non-standard
VALUEDATE) -> value_date; the date part of the timestamp is used as written,
time zones are not converted. NAME or PAYEE/NAME -> counterparty_name, MEMO
-> description (NAME when MEMO is empty), FITID -> external_id, CURRENCY/
CURSYM (else CURDEF) -> currency, CURDEF -> account_currency,
BANKACCTTO/CCACCTTO ACCTID -> counterparty_account. Transactions are
numbered across the file: "STMTTRN #3" is the third in the file.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from common.finance import OFX_AMOUNT, AmountError, compact_account, find_rf_reference, parse_amount_text

from ._text import collapse_ws, decode_bytes
from .types import ParsedTransaction, RowError, StatementParseError

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9._:-]*)[^>]*?(/?)>")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_SKIP = re.compile(r"<!--.*?-->|<\?.*?\?>|<![^>]*>", re.DOTALL)
_SGML_HEADER = re.compile(r"^\s*([A-Z]+)\s*:\s*(.*?)\s*$", re.MULTILINE)
_XML_ENCODING = re.compile(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", re.IGNORECASE)
_DATE = re.compile(r"\s*(\d{4})(\d{2})(\d{2})")
_CHARSETS = {
    "1252": "cp1252",
    "WINDOWS-1252": "cp1252",
    "8859-1": "latin-1",
    "ISO-8859-1": "latin-1",
    "ISO8859-1": "latin-1",
    "LATIN1": "latin-1",
    "ISO-8859-15": "iso8859-15",
    "8859-15": "iso8859-15",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "USASCII": "ascii",
    "US-ASCII": "ascii",
}
#: Elements that are leaves even when empty (``<MEMO>`` with no text in SGML).
_LEAVES = frozenset(
    """
    TRNTYPE DTPOSTED DTUSER DTAVAIL TRNAMT FITID CORRECTFITID CORRECTACTION SRVRTID
    CHECKNUM REFNUM SIC PAYEEID NAME EXTDNAME MEMO INV401KSOURCE CURDEF CURSYM CURRATE
    BANKID BRANCHID ACCTID ACCTTYPE ACCTKEY DTSTART DTEND BALAMT DTASOF VALUEDATE
    CODE SEVERITY MESSAGE DTSERVER LANGUAGE ORG FID TRNUID DTPROFUP DTACCTUP
    ADDR1 ADDR2 ADDR3 CITY STATE POSTALCODE COUNTRY PHONE
    """.split()
)
_STATEMENTS = frozenset({"STMTRS", "CCSTMTRS"})
#: Real OFX nests aggregates about 8 deep (OFX > ...MSGSRSV1 > ...TRNRS > STMTRS > BANKTRANLIST >
#: STMTTRN > PAYEE). The bound keeps parsing linear: an end tag searches the open elements, and
#: thousands of unclosed ones followed by stray end tags made that quadratic (60 KB took 4 s).
MAX_DEPTH = 32


@dataclass(slots=True)
class _Node:
    name: str
    text: str = ""
    children: list[_Node] = field(default_factory=list)

    def child(self, name: str) -> _Node | None:
        for node in self.children:
            if node.name == name:
                return node
        return None

    def value(self, *path: str) -> str:
        """Collapsed text of the first element along ``path`` ("" if absent)."""
        node: _Node | None = self
        for name in path:
            node = node.child(name) if node else None
        return collapse_ws(node.text) if node else ""

    def iter(self, name: str) -> Iterator[_Node]:
        """Descendants named ``name``, in document order (not below a match)."""
        for node in self.children:
            if node.name == name:
                yield node
            else:
                yield from node.iter(name)


def _decode(data: bytes) -> str:
    """Decode using the XML declaration or the SGML ENCODING/CHARSET header."""
    head = data[:4096]
    declared: str | None = None
    match = _XML_ENCODING.search(head)
    if match:
        declared = match.group(1).decode("ascii")
    else:
        header = head.decode("latin-1").split("<", 1)[0]
        fields = {k: v.upper() for k, v in _SGML_HEADER.findall(header)}
        if fields.get("ENCODING") in {"UTF-8", "UTF8"}:
            declared = "utf-8"
        else:
            declared = fields.get("CHARSET")
    if declared:
        # CHARSET:8859-1 (no ISO- prefix) or 1252 are not Python codec names.
        declared = _CHARSETS.get(declared.upper(), declared)
    return decode_bytes(data, declared)


def parse_tree(text: str) -> _Node:
    """Build the element tree of the OFX body; raises on a missing/truncated body."""
    start = text.upper().find("<OFX")
    if start < 0:
        raise StatementParseError("not an OFX file: no <OFX> element found")
    body = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), text[start:])
    body = _SKIP.sub("", body)
    root = _Node("#document")
    stack = [root]
    tokens = list(_TAG.finditer(body))
    for index, match in enumerate(tokens):
        closing, name, self_closing = match.group(1), match.group(2).upper(), match.group(3)
        end = tokens[index + 1].start() if index + 1 < len(tokens) else len(body)
        following = body[match.end() : end]
        if closing:
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].name == name:
                    del stack[depth:]
                    break
            # else: the end tag of a leaf (XML style) or a stray one: ignore
            continue
        text_value = html.unescape(following).strip()
        node = _Node(name, text=text_value)
        stack[-1].children.append(node)
        if not (self_closing or text_value or name in _LEAVES):
            if len(stack) > MAX_DEPTH:
                raise StatementParseError(
                    f"the OFX elements are nested more than {MAX_DEPTH} deep (at <{name}>)",
                    location=f"<{name}>",
                )
            stack.append(node)
    open_aggregates = [node.name for node in stack[1:] if node.children]
    if open_aggregates:
        raise StatementParseError(
            f"the OFX file ends inside <{open_aggregates[-1]}> (truncated file?)",
            location=f"<{open_aggregates[-1]}>",
        )
    return root


def _date(value: str) -> datetime.date:
    match = _DATE.match(value)
    if not match:
        raise ValueError(value)
    year, month, day = (int(g) for g in match.groups())
    return datetime.date(year, month, day)


def _amount(value: str) -> Decimal:
    """TRNAMT: signed, no thousands separators; a decimal comma is tolerated (``OFX_AMOUNT``)."""
    return parse_amount_text(value, OFX_AMOUNT)


def _transaction(
    trn: _Node, account: str, curdef: str, location: str
) -> tuple[ParsedTransaction | None, list[RowError]]:
    errors: list[RowError] = []
    posted = trn.value("DTPOSTED")
    booking = None
    if not posted:
        errors.append(RowError(location, "missing DTPOSTED"))
    else:
        try:
            booking = _date(posted)
        except ValueError:
            errors.append(RowError(location, f"invalid DTPOSTED {posted!r}"))
    amount = None
    raw_amount = trn.value("TRNAMT")
    if not raw_amount:
        errors.append(RowError(location, "missing TRNAMT"))
    else:
        try:
            amount = _amount(raw_amount)
        except AmountError as error:
            errors.append(RowError(location, f"invalid TRNAMT {raw_amount!r}: {error}"))
    value_date = None
    for tag in ("DTUSER", "DTAVAIL", "VALUEDATE"):
        if raw := trn.value(tag):
            try:
                value_date = _date(raw)
            except ValueError:
                errors.append(RowError(location, f"invalid {tag} {raw!r}"))
            break
    if errors or booking is None or amount is None:
        return None, errors
    payee = trn.child("PAYEE")
    name = trn.value("NAME") or (payee.value("NAME") or payee.text if payee else "")
    memo = trn.value("MEMO")
    description = memo or name
    currency = trn.value("CURRENCY", "CURSYM") or curdef
    counter = trn.child("BANKACCTTO") or trn.child("CCACCTTO")
    return (
        ParsedTransaction(
            account=account,
            account_currency=curdef,
            amount=amount,
            currency=currency.upper(),
            booking_date=booking,
            value_date=value_date,
            description=description,
            counterparty_name=collapse_ws(name),
            counterparty_account=compact_account(counter.value("ACCTID") if counter else ""),
            external_id=trn.value("FITID"),
            structured_reference=find_rf_reference(f"{memo} {name}"),
            location=location,
        ),
        [],
    )


def iter_ofx(stream: BinaryIO) -> Iterator[ParsedTransaction]:
    """Yield the transactions of every bank/credit-card statement in an OFX file.

    The whole file is checked first: any invalid STMTTRN raises one
    StatementParseError listing all of them before anything is yielded.
    """
    data = stream.read()
    text = data if isinstance(data, str) else _decode(data)
    root = parse_tree(text)
    results: list[ParsedTransaction] = []
    errors: list[RowError] = []
    number = 0
    for statement in _iter_statements(root):
        curdef = statement.value("CURDEF").upper()
        account_node = statement.child("BANKACCTFROM") or statement.child("CCACCTFROM")
        account = account_node.value("ACCTID") if account_node else ""
        for trn in statement.iter("STMTTRN"):
            number += 1
            parsed, problems = _transaction(trn, account, curdef, f"STMTTRN #{number}")
            errors.extend(problems)
            if parsed is not None:
                results.append(parsed)
    if errors:
        raise StatementParseError(
            f"{len(errors)} error(s) in the OFX file (first at {errors[0].location})", errors
        )
    yield from results


def _iter_statements(root: _Node) -> Iterator[_Node]:
    for node in root.children:
        if node.name in _STATEMENTS:
            yield node
        else:
            yield from _iter_statements(node)
