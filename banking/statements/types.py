"""Value types shared by every statement parser (no Django, no I/O)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

SUPPORTED_FORMATS: tuple[str, ...] = ("csv", "ofx", "camt053", "mt940")

#: How many individual errors ``str(StatementParseError)`` spells out.
_ERRORS_SHOWN = 20


@dataclass(slots=True, kw_only=True)  # not frozen: see the docstring
class ParsedTransaction:
    """One booked transaction as read from a bank statement file.

    Treat it as immutable. It is not ``frozen``: a frozen dataclass sets each of these 15
    fields through ``object.__setattr__`` (a noticeable share of validating an API import's
    items; docs/benchmarks.md) and imports build one per row.

    ``amount`` is signed from the account holder's point of view: credits
    (money in) are positive, debits (money out) negative.
    """

    account: str = ""
    account_currency: str = ""
    amount: Decimal
    currency: str = ""
    booking_date: datetime.date
    value_date: datetime.date | None = None
    description: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    external_id: str = ""
    end_to_end_id: str = ""
    structured_reference: str = ""
    return_reason: str = ""
    location: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem found at one place of the file ("line 12", "STMTTRN #3", ...)."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class StatementParseError(Exception):
    """The file cannot be imported; ``errors`` lists every problem found.

    ``errors`` is never empty: a structural error (wrong format, unreadable
    XML...) is reported as a single :class:`RowError`.
    """

    def __init__(
        self,
        message: str,
        errors: Iterable[RowError] = (),
        *,
        location: str = "",
    ) -> None:
        self.message = message
        self.errors: list[RowError] = list(errors) or [RowError(location, message)]
        super().__init__(message)

    def __str__(self) -> str:
        if len(self.errors) == 1 and self.errors[0].message == self.message:
            return str(self.errors[0])
        lines = [self.message]
        lines += [f"  {error}" for error in self.errors[:_ERRORS_SHOWN]]
        if len(self.errors) > _ERRORS_SHOWN:
            lines.append(f"  ... and {len(self.errors) - _ERRORS_SHOWN} more")
        return "\n".join(lines)


@dataclass(slots=True)
class CsvOptions:
    """How to read a CSV export; every ``None`` means "detect it".

    ``columns`` maps our field names to header names. Fields: ``date``,
    ``value_date``, ``amount``, ``debit``, ``credit``, ``indicator`` (a
    debit/credit mark column such as S/H or D/C), ``description`` (several
    columns joined with ``+``: ``"Col A+Col B"``), ``counterparty_name``,
    ``counterparty_account``, ``external_id``, ``end_to_end_id``,
    ``currency`` and ``account``. Fields not given are still auto-detected
    from the header, on columns the explicit mapping does not use.

    ``skip_rows`` is the number of physical lines before the header line.
    """

    delimiter: str | None = None
    decimal: str | None = None
    date_format: str | None = None
    encoding: str | None = None
    currency: str = ""
    columns: dict[str, str] | None = None
    skip_rows: int | None = None


@dataclass(frozen=True, slots=True)
class StatementBalance:
    """A balance reported by the statement (CAMT ``Bal``), signed like amounts."""

    account: str
    type: str  # ISO code: OPBD, PRCD, CLBD, CLAV, ITBD, ... (or proprietary text)
    amount: Decimal
    currency: str
    date: datetime.date | None
    location: str = ""
    statement_id: str = field(default="")


@dataclass(frozen=True, slots=True)
class ParsedBalance:
    """A balance a statement reports, signed like amounts (negative: the account is overdrawn)."""

    amount: Decimal
    currency: str
    date: datetime.date | None
    location: str = ""


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    """One statement of a file (a CAMT ``Stmt``, an MT940 message, an OFX ``STMTRS``).

    Its transactions are the file's transactions ``first_transaction`` to ``first_transaction +
    transaction_count - 1`` (the parsers yield them statement by statement). ``movements`` is the
    sum of their amounts, or None when one of them is in another currency than the statement
    (no sum to compare with the balances). A balance is None when the file has none of that
    kind: OFX reports only the closing (ledger) balance, so its statements have no opening.
    Nothing is derived: the balances are what the file says.
    """

    account: str
    currency: str
    statement_id: str = ""  # CAMT Stmt/Id, MT940 :20:; OFX has none
    sequence: str = ""  # CAMT ElctrncSeqNb (else LglSeqNb), MT940 :28C: as written
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    opening: ParsedBalance | None = None
    closing: ParsedBalance | None = None
    first_transaction: int = 0
    transaction_count: int = 0
    movements: Decimal | None = Decimal(0)
    location: str = ""

    @property
    def has_balances(self) -> bool:
        return self.opening is not None or self.closing is not None


def statement_movements(statement_currency: str, transactions: Iterable[ParsedTransaction]) -> Decimal | None:
    """The sum of a statement's transactions, None when one is in another currency."""
    total = Decimal(0)
    for transaction in transactions:
        if statement_currency and transaction.currency != statement_currency:
            return None
        total += transaction.amount
    return total


@dataclass(slots=True)
class StatementFile:
    """What a statement file holds: its statements (none for CSV) and its transactions.

    ``transactions`` is an iterator: CSV streams (an error may arrive after rows were yielded,
    so a caller must treat any error as "import nothing"); the other formats were read whole
    and checked before this object exists.
    """

    format: str
    statements: list[ParsedStatement]
    transactions: Iterator[ParsedTransaction]
