"""Reconciliation API under /v1/tenants/{tenant_id}/: runs, matches and explanations."""

from __future__ import annotations

import dataclasses
import types
import typing
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.pagination import CursorPagination
from api.parsers import json_object_body
from api.problems import PROBLEM_400, PROBLEM_403, PROBLEM_404
from api.schema import OPTIONAL_BODY
from api.serializers import DECIMAL_STRING_PATTERN, ExactDecimalField, MoneyField, StrictInputSerializer
from api.views import TenantAPIView, TenantDetailAPIView, TenantListAPIView
from jobs.apis import PREFER_PARAMETER, JobOutputSerializer, job_answer
from jobs.waiting import parse_prefer
from tenants.middleware import request_tenant
from tenants.models import WriteOffReason

from . import backtest, engine, selectors, services, tasks
from .engine.calibration import DEFAULT_THRESHOLDS
from .models import MatchShape, MatchStatus


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CandidateAllocationSerializer(serializers.Serializer):
    transaction_id = serializers.UUIDField()
    invoice_id = serializers.UUIDField()
    amount = MoneyField("amount", help_text="Taken from the transaction, in its currency")
    currency = serializers.CharField(help_text="The transaction's currency (ISO 4217)")


class CandidateSerializer(serializers.Serializer):
    match_id = serializers.UUIDField(allow_null=True)
    shape = serializers.ChoiceField(choices=MatchShape.choices)
    invoice_id = serializers.UUIDField(allow_null=True, help_text="Set when one invoice is involved")
    transaction_id = serializers.UUIDField(allow_null=True, help_text="Set when one transaction is involved")
    allocations = CandidateAllocationSerializer(
        many=True,
        help_text=f"The first {selectors.EMBEDDED_ALLOCATIONS} allocations; when `allocation_count` is "
        "larger (a remittance advice's proposal), `GET matches/{match_id}/allocations` lists them all",
    )
    allocation_count = serializers.IntegerField(help_text="How many allocations the proposal has")
    confidence = serializers.DecimalField(max_digits=5, decimal_places=4)
    reasons = ReasonSerializer(many=True)
    auto_confirmed = serializers.BooleanField()
    fee_amount = MoneyField("fee_amount", help_text="Underpayment booked as a bank fee, in `currency`")
    currency = serializers.CharField(help_text="The invoices' currency (ISO 4217)")
    would_auto_confirm = serializers.BooleanField(
        help_text="Shadow mode: the threshold would have auto-confirmed it (nothing was)"
    )
    discount_amount = MoneyField("discount_amount", help_text="Early-payment discount taken, in `currency`")
    ambiguous = serializers.BooleanField(help_text="Several open invoices fit equally (never auto-confirmed)")
    alternatives = serializers.ListField(
        child=serializers.UUIDField(), help_text="The other invoices that fit equally, oldest first"
    )


class ReconcileOutputSerializer(serializers.Serializer):
    run_id = serializers.UUIDField(allow_null=True)
    dry_run = serializers.BooleanField()
    candidates = CandidateSerializer(
        many=True,
        help_text="At most RECONCILE_RESPONSE_CANDIDATES (default 500) of the run's proposals, highest "
        "confidence first; `matches_url` lists them all.",
    )
    candidates_total = serializers.IntegerField(help_text="How many proposals the run made.")
    candidates_truncated = serializers.BooleanField(
        help_text="True when `candidates` holds fewer than `candidates_total`."
    )
    matches_url = serializers.URLField(
        allow_null=True,
        help_text="The run's matches, paginated (`GET matches?run_id=`); null for a dry run, which "
        "stores nothing.",
    )
    auto_confirmed = serializers.IntegerField(
        help_text="How many proposals the run auto-confirmed (all of them, shown or not)."
    )
    would_auto_confirm = serializers.IntegerField(
        help_text="Shadow mode: how many proposals the run would have auto-confirmed (none was)."
    )


