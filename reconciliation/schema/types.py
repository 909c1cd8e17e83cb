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

from api.graphql import money
from banking.schema import TransactionStatusEnum
from common.errors import DomainError
from common.finance import AmountError, exact_decimal, quantize
from invoices.models import EvidenceKind, Invoice, InvoiceKind, InvoiceStatus, Vendor, VendorLearnedEvidence
from remittances.models import RemittanceAdvice, RemittanceAdviceLine
from tenants.models import WriteOffReason

from .. import selectors
from ..models import Match, MatchAllocation, MatchShape, MatchStatus, ReconciliationRun
from ..selectors import EMBEDDED_ALLOCATIONS

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


@strawberry.enum(name="WriteOffReason", description="Why a shortfall was written off.")
class WriteOffReasonEnum(enum.Enum):
    BANK_FEE = WriteOffReason.BANK_FEE.value
    DISCOUNT = WriteOffReason.DISCOUNT.value
    ROUNDING = WriteOffReason.ROUNDING.value
    PROCESSOR_FEE = WriteOffReason.PROCESSOR_FEE.value
    OTHER = WriteOffReason.OTHER.value


@strawberry.enum(name="LearnedEvidenceKind")
class LearnedEvidenceKindEnum(enum.Enum):
    ALIAS = EvidenceKind.ALIAS.value
    ACCOUNT = EvidenceKind.ACCOUNT.value


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


@strawberry_django.type(
    VendorLearnedEvidence,
    name="LearnedEvidence",
    description="A payer name or account the team taught the engine for a vendor by confirming a match.",
)
class LearnedEvidenceType:
    id: strawberry.auto
    vendor_id: uuid.UUID
    value: strawberry.auto = strawberry_django.field(description="As the bank statement showed it.")
    normalized_value: strawberry.auto = strawberry_django.field(description="What the engine compares.")
    taught_by: list[uuid.UUID] = strawberry_django.field(
        description="The confirmed matches that taught it (it goes when all are undone)."
    )
    created_by_id: int | None
    created_at: strawberry.auto

    @strawberry.field
    def kind(self, root: VendorLearnedEvidence) -> LearnedEvidenceKindEnum:
        return LearnedEvidenceKindEnum(root.kind)


@strawberry_django.type(Vendor, name="Vendor")
class VendorType:
    id: strawberry.auto
    name: strawberry.auto
    iban: strawberry.auto
    account_reference: strawberry.auto
    aliases: strawberry.auto
    created_at: strawberry.auto
    updated_at: strawberry.auto

    @strawberry.field(
        description="Payer names and accounts learned from confirmed matches; they count like aliases, iban."
    )
    def learned_evidence(self, root: Vendor) -> list[LearnedEvidenceType]:
        return list(root.learned_evidence.order_by("-created_at", "-id"))  # type: ignore[arg-type]


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
    discount_percent: Decimal | None = strawberry_django.field(description="Early-payment discount (%).")
    discount_days: int | None = strawberry_django.field(description="Days from issue for the discount.")
    net_days: int | None = strawberry_django.field(description="Days from issue for the full amount.")
    created_at: strawberry.auto
    updated_at: strawberry.auto

    @strawberry.field(description='The payment terms as text ("2/10 net 30"), "" for none.')
    def payment_terms(self, root: Invoice) -> str:
        return root.payment_terms

    @strawberry.field
    def kind(self, root: Invoice) -> InvoiceKindEnum:
        return InvoiceKindEnum(root.kind)

    @strawberry.field
    def status(self, root: Invoice) -> InvoiceStatusEnum:
        return InvoiceStatusEnum(root.status)

    amount: Decimal = money("amount", description="At the currency's minor unit.")
    amount_paid: Decimal = money(
        "amount_paid", description="Settled by confirmed matches: payments, absorbed fees and write-offs."
    )
    outstanding_amount: Decimal = money("outstanding", description="amount - amountPaid")
    amount_written_off: Decimal = money(
        "amount_written_off", description="The part of amountPaid written off at confirmations."
    )


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
    write_off_amount: Decimal = money(
        "write_off_amount", "invoice_currency", description="Shortfall of the invoice written off with it."
    )


