"""Reads on the bank ledger (active tenant only: RLS and the scoped manager both apply)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import F, Q, QuerySet

from common.errors import NotFound
from common.finance import format_money

from .models import (
    BankAccount,
    BankStatement,
    BankTransaction,
    ImportBatch,
    InternalTransfer,
    InternalTransferStatus,
)


def bank_transaction_list(
    *,
    status: str | None = None,
    account_id: uuid.UUID | None = None,
    currency: str | None = None,
    booked_after: dt.date | None = None,
    booked_before: dt.date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    import_batch_id: uuid.UUID | None = None,
    q: str | None = None,
) -> QuerySet[BankTransaction]:
    """Transactions matching the filters; amounts filter the signed amount."""
    queryset = BankTransaction.objects.select_related("account")
    if status:
        queryset = queryset.filter(status=status)
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if currency:
        queryset = queryset.filter(currency=currency)
    if booked_after:
        queryset = queryset.filter(booking_date__gte=booked_after)
    if booked_before:
        queryset = queryset.filter(booking_date__lte=booked_before)
    if min_amount is not None:
        queryset = queryset.filter(amount__gte=min_amount)
    if max_amount is not None:
        queryset = queryset.filter(amount__lte=max_amount)
    if import_batch_id:
        queryset = queryset.filter(import_batch_id=import_batch_id)
    if q:
        queryset = queryset.filter(
            Q(description__icontains=q)
            | Q(counterparty_name__icontains=q)
            | Q(external_id__icontains=q)
            | Q(structured_reference__icontains=q)
        )
    return queryset


def bank_transaction_get(*, transaction_id: uuid.UUID) -> BankTransaction:
    """One transaction of the active tenant, or NotFound."""
    found = BankTransaction.objects.select_related("account").filter(pk=transaction_id).first()
    if found is None:
        raise NotFound("No such bank transaction.")
    return found


def bank_account_list() -> QuerySet[BankAccount]:
    return BankAccount.objects.order_by("identifier")


def import_batch_list() -> QuerySet[ImportBatch]:
    return ImportBatch.objects.all()


def import_batch_get(*, batch_id: uuid.UUID) -> ImportBatch:
    found = ImportBatch.objects.filter(pk=batch_id).first()
    if found is None:
        raise NotFound("No such import batch.")
    return found


def last_import() -> ImportBatch | None:
    """The tenant's latest import, with ``by``: who imported it (its username; null for none)."""
    return ImportBatch.objects.annotate(by=F("created_by__username")).first()


# --- statements and their continuity --------------------------------------------------------------


def bank_account_get(*, account_id: uuid.UUID) -> BankAccount:
    found = BankAccount.objects.filter(pk=account_id).first()
    if found is None:
        raise NotFound("No such bank account.")
    return found


def statement_list(
    *,
    account_id: uuid.UUID | None = None,
    has_break: bool | None = None,
    import_batch_id: uuid.UUID | None = None,
    currency: str | None = None,
    closed_after: dt.date | None = None,
    closed_before: dt.date | None = None,
) -> QuerySet[BankStatement]:
    """Imported statements with their continuity (stored by ``statement_services``)."""
    queryset = BankStatement.objects.select_related("account", "previous_statement")
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if has_break is not None:
        queryset = queryset.filter(has_break=has_break)
    if import_batch_id:
        queryset = queryset.filter(import_batch_id=import_batch_id)
    if currency:
        queryset = queryset.filter(currency=currency)
    if closed_after:
        queryset = queryset.filter(closing_date__gte=closed_after)
    if closed_before:
        queryset = queryset.filter(closing_date__lte=closed_before)
    return queryset


def statement_get(*, statement_id: uuid.UUID) -> BankStatement:
    found = statement_list().filter(pk=statement_id).first()
    if found is None:
        raise NotFound("No such statement.")
    return found


# Each statement has these many checks, and a check's ``detail`` at most this many characters:
# fixed words, five amounts and the previous statement's label (its id and sequence are bounded
# by common.limits). A test checks the longest detail against it (the GraphQL cost limit uses it).
STATEMENT_CHECKS = 2
CHECK_DETAIL_MAX_CHARS = 500


class CheckName(models.TextChoices):
    PREVIOUS_CLOSING = "previous_closing", "Opening balance against the previous statement's closing balance"
    MOVEMENTS = "movements", "Opening balance plus the transactions against the closing balance"


class CheckStatus(models.TextChoices):
    OK = "ok", "OK"
    BREAK = "break", "Break"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


@dataclass(frozen=True, slots=True)
class StatementCheck:
    """One continuity check of a statement, as every interface shows it.

    ``name``: ``previous_closing`` (its opening balance against the previous statement's
    closing balance) or ``movements`` (opening balance plus its transactions against its
    closing balance). ``difference`` is in the statement's currency (None unless checked).
    """

    name: CheckName
    status: CheckStatus
    difference: Decimal | None
    detail: str


def _statement_label(statement: BankStatement) -> str:
    name = " ".join(part for part in (statement.statement_id, statement.sequence) if part)
    when = statement.closing_date or statement.period_end
    return f"{name or 'statement'}, {when.isoformat() if when else 'no date'}"