class ReconcileApi(TenantAPIView):
    """``POST reconcile``: run the engine now; returns the proposals with their reasons.

    The response is bounded whatever the size of the tenant's books: at most
    ``RECONCILE_RESPONSE_CANDIDATES`` candidates, highest confidence first
    (``ReconcileResult.strongest_proposals``), with the run's total and a link to all of its
    matches. An empty tenant returns an empty list. A second run while one is in progress gets 409.
    """

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "ReconcileRequest"

        dry_run = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=InputSerializer,
        parameters=[PREFER_PARAMETER],
        responses={200: ReconcileOutputSerializer, 202: JobOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        # The body is required: `{}` runs with the defaults, an empty body is 400 (a client whose
        # body went missing must not get a real run instead of the dry run it asked for).
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        preference = parse_prefer(request.headers.get("Prefer"))
        job = tasks.reconcile_and_wait(
            dry_run=data.validated_data["dry_run"],
            actor=request.user,
            source="api",
            seconds=preference.seconds,
        )
        return job_answer(
            request,
            job,
            preference,
            lambda done: reconcile_response_body(
                services.ReconcileSummary.from_json(done.result or {}), request
            ),
        )


def reconcile_response_body(summary: services.ReconcileSummary, request: Any) -> dict[str, Any]:
    """A run's answer as REST gives it (also a finished job's ``output``)."""
    matches_url = None
    if summary.run_id is not None:
        path = reverse("match-list", kwargs={"tenant_id": request_tenant(request).id})
        matches_url = request.build_absolute_uri(f"{path}?{urlencode({'run_id': summary.run_id})}")
    body = {
        "run_id": summary.run_id,
        "dry_run": summary.dry_run,
        "candidates": summary.proposals,
        "candidates_total": summary.proposals_total,
        "candidates_truncated": summary.proposals_truncated,
        "matches_url": matches_url,
        "auto_confirmed": summary.auto_confirmed,
        "would_auto_confirm": summary.would_auto_confirm,
    }
    return dict(ReconcileOutputSerializer(body).data)


class MatchAllocationSerializer(serializers.Serializer):
    transaction_id = serializers.UUIDField()
    invoice_id = serializers.UUIDField()
    amount = MoneyField("amount", help_text="Taken from the transaction, in `currency`")
    currency = serializers.CharField(help_text="The transaction's currency (ISO 4217)")
    invoice_amount = MoneyField(
        "invoice_amount", "invoice_currency", help_text="Settled on the invoice, in `invoice_currency`"
    )
    invoice_currency = serializers.CharField(help_text="The invoice's currency (ISO 4217)")
    write_off_amount = MoneyField(
        "write_off_amount",
        "invoice_currency",
        help_text="Shortfall of the invoice written off with this allocation, in `invoice_currency`",
    )


class MatchOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    run_id = serializers.UUIDField(allow_null=True)
    shape = serializers.ChoiceField(choices=MatchShape.choices)
    status = serializers.ChoiceField(choices=MatchStatus.choices)
    auto = serializers.BooleanField()
    would_auto_confirm = serializers.BooleanField(
        help_text="Shadow mode: the run that proposed it would have auto-confirmed it (and did not)"
    )
    confidence = serializers.DecimalField(max_digits=5, decimal_places=4)
    runner_up_confidence = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    reasons = ReasonSerializer(many=True)
    fee_amount = MoneyField("fee_amount", help_text="Underpayment booked as a bank fee, in `currency`")
    write_off_amount = MoneyField(
        "write_off_amount",
        help_text="Shortfall written off at confirmation (tenant policy), in `currency`; kept after an undo",
    )
    write_off_reason = serializers.ChoiceField(
        choices=[("", "none"), *WriteOffReason.choices],
        help_text="Why it was written off (empty: nothing was)",
    )
    discount_amount = MoneyField(
        "discount_amount", help_text="Early-payment discount taken, settled with the payment, in `currency`"
    )
    ambiguous = serializers.BooleanField(
        help_text="Several open invoices fit equally: applied to the oldest, never auto-confirmed"
    )
    alternatives = serializers.ListField(
        child=serializers.UUIDField(), help_text="The other invoices that fit equally (ids, oldest first)"
    )
    currency = serializers.CharField(help_text="The invoices' currency (ISO 4217)")
    allocations = serializers.SerializerMethodField(
        help_text=f"The first {selectors.EMBEDDED_ALLOCATIONS} allocations, in the run's order (every "
        "match the engine finds by itself has no more). A remittance advice's match may have up to 1,000: "
        "when `allocation_count` is larger, `GET matches/{id}/allocations` pages through all of them "
        "(`GET matches/{id}` lists them all)."
    )
    allocation_count = serializers.IntegerField(help_text="How many allocations the match has")
    decided_by_id = serializers.IntegerField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    undone_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(MatchAllocationSerializer(many=True))
    def get_allocations(self, match: Any) -> Any:
        embedded = match.listed_allocations[: selectors.EMBEDDED_ALLOCATIONS]  # prefetched by the selectors
        return MatchAllocationSerializer(embedded, many=True).data


class SignalSerializer(serializers.Serializer):
    signal = serializers.CharField()
    score = serializers.CharField()
    weight = serializers.CharField()
    reasons = ReasonSerializer(many=True)


class PairScoreSerializer(serializers.Serializer):
    """The engine's breakdown of one (invoice, transaction) pair (``services.pair_score_dict``)."""

    invoice_id = serializers.UUIDField()
    transaction_id = serializers.UUIDField()
    confidence = serializers.CharField()
    is_candidate = serializers.BooleanField()
    signals = SignalSerializer(many=True)
    blockers = ReasonSerializer(many=True, help_text="Why the pair is not a candidate (empty if it is)")


class ExplainOutputSerializer(PairScoreSerializer):
    """``reconcile/explain``: the breakdown of the pair asked for."""


class MatchDetailOutputSerializer(MatchOutputSerializer):
    """One match in full: every allocation and pair (at most an advice's 1,000 lines: bounded)."""

    allocations = MatchAllocationSerializer(many=True, source="listed_allocations")  # type: ignore[assignment]
    breakdown = PairScoreSerializer(many=True, help_text="Per-pair, per-signal scores with reasons")


class MatchFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MatchStatus.choices, required=False)
    invoice_id = serializers.UUIDField(required=False)
    transaction_id = serializers.UUIDField(required=False)
    run_id = serializers.UUIDField(required=False)
    min_confidence = ExactDecimalField(max_digits=5, decimal_places=4, required=False)
    would_auto_confirm = serializers.BooleanField(
        required=False, default=None, allow_null=True, help_text="Shadow mode's flag"
    )
    # A choice, not a BooleanField: DRF reads an absent boolean query parameter as false.
    ambiguous = serializers.ChoiceField(
        choices=[("true", "true"), ("false", "false")],
        required=False,
        help_text="true: only matches where several open invoices fit equally; false: only the others.",
    )

    def validate_ambiguous(self, value: str) -> bool:
        return value == "true"


