"""GraphQL mutations of reconciliation: thin resolvers over the same services as REST.

Every mutation is a ``write_mutation`` (``api.graphql.fields``: accountants and owners, in its
own savepoint); the view rolls back the whole request transaction when the response carries any
error, so a document whose second mutation fails commits nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from django.conf import settings as django_settings
from strawberry.types import Info

from api.graphql.fields import write_mutation
from common.errors import InvalidInput
from jobs.errors import JobFailed
from jobs.models import ACTIVE_STATUSES, JobStatus
from jobs.waiting import parse_prefer
from reconciliation.tasks import backtest_and_wait, reconcile_and_wait
from tenants.schema import WriteOffReasonEnum

from .. import backtest, selectors, services
from ..engine.calibration import DEFAULT_THRESHOLDS
from .types import (
    BacktestResult,
    MatchShapeEnum,
    MatchType,
    Reason,
    ReconcileResult,
    RunProposal,
    RunProposalAllocation,
    backtest_report_type,
)

# The bound is the setting, read when a request runs; declared on the argument for clients.
ReconcileCandidates = Annotated[
    int,
    strawberry.argument(
        description="How many of the run's proposals to return, from 1 to RECONCILE_RESPONSE_CANDIDATES "
        "(default setting 500); default 50. `matches(filter: {runId})` pages through all of them."
    ),
]


def _run_proposal(proposal: services.RunProposal) -> RunProposal:
    return RunProposal(
        match_id=proposal.match_id,
        shape=MatchShapeEnum(proposal.shape),
        invoice_id=uuid.UUID(proposal.invoice_id) if proposal.invoice_id else None,
        transaction_id=uuid.UUID(proposal.transaction_id) if proposal.transaction_id else None,
        allocations=[
            RunProposalAllocation(
                transaction_id=uuid.UUID(allocation["transaction_id"]),
                invoice_id=uuid.UUID(allocation["invoice_id"]),
                currency=allocation["currency"],
                raw_amount=allocation["amount"],
            )
            for allocation in proposal.allocations
        ],
        allocation_count=proposal.allocation_count,
        confidence=proposal.confidence,
        reasons=Reason.from_dicts(proposal.reasons),
        auto_confirmed=proposal.auto_confirmed,
        currency=proposal.currency,
        raw_fee_amount=proposal.fee_amount,
        raw_discount_amount=proposal.discount_amount,
        ambiguous=proposal.ambiguous,
        alternatives=[uuid.UUID(i) for i in proposal.alternatives],
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


@strawberry.type
class ReconciliationMutation:
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
        shown = summary.proposals[:first]  # stored highest confidence first
        return ReconcileResult(
            run_id=summary.run_id,
            dry_run=summary.dry_run,
            candidates=[_run_proposal(proposal) for proposal in shown],
            candidates_total=summary.proposals_total,
            candidates_truncated=len(shown) < summary.proposals_total,
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
