"""GraphQL of the bank ledger: transactions and their import, imported statements with their
balances and continuity checks, internal transfers. ``reconciliation.schema`` composes
``BankingQuery`` and ``BankingMutation`` into the one tenant schema; the resolvers are thin faces
of ``banking.selectors`` and the services (the REST API's too).

Amounts are ``Decimal`` (the schema's scalar: exact, returned as strings) at the currency's
minor unit (``api.graphql.money``), as everywhere in the API.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import strawberry
import strawberry_django
from strawberry.types import Info

from api.graphql import money, optional_money
from api.graphql.fields import (
    currency_argument,
    enum_value,
    idempotency_key_argument,
    read_field,
    search_argument,
    write_mutation,
)
from api.graphql.pagination import DEFAULT_PAGE_SIZE, Page, PageSize, paginate
from api.idempotency import canonical_json, request_fingerprint, run_idempotent
from common.finance import quantize

from . import selectors, transfer_services
from . import services as banking_services
from .models import (
    BankStatement,
    BankTransaction,
    InternalTransfer,
    InternalTransferStatus,
    TransactionStatus,
)

IMPORT_FIELD = "importBankTransactions"

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


@strawberry.type
class ImportResult:
    batch_id: uuid.UUID
    imported: int
    duplicates: int
    transaction_ids: list[uuid.UUID]
    internal_transfers: int = strawberry.field(
        description="Pairs of transfers between your own accounts this import completed (never matched to "
        "invoices)."
    )
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier call with the same key."
    )


@strawberry.input(description="Filters of `bankTransactions`; amounts filter the signed amount.")
class BankTransactionFilter:
    status: TransactionStatusEnum | None = None
    account_id: uuid.UUID | None = None
    currency: str | None = None
    booked_after: dt.date | None = None
    booked_before: dt.date | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    import_batch_id: uuid.UUID | None = None
    q: str | None = strawberry.field(
        default=None, description="Part of the description, counterparty, reference."
    )


@strawberry.input(description="One bank transaction to import (same fields as the REST import).")
class BankTransactionInput:
    amount: Decimal = strawberry.field(description="Signed: credits > 0, debits < 0.")
    date: str = strawberry.field(description="ISO 8601 date or date-time; its date is the booking date.")
    value_date: str | None = None
    currency: str | None = strawberry.field(default=None, description="ISO 4217; default: tenant's.")
    description: str | None = None
    external_id: str | None = strawberry.field(default=None, description="Bank reference (dedup key).")
    end_to_end_id: str | None = None
    counterparty: str | None = None
    counterparty_account: str | None = None
    structured_reference: str | None = strawberry.field(
        default=None,
        description="Creditor reference (stored without spaces); when absent, a valid ISO 11649 RF "
        "reference in the description is stored, as statement files do.",
    )


def _import_item(item: BankTransactionInput) -> dict[str, Any]:
    """The REST import's item shape (the service validates it), without the fields left out."""
    fields = {
        "amount": item.amount,
        "date": item.date,
        "value_date": item.value_date,
        "currency": item.currency,
        "description": item.description,
        "external_id": item.external_id,
        "end_to_end_id": item.end_to_end_id,
        "counterparty": item.counterparty,
        "counterparty_account": item.counterparty_account,
        "structured_reference": item.structured_reference,
    }
    return {name: value for name, value in fields.items() if value is not None}


@strawberry.type
class BankingQuery:
    @read_field(description="The tenant's bank transactions, newest first.")
    def bank_transactions(
        self,
        filter: BankTransactionFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[BankTransactionType]:
        given = filter or BankTransactionFilter()
        queryset = selectors.bank_transaction_list(
            status=enum_value(given.status),
            account_id=given.account_id,
            currency=currency_argument(given.currency),
            booked_after=given.booked_after,
            booked_before=given.booked_before,
            min_amount=given.min_amount,
            max_amount=given.max_amount,
            import_batch_id=given.import_batch_id,
            q=search_argument(given.q),
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def bank_transaction(self, id: uuid.UUID) -> BankTransactionType:
        return selectors.bank_transaction_get(transaction_id=id)  # type: ignore[return-value]

    @read_field(
        description="Imported statements with their balances and continuity checks, newest first; "
        "`filter: {hasBreak: true}` lists the breaks."
    )
    def bank_statements(
        self,
        filter: BankStatementFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[BankStatementType]:
        given = filter or BankStatementFilter()
        queryset = selectors.statement_list(
            account_id=given.account_id,
            has_break=given.has_break,
            import_batch_id=given.import_batch_id,
            currency=currency_argument(given.currency),
            closed_after=given.closed_after,
            closed_before=given.closed_before,
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def bank_statement(self, id: uuid.UUID) -> BankStatementType:
        return selectors.statement_get(statement_id=id)  # type: ignore[return-value]

    @read_field(description="Transfers between your own accounts, paired at import, newest first.")
    def internal_transfers(
        self,
        filter: InternalTransferFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[InternalTransferType]:
        given = filter or InternalTransferFilter()
        queryset = selectors.internal_transfer_list(
            status=enum_value(given.status), account_id=given.account_id, transaction_id=given.transaction_id
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def internal_transfer(self, id: uuid.UUID) -> InternalTransferType:
        return selectors.internal_transfer_get(transfer_id=id)  # type: ignore[return-value]


@strawberry.type
class BankingMutation:
    @write_mutation(
        description="Unpair an internal transfer that is not one: both legs become unmatched transactions "
        "again (audited) and are never paired automatically again."
    )
    def unpair_internal_transfer(self, info: Info, id: uuid.UUID) -> InternalTransferType:
        transfer_services.internal_transfer_unpair(transfer_id=id, actor=info.context.user)
        return selectors.internal_transfer_get(transfer_id=id)  # type: ignore[return-value]

    @write_mutation(
        description=(
            "Import bank transactions, all or nothing. Idempotent per key: a retry with the same key and "
            "arguments returns the stored result (replayed: true); other arguments get `unprocessable`."
        )
    )
    def import_bank_transactions(
        self,
        info: Info,
        idempotency_key: str,
        transactions: list[BankTransactionInput],
        account: str | None = None,
    ) -> ImportResult:
        key = idempotency_key_argument(idempotency_key)
        if account is not None:
            banking_services.default_account_identifier(account)  # InvalidInput naming `account`
        items = [_import_item(item) for item in transactions]
        request = info.context.request
        fingerprint = request_fingerprint(
            "POST",
            f"{request.path}#{IMPORT_FIELD}",
            canonical_json({"transactions": items, "account": account}),
        )

        def action() -> tuple[int, Any]:
            result = banking_services.api_transactions_import(
                items=items, created_by=info.context.user, default_account=account
            )
            return 201, result.as_response()

        outcome = run_idempotent(key=key, fingerprint=fingerprint, action=action)
        body = outcome.body
        return ImportResult(
            batch_id=uuid.UUID(body["batch_id"]),
            imported=body["imported"],
            duplicates=body["duplicates"],
            transaction_ids=[uuid.UUID(pk) for pk in body["transactions"]],
            internal_transfers=body.get("internal_transfers", 0),
            replayed=outcome.replayed,
        )