class MatchListApi(TenantListAPIView):
    """``GET matches``: cursor-paginated, newest first."""

    filter_serializer_class = MatchFilterSerializer
    output_serializer_class = MatchOutputSerializer
    selector = staticmethod(selectors.match_list)


class MatchDetailApi(TenantDetailAPIView):
    """``GET matches/{match_id}`` with the full breakdown."""

    output_serializer_class = MatchDetailOutputSerializer

    def select(self, *, match_id: uuid.UUID) -> Any:  # type: ignore[override]
        # Every allocation (at most an advice's 1,000: one match is bounded); lists carry the first.
        return selectors.match_get(match_id=match_id, every_allocation=True)


class AllocationPagination(CursorPagination):
    """A match's allocations in the order the run wrote them (a remittance advice's order)."""

    ordering = ("created_at", "id")


class MatchAllocationListApi(TenantListAPIView):
    """``GET matches/{match_id}/allocations``: every allocation of one match, page by page.

    A page of matches carries at most ``EMBEDDED_ALLOCATIONS`` of each; a remittance advice's
    match may have up to 1,000, read here (``page_size`` up to 500, like every list; 404 for a
    match that is not the tenant's).
    """

    pagination_class = AllocationPagination
    output_serializer_class = MatchAllocationSerializer
    selector = staticmethod(selectors.match_allocation_list)


class _MatchActionApi(TenantAPIView):
    """A decision on a match. It takes no input: no body, or ``{}``; anything else is refused
    like any unknown field (a ``{"reason": ...}`` must not vanish while the action succeeds)."""

    match_service: Any = None

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "MatchActionRequest"

    @extend_schema(request=None, responses=MatchOutputSerializer)
    def post(self, request: Request, match_id: uuid.UUID) -> Response:
        self.InputSerializer(data=json_object_body(request, required=False)).is_valid(raise_exception=True)
        self.match_service(match_id=match_id, actor=request.user)
        return Response(MatchOutputSerializer(selectors.match_get(match_id=match_id)).data)


class WriteOffInputSerializer(StrictInputSerializer):
    class Meta:
        ref_name = "WriteOffRequest"

    reason = serializers.ChoiceField(
        choices=WriteOffReason.choices, help_text="Why the shortfall is written off"
    )