@strawberry_django.type(Match, name="Match")
class MatchType:
    id: strawberry.auto
    run_id: uuid.UUID | None
    auto: bool = strawberry_django.field(description="Confirmed by the engine, not a person.")
    would_auto_confirm: bool = strawberry_django.field(
        description="Shadow mode: the run that proposed it would have auto-confirmed it (and did not)."
    )
    confidence: Decimal
    runner_up_confidence: Decimal | None
    fee_amount: Decimal = money("fee_amount", description="Underpayment booked as a bank fee, in `currency`.")
    write_off_amount: Decimal = money(
        "write_off_amount",
        description="Shortfall written off at confirmation (tenant policy), in `currency`; kept on undo.",
    )
    discount_amount: Decimal = money(
        "discount_amount", description="Early-payment discount taken, in `currency`."
    )
    ambiguous: bool = strawberry_django.field(
        description="Several open invoices fit equally: applied to the oldest, never auto-confirmed."
    )
    alternatives: list[uuid.UUID] = strawberry_django.field(
        description="The other invoices that fit equally (ids, oldest first)."
    )
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

    @strawberry.field(description="Why it was written off (null: nothing was).")
    def write_off_reason(self, root: Match) -> WriteOffReasonEnum | None:
        return WriteOffReasonEnum(root.write_off_reason) if root.write_off_reason else None

    @strawberry.field
    def reasons(self, root: Match) -> list[Reason]:
        return Reason.from_dicts(root.reasons)

    allocation_count: int = strawberry_django.field(description="How many allocations the match has.")

    @strawberry.field(
        description=f"Its allocations, when it has at most {EMBEDDED_ALLOCATIONS} (every match the engine "
        "finds by itself); a remittance advice's match may have up to 1,000: asking this list for more "
        "is an error, `allocationPage` reads them page by page."
    )
    def allocations(self, root: Match) -> list[MatchAllocationType]:
        _refuse_beyond_embedded(root, "allocations")
        # Prefetched by the selectors (match_list / match_get).
        return list(root.listed_allocations)  # type: ignore[attr-defined]

    @strawberry.field(
        description="Its allocations page by page, in the run's order (a remittance advice's order). "
        "`first`: 1 to 500 (default 50); `after`: the previous page's endCursor."
    )
    def allocation_page(
        self, root: Match, first: int | None = None, after: str | None = None
    ) -> Page[MatchAllocationType]:
        from . import queries  # the one paginator (queries imports these types)

        allocations = selectors.match_allocations(match_id=root.pk)
        size = queries.DEFAULT_PAGE_SIZE if first is None else first
        return queries.paginate(allocations, first=size, after=after, oldest_first=True)

    @strawberry.field(
        description="Per-pair, per-signal scores with reasons: one pair per allocation, at most "
        f"{EMBEDDED_ALLOCATIONS} (more is an error: REST `GET matches/{{id}}` and `explain` give them)."
    )
    def breakdown(self, root: Match) -> list[PairScore]:
        _refuse_beyond_embedded(root, "breakdown")
        return [PairScore.from_dict(item) for item in root.breakdown]


def _refuse_beyond_embedded(root: Match, field: str) -> None:
    """A list of a match longer than the schema's cost bound counts is refused, never cut short."""
    allocation_count: int = root.allocation_count  # type: ignore[attr-defined]  # the selectors' annotation
    count = max(allocation_count, len(root.breakdown) if field == "breakdown" else 0)
    if count > EMBEDDED_ALLOCATIONS:
        instead = (
            "Read its pairs with REST `GET matches/{id}`, or one with `explain`; its allocations with "
            "`allocationPage(first, after)`."
            if field == "breakdown"
            else "Read them page by page with `allocationPage(first, after)`."
        )
        raise DomainError(
            f"This match has {count} allocations; `{field}` lists at most {EMBEDDED_ALLOCATIONS}. {instead}",
            errors={field: [f"Ensure this list has at most {EMBEDDED_ALLOCATIONS} items."]},
        )


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
    would_auto_confirm_count: int = strawberry_django.field(
        description="Shadow mode: proposals the run would have auto-confirmed (and did not)."
    )
    duration_ms: strawberry.auto
    created_at: strawberry.auto