def _previous_closing_check(statement: BankStatement) -> StatementCheck:
    name, currency = CheckName.PREVIOUS_CLOSING, statement.currency
    previous = statement.previous_statement
    if statement.opening_balance is None:
        return StatementCheck(
            name,
            CheckStatus.NOT_APPLICABLE,
            None,
            "The file reports no opening balance (OFX reports only the closing balance): "
            "nothing to compare with the previous statement.",
        )
    if previous is None:
        return StatementCheck(
            name,
            CheckStatus.NOT_APPLICABLE,
            None,
            f"No earlier statement of this account in {currency}: nothing to compare with.",
        )
    if previous.closing_balance is None or statement.opening_difference is None:
        return StatementCheck(
            name,
            CheckStatus.NOT_APPLICABLE,
            None,
            f"The previous statement ({_statement_label(previous)}) reports no closing balance.",
        )
    opening = format_money(statement.opening_balance, currency)
    closing = format_money(previous.closing_balance, currency)
    if not statement.opening_difference:
        return StatementCheck(
            name,
            CheckStatus.OK,
            statement.opening_difference,
            f"The opening balance {opening} is the closing balance of the previous statement "
            f"({_statement_label(previous)}).",
        )
    return StatementCheck(
        name,
        CheckStatus.BREAK,
        statement.opening_difference,
        f"The opening balance {opening} differs by {format_money(statement.opening_difference, currency)} "
        f"from the closing balance {closing} of the previous statement ({_statement_label(previous)}): "
        "a statement is missing between them, or one was imported twice.",
    )


def _movements_check(statement: BankStatement) -> StatementCheck:
    name, currency = CheckName.MOVEMENTS, statement.currency
    opening, closing = statement.opening_balance, statement.closing_balance
    if opening is None or closing is None:
        missing = " and no ".join(
            label for label, value in (("opening", opening), ("closing", closing)) if value is None
        )
        return StatementCheck(
            name,
            CheckStatus.NOT_APPLICABLE,
            None,
            f"The file reports no {missing} balance: the movements cannot be checked.",
        )
    if statement.movements_sum is None or statement.movement_difference is None:
        return StatementCheck(
            name,
            CheckStatus.NOT_APPLICABLE,
            None,
            f"Some of the statement's transactions are not in {currency}: they cannot be added up.",
        )
    summary = (
        f"The opening balance {format_money(opening, currency)} plus {statement.movements_count} "
        f"transaction(s) ({format_money(statement.movements_sum, currency)}) is "
        f"{format_money(opening + statement.movements_sum, currency)}"
    )
    if not statement.movement_difference:
        return StatementCheck(
            name, CheckStatus.OK, statement.movement_difference, f"{summary}, the closing balance."
        )
    return StatementCheck(
        name,
        CheckStatus.BREAK,
        statement.movement_difference,
        f"{summary}, but the closing balance is {format_money(closing, currency)}: "
        f"a difference of {format_money(statement.movement_difference, currency)}.",
    )


def statement_checks(statement: BankStatement) -> list[StatementCheck]:
    """The statement's continuity checks and what each found (read from ``statement_list``,
    which brings the previous statement along)."""
    return [_previous_closing_check(statement), _movements_check(statement)]


def statement_breaks(statement: BankStatement) -> list[StatementCheck]:
    return [check for check in statement_checks(statement) if check.status == CheckStatus.BREAK]


@dataclass(frozen=True, slots=True)
class AccountBreaks:
    """An account with statements that break continuity (the admin dashboard's card)."""

    account: BankAccount
    break_count: int
    latest_break: BankStatement


def statement_breaks_by_account() -> list[AccountBreaks]:
    """Every account with breaks, the most recent break (by closing date) first."""
    breaks = list(statement_list(has_break=True).order_by("account_id", "-closing_date", "-created_at"))
    grouped: dict[uuid.UUID, list[BankStatement]] = {}
    for statement in breaks:
        grouped.setdefault(statement.account_id, []).append(statement)
    found = [AccountBreaks(rows[0].account, len(rows), rows[0]) for rows in grouped.values()]
    return sorted(found, key=lambda item: item.account.identifier)


# --- internal transfers -------------------------------------------------------------------------------


def internal_transfer_list(
    *,
    status: str | None = None,
    account_id: uuid.UUID | None = None,
    transaction_id: uuid.UUID | None = None,
) -> QuerySet[InternalTransfer]:
    """Internal transfers with both legs and their accounts, newest first."""
    queryset = InternalTransfer.objects.select_related(
        "outgoing", "incoming", "outgoing__account", "incoming__account"
    )
    if status:
        queryset = queryset.filter(status=status)
    if account_id:
        queryset = queryset.filter(Q(outgoing__account_id=account_id) | Q(incoming__account_id=account_id))
    if transaction_id:
        queryset = queryset.filter(Q(outgoing_id=transaction_id) | Q(incoming_id=transaction_id))
    return queryset


def internal_transfer_get(*, transfer_id: uuid.UUID) -> InternalTransfer:
    found = internal_transfer_list().filter(pk=transfer_id).first()
    if found is None:
        raise NotFound("No such internal transfer.")
    return found


def internal_transfer_of(*, transaction_id: uuid.UUID) -> InternalTransfer | None:
    """The paired transfer a transaction is a leg of, if any."""
    return (
        internal_transfer_list(status=InternalTransferStatus.PAIRED)
        .filter(Q(outgoing_id=transaction_id) | Q(incoming_id=transaction_id))
        .first()
    )