class MatchConfirmApi(TenantAPIView):
    """``POST matches/{match_id}/confirm``: allocate the amounts (409 if the money is gone).

    No body, ``{}``, or ``{"write_off": {"reason": "discount"}}``: the latter also writes off
    what the payment leaves short on its invoices, within the tenant's policy (422 beyond it or
    for a reason the tenant does not allow, 409 when nothing is short; nothing is written then).
    """

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "MatchConfirmRequest"

        write_off = WriteOffInputSerializer(required=False)

    @extend_schema(
        request=InputSerializer,
        extensions={OPTIONAL_BODY: True},
        responses={
            200: MatchOutputSerializer,
            400: PROBLEM_400,
            403: PROBLEM_403,
            404: PROBLEM_404,
            409: OpenApiResponse(
                description="Not proposed, the money is gone, or nothing is short to write off."
            ),
            422: OpenApiResponse(
                description="The write-off is beyond the tenant's policy (amount, percent, reason)."
            ),
        },
    )
    def post(self, request: Request, match_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=json_object_body(request, required=False))
        data.is_valid(raise_exception=True)
        write_off = data.validated_data.get("write_off")
        services.match_confirm(
            match_id=match_id, actor=request.user, write_off_reason=write_off["reason"] if write_off else None
        )
        return Response(MatchOutputSerializer(selectors.match_get(match_id=match_id)).data)


class MatchRejectApi(_MatchActionApi):
    """``POST matches/{match_id}/reject``: its pairs are never proposed again."""

    match_service = staticmethod(services.match_reject)


class MatchUndoApi(_MatchActionApi):
    """``POST matches/{match_id}/undo``: give back exactly what the confirmation allocated."""

    match_service = staticmethod(services.match_undo)


class ExplainApi(TenantAPIView):
    """``GET reconcile/explain?invoice_id=&transaction_id=``: the full breakdown for any pair."""

    class QuerySerializer(serializers.Serializer):
        class Meta:
            ref_name = "ExplainQuery"

        invoice_id = serializers.UUIDField()
        transaction_id = serializers.UUIDField()

    @extend_schema(parameters=[QuerySerializer], responses=ExplainOutputSerializer)
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        score = services.explain_pair(**query.validated_data)
        return Response(ExplainOutputSerializer(services.pair_score_dict(score)).data)


def _settings_used_schema() -> dict[str, Any]:
    """OpenAPI schema of a run's ``settings_used``, derived from ``engine.EngineSettings``.

    ``services._settings_snapshot`` stores every engine setting (decimals as strings, FX rates
    as ``{"EUR/USD": "1.08"}``); deriving the schema from the same dataclass keeps it in step
    when a setting is added. No property is required: older runs stored fewer settings.
    """
    decimal = {"type": "string", "format": "decimal", "pattern": DECIMAL_STRING_PATTERN}
    simple: dict[Any, dict[str, Any]] = {
        Decimal: decimal,
        int: {"type": "integer"},
        bool: {"type": "boolean"},
        str: {"type": "string"},
    }
    properties: dict[str, Any] = {}
    hints = typing.get_type_hints(engine.EngineSettings)
    for item in dataclasses.fields(engine.EngineSettings):
        hint = hints[item.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        members = set(typing.get_args(hint)) if union else {hint}
        nullable = type(None) in members
        members.discard(type(None))
        member = members.pop() if len(members) == 1 else None  # anything fancier: left untyped
        origin = typing.get_origin(member)
        if isinstance(origin, type) and issubclass(origin, Mapping):
            schema: dict[str, Any] = {"type": "object", "additionalProperties": decimal}
        else:
            schema = dict(simple.get(member, {}))
        if nullable:
            schema["nullable"] = True
        properties[item.name] = schema
    if "fx_rates" in properties:
        properties["fx_rates"]["description"] = 'FX rates used, keyed "FROM/TO" (e.g. "EUR/USD")'
    return {"type": "object", "properties": properties}


@extend_schema_field(_settings_used_schema())
class SettingsUsedField(serializers.JSONField):
    """The stored snapshot, as stored; only its OpenAPI description is typed."""


class RunOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    started_by_id = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source
    engine_version = serializers.CharField()
    settings_used = SettingsUsedField(help_text="The engine settings the run used")
    invoices_considered = serializers.IntegerField()
    transactions_considered = serializers.IntegerField()
    proposals_count = serializers.IntegerField()
    auto_confirmed_count = serializers.IntegerField()
    would_auto_confirm_count = serializers.IntegerField(
        help_text="Shadow mode: proposals the run would have auto-confirmed (and did not)"
    )
    duration_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RunListApi(TenantListAPIView):
    """``GET reconciliation-runs``: newest first."""

    output_serializer_class = RunOutputSerializer
    selector = staticmethod(selectors.run_list)


class RunDetailApi(TenantDetailAPIView):
    """``GET reconciliation-runs/{run_id}``."""

    output_serializer_class = RunOutputSerializer
    selector = staticmethod(selectors.run_get)


# --- Backtest -----------------------------------------------------------------------------------------


class BacktestThresholdSerializer(serializers.Serializer):
    threshold = serializers.DecimalField(max_digits=5, decimal_places=4)
    auto_confirmed = serializers.IntegerField(help_text="Proposals it would have auto-confirmed")
    correct = serializers.IntegerField(help_text="... that a person confirmed")
    wrong = serializers.IntegerField(help_text="... that a person rejected, undid or contradicted")
    unlabelled = serializers.IntegerField(help_text="... that nobody decided (today's open items)")
    precision = serializers.DecimalField(
        max_digits=5, decimal_places=4, allow_null=True, help_text="correct / (correct + wrong)"
    )


class BacktestPairSerializer(serializers.Serializer):
    invoice_id = serializers.UUIDField()
    transaction_id = serializers.UUIDField()


class BacktestWrongExampleSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["rejected", "undone", "contradicted"])
    confidence = serializers.DecimalField(max_digits=5, decimal_places=4)
    pairs = BacktestPairSerializer(many=True)


