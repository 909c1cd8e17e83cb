"""GraphQL mutations: thin resolvers over the same services as REST.

Every mutation is declared with ``CanWrite`` (accountants and owners) and runs in its own
savepoint (``Atomic``). On top of that the view rolls back the whole request transaction when
the response carries any error, so a document whose second mutation fails commits nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from django.conf import settings as django_settings
from django.db import transaction
from strawberry.extensions import FieldExtension
from strawberry.types import Info

from api.idempotency import canonical_json, request_fingerprint, run_idempotent, validate_key
from banking import selectors as banking_selectors
from banking import services as banking_services
from banking import transfer_services
from banking.schema import InternalTransferType
from common.errors import InvalidInput
from invoices import services as invoice_services
from invoices.models import InvoiceKind
from jobs.errors import JobFailed
from jobs.models import ACTIVE_STATUSES, JobStatus
from jobs.waiting import parse_prefer
from reconciliation.tasks import backtest_and_wait, reconcile_and_wait
from remittances import services as remittance_services
from remittances.models import AdviceChannel, AdviceFormat
from tenants import services as tenant_services

from .. import backtest, selectors, services
from ..engine.calibration import DEFAULT_THRESHOLDS
from .permissions import CanWrite, IsOwner
from .types import (
    BacktestResult,
    BankTransactionInput,
    Candidate,
    CandidateAllocation,
    CreateInvoiceInput,
    DeleteResult,
    ImportResult,
    InvoiceType,
    MatchShapeEnum,
    MatchType,
    Reason,
    ReconcileResult,
    RemittanceAdviceImportResult,
    RemittanceAdviceInput,
    TenantSettingsInput,
    TenantSettingsType,
    WriteOffReasonEnum,
    backtest_report_type,
    tenant_settings_type,
)

IMPORT_FIELD = "importBankTransactions"
ADVICE_FIELD = "createRemittanceAdvice"


class Atomic(FieldExtension):
    """Run the resolver in a savepoint: a failure undoes its own writes and keeps the connection usable."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        with transaction.atomic():
            return next_(source, info, **kwargs)


# The bound is the setting, read when a request runs; declared on the argument for clients.
ReconcileCandidates = Annotated[
    int,
    strawberry.argument(
        description="How many of the run's proposals to return, from 1 to RECONCILE_RESPONSE_CANDIDATES "
        "(default setting 500); default 50. `matches(filter: {runId})` pages through all of them."
    ),
]


def write_mutation(**kwargs: Any) -> Any:
    """A mutation only accountants and owners may run, in its own savepoint."""
    return strawberry.mutation(permission_classes=[CanWrite], extensions=[Atomic()], **kwargs)


def _candidate(candidate: services.Candidate) -> Candidate:
    return Candidate(
        match_id=candidate.match_id,
        shape=MatchShapeEnum(candidate.shape),
        invoice_id=uuid.UUID(candidate.invoice_id) if candidate.invoice_id else None,
        transaction_id=uuid.UUID(candidate.transaction_id) if candidate.transaction_id else None,
        allocations=[
            CandidateAllocation(
                transaction_id=uuid.UUID(allocation["transaction_id"]),
                invoice_id=uuid.UUID(allocation["invoice_id"]),
                currency=allocation["currency"],
                raw_amount=allocation["amount"],
            )
            for allocation in candidate.allocations
        ],
        allocation_count=candidate.allocation_count,
        confidence=candidate.confidence,
        reasons=Reason.from_dicts(candidate.reasons),
        auto_confirmed=candidate.auto_confirmed,
        currency=candidate.currency,
        raw_fee_amount=candidate.fee_amount,
        raw_discount_amount=candidate.discount_amount,
        ambiguous=candidate.ambiguous,
        alternatives=[uuid.UUID(i) for i in candidate.alternatives],
    )


