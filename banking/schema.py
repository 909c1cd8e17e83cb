"""GraphQL types of the bank ledger: transactions, imported statements and their continuity
checks, internal transfers. The one schema (``reconciliation.schema``) composes them into its
queries and mutations; the resolvers there call ``banking.selectors`` and the services.

Amounts are ``Decimal`` (the schema's scalar: exact, returned as strings) at the currency's
minor unit (``api.graphql.money``), as everywhere in the API.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal

import strawberry
import strawberry_django

from api.graphql import money, optional_money
from common.finance import quantize

from . import selectors
from .models import (
    BankStatement,
    BankTransaction,
    InternalTransfer,
    InternalTransferStatus,
    TransactionStatus,
)

# --- Enums (values are the models' choices; a test keeps them in step) ---------------------------


@strawberry.enum(name="TransactionStatus")
class TransactionStatusEnum(enum.Enum):
    UNMATCHED = TransactionStatus.UNMATCHED.value
    MATCHED = TransactionStatus.MATCHED.value
    IGNORED = TransactionStatus.IGNORED.value
    INTERNAL = TransactionStatus.INTERNAL.value


@strawberry.enum(name="InternalTransferStatus")
class InternalTransferStatusEnum(enum.Enum):
    PAIRED = InternalTransferStatus.PAIRED.value
    UNPAIRED = InternalTransferStatus.UNPAIRED.value


@strawberry.enum(name="StatementCheckName")
class StatementCheckNameEnum(enum.Enum):
    PREVIOUS_CLOSING = selectors.CheckName.PREVIOUS_CLOSING.value
    MOVEMENTS = selectors.CheckName.MOVEMENTS.value


@strawberry.enum(name="StatementCheckStatus")
class StatementCheckStatusEnum(enum.Enum):
    OK = selectors.CheckStatus.OK.value
    BREAK = selectors.CheckStatus.BREAK.value
    NOT_APPLICABLE = selectors.CheckStatus.NOT_APPLICABLE.value


# --- Transactions ---------------------------------------------------------------------------------


@strawberry_django.type(BankTransaction, name="BankTransaction")
class BankTransactionType:
    id: strawberry.auto
    account_id: uuid.UUID
    import_batch_id: uuid.UUID
    statement_id: uuid.UUID | None = strawberry_django.field(
        description="The imported statement it came with (null for CSV and API imports)."
    )
    currency: strawberry.auto
    booking_date: strawberry.auto
    value_date: strawberry.auto
    description: strawberry.auto
    counterparty_name: strawberry.auto
    counterparty_account: strawberry.auto
    external_id: strawberry.auto
    end_to_end_id: strawberry.auto
    structured_reference: strawberry.auto
    return_reason: strawberry.auto
    created_at: strawberry.auto

    @strawberry.field(description="Identifier of the bank account (IBAN or the bank's id).")
    def account(self, root: BankTransaction) -> str:
        return root.account.identifier

    amount: Decimal = money(
        "amount", description="Signed: credits > 0, debits < 0; at the currency's minor unit."
    )
    allocated_amount: Decimal = money(
        "allocated_amount", description="Absolute amount allocated to invoices by confirmed matches."
    )

    @strawberry.field(description="`internal`: a leg of a transfer between your own accounts.")
    def status(self, root: BankTransaction) -> TransactionStatusEnum:
        return TransactionStatusEnum(root.status)


# --- Statements -------------------------------------------------------------------------------------


@strawberry.type(name="StatementCheck")
class StatementCheckType:
    name: StatementCheckNameEnum = strawberry.field(
        description="PREVIOUS_CLOSING: the opening balance against the previous statement's closing "
        "balance; MOVEMENTS: the opening balance plus the statement's transactions against its closing "
        "balance."
    )
    status: StatementCheckStatusEnum
    currency: strawberry.Private[str]
    raw_difference: strawberry.Private[Decimal | None]
    difference: Decimal | None = optional_money(
        "raw_difference", description="In the statement's currency; null unless checked."
    )
    detail: str

    @classmethod
    def of(cls, check: selectors.StatementCheck, currency: str) -> StatementCheckType:
        return cls(
            name=StatementCheckNameEnum(check.name.value),
            status=StatementCheckStatusEnum(check.status.value),
            currency=currency,
            raw_difference=check.difference,
            detail=check.detail,
        )


@strawberry_django.type(
    BankStatement,
    name="BankStatement",
    description="An imported statement with the balances its file states and its continuity checks.",
)
class BankStatementType:
    id: strawberry.auto
    account_id: uuid.UUID
    import_batch_id: uuid.UUID
    file_format: strawberry.auto
    statement_id: str = strawberry_django.field(description="The bank's id (CAMT Stmt/Id, MT940 :20:).")
    sequence: str = strawberry_django.field(description="As written (CAMT ElctrncSeqNb, MT940 :28C:).")
    period_start: dt.date | None
    period_end: dt.date | None
    currency: strawberry.auto
    opening_date: dt.date | None
    closing_date: dt.date | None
    movements_count: int
    previous_statement_id: uuid.UUID | None
    has_break: bool = strawberry_django.field(description="A check found a difference.")
    created_at: strawberry.auto

    @strawberry.field(description="Identifier of the bank account (IBAN or the bank's id).")
    def account(self, root: BankStatement) -> str:
        return root.account.identifier

    opening_balance: Decimal | None = optional_money(
        "opening_balance", description="null: the file has none (OFX reports only the closing balance)."
    )
    closing_balance: Decimal | None = optional_money("closing_balance")
    movements_sum: Decimal | None = optional_money(
        "movements_sum", description="null: a transaction is in another currency."
    )

    @strawberry.field(description="What each check compared, or why it does not apply.")
    def checks(self, root: BankStatement) -> list[StatementCheckType]:
        return [StatementCheckType.of(check, root.currency) for check in selectors.statement_checks(root)]


@strawberry.input(description="Filters of `bankStatements` (all optional, combined with AND).")
class BankStatementFilter:
    account_id: uuid.UUID | None = None
    has_break: bool | None = strawberry.field(default=None, description="true: only statements with a break.")
    import_batch_id: uuid.UUID | None = None
    currency: str | None = None
    closed_after: dt.date | None = strawberry.field(default=None, description="Closing date on or after.")
    closed_before: dt.date | None = strawberry.field(default=None, description="Closing date on or before.")


# --- Internal transfers -----------------------------------------------------------------------------


@strawberry_django.type(
    InternalTransfer,
    name="InternalTransfer",
    description="Money moved between two of your own accounts: paired at import, never matched to invoices.",
)
class InternalTransferType:
    id: strawberry.auto
    days_apart: int
    unpaired_at: dt.datetime | None
    unpaired_by_id: int | None
    created_at: strawberry.auto

    @strawberry.field
    def status(self, root: InternalTransfer) -> InternalTransferStatusEnum:
        return InternalTransferStatusEnum(root.status)

    @strawberry.field(description="The leg leaving one account (amount < 0).")
    def outgoing(self, root: InternalTransfer) -> BankTransactionType:
        return root.outgoing  # type: ignore[return-value]

    @strawberry.field(description="The leg arriving in another account.")
    def incoming(self, root: InternalTransfer) -> BankTransactionType:
        return root.incoming  # type: ignore[return-value]

    @strawberry.field(description="The amount moved, in `currency`.")
    def amount(self, root: InternalTransfer) -> Decimal:
        return quantize(-root.outgoing.amount, root.outgoing.currency)

    @strawberry.field
    def currency(self, root: InternalTransfer) -> str:
        return root.outgoing.currency


@strawberry.input(description="Filters of `internalTransfers` (all optional, combined with AND).")
class InternalTransferFilter:
    status: InternalTransferStatusEnum | None = None
    account_id: uuid.UUID | None = strawberry.field(default=None, description="Either leg on this account.")
    transaction_id: uuid.UUID | None = strawberry.field(default=None, description="Either leg is this one.")
