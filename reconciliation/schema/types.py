"""GraphQL types: scalars, enums, output types over the models and engine results, input types.

Money never passes through float: the ``Decimal`` scalar is read from strings, integers and
exact JSON numbers (the view decodes JSON numbers as ``Decimal``), and from the literal text of
numbers written in the query document, by the financial kernel's rule (``common.finance``: no
exponent, within the storage precision); it is returned as a string. Every amount is returned at
its currency's minor unit through ``money`` (``"150.00"`` USD, ``"1500"`` JPY, ``"1.500"`` KWD),
exactly like the REST API's ``MoneyField``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any, Generic, TypeVar

import strawberry
import strawberry_django
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.scalars import JSON

from banking.models import BankTransaction, TransactionStatus
from common.finance import AmountError, exact_decimal
from invoices.models import Invoice, InvoiceKind, InvoiceStatus, Vendor
from tenants.money import quantize

from ..models import Match, MatchAllocation, MatchShape, MatchStatus, ReconciliationRun

# --- Decimal scalar ------------------------------------------------------------------------------


def parse_decimal(value: object) -> Decimal:
    """An exact Decimal from a string, int or Decimal, by the financial kernel's rule.

    Floats are refused (already inexact), and so are exponents and values beyond the storage
    precision (``numeric(18, 4)``, which every decimal column fits): ``1e1000000`` is a client
    error, never a value the database or ``quantize`` would choke on.
    """
    try:
        return exact_decimal(value)
    except AmountError as error:
        raise ValueError(f"{value!r} is not an exact decimal: {error}") from None


def parse_decimal_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Decimal:
    """A Decimal from the literal text in the document (``150.10`` stays exactly 150.10)."""
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return parse_decimal(node.value)
    raise ValueError("expected a decimal number or a string holding one")


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description='Exact decimal number, returned as a string (e.g. "150.00"); send a string.',
    serialize=str,
    parse_value=parse_decimal,
    parse_literal=parse_decimal_literal,
)
SCALAR_OVERRIDES: dict[object, Any] = {Decimal: DecimalScalar}


def money(amount_attr: str, currency_attr: str = "currency", *, description: str | None = None) -> Any:
    """A ``Decimal`` field: ``root.<amount_attr>`` at the minor unit of ``root.<currency_attr>``.

    The one way GraphQL outputs an amount (the twin of ``tenants.serializers.MoneyField``):
    stored amounts have 4 decimals, and a field returning them raw showed ``"250.0000"`` next to
    ``"250.00"``.
    """

    def resolve(root: Any) -> Decimal:
        return quantize(getattr(root, amount_attr), getattr(root, currency_attr))

    return strawberry.field(resolver=resolve, description=description)


# --- Enums (values are the models' choices; a test keeps them in step) ---------------------------


@strawberry.enum(name="InvoiceStatus")
class InvoiceStatusEnum(enum.Enum):
    OPEN = InvoiceStatus.OPEN.value
    PARTIALLY_PAID = InvoiceStatus.PARTIALLY_PAID.value
    PAID = InvoiceStatus.PAID.value
    VOID = InvoiceStatus.VOID.value


@strawberry.enum(name="InvoiceKind")
class InvoiceKindEnum(enum.Enum):
    RECEIVABLE = InvoiceKind.RECEIVABLE.value
    PAYABLE = InvoiceKind.PAYABLE.value


@strawberry.enum(name="TransactionStatus")
class TransactionStatusEnum(enum.Enum):
    UNMATCHED = TransactionStatus.UNMATCHED.value
    MATCHED = TransactionStatus.MATCHED.value
    IGNORED = TransactionStatus.IGNORED.value


@strawberry.enum(name="MatchStatus")
class MatchStatusEnum(enum.Enum):
    PROPOSED = MatchStatus.PROPOSED.value
    CONFIRMED = MatchStatus.CONFIRMED.value
    REJECTED = MatchStatus.REJECTED.value
    UNDONE = MatchStatus.UNDONE.value


@strawberry.enum(name="MatchShape")
class MatchShapeEnum(enum.Enum):
    ONE_TO_ONE = MatchShape.ONE_TO_ONE.value
    ONE_TO_MANY = MatchShape.ONE_TO_MANY.value
    MANY_TO_ONE = MatchShape.MANY_TO_ONE.value


@strawberry.enum(name="InvoiceDirection", description="Which bank amounts may pay an invoice.")
class InvoiceDirectionEnum(enum.Enum):
    RECEIVABLE = "receivable"
    PAYABLE = "payable"
    ANY = "any"


# --- Explanations ----------------------------------------------------------------------------------


@strawberry.type
class Reason:
    code: str
    message: str

    @classmethod
    def from_dicts(cls, reasons: list[dict[str, str]]) -> list[Reason]:
        return [cls(code=reason["code"], message=reason["message"]) for reason in reasons]


@strawberry.type
class Signal:
    signal: str
    score: Decimal
    weight: Decimal
    reasons: list[Reason]


@strawberry.type(description="The engine's breakdown of one (invoice, transaction) pair.")
class PairScore:
    invoice_id: strawberry.ID
    transaction_id: strawberry.ID
    confidence: Decimal
    is_candidate: bool
    signals: list[Signal]
    blockers: list[Reason] = strawberry.field(description="Why the pair is not a candidate (empty if it is).")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairScore:
        """From ``services.pair_score_dict`` output (also the shape stored in ``Match.breakdown``)."""
        return cls(
            invoice_id=strawberry.ID(str(data["invoice_id"])),
            transaction_id=strawberry.ID(str(data["transaction_id"])),
            confidence=Decimal(str(data["confidence"])),
            is_candidate=bool(data["is_candidate"]),
            signals=[
                Signal(
                    signal=signal["signal"],
                    score=Decimal(str(signal["score"])),
                    weight=Decimal(str(signal["weight"])),
                    reasons=Reason.from_dicts(signal["reasons"]),
                )
                for signal in data["signals"]
            ],
            blockers=Reason.from_dicts(data["blockers"]),
        )


# --- Ledger rows -------------------------------------------------------------------------------------


@strawberry_django.type(Vendor, name="Vendor")
class VendorType:
    id: strawberry.auto
    name: strawberry.auto
    iban: strawberry.auto
    account_reference: strawberry.auto
    aliases: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto


@strawberry_django.type(Invoice, name="Invoice")
class InvoiceType:
    id: strawberry.auto
    number: strawberry.auto
    vendor_id: uuid.UUID | None
    vendor: VendorType | None
    currency: strawberry.auto
    description: strawberry.auto
    issue_date: strawberry.auto
    due_date: strawberry.auto
    structured_reference: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto

    @strawberry.field
    def kind(self, root: Invoice) -> InvoiceKindEnum:
        return InvoiceKindEnum(root.kind)

    @strawberry.field
    def status(self, root: Invoice) -> InvoiceStatusEnum:
        return InvoiceStatusEnum(root.status)

    amount: Decimal = money("amount", description="At the currency's minor unit.")
    amount_paid: Decimal = money("amount_paid")
    outstanding_amount: Decimal = money("outstanding", description="amount - amountPaid")


@strawberry_django.type(BankTransaction, name="BankTransaction")
class BankTransactionType:
    id: strawberry.auto
    account_id: uuid.UUID
    import_batch_id: uuid.UUID
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

    @strawberry.field
    def status(self, root: BankTransaction) -> TransactionStatusEnum:
        return TransactionStatusEnum(root.status)


@strawberry_django.type(MatchAllocation, name="MatchAllocation")
class MatchAllocationType:
    """Read from ``selectors.match_list``/``match_get``, which annotate both currencies."""

    transaction_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: Decimal = money(
        "amount", description="Absolute amount taken from the transaction, in `currency`."
    )
    currency: str = strawberry_django.field(description="The transaction's currency.")
    invoice_amount: Decimal = money(
        "invoice_amount",
        "invoice_currency",
        description="Settled on the invoice (incl. an absorbed fee), in `invoiceCurrency`.",
    )
    invoice_currency: str = strawberry_django.field(description="The invoice's currency.")


@strawberry_django.type(Match, name="Match")
class MatchType:
    id: strawberry.auto
    run_id: uuid.UUID | None
    auto: bool = strawberry_django.field(description="Confirmed by the engine, not a person.")
    confidence: Decimal
    runner_up_confidence: Decimal | None
    fee_amount: Decimal = money("fee_amount", description="Underpayment booked as a bank fee, in `currency`.")
    currency: str = strawberry_django.field(description="The invoices' currency.")
    decided_by_id: int | None
    confirmed_at: strawberry.auto
    rejected_at: strawberry.auto
    undone_at: strawberry.auto
    created_at: strawberry.auto

    @strawberry.field
    def shape(self, root: Match) -> MatchShapeEnum:
        return MatchShapeEnum(root.shape)

    @strawberry.field
    def status(self, root: Match) -> MatchStatusEnum:
        return MatchStatusEnum(root.status)

    @strawberry.field
    def reasons(self, root: Match) -> list[Reason]:
        return Reason.from_dicts(root.reasons)

    @strawberry.field
    def allocations(self, root: Match) -> list[MatchAllocationType]:
        # Prefetched by the selectors (match_list / match_get).
        return list(root.allocations.all())  # type: ignore[arg-type]

    @strawberry.field(description="Per-pair, per-signal scores with reasons.")
    def breakdown(self, root: Match) -> list[PairScore]:
        return [PairScore.from_dict(item) for item in root.breakdown]


@strawberry_django.type(ReconciliationRun, name="ReconciliationRun")
class ReconciliationRunType:
    id: strawberry.auto
    started_by_id: int | None
    source: strawberry.auto
    engine_version: strawberry.auto
    settings_used: JSON
    invoices_considered: strawberry.auto
    transactions_considered: strawberry.auto
    proposals_count: strawberry.auto
    auto_confirmed_count: strawberry.auto
    duration_ms: strawberry.auto
    created_at: strawberry.auto


# --- Pages (keyset cursors over created_at, id; newest first) ------------------------------------

T = TypeVar("T")


@strawberry.type(description="One page, newest first. Pass endCursor as `after` for the next page.")
class Page(Generic[T]):
    items: list[T]
    end_cursor: str | None
    has_next_page: bool
    _queryset: strawberry.Private[Any]

    @strawberry.field(description="Rows matching the filters (counted only when asked for).")
    def total_count(self) -> int:
        return int(self._queryset.count())


# --- Reconcile results ----------------------------------------------------------------------------


@strawberry.type
class CandidateAllocation:
    transaction_id: uuid.UUID
    invoice_id: uuid.UUID
    currency: str = strawberry.field(description="The transaction's currency.")
    raw_amount: strawberry.Private[Decimal]
    amount: Decimal = money("raw_amount", description="Taken from the transaction, in `currency`.")


@strawberry.type(description="A proposal of a run, as the REST API returns it.")
class Candidate:
    match_id: uuid.UUID | None
    shape: MatchShapeEnum
    invoice_id: uuid.UUID | None = strawberry.field(description="Set when one invoice is involved.")
    transaction_id: uuid.UUID | None = strawberry.field(description="Set when one transaction is involved.")
    allocations: list[CandidateAllocation]
    confidence: Decimal
    reasons: list[Reason]
    auto_confirmed: bool
    currency: str = strawberry.field(description="The invoices' currency.")
    raw_fee_amount: strawberry.Private[Decimal]
    fee_amount: Decimal = money(
        "raw_fee_amount", description="Underpayment booked as a bank fee, in `currency`."
    )


@strawberry.type
class ReconcileResult:
    run_id: uuid.UUID | None
    dry_run: bool
    candidates: list[Candidate] = strawberry.field(
        description="The run's `first` proposals, highest confidence first; "
        "`matches(filter: {runId})` lists them all."
    )
    candidates_total: int = strawberry.field(description="How many proposals the run made.")
    candidates_truncated: bool = strawberry.field(
        description="True when `candidates` holds fewer than `candidatesTotal`."
    )
    auto_confirmed: int = strawberry.field(
        description="How many proposals the run auto-confirmed (all of them, shown or not)."
    )
    completed: bool = strawberry.field(
        default=True,
        description="False when the run was still going after the wait (see `jobStatus`): the other "
        "fields are then empty; follow the job (REST `GET jobs/{jobId}`).",
    )
    job_id: uuid.UUID | None = strawberry.field(default=None, description="The job that ran (or runs) it.")
    job_status: str | None = strawberry.field(default=None, description="queued, running or succeeded.")


@strawberry.type
class DeleteResult:
    id: uuid.UUID
    deleted: bool


@strawberry.type
class ImportResult:
    batch_id: uuid.UUID
    imported: int
    duplicates: int
    transaction_ids: list[uuid.UUID]
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier call with the same key."
    )


# --- Stateless scoring results -------------------------------------------------------------------------


@strawberry.type
class ScoredAllocation:
    transaction_id: strawberry.ID
    invoice_id: strawberry.ID
    amount: Decimal = strawberry.field(description="Taken from the transaction (its currency).")
    invoice_amount: Decimal | None = strawberry.field(description="Settled on the invoice (its currency).")


@strawberry.type
class ScoredProposal:
    shape: MatchShapeEnum
    allocations: list[ScoredAllocation]
    confidence: Decimal
    runner_up_confidence: Decimal | None
    reasons: list[Reason]
    breakdown: list[PairScore]
    auto_confirm: bool
    auto_confirm_blockers: list[Reason]
    fee_amount: Decimal


@strawberry.type
class ScoreResult:
    engine_version: str
    proposals: list[ScoredProposal]


# --- Inputs ---------------------------------------------------------------------------------------------


@strawberry.input(description="Filters of `invoices` (all optional, combined with AND).")
class InvoiceFilter:
    status: list[InvoiceStatusEnum] | None = None
    vendor_id: uuid.UUID | None = None
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code.")
    min_amount: Decimal | None = strawberry.field(default=None, description="Inclusive.")
    max_amount: Decimal | None = strawberry.field(default=None, description="Inclusive.")
    issued_after: dt.date | None = strawberry.field(default=None, description="Issue date on or after.")
    issued_before: dt.date | None = strawberry.field(default=None, description="Issue date on or before.")
    q: str | None = strawberry.field(default=None, description="Part of the number or description.")


@strawberry.input
class VendorFilter:
    q: str | None = strawberry.field(default=None, description="Part of the name or an alias.")


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


@strawberry.input
class MatchFilter:
    status: MatchStatusEnum | None = None
    invoice_id: uuid.UUID | None = None
    transaction_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    min_confidence: Decimal | None = None


@strawberry.type(name="TenantSettings", description="Used by the next reconciliation run.")
class TenantSettingsType:
    default_currency: str
    auto_confirm_threshold: Decimal | None = strawberry.field(description="null: auto-confirmation is off.")
    fee_tolerance_fixed: Decimal
    fee_tolerance_percent: Decimal
    date_window_days: int
    auto_reconcile: bool = strawberry.field(description="A run starts by itself after each import.")


def tenant_settings_type(row: Any) -> TenantSettingsType:
    """The GraphQL view of a ``TenantSettings`` row."""
    return TenantSettingsType(
        default_currency=row.default_currency,
        auto_confirm_threshold=row.auto_confirm_threshold,
        fee_tolerance_fixed=row.fee_tolerance_fixed,
        fee_tolerance_percent=row.fee_tolerance_percent,
        date_window_days=row.date_window_days,
        auto_reconcile=row.auto_reconcile,
    )


@strawberry.input(description="Only the fields given change; autoConfirmThreshold: null switches it off.")
class TenantSettingsInput:
    default_currency: str | None = strawberry.UNSET
    auto_confirm_threshold: Decimal | None = strawberry.UNSET
    fee_tolerance_fixed: Decimal | None = strawberry.UNSET
    fee_tolerance_percent: Decimal | None = strawberry.UNSET
    date_window_days: int | None = strawberry.UNSET
    auto_reconcile: bool | None = strawberry.UNSET


@strawberry.input
class CreateInvoiceInput:
    amount: Decimal = strawberry.field(description="At most the currency's minor unit of decimals.")
    description: str
    number: str | None = None
    currency: str | None = strawberry.field(default=None, description="Default: the tenant's currency.")
    vendor_id: uuid.UUID | None = None
    vendor_name: str | None = strawberry.field(
        default=None, description="An existing vendor's name, or a new vendor."
    )
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    kind: InvoiceKindEnum | None = None
    structured_reference: str | None = None


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


@strawberry.input(description="An invoice to score (nothing is read from or written to the database).")
class ScoreInvoiceInput:
    id: strawberry.ID
    amount: Decimal
    currency: str
    number: str = ""
    outstanding: Decimal | None = strawberry.field(default=None, description="Default: the amount.")
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    counterparty_id: str | None = None
    counterparty_name: str = ""
    counterparty_aliases: list[str] = strawberry.field(default_factory=list)
    counterparty_account: str = strawberry.field(default="", description="IBAN or account number.")
    structured_reference: str = ""
    direction: InvoiceDirectionEnum = InvoiceDirectionEnum.ANY


@strawberry.input(description="A bank transaction to score; amount is signed (credits > 0).")
class ScoreTransactionInput:
    id: strawberry.ID
    amount: Decimal
    currency: str
    booking_date: dt.date
    value_date: dt.date | None = None
    description: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    external_id: str = ""
    end_to_end_id: str = ""
    structured_reference: str = ""
    unallocated: Decimal | None = strawberry.field(
        default=None, description="Absolute amount still free (default: all of it)."
    )


@strawberry.input(description="Engine settings for scoreCandidates; omitted fields use engine defaults.")
class ScoreSettingsInput:
    auto_confirm_threshold: Decimal | None = strawberry.field(
        default=Decimal("0.95"), description="null switches auto-confirmation off."
    )
    fee_tolerance_fixed: Decimal = Decimal("0")
    fee_tolerance_percent: Decimal = Decimal("0")
    date_window_days: int = 120