def backtest_result(job: Any) -> BacktestResult:
    """A backtest job as GraphQL gives it: its report once it succeeded (its problem if it failed)."""
    if job.status in ACTIVE_STATUSES:
        return BacktestResult(report=None, completed=False, job_id=job.id, job_status=job.status)
    if job.status != JobStatus.SUCCEEDED:
        raise JobFailed(job)
    report = backtest.BacktestReport.from_json(job.result or {})
    return BacktestResult(
        report=backtest_report_type(report), completed=True, job_id=job.id, job_status=job.status
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


def _idempotency_key(raw: str) -> str:
    try:
        return validate_key(raw, carrier="The idempotencyKey argument")
    except InvalidInput as error:
        raise InvalidInput(error.detail, errors={"idempotencyKey": [error.detail]}) from error


@strawberry.type
class Mutation:
    @write_mutation(
        description="Run the engine now; returns its `first` proposals (highest confidence first) with "
        "their reasons, and how many there are."
    )
    def reconcile(
        self, info: Info, dry_run: bool = False, first: ReconcileCandidates = 50
    ) -> ReconcileResult:
        # Checked before the run: a refused request must not have reconciled anything.
        maximum = django_settings.RECONCILE_RESPONSE_CANDIDATES
        if not 1 <= first <= maximum:
            raise InvalidInput(
                f"`first` must be between 1 and {maximum}.",
                errors={"first": [f"Ensure this value is between 1 and {maximum}."]},
            )
        context = info.context
        # Runs on a worker; waits like REST (RFC 7240 Prefer on the HTTP request, jobs/waiting.py).
        preference = parse_prefer(context.request.headers.get("Prefer"))
        job = reconcile_and_wait(
            dry_run=dry_run, actor=context.user, source="graphql", seconds=preference.seconds
        )
        if job.status in ACTIVE_STATUSES:
            return ReconcileResult(
                run_id=None,
                dry_run=dry_run,
                candidates=[],
                candidates_total=0,
                candidates_truncated=False,
                auto_confirmed=0,
                completed=False,
                job_id=job.id,
                job_status=job.status,
            )
        if job.status != JobStatus.SUCCEEDED:
            raise JobFailed(job)
        summary = services.ReconcileSummary.from_json(job.result or {})
        shown = summary.candidates[:first]  # stored highest confidence first
        return ReconcileResult(
            run_id=summary.run_id,
            dry_run=summary.dry_run,
            candidates=[_candidate(candidate) for candidate in shown],
            candidates_total=summary.candidates_total,
            candidates_truncated=len(shown) < summary.candidates_total,
            auto_confirmed=summary.auto_confirmed,
            would_auto_confirm=summary.would_auto_confirm,
            job_id=job.id,
            job_status=job.status,
        )

    @write_mutation(
        description="Backtest auto-confirmation: replay the decided matches through the engine (reads "
        "only) and report, per threshold, what would have been auto-confirmed and how much wrongly, with "
        "a recommended threshold. Runs as a job; waits like `reconcile`. Default thresholds 0.80 to 0.99."
    )
    def backtest(self, info: Info, thresholds: list[Decimal] | None = None) -> BacktestResult:
        values = list(DEFAULT_THRESHOLDS)
        if thresholds is not None:
            values = backtest.validate_thresholds(thresholds)
        context = info.context
        preference = parse_prefer(context.request.headers.get("Prefer"))
        job = backtest_and_wait(
            thresholds=values, actor=context.user, source="graphql", seconds=preference.seconds
        )
        return backtest_result(job)

    @write_mutation(
        description="Confirm a proposed match (conflict if the money is already allocated). With "
        "`writeOffReason`, also write off what the payment leaves short, within the tenant's policy "
        "(`unprocessable` beyond it, `conflict` when nothing is short)."
    )
    def confirm_match(
        self, info: Info, id: uuid.UUID, write_off_reason: WriteOffReasonEnum | None = None
    ) -> MatchType:
        services.match_confirm(
            match_id=id,
            actor=info.context.user,
            write_off_reason=write_off_reason.value if write_off_reason is not None else None,
        )
        return selectors.match_get(match_id=id)  # type: ignore[return-value]

    @write_mutation(description="Reject a proposed match; its pairs are never proposed again.")
    def reject_match(self, info: Info, id: uuid.UUID) -> MatchType:
        services.match_reject(match_id=id, actor=info.context.user)
        return selectors.match_get(match_id=id)  # type: ignore[return-value]

    @write_mutation(description="Undo a confirmed match: give back exactly what it allocated.")
    def undo_match(self, info: Info, id: uuid.UUID) -> MatchType:
        services.match_undo(match_id=id, actor=info.context.user)
        return selectors.match_get(match_id=id)  # type: ignore[return-value]

    @write_mutation(
        description="Unpair an internal transfer that is not one: both legs become unmatched transactions "
        "again (audited) and are never paired automatically again."
    )
    def unpair_internal_transfer(self, info: Info, id: uuid.UUID) -> InternalTransferType:
        transfer_services.internal_transfer_unpair(transfer_id=id, actor=info.context.user, source="graphql")
        return banking_selectors.internal_transfer_get(transfer_id=id)  # type: ignore[return-value]

    @write_mutation(description="Create an invoice; an unknown vendorName creates that vendor.")
    def create_invoice(self, info: Info, input: CreateInvoiceInput) -> InvoiceType:
        invoice = invoice_services.invoice_create(
            amount=input.amount,
            description=input.description,
            number=input.number or "",
            currency=input.currency,
            vendor_id=input.vendor_id,
            vendor_name=input.vendor_name,
            issue_date=input.issue_date,
            due_date=input.due_date,
            kind=input.kind.value if input.kind is not None else InvoiceKind.RECEIVABLE,
            structured_reference=input.structured_reference or "",
            discount_percent=input.discount_percent,
            discount_days=input.discount_days,
            net_days=input.net_days,
            payment_terms=input.payment_terms,
            actor=info.context.user,
        )
        return invoice  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsOwner],
        extensions=[Atomic()],
        description="Change the tenant's settings (owners); used by the next reconciliation run.",
    )
    def update_tenant_settings(self, info: Info, input: TenantSettingsInput) -> TenantSettingsType:
        changes = {
            name: [reason.value for reason in value]
            if name == "write_off_reasons" and value is not None
            else value
            for name, value in vars(input).items()
            if value is not strawberry.UNSET and name in tenant_services.SETTINGS_FIELDS
        }
        row = tenant_services.tenant_settings_update(
            changes=changes, actor=info.context.user, source="graphql"
        )
        return tenant_settings_type(row)

    @write_mutation(
        description="Remove a payer name or account the engine learned for a vendor (the next run no longer "
        "counts it)."
    )
    def delete_learned_evidence(self, info: Info, vendor_id: uuid.UUID, id: uuid.UUID) -> DeleteResult:
        invoice_services.vendor_evidence_delete(
            vendor_id=vendor_id, evidence_id=id, actor=info.context.user, source="graphql"
        )
        return DeleteResult(id=id, deleted=True)

    @write_mutation(description="Delete an unpaid, unmatched invoice (others must be voided).")
    def delete_invoice(self, info: Info, id: uuid.UUID) -> DeleteResult:
        invoice_services.invoice_delete(invoice_id=id, actor=info.context.user)
        return DeleteResult(id=id, deleted=True)

    @write_mutation(
        description="Store a remittance advice (what one payment pays), all or nothing. Idempotent per key "
        "like the imports; the same advice sent again is not stored twice (`duplicates`: 1)."
    )
    def create_remittance_advice(
        self, info: Info, idempotency_key: str, advice: RemittanceAdviceInput
    ) -> RemittanceAdviceImportResult:
        key = _idempotency_key(idempotency_key)
        parsed = remittance_services.api_advice(
            payment_reference=advice.payment_reference,
            amount=advice.amount,
            currency=advice.currency,
            lines=[(line.invoice_number, line.amount, line.discount) for line in advice.lines],
            payer_name=advice.payer_name,
            payer_account=advice.payer_account,
            end_to_end_id=advice.end_to_end_id,
            payment_date=advice.payment_date,
        )
        request = info.context.request
        fingerprint = request_fingerprint(
            "POST", f"{request.path}#{ADVICE_FIELD}", canonical_json(dataclasses.asdict(parsed))
        )

        def action() -> tuple[int, Any]:
            result = remittance_services.advices_import(
                advices=[parsed],
                source=AdviceFormat.API,
                channel=AdviceChannel.GRAPHQL,
                actor=info.context.user,
            )
            return 201, result.as_response()

        outcome = run_idempotent(key=key, fingerprint=fingerprint, action=action)
        body = outcome.body
        return RemittanceAdviceImportResult(
            imported=body["imported"],
            duplicates=body["duplicates"],
            advice_ids=[uuid.UUID(pk) for pk in body["advices"]],
            replayed=outcome.replayed,
        )

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
        key = _idempotency_key(idempotency_key)
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