class ShadowPrecisionSerializer(serializers.Serializer):
    flagged = serializers.IntegerField(help_text="Matches shadow mode flagged (would_auto_confirm)")
    confirmed = serializers.IntegerField(help_text="... a person confirmed since (right)")
    rejected = serializers.IntegerField(help_text="... a person rejected (wrong)")
    undone = serializers.IntegerField(help_text="... confirmed, then undone (wrong)")
    pending = serializers.IntegerField(help_text="... not decided yet")
    precision = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)


class BacktestDecisionsSerializer(serializers.Serializer):
    confirmed = serializers.IntegerField()
    rejected = serializers.IntegerField()
    undone = serializers.IntegerField()


class BacktestOutputSerializer(serializers.Serializer):
    thresholds = BacktestThresholdSerializer(many=True)
    recommended_threshold = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        allow_null=True,
        help_text="The lowest threshold with no wrong auto-confirmation and at least `min_support` "
        "agreeing with a person; null when there is none (see `recommendation`).",
    )
    recommendation = serializers.CharField()
    min_support = serializers.IntegerField()
    proposals = serializers.IntegerField(help_text="Proposals of the backtest's engine run")
    labelled_proposals = serializers.IntegerField(help_text="... that a decision says something about")
    wrong_examples = BacktestWrongExampleSerializer(
        many=True, help_text="At most 10, highest confidence first"
    )
    decisions = BacktestDecisionsSerializer(help_text="Decided matches replayed (newest first)")
    decisions_limited = serializers.BooleanField(help_text="True when older decisions were left out")
    invoices_considered = serializers.IntegerField()
    transactions_considered = serializers.IntegerField()
    current_threshold = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    shadow_mode = serializers.BooleanField()
    shadow = ShadowPrecisionSerializer(help_text="Shadow mode's flags against later decisions")


def backtest_response_body(report: backtest.BacktestReport) -> dict[str, Any]:
    """A backtest's answer as REST gives it (also a finished backtest job's ``output``)."""
    return dict(BacktestOutputSerializer(report.to_json()).data)


class BacktestApi(TenantAPIView):
    """``POST reconcile/backtest``: replay the decided matches; per threshold, what would have been
    auto-confirmed and how much of it wrongly, and a recommended threshold. Reads only.

    Runs as a job like ``reconcile`` (``Prefer: respond-async`` / ``wait=N``: 200 with the report,
    or 202 with the job to follow). The body is required (``{}`` tries 0.80 to 0.99 by 0.01).
    """

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "BacktestRequest"

        thresholds = serializers.ListField(
            child=ExactDecimalField(
                max_digits=5, decimal_places=4, min_value=Decimal(0), max_value=Decimal(1)
            ),
            required=False,
            min_length=1,
            max_length=backtest.MAX_THRESHOLDS,
            help_text="Thresholds to try (0 to 1); default 0.80 to 0.99 by 0.01.",
        )

    @extend_schema(
        request=InputSerializer,
        parameters=[PREFER_PARAMETER],
        responses={200: BacktestOutputSerializer, 202: JobOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        given = data.validated_data.get("thresholds")
        thresholds = backtest.validate_thresholds(given) if given else list(DEFAULT_THRESHOLDS)
        preference = parse_prefer(request.headers.get("Prefer"))
        job = tasks.backtest_and_wait(
            thresholds=thresholds, actor=request.user, source="api", seconds=preference.seconds
        )
        return job_answer(
            request,
            job,
            preference,
            lambda done: backtest_response_body(backtest.BacktestReport.from_json(done.result or {})),
        )