@strawberry_django.type(RemittanceAdviceLine, name="RemittanceAdviceLine")
class RemittanceAdviceLineType:
    position: strawberry.auto
    invoice_number: strawberry.auto
    invoice_id: uuid.UUID | None = strawberry_django.field(
        description="The invoice whose number is exactly this one (the engine also reads numbers written "
        "otherwise when a run reads the advice)."
    )

    @strawberry.field(description="Paid for this invoice, in the advice's currency.")
    def amount(self, root: RemittanceAdviceLine) -> Decimal:
        return quantize(root.amount, root.advice.currency)

    @strawberry.field(description="Deducted by the payer (cash discount), in the advice's currency.")
    def discount(self, root: RemittanceAdviceLine) -> Decimal:
        return quantize(root.discount, root.advice.currency)


@strawberry_django.type(RemittanceAdvice, name="RemittanceAdvice")
class RemittanceAdviceType:
    id: strawberry.auto
    source: str = strawberry_django.field(description="camt054, csv or api")
    channel: str = strawberry_django.field(description="api, file, graphql, admin or command")
    payer_name: strawberry.auto
    payer_account: strawberry.auto
    payment_reference: strawberry.auto
    end_to_end_id: strawberry.auto
    currency: strawberry.auto
    payment_date: strawberry.auto
    line_count: strawberry.auto
    file_name: strawberry.auto
    created_at: strawberry.auto
    amount: Decimal = money("amount", description="The payment's total (the lines' sum).")

    @strawberry.field(description="The invoices the advice lists, in its order.")
    def lines(self, root: RemittanceAdvice) -> list[RemittanceAdviceLineType]:
        # Prefetched by ``remittance_selectors.advice_get``; on a page, one query per advice whose
        # lines are asked for (a few: the cost bound). In position order; each line's advice is
        # the row it was read from (no query per line).
        return list(root.lines.all())  # type: ignore[arg-type]


@strawberry.input(description="One invoice of a remittance advice.")
class RemittanceAdviceLineInput:
    invoice_number: str
    amount: Decimal = strawberry.field(description="Paid for this invoice, in the advice's currency.")
    discount: Decimal | None = strawberry.field(default=None, description="Deducted by the payer; default 0.")


@strawberry.input(description="A remittance advice: what one payment pays (same fields as the REST API).")
class RemittanceAdviceInput:
    payment_reference: str = strawberry.field(description="What the payment quotes (advice or run number).")
    amount: Decimal = strawberry.field(description="The payment's total: the sum of the lines' amounts.")
    currency: str
    lines: list[RemittanceAdviceLineInput]
    payer_name: str | None = None
    payer_account: str | None = None
    end_to_end_id: str | None = None
    payment_date: dt.date | None = None


