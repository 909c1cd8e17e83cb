"""Writes on imported statements: recording a file's statements and checking their continuity.

Kept beside ``services`` (the import path) so that path only calls in: ``statement_problems``
before anything is written, ``statements_record`` before the transactions are staged (each
staged row carries its statement's id), ``statement_chains_refresh`` after they are moved.

Continuity is stored on the statements (``BankStatement`` says what each field means), not
computed on every read: the REST filter ``has_break``, the GraphQL filter, the admin's list
filter and the dashboard's breaks per account are then plain indexed reads, and the rule is
applied in one place, here. It is recomputed for a whole chain (one account, one currency)
whenever a statement of it is imported, under a lock on the account row, so two imports for
the same account cannot each miss the other's statement, and a statement that arrives after
its successor closes the gap it left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from banking.statements import ParsedBalance, ParsedStatement
from common import limits
from common.finance import AMOUNT_LIMIT, CURRENCY_CODES, fits_minor_units, quantize
from common.ids import OrderedIds

from .models import BankAccount, BankStatement, ImportBatch

# The numbers of a sequence as written: CAMT "12312", MT940 "00001/001" (statement, page), "0".
_SEQUENCE = re.compile(r"\D*(\d{1,18})(?:\D+(\d{1,18}))?")

_TEXT_LIMITS = {
    "account": limits.ACCOUNT,
    "statement_id": limits.TRANSACTION_REFERENCE,
    "sequence": limits.STATEMENT_SEQUENCE,
}


def _balance_problems(name: str, balance: ParsedBalance | None, currency: str) -> list[str]:
    if balance is None:
        return []
    if not balance.amount.is_finite() or abs(balance.amount) >= AMOUNT_LIMIT:
        return [f"{name} balance {balance.amount} is out of range"]
    if currency in CURRENCY_CODES and not fits_minor_units(balance.amount, currency):
        return [f"{name} balance {balance.amount} has more decimals than {currency} allows"]
    return []


def statement_problems(statements: Iterable[ParsedStatement]) -> dict[str, list[str]]:
    """Why statements of a file cannot be stored, by their location (empty when they can).

    The same rules as a transaction row's (``services.row_errors``): an ISO 4217 currency,
    balances within the storage range and at most the currency's minor unit of decimals, texts
    within their bounds. Statements without balances are not stored, so not checked.
    """
    problems: dict[str, list[str]] = {}
    for statement in statements:
        if not statement.has_balances:
            continue
        found = []
        if statement.currency not in CURRENCY_CODES:
            found.append(f"currency {statement.currency!r} is not an ISO 4217 code")
        found += _balance_problems("opening", statement.opening, statement.currency)
        found += _balance_problems("closing", statement.closing, statement.currency)
        for name, limit in _TEXT_LIMITS.items():
            problem = limits.text_problem(getattr(statement, name), limit)
            if problem is not None:
                found.append(f"{name}: {problem}")
        if found:
            problems[statement.location or "statement"] = found
    return problems


def _sequence_numbers(sequence: str) -> tuple[int | None, int | None]:
    """(statement number, page) of a sequence as written; None where there is none."""
    match = _SEQUENCE.match(sequence)
    if match is None:
        return None, None
    page = match.group(2)
    return int(match.group(1)), int(page) if page is not None else None


def _fingerprint(account: str, statement: ParsedStatement) -> str:
    """What makes two statements the same one: account, currency, balances, period, movements.

    Not the bank's statement id nor the sequence: a copy the bank sends again may carry a new
    id (CAMT ids often hold the creation time), and it is still the same statement.
    """

    def money(value: Decimal | None) -> str:
        return "" if value is None else str(quantize(value, statement.currency))

    def balance(value: ParsedBalance | None) -> str:
        return "" if value is None else f"{money(value.amount)}@{value.date or ''}"

    parts = (
        account,
        statement.currency,
        balance(statement.opening),
        balance(statement.closing),
        str(statement.period_start or ""),
        str(statement.period_end or ""),
        money(statement.movements),
        str(statement.transaction_count),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _difference(minuend: Decimal | None, subtrahend: Decimal | None) -> Decimal | None:
    return None if minuend is None or subtrahend is None else minuend - subtrahend


def _movement_difference(statement: ParsedStatement) -> Decimal | None:
    """closing - (opening + movements); None when one of the three is missing."""
    if statement.opening is None or statement.closing is None or statement.movements is None:
        return None
    return statement.closing.amount - (statement.opening.amount + statement.movements)


@dataclass
class RecordedStatements:
    """The statements of one import as stored, and which of the file's transactions they own.

    ``statement_ids[k]`` is the stored id of the file's statement ``k`` (the existing one when
    the statement was imported before; None for a statement without balances, which is not
    stored). ``new_ids`` are the statements this import stored.
    """

    parsed: Sequence[ParsedStatement] = ()
    statement_ids: list[uuid.UUID | None] = field(default_factory=list)
    new_ids: list[uuid.UUID] = field(default_factory=list)
    _bounds: list[tuple[int, uuid.UUID | None]] = field(default_factory=list)
    _position: int = 0

    def __post_init__(self) -> None:
        self._bounds = sorted(
            (statement.first_transaction + statement.transaction_count, statement_id)
            for statement, statement_id in zip(self.parsed, self.statement_ids, strict=True)
            if statement.transaction_count
        )

    def statement_of(self, seq: int) -> uuid.UUID | None:
        """The statement id of the file's transaction ``seq`` (asked in increasing order)."""
        bounds = self._bounds
        while self._position < len(bounds) and seq >= bounds[self._position][0]:
            self._position += 1
        return bounds[self._position][1] if self._position < len(bounds) else None


