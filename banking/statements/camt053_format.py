"""ISO 20022 CAMT.053 (any version, .001.02 to .001.08+) statement reader.

Parsing is safe by construction: lxml with no DTD loading, no entity
resolution, no network and no huge trees, and any document carrying a
DOCTYPE (the vehicle for billion-laughs and external-entity attacks) is
rejected outright. Element names are matched on their local name, so every
namespace version works.

Mapping decisions:

* Only booked entries are imported: ``Sts`` = ``BOOK`` (``<Sts>BOOK</Sts>``
  or v8+ ``<Sts><Cd>BOOK</Cd></Sts>``). ``PDNG``, ``INFO``, ``FUTR`` and
  any other status are skipped silently; an entry without a status counts as
  booked.
* An entry with two or more ``TxDtls`` (a batch) yields one transaction per
  TxDtls, amount from ``TxDtls/Amt`` or ``AmtDtls/TxAmt/Amt``, sign from the
  TxDtls' own ``CdtDbtInd`` else the entry's; if one of them has no amount
  the entry is imported whole. Otherwise one transaction per entry with the
  entry's amount and currency (v8 files may carry a meaningless TxDtls
  amount, e.g. 0 SEK inside an 8.85 EUR entry).
* Counterparty: the debtor (``Dbtr/Nm`` or v8 ``Dbtr/Pty/Nm``, ``DbtrAcct``)
  for credits, the creditor for debits.
* description = every ``RmtInf/Ustrd`` + ``AddtlTxInf`` + ``AddtlNtryInf``,
  whitespace collapsed and joined with single spaces.
* external_id = ``Refs/AcctSvcrRef`` of the TxDtls, else the entry's
  ``AcctSvcrRef``, else ``NtryRef`` (batch items share the entry's one).
* booking/value dates: ``Dt`` or the date part of ``DtTm`` as written.
* account = ``Acct/Id/IBAN`` else ``Acct/Id/Othr/Id``; account_currency =
  ``Acct/Ccy`` ("" when absent); currency = the ``Ccy`` of the amount used.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from lxml import etree

from common.finance import (
    CAMT_AMOUNT,
    AmountError,
    compact_account,
    compact_reference,
    find_rf_reference,
    parse_amount_text,
)

from ._text import collapse_ws, join_text, read_all
from .types import ParsedTransaction, RowError, StatementBalance, StatementParseError

_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_BOOKED = "BOOK"


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


def _load(data: bytes) -> etree._Element:
    """Parse safely and strip namespaces; raises StatementParseError."""
    if _FORBIDDEN.search(data) or _FORBIDDEN.search(data.replace(b"\x00", b"")):
        raise StatementParseError(
            "DOCTYPE/ENTITY declarations are not allowed in CAMT files", location="DOCTYPE"
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise StatementParseError(
            f"not well-formed XML: {exc.msg}", location=f"line {line}" if line else "XML"
        ) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StatementParseError("DOCTYPE declarations are not allowed in CAMT files", location="DOCTYPE")
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    statement_root = root if root.tag == "BkToCstmrStmt" else root.find("BkToCstmrStmt")
    if statement_root is None:
        raise StatementParseError(
            f"not a CAMT.053 statement: no BkToCstmrStmt under <{root.tag}>",
            location=f"<{root.tag}>",
        )
    return statement_root


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return collapse_ws(found.text) if found is not None and found.text else ""


def _date(element: etree._Element | None) -> datetime.date | None:
    """Date of a ``BookgDt``/``ValDt``-like element (``Dt`` or ``DtTm``)."""
    if element is None:
        return None
    text = _text(element, "Dt") or _text(element, "DtTm")[:10]
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"invalid date {text!r} in {element.tag}") from None


def _amount(element: etree._Element | None) -> tuple[Decimal, str] | None:
    """``(amount, currency)`` of an ``Amt``-like element (``CAMT_AMOUNT``: non-negative, decimal
    point, no grouping); ValueError naming its line when the text is not exactly one."""
    if element is None or not element.text:
        return None
    text = element.text.strip()
    try:
        amount = parse_amount_text(text, CAMT_AMOUNT)
    except AmountError as error:
        raise ValueError(
            f"invalid amount {text!r} in <{element.tag}> on line {element.sourceline}: {error}"
        ) from None
    return amount, (element.get("Ccy") or "").upper()


def _sign(indicator: str, where: str) -> int:
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise ValueError(f"invalid or missing CdtDbtInd {indicator!r} in {where}")


def _status(entry: etree._Element) -> str:
    return (_text(entry, "Sts/Cd") or _text(entry, "Sts/Prtry") or _text(entry, "Sts")).upper()


def _account(acct: etree._Element | None) -> str:
    return _text(acct, "Id/IBAN") or _text(acct, "Id/Othr/Id")


def _party_name(parties: etree._Element | None, role: str) -> str:
    return _text(parties, f"{role}/Nm") or _text(parties, f"{role}/Pty/Nm")


def _transaction(
    *,
    stmt_account: str,
    stmt_currency: str,
    entry: etree._Element,
    details: etree._Element | None,
    amount: Decimal,
    currency: str,
    sign: int,
    location: str,
) -> ParsedTransaction:
    booking = _date(entry.find("BookgDt")) or _date(entry.find("ValDt"))
    if booking is None:
        raise ValueError("missing BookgDt")
    value_date = _date(entry.find("ValDt"))
    parties = details.find("RltdPties") if details is not None else None
    role = "Dbtr" if sign > 0 else "Cdtr"
    ustrd = [collapse_ws(u.text) for u in details.iterfind("RmtInf/Ustrd")] if details is not None else []
    description = join_text(*ustrd, _text(details, "AddtlTxInf"), _text(entry, "AddtlNtryInf"))
    end_to_end = _text(details, "Refs/EndToEndId")
    if end_to_end.upper() == "NOTPROVIDED":
        end_to_end = ""
    structured = compact_reference(_text(details, "RmtInf/Strd/CdtrRefInf/Ref"))
    signed = sign * amount
    return ParsedTransaction(
        account=stmt_account,
        account_currency=stmt_currency,
        amount=signed if signed else abs(signed),  # no "-0.00"
        currency=currency or stmt_currency,
        booking_date=booking,
        value_date=value_date,
        description=description,
        counterparty_name=_party_name(parties, role),
        counterparty_account=compact_account(
            _account(parties.find(f"{role}Acct") if parties is not None else None)
        ),
        external_id=(
            _text(details, "Refs/AcctSvcrRef") or _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
        ),
        end_to_end_id=end_to_end,
        structured_reference=structured or find_rf_reference(description),
        return_reason=_text(details, "RtrInf/Rsn/Cd") or _text(details, "RtrInf/Rsn/Prtry"),
        location=location,
    )


def _entry_transactions(
    entry: etree._Element, stmt_account: str, stmt_currency: str, where: str
) -> list[ParsedTransaction]:
    entry_amount = _amount(entry.find("Amt"))
    if entry_amount is None:
        raise ValueError("missing Amt")
    entry_sign = _sign(_text(entry, "CdtDbtInd"), where)
    all_details = entry.findall("NtryDtls/TxDtls")
    if len(all_details) >= 2:
        items: list[tuple[etree._Element, tuple[Decimal, str], int, str]] = []
        for index, details in enumerate(all_details):
            amount = _amount(details.find("Amt")) or _amount(details.find("AmtDtls/TxAmt/Amt"))
            if amount is None:
                items = []
                break  # not itemised after all: import the entry whole below
            indicator = _text(details, "CdtDbtInd")
            sign = _sign(indicator, f"{where}/TxDtls[{index}]") if indicator else entry_sign
            items.append((details, amount, sign, f"{where}/TxDtls[{index}]"))
        if items:
            return [
                _transaction(
                    stmt_account=stmt_account,
                    stmt_currency=stmt_currency,
                    entry=entry,
                    details=details,
                    amount=amount[0],
                    currency=amount[1],
                    sign=sign,
                    location=location,
                )
                for details, amount, sign, location in items
            ]
    return [
        _transaction(
            stmt_account=stmt_account,
            stmt_currency=stmt_currency,
            entry=entry,
            details=all_details[0] if all_details else None,
            amount=entry_amount[0],
            currency=entry_amount[1],
            sign=entry_sign,
            location=where,
        )
    ]


def parse_camt053(data: bytes) -> list[ParsedTransaction]:
    """All booked transactions of a CAMT.053 document; raises StatementParseError."""
    root = _load(data)
    results: list[ParsedTransaction] = []
    errors: list[RowError] = []
    for s_index, stmt in enumerate(root.findall("Stmt")):
        acct = stmt.find("Acct")
        stmt_account = compact_account(_account(acct))
        stmt_currency = _text(acct, "Ccy").upper()
        for n_index, entry in enumerate(stmt.findall("Ntry")):
            where = f"Stmt[{s_index}]/Ntry[{n_index}]"
            status = _status(entry)
            if status and status != _BOOKED:
                continue  # pending/information-only entries are not bookings
            try:
                results.extend(_entry_transactions(entry, stmt_account, stmt_currency, where))
            except ValueError as exc:
                errors.append(RowError(where, str(exc)))
    if errors:
        raise StatementParseError(
            f"{len(errors)} error(s) in the CAMT.053 file (first at {errors[0].location})",
            errors,
        )
    return results


def iter_camt053(stream: BinaryIO) -> Iterator[ParsedTransaction]:
    """Yield the booked transactions of a CAMT.053 file (see module docs)."""
    yield from parse_camt053(read_all(stream))


def read_camt053_balances(stream: BinaryIO) -> list[StatementBalance]:
    """Every ``Bal`` of every statement (OPBD, PRCD, CLBD, CLAV, ...), signed.

    ``type`` is the ISO code (``Tp/CdOrPrtry/Cd``) or the proprietary text.
    A PRCD (previous closing) balance plays the role of the opening balance
    at banks that do not send OPBD.
    """
    root = _load(read_all(stream))
    balances: list[StatementBalance] = []
    for s_index, stmt in enumerate(root.findall("Stmt")):
        account = compact_account(_account(stmt.find("Acct")))
        for b_index, balance in enumerate(stmt.findall("Bal")):
            location = f"Stmt[{s_index}]/Bal[{b_index}]"
            try:
                amount = _amount(balance.find("Amt"))
                if amount is None:
                    raise ValueError("missing Amt")
                sign = _sign(_text(balance, "CdtDbtInd"), location)
                when = _date(balance.find("Dt"))
            except ValueError as exc:
                raise StatementParseError(str(exc), location=location) from None
            balances.append(
                StatementBalance(
                    account=account,
                    type=_text(balance, "Tp/CdOrPrtry/Cd") or _text(balance, "Tp/CdOrPrtry/Prtry"),
                    amount=sign * amount[0],
                    currency=amount[1],
                    date=when,
                    location=location,
                    statement_id=_text(stmt, "Id"),
                )
            )
    return balances