@strawberry.type
class RemittanceAdviceImportResult:
    imported: int
    duplicates: int
    advice_ids: list[uuid.UUID] = strawberry.field(description="The advice, stored now or already before.")
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier call with the same key."
    )


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
    allocations: list[CandidateAllocation] = strawberry.field(
        description=f"The first {EMBEDDED_ALLOCATIONS} allocations (`allocationCount` says how many there "
        "are; `match(id).allocationPage` reads them all)."
    )
    allocation_count: int = strawberry.field(description="How many allocations the proposal has.")
    confidence: Decimal
    reasons: list[Reason]
    auto_confirmed: bool
    currency: str = strawberry.field(description="The invoices' currency.")
    raw_fee_amount: strawberry.Private[Decimal]
    fee_amount: Decimal = money(
        "raw_fee_amount", description="Underpayment booked as a bank fee, in `currency`."
    )
    raw_discount_amount: strawberry.Private[Decimal]
    discount_amount: Decimal = money(
        "raw_discount_amount", description="Early-payment discount taken, in `currency`."
    )
    ambiguous: bool = strawberry.field(description="Several open invoices fit equally (never automatic).")
    alternatives: list[uuid.UUID] = strawberry.field(description="The other invoices that fit equally.")


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
    would_auto_confirm: int = strawberry.field(
        default=0,
        description="Shadow mode: how many proposals the run would have auto-confirmed (none was).",
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
    internal_transfers: int = strawberry.field(
        description="Pairs of transfers between your own accounts this import completed (never matched to "
        "invoices)."
    )
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
    discount_amount: Decimal
    ambiguous: bool
    alternatives: list[strawberry.ID]


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
    would_auto_confirm: bool | None = strawberry.field(
        default=None, description="Shadow mode's flag: true lists what it would have auto-confirmed."
    )
    ambiguous: bool | None = strawberry.field(
        default=None, description="true: only matches where several open invoices fit equally."
    )


@strawberry.type(name="TenantSettings", description="Used by the next reconciliation run.")
class TenantSettingsType:
    default_currency: str
    auto_confirm_threshold: Decimal | None = strawberry.field(description="null: auto-confirmation is off.")
    auto_confirm_shadow: bool = strawberry.field(
        description="Shadow mode: runs confirm nothing automatically but flag (wouldAutoConfirm) what the "
        "threshold would have confirmed."
    )
    fee_tolerance_fixed: Decimal
    fee_tolerance_percent: Decimal
    date_window_days: int
    internal_transfer_days: int = strawberry.field(
        description="How many days apart the two legs of a transfer between your own accounts may be "
        "booked to be paired at import."
    )
    auto_reconcile: bool = strawberry.field(description="A run starts by itself after each import.")
    write_off_max_amount: Decimal = strawberry.field(
        description="Largest shortfall a confirmation may write off, in the invoice's currency (0: none)."
    )
    write_off_max_percent: Decimal = strawberry.field(
        description="Largest shortfall a confirmation may write off, in percent of the invoice (both apply)."
    )
    write_off_reasons: list[WriteOffReasonEnum] = strawberry.field(
        description="Reasons a write-off may give."
    )
    rejection_memory: int = strawberry.field(
        description="Rejections of a customer for a payer after which it is not proposed for it (0: never)."
    )
    processor_fee_percent: Decimal = strawberry.field(
        description="A payment through PayPal, Stripe, Square, ... short by up to this percentage plus "
        "processorFeeFixed is booked as the processor's fee."
    )
    processor_fee_fixed: Decimal


def tenant_settings_type(row: Any) -> TenantSettingsType:
    """The GraphQL view of a ``TenantSettings`` row."""
    return TenantSettingsType(
        default_currency=row.default_currency,
        auto_confirm_threshold=row.auto_confirm_threshold,
        auto_confirm_shadow=row.auto_confirm_shadow,
        fee_tolerance_fixed=row.fee_tolerance_fixed,
        fee_tolerance_percent=row.fee_tolerance_percent,
        date_window_days=row.date_window_days,
        internal_transfer_days=row.internal_transfer_days,
        auto_reconcile=row.auto_reconcile,
        write_off_max_amount=row.write_off_max_amount,
        write_off_max_percent=row.write_off_max_percent,
        write_off_reasons=[WriteOffReasonEnum(reason) for reason in row.write_off_reasons],
        rejection_memory=row.rejection_memory,
        processor_fee_percent=row.processor_fee_percent,
        processor_fee_fixed=row.processor_fee_fixed,
    )


@strawberry.input(description="Only the fields given change; autoConfirmThreshold: null switches it off.")
class TenantSettingsInput:
    default_currency: str | None = strawberry.UNSET
    auto_confirm_threshold: Decimal | None = strawberry.UNSET
    auto_confirm_shadow: bool | None = strawberry.UNSET
    fee_tolerance_fixed: Decimal | None = strawberry.UNSET
    fee_tolerance_percent: Decimal | None = strawberry.UNSET
    date_window_days: int | None = strawberry.UNSET
    internal_transfer_days: int | None = strawberry.UNSET
    auto_reconcile: bool | None = strawberry.UNSET
    write_off_max_amount: Decimal | None = strawberry.UNSET
    write_off_max_percent: Decimal | None = strawberry.UNSET
    write_off_reasons: list[WriteOffReasonEnum] | None = strawberry.UNSET
    rejection_memory: int | None = strawberry.UNSET
    processor_fee_percent: Decimal | None = strawberry.UNSET
    processor_fee_fixed: Decimal | None = strawberry.UNSET


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
    discount_percent: Decimal | None = strawberry.field(
        default=None, description="Early-payment discount, percent (with discountDays)."
    )
    discount_days: int | None = None
    net_days: int | None = None
    payment_terms: str | None = strawberry.field(
        default=None, description="The terms as printed instead: '2/10 net 30', 'net 30'; others are refused."
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
    discount_percent: Decimal | None = strawberry.field(
        default=None, description="Early-payment discount, percent (with discountDays, from the issue date)."
    )
    discount_days: int | None = None


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
    processor_fee_percent: Decimal = Decimal("3.5")
    processor_fee_fixed: Decimal = Decimal("0.35")


# --- Calibration (backtest, shadow mode) -------------------------------------------------------------


@strawberry.type(description="What one threshold would have done on the decided matches.")
class BacktestThreshold:
    threshold: Decimal
    auto_confirmed: int = strawberry.field(description="Proposals it would have auto-confirmed.")
    correct: int = strawberry.field(description="... that a person confirmed.")
    wrong: int = strawberry.field(description="... that a person rejected, undid or contradicted.")
    unlabelled: int = strawberry.field(description="... that nobody decided (today's open items).")
    precision: Decimal | None = strawberry.field(description="correct / (correct + wrong); null if none.")


@strawberry.type
class BacktestPair:
    invoice_id: uuid.UUID
    transaction_id: uuid.UUID


@strawberry.type(description="A proposal some threshold would have auto-confirmed wrongly.")
class BacktestWrongExample:
    verdict: str = strawberry.field(description="rejected, undone or contradicted.")
    confidence: Decimal
    pairs: list[BacktestPair]


@strawberry.type(name="ShadowPrecision", description="Shadow mode's flags against what people decided since.")
class ShadowPrecisionType:
    flagged: int
    confirmed: int
    rejected: int
    undone: int
    pending: int
    precision: Decimal | None


@strawberry.type(
    name="BacktestReport",
    description="A backtest: the decided matches replayed through the engine, per threshold.",
)
class BacktestReportType:
    thresholds: list[BacktestThreshold]
    recommended_threshold: Decimal | None = strawberry.field(
        description="The lowest threshold with no wrong auto-confirmation and enough support; null if none."
    )
    recommendation: str
    min_support: int
    proposals: int
    labelled_proposals: int
    wrong_examples: list[BacktestWrongExample]
    decisions_confirmed: int
    decisions_rejected: int
    decisions_undone: int
    decisions_limited: bool = strawberry.field(description="True when older decisions were left out.")
    current_threshold: Decimal | None
    shadow_mode: bool
    shadow: ShadowPrecisionType


@strawberry.type
class BacktestResult:
    report: BacktestReportType | None = strawberry.field(
        description="null while the backtest was still running after the wait (follow `jobId`)."
    )
    completed: bool
    job_id: uuid.UUID
    job_status: str


def backtest_report_type(report: Any) -> BacktestReportType:
    """The GraphQL view of a ``reconciliation.backtest.BacktestReport``."""
    calibration = report.calibration
    return BacktestReportType(
        thresholds=[
            BacktestThreshold(
                threshold=row.threshold,
                auto_confirmed=row.auto_confirmed,
                correct=row.correct,
                wrong=row.wrong,
                unlabelled=row.unlabelled,
                precision=row.precision,
            )
            for row in calibration.outcomes
        ],
        recommended_threshold=calibration.recommended_threshold,
        recommendation=calibration.recommendation,
        min_support=calibration.min_support,
        proposals=calibration.proposals,
        labelled_proposals=calibration.labelled_proposals,
        wrong_examples=[
            BacktestWrongExample(
                verdict=example.verdict,
                confidence=example.confidence,
                pairs=[
                    BacktestPair(invoice_id=uuid.UUID(invoice), transaction_id=uuid.UUID(transaction))
                    for invoice, transaction in example.pairs
                ],
            )
            for example in calibration.wrong_examples
        ],
        decisions_confirmed=report.decisions.get("confirmed", 0),
        decisions_rejected=report.decisions.get("rejected", 0),
        decisions_undone=report.decisions.get("undone", 0),
        decisions_limited=report.decisions_limited,
        current_threshold=report.current_threshold,
        shadow_mode=report.shadow_mode,
        shadow=shadow_precision_type(report.shadow),
    )


def shadow_precision_type(shadow: Any) -> ShadowPrecisionType:
    return ShadowPrecisionType(
        flagged=shadow.flagged,
        confirmed=shadow.confirmed,
        rejected=shadow.rejected,
        undone=shadow.undone,
        pending=shadow.pending,
        precision=shadow.precision,
    )
