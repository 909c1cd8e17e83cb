"""GraphQL types of reconciliation: matches, runs, the engine's proposals and explanations, the
stateless scoring's inputs and results, backtests and shadow mode.

The ledgers' types live with their apps (``invoices.schema``, ``banking.schema``,
``remittances.schema``, ``events.schema``, ``tenants.schema``); the shared plumbing (the exact
``Decimal`` scalar, ``money``, pages) is ``api.graphql``. Every amount is returned at its
currency's minor unit through ``money``, exactly like the REST API's ``MoneyField``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import strawberry
import strawberry_django
from strawberry.scalars import JSON

from api.graphql import money
from api.graphql.pagination import DEFAULT_PAGE_SIZE, Page, PageSize, paginate
from common.errors import DomainError
from tenants.schema import WriteOffReasonEnum

from .. import selectors
from ..models import Match, MatchAllocation, MatchShape, MatchStatus, ReconciliationRun
from ..selectors import EMBEDDED_ALLOCATIONS

# --- Enums (values are the models' choices; a test keeps them in step) ---------------------------


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


# --- Matches and runs ---------------------------------------------------------------------------


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
        description="Its allocations page by page, in the run's order (a remittance advice's order)."
    )
    def allocation_page(
        self, root: Match, first: PageSize = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[MatchAllocationType]:
        allocations = selectors.match_allocation_list(match_id=root.pk)
        return paginate(allocations, first=first, after=after, oldest_first=True)

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


# --- Reconcile results ----------------------------------------------------------------------------


@strawberry.type(name="CandidateAllocation")
class RunProposalAllocation:
    transaction_id: uuid.UUID
    invoice_id: uuid.UUID
    currency: str = strawberry.field(description="The transaction's currency.")
    raw_amount: strawberry.Private[Decimal]
    amount: Decimal = money("raw_amount", description="Taken from the transaction, in `currency`.")


@strawberry.type(name="Candidate", description="A proposal of a run, as the REST API returns it.")
class RunProposal:
    match_id: uuid.UUID | None
    shape: MatchShapeEnum
    invoice_id: uuid.UUID | None = strawberry.field(description="Set when one invoice is involved.")
    transaction_id: uuid.UUID | None = strawberry.field(description="Set when one transaction is involved.")
    allocations: list[RunProposalAllocation] = strawberry.field(
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
    candidates: list[RunProposal] = strawberry.field(
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