def _accounts(identifiers: dict[str, str]) -> dict[str, uuid.UUID]:
    """The ids of the accounts named (identifier -> currency), created on first sight as the
    transactions' accounts are (``services._CREATE_ACCOUNTS``)."""
    BankAccount.objects.bulk_create(
        [
            BankAccount(identifier=identifier, name=BankAccount.name_for(identifier), currency=currency)
            for identifier, currency in identifiers.items()
        ],
        ignore_conflicts=True,
    )
    return dict(BankAccount.objects.filter(identifier__in=identifiers).values_list("identifier", "id"))


def statements_record(
    *, batch: ImportBatch, statements: Sequence[ParsedStatement], default_account: str
) -> RecordedStatements:
    """Store the statements of an import (``statement_problems`` must have passed).

    A statement already stored for its account (same fingerprint) is not stored again: its
    existing id is used, and its transactions are duplicates anyway. Statements without any
    balance are not stored (nothing to check, as for CSV).
    """
    stored = [statement for statement in statements if statement.has_balances]
    if not stored:
        return RecordedStatements(parsed=statements, statement_ids=[None] * len(statements))
    identifier_of = {id(s): s.account or default_account for s in stored}
    currencies: dict[str, str] = {}  # a new account's currency: its first statement's
    for statement in stored:
        currencies.setdefault(identifier_of[id(statement)], statement.currency)
    accounts = _accounts(currencies)
    rows = []
    ordered_ids = OrderedIds.new()  # ids grow in file order: the chain's last tie-breaker
    for position, statement in enumerate(stored):
        identifier = identifier_of[id(statement)]
        sequence_number, page_number = _sequence_numbers(statement.sequence)
        opening, closing = statement.opening, statement.closing
        rows.append(
            BankStatement(
                id=ordered_ids(position),
                account_id=accounts[identifier],
                import_batch=batch,
                file_format=batch.file_format,
                statement_id=statement.statement_id,
                sequence=statement.sequence,
                sequence_number=sequence_number,
                page_number=page_number,
                period_start=statement.period_start,
                period_end=statement.period_end,
                currency=statement.currency,
                opening_balance=opening.amount if opening else None,
                opening_date=opening.date if opening else None,
                closing_balance=closing.amount if closing else None,
                closing_date=closing.date if closing else None,
                movements_sum=statement.movements,
                movements_count=statement.transaction_count,
                fingerprint=_fingerprint(identifier, statement),
                movement_difference=_movement_difference(statement),
                has_break=bool(_movement_difference(statement)),
            )
        )
    BankStatement.objects.bulk_create(rows, ignore_conflicts=True)
    found = {
        (account_id, fingerprint): (pk, batch_id)
        for pk, account_id, fingerprint, batch_id in BankStatement.objects.filter(
            account_id__in=accounts.values(), fingerprint__in={row.fingerprint for row in rows}
        ).values_list("id", "account_id", "fingerprint", "import_batch_id")
    }
    ids_by_statement = {
        id(s): found[(row.account_id, row.fingerprint)] for s, row in zip(stored, rows, strict=True)
    }
    statement_ids = [ids_by_statement[id(s)][0] if id(s) in ids_by_statement else None for s in statements]
    new_ids = list(dict.fromkeys(pk for pk, batch_id in ids_by_statement.values() if batch_id == batch.pk))
    return RecordedStatements(parsed=statements, statement_ids=statement_ids, new_ids=new_ids)


def _chain_key(statement: BankStatement) -> tuple:
    """A statement's place in its account's chain: closing date (else the period's end, else the
    opening date), then sequence number and page (statements without one after those with one
    on the same day), then import order and place in the file (ids grow with both)."""
    when = statement.closing_date or statement.period_end or statement.opening_date or dt.date.min
    sequence, page = statement.sequence_number, statement.page_number
    return (when, sequence is None, sequence or 0, page is None, page or 0, statement.pk.hex)


def statement_chains_refresh(*, statement_ids: Iterable[uuid.UUID]) -> None:
    """Recompute the continuity of the chains (account, currency) the statements belong to.

    The accounts are locked (in id order) first: a concurrent import of the same account waits
    here until this one commits, then reads its statements, so the last refresh sees them all.
    """
    chains = set(
        BankStatement.objects.filter(pk__in=list(statement_ids)).values_list("account_id", "currency")
    )
    if not chains:
        return
    account_ids = sorted({account_id for account_id, _currency in chains})
    # NO KEY UPDATE: it waits for another refresh of the account, not for the KEY SHARE locks the
    # foreign keys of both imports' rows already hold on it (FOR UPDATE would deadlock with them).
    list(
        BankAccount.objects.select_for_update(no_key=True)
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk")
    )
    changed: list[BankStatement] = []
    now = timezone.now()
    for account_id, currency in sorted(chains):
        chain = sorted(BankStatement.objects.filter(account_id=account_id, currency=currency), key=_chain_key)
        previous: BankStatement | None = None
        for statement in chain:
            previous_id = previous.pk if previous is not None else None
            opening_difference = _difference(
                statement.opening_balance, previous.closing_balance if previous is not None else None
            )
            has_break = bool(opening_difference) or bool(statement.movement_difference)
            if (statement.previous_statement_id, statement.opening_difference, statement.has_break) != (
                previous_id,
                opening_difference,
                has_break,
            ):
                statement.previous_statement_id = previous_id
                statement.opening_difference = opening_difference
                statement.has_break = has_break
                statement.updated_at = now
                changed.append(statement)
            previous = statement
    BankStatement.objects.bulk_update(
        changed, ["previous_statement", "opening_difference", "has_break", "updated_at"]
    )
