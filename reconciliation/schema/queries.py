"""GraphQL queries: thin resolvers over the apps' selectors (tenant-scoped, RLS underneath).

Lists are keyset-paginated, newest first (``created_at``, ``id`` descending, like the REST
cursor pagination): ``first`` (1-500, default 50) and ``after`` (the ``endCursor`` of the
previous page). Cursors are opaque and only narrow the tenant's own queryset.

``scoreCandidates`` runs the pure engine on the data in its arguments and never touches the
database.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from django.db.models import Q, QuerySet
from strawberry.types import Info

from api.pagination import parse_cursor_time
from api.parsers import loads_decimal
from banking import selectors as banking_selectors
from banking.schema import (
    BankStatementFilter,
    BankStatementType,
    BankTransactionType,
    InternalTransferFilter,
    InternalTransferType,
)
from common import limits
from common.errors import InvalidInput, NotFound
from common.finance import MoneyError, normalize_currency, parse_money
from common.finance.terms import PaymentTerms, TermsError, check_terms
from invoices import selectors as invoice_selectors
from jobs import selectors as job_selectors
from jobs.models import JobKind
from remittances import selectors as remittance_selectors
from tenants import selectors as tenant_selectors
from tenants.models import MAX_DATE_WINDOW_DAYS

from .. import backtest, engine, selectors, services
from .permissions import IsTenantMember
from .types import (
    BacktestResult,
    BankTransactionFilter,
    InvoiceFilter,
    InvoiceType,
    MatchFilter,
    MatchShapeEnum,
    MatchType,
    Page,
    PairScore,
    Reason,
    ReconciliationRunType,
    RemittanceAdviceType,
    ScoredAllocation,
    ScoredProposal,
    ScoreInvoiceInput,
    ScoreResult,
    ScoreSettingsInput,
    ScoreTransactionInput,
    ShadowPrecisionType,
    TenantSettingsType,
    VendorFilter,
    VendorType,
    shadow_precision_type,
    tenant_settings_type,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_SCORE_INVOICES = 2_000
MAX_SCORE_TRANSACTIONS = 2_000

T = TypeVar("T")

# The bound is enforced by ``paginate``; declared on the argument so a client reads it in the schema.
PageSize = Annotated[
    int,
    strawberry.argument(
        description=f"Page size from 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}); others are an error."
    ),
]


def read_field(**kwargs: Any) -> Any:
    """A query field any member of the tenant may use (declared permission, no per-resolver check)."""
    return strawberry.field(permission_classes=[IsTenantMember], **kwargs)


# --- Pagination --------------------------------------------------------------------------------


def _encode_cursor(row: Any) -> str:
    raw = json.dumps([row.created_at.isoformat(), str(row.pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, pk = loads_decimal(base64.urlsafe_b64decode(padded.encode()))
        return parse_cursor_time(created_at), uuid.UUID(pk)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput("Invalid cursor.", errors={"after": ["Pass the endCursor of a page."]}) from exc


def paginate(
    queryset: QuerySet[Any], *, first: int, after: str | None, oldest_first: bool = False
) -> Page[Any]:
    """One page of ``queryset``, newest first (or ``oldest_first``), keyset on (created_at, id)."""
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"`first` must be between 1 and {MAX_PAGE_SIZE}.",
            errors={"first": [f"Ensure this value is between 1 and {MAX_PAGE_SIZE}."]},
        )
    ordered = queryset.order_by(*(("created_at", "id") if oldest_first else ("-created_at", "-id")))
    if after:
        created_at, pk = _decode_cursor(after)
        if oldest_first:
            ordered = ordered.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk))
        else:
            ordered = ordered.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    rows = list(ordered[: first + 1])
    has_next_page = len(rows) > first
    rows = rows[:first]
    return Page(
        items=rows,
        end_cursor=_encode_cursor(rows[-1]) if rows else None,
        has_next_page=has_next_page,
        _queryset=queryset,
    )


# --- Filter values -------------------------------------------------------------------------------------


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_currency(value)
    except MoneyError as error:
        raise InvalidInput("The request has invalid fields.", errors={"currency": [str(error)]}) from error


def _search(value: str | None) -> str | None:
    problem = limits.text_problem(value, limits.SEARCH) if value is not None else None
    if problem is not None:
        raise InvalidInput("The request has invalid fields.", errors={"q": [problem]})
    return value or None


def _enum_value(member: Any) -> Any:
    return member.value if member is not None else None


# --- Stateless scoring ---------------------------------------------------------------------------------


def _score_amount(errors: dict[str, list[str]], field: str, value: Decimal, currency: str | None) -> Decimal:
    if currency is None:
        return value
    try:
        return parse_money(value, currency)
    except MoneyError as error:
        errors.setdefault(field, []).append(str(error))
        return value


def _score_currency(errors: dict[str, list[str]], field: str, value: str) -> str | None:
    try:
        return normalize_currency(value)
    except MoneyError as error:
        errors.setdefault(field, []).append(str(error))
        return None


def _score_texts(errors: dict[str, list[str]], prefix: str, texts: dict[str, tuple[str, int]]) -> None:
    """The supplied texts within the bounds of the stored fields they stand for (common.limits)."""
    for name, (value, limit) in texts.items():
        problem = limits.text_problem(value, limit)
        if problem is not None:
            errors.setdefault(f"{prefix}.{name}", []).append(problem)


def _check_unique_ids(errors: dict[str, list[str]], name: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            errors.setdefault(f"{name}[{index}].id", []).append(f"Duplicate id {item_id!r}.")
        seen.add(item_id)


def _engine_invoice(
    errors: dict[str, list[str]], index: int, item: ScoreInvoiceInput
) -> engine.InvoiceInput | None:
    prefix = f"invoices[{index}]"
    _score_texts(
        errors,
        prefix,
        {
            "id": (str(item.id), limits.NAME),
            "number": (item.number, limits.INVOICE_NUMBER),
            "counterpartyId": (item.counterparty_id or "", limits.NAME),
            "counterpartyName": (item.counterparty_name, limits.NAME),
            "counterpartyAccount": (item.counterparty_account, limits.ACCOUNT),
            "structuredReference": (item.structured_reference, limits.INVOICE_REFERENCE),
        },
    )
    if len(item.counterparty_aliases) > limits.ALIASES_PER_VENDOR:
        errors.setdefault(f"{prefix}.counterpartyAliases", []).append(
            f"Ensure this field has no more than {limits.ALIASES_PER_VENDOR} elements."
        )
    for alias in item.counterparty_aliases[: limits.ALIASES_PER_VENDOR]:
        _score_texts(errors, prefix, {"counterpartyAliases": (alias, limits.NAME)})
    currency = _score_currency(errors, f"{prefix}.currency", item.currency)
    amount = _score_amount(errors, f"{prefix}.amount", item.amount, currency)
    if amount <= 0:
        errors.setdefault(f"{prefix}.amount", []).append("The amount must be greater than zero.")
    outstanding = amount
    if item.outstanding is not None:
        outstanding = _score_amount(errors, f"{prefix}.outstanding", item.outstanding, currency)
        if not 0 <= outstanding <= amount:
            errors.setdefault(f"{prefix}.outstanding", []).append("Must be between 0 and the amount.")
    try:
        terms = check_terms(item.discount_percent, item.discount_days, None)
    except TermsError as error:
        errors.setdefault(f"{prefix}.discountPercent", []).append(str(error))
        terms = PaymentTerms()
    if currency is None or f"{prefix}.amount" in errors or f"{prefix}.outstanding" in errors:
        return None
    return engine.InvoiceInput(
        id=str(item.id),
        number=item.number.strip(),
        amount=amount,
        outstanding=outstanding,
        currency=currency,
        issue_date=item.issue_date,
        due_date=item.due_date,
        counterparty_id=item.counterparty_id,
        counterparty_name=item.counterparty_name,
        counterparty_aliases=tuple(item.counterparty_aliases),
        counterparty_account=item.counterparty_account,
        structured_reference=item.structured_reference,
        direction=item.direction.value,
        discount_percent=terms.discount_percent,
        discount_days=terms.discount_days,
    )


def _engine_transaction(
    errors: dict[str, list[str]], index: int, item: ScoreTransactionInput
) -> engine.TransactionInput | None:
    prefix = f"transactions[{index}]"
    _score_texts(
        errors,
        prefix,
        {
            "id": (str(item.id), limits.NAME),
            "description": (item.description, limits.DESCRIPTION),
            "counterpartyName": (item.counterparty_name, limits.NAME),
            "counterpartyAccount": (item.counterparty_account, limits.ACCOUNT),
            "externalId": (item.external_id, limits.TRANSACTION_REFERENCE),
            "endToEndId": (item.end_to_end_id, limits.TRANSACTION_REFERENCE),
            "structuredReference": (item.structured_reference, limits.STRUCTURED_REFERENCE),
        },
    )
    currency = _score_currency(errors, f"{prefix}.currency", item.currency)
    amount = _score_amount(errors, f"{prefix}.amount", item.amount, currency)
    unallocated = None
    if item.unallocated is not None:
        unallocated = _score_amount(errors, f"{prefix}.unallocated", item.unallocated, currency)
        if not 0 <= unallocated <= abs(amount):
            errors.setdefault(f"{prefix}.unallocated", []).append(
                "Must be between 0 and the absolute amount."
            )
    if currency is None or f"{prefix}.amount" in errors or f"{prefix}.unallocated" in errors:
        return None
    return engine.TransactionInput(
        id=str(item.id),
        amount=amount,
        currency=currency,
        booking_date=item.booking_date,
        value_date=item.value_date,
        description=item.description,
        counterparty_name=item.counterparty_name,
        counterparty_account=item.counterparty_account,
        external_id=item.external_id,
        end_to_end_id=item.end_to_end_id,
        structured_reference=item.structured_reference,
        unallocated=unallocated,
    )


def _engine_settings(errors: dict[str, list[str]], given: ScoreSettingsInput | None) -> engine.EngineSettings:
    if given is None:
        return engine.EngineSettings()
    threshold = given.auto_confirm_threshold
    if threshold is not None and not 0 <= threshold <= 1:
        errors.setdefault("settings.autoConfirmThreshold", []).append("Must be between 0 and 1.")
    if given.fee_tolerance_fixed < 0:
        errors.setdefault("settings.feeToleranceFixed", []).append("Must not be negative.")
    if not 0 <= given.fee_tolerance_percent <= 100:
        errors.setdefault("settings.feeTolerancePercent", []).append("Must be between 0 and 100.")
    if not 0 <= given.processor_fee_percent <= 100:
        errors.setdefault("settings.processorFeePercent", []).append("Must be between 0 and 100.")
    if given.processor_fee_fixed < 0:
        errors.setdefault("settings.processorFeeFixed", []).append("Must not be negative.")
    if not 0 <= given.date_window_days <= MAX_DATE_WINDOW_DAYS:
        errors.setdefault("settings.dateWindowDays", []).append(
            f"Must be between 0 and {MAX_DATE_WINDOW_DAYS}."
        )
    return engine.EngineSettings(
        auto_confirm_threshold=threshold,
        fee_tolerance_fixed=given.fee_tolerance_fixed,
        fee_tolerance_percent=given.fee_tolerance_percent,
        date_window_days=given.date_window_days,
        processor_fee_percent=given.processor_fee_percent,
        processor_fee_fixed=given.processor_fee_fixed,
    )


def _reasons(reasons: Any) -> list[Reason]:
    return Reason.from_dicts(services.reason_dicts(reasons))


def _scored_proposal(proposal: engine.Proposal) -> ScoredProposal:
    return ScoredProposal(
        shape=MatchShapeEnum(proposal.shape),
        allocations=[
            ScoredAllocation(
                transaction_id=strawberry.ID(a.transaction_id),
                invoice_id=strawberry.ID(a.invoice_id),
                amount=a.amount,
                invoice_amount=a.invoice_amount,
            )
            for a in proposal.allocations
        ],
        confidence=proposal.confidence,
        runner_up_confidence=proposal.runner_up_confidence,
        reasons=_reasons(proposal.reasons),
        breakdown=[PairScore.from_dict(services.pair_score_dict(score)) for score in proposal.breakdown],
        auto_confirm=proposal.auto_confirm,
        auto_confirm_blockers=_reasons(proposal.auto_confirm_blockers),
        fee_amount=proposal.fee_amount,
        discount_amount=proposal.discount_amount,
        ambiguous=proposal.ambiguous,
        alternatives=[strawberry.ID(i) for i in proposal.alternatives],
    )


# --- Query ------------------------------------------------------------------------------------------------


@strawberry.type
class Query:
    @read_field(description="The tenant's invoices, newest first.")
    def invoices(
        self,
        filter: InvoiceFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[InvoiceType]:
        given = filter or InvoiceFilter()
        queryset = invoice_selectors.invoice_list(
            statuses=[status.value for status in given.status] if given.status else None,
            vendor_id=given.vendor_id,
            currency=_currency(given.currency),
            min_amount=given.min_amount,
            max_amount=given.max_amount,
            issued_after=given.issued_after,
            issued_before=given.issued_before,
            q=_search(given.q),
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def invoice(self, id: uuid.UUID) -> InvoiceType:
        return invoice_selectors.invoice_get(invoice_id=id)  # type: ignore[return-value]

    @read_field(description="The tenant's vendors, newest first.")
    def vendors(
        self,
        filter: VendorFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[VendorType]:
        given = filter or VendorFilter()
        return paginate(invoice_selectors.vendor_list(q=_search(given.q)), first=first, after=after)

    @read_field()
    def vendor(self, id: uuid.UUID) -> VendorType:
        return invoice_selectors.vendor_get(vendor_id=id)  # type: ignore[return-value]

    @read_field(description="The tenant's bank transactions, newest first.")
    def bank_transactions(
        self,
        filter: BankTransactionFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[BankTransactionType]:
        given = filter or BankTransactionFilter()
        queryset = banking_selectors.bank_transaction_list(
            status=_enum_value(given.status),
            account_id=given.account_id,
            currency=_currency(given.currency),
            booked_after=given.booked_after,
            booked_before=given.booked_before,
            min_amount=given.min_amount,
            max_amount=given.max_amount,
            import_batch_id=given.import_batch_id,
            q=_search(given.q),
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def bank_transaction(self, id: uuid.UUID) -> BankTransactionType:
        return banking_selectors.bank_transaction_get(transaction_id=id)  # type: ignore[return-value]

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
        queryset = banking_selectors.statement_list(
            account_id=given.account_id,
            has_break=given.has_break,
            import_batch_id=given.import_batch_id,
            currency=_currency(given.currency),
            closed_after=given.closed_after,
            closed_before=given.closed_before,
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def bank_statement(self, id: uuid.UUID) -> BankStatementType:
        return banking_selectors.statement_get(statement_id=id)  # type: ignore[return-value]

    @read_field(description="Transfers between your own accounts, paired at import, newest first.")
    def internal_transfers(
        self,
        filter: InternalTransferFilter | None = None,
        first: PageSize = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[InternalTransferType]:
        given = filter or InternalTransferFilter()
        queryset = banking_selectors.internal_transfer_list(
            status=_enum_value(given.status), account_id=given.account_id, transaction_id=given.transaction_id
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def internal_transfer(self, id: uuid.UUID) -> InternalTransferType:
        return banking_selectors.internal_transfer_get(transfer_id=id)  # type: ignore[return-value]

    @read_field(description="Proposed and decided matches, newest first.")
    def matches(
        self, filter: MatchFilter | None = None, first: PageSize = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[MatchType]:
        given = filter or MatchFilter()
        queryset = selectors.match_list(
            status=_enum_value(given.status),
            invoice_id=given.invoice_id,
            transaction_id=given.transaction_id,
            run_id=given.run_id,
            min_confidence=given.min_confidence,
            would_auto_confirm=given.would_auto_confirm,
            ambiguous=given.ambiguous,
        )
        return paginate(queryset, first=first, after=after)

    @read_field()
    def match(self, id: uuid.UUID) -> MatchType:
        return selectors.match_get(match_id=id)  # type: ignore[return-value]

    @read_field(description="Runs of the engine, newest first.")
    def reconciliation_runs(
        self, first: PageSize = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[ReconciliationRunType]:
        return paginate(selectors.run_list(), first=first, after=after)

    @read_field()
    def reconciliation_run(self, id: uuid.UUID) -> ReconciliationRunType:
        return selectors.run_get(run_id=id)  # type: ignore[return-value]

    @read_field(description="A backtest job's report (`backtest` mutation), or where the job stands.")
    def backtest(self, job_id: uuid.UUID) -> BacktestResult:
        from .mutations import backtest_result

        job = job_selectors.job_get(job_id=job_id)
        if job.kind != JobKind.BACKTEST:
            raise NotFound("No such backtest.")
        return backtest_result(job)

    @read_field(description="Shadow mode's flags (wouldAutoConfirm) against what people decided since.")
    def shadow_precision(self) -> ShadowPrecisionType:
        return shadow_precision_type(backtest.shadow_precision())
    @read_field(description="Remittance advices (what payers say their payments pay), newest first.")
    def remittance_advices(
        self, first: PageSize = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[RemittanceAdviceType]:
        # Lines are read per advice, only when asked for: an advice has up to 1,000, so a page of
        # 500 would prefetch half a million rows for a client asking for ids (the cost bound lets
        # a request ask for the lines of about four advices).
        return paginate(remittance_selectors.advice_list(), first=first, after=after)

    @read_field()
    def remittance_advice(self, id: uuid.UUID) -> RemittanceAdviceType:
        return remittance_selectors.advice_get(id)  # type: ignore[return-value]

    @read_field(description="The tenant's settings (default currency, auto-confirmation, fee tolerance).")
    def tenant_settings(self) -> TenantSettingsType:
        return tenant_settings_type(tenant_selectors.tenant_settings_get())

    @read_field(description="The engine's full breakdown for any pair, including why it is no candidate.")
    def explain(self, invoice_id: uuid.UUID, transaction_id: uuid.UUID) -> PairScore:
        score = services.explain_pair(invoice_id=invoice_id, transaction_id=transaction_id)
        return PairScore.from_dict(services.pair_score_dict(score))

    @read_field(
        description=(
            f"Score the invoices and transactions given here (at most {MAX_SCORE_INVOICES} of each per "
            "request) with the matching engine; nothing is read from or written to the database. Send "
            "large inputs as variables."
        )
    )
    def score_candidates(
        self,
        info: Info,
        invoices: list[ScoreInvoiceInput],
        transactions: list[ScoreTransactionInput],
        settings: ScoreSettingsInput | None = None,
    ) -> ScoreResult:
        context = info.context
        context.scored_invoices += len(invoices)
        context.scored_transactions += len(transactions)
        if (
            context.scored_invoices > MAX_SCORE_INVOICES
            or context.scored_transactions > MAX_SCORE_TRANSACTIONS
        ):
            raise InvalidInput(
                f"scoreCandidates takes at most {MAX_SCORE_INVOICES} invoices and "
                f"{MAX_SCORE_TRANSACTIONS} transactions per request.",
                errors={
                    name: [f"At most {limit} items per request; got {count}."]
                    for name, count, limit in (
                        ("invoices", context.scored_invoices, MAX_SCORE_INVOICES),
                        ("transactions", context.scored_transactions, MAX_SCORE_TRANSACTIONS),
                    )
                    if count > limit
                },
            )
        errors: dict[str, list[str]] = {}
        _check_unique_ids(errors, "invoices", [str(item.id) for item in invoices])
        _check_unique_ids(errors, "transactions", [str(item.id) for item in transactions])
        engine_invoices = [_engine_invoice(errors, n, item) for n, item in enumerate(invoices)]
        engine_transactions = [_engine_transaction(errors, n, item) for n, item in enumerate(transactions)]
        engine_settings = _engine_settings(errors, settings)
        if errors:
            raise InvalidInput("The request has invalid fields.", errors=errors)
        result = engine.reconcile(
            [item for item in engine_invoices if item is not None],
            [item for item in engine_transactions if item is not None],
            engine_settings,
        )
        return ScoreResult(
            engine_version=engine.ENGINE_VERSION,
            proposals=[_scored_proposal(proposal) for proposal in result.proposals],
        )
