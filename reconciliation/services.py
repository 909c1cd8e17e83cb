"""Reconciliation writes: runs of the engine, and confirm / reject / undo of matches.

``reconcile(tenant_id, ...)`` is the one service function behind the REST API, GraphQL, the
admin and ``manage.py reconcile``. The engine itself (``reconciliation.engine``) is pure; this
module turns rows into engine inputs and engine proposals back into rows.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from banking.models import BankTransaction, transaction_status_for, transaction_takes_allocations
from common.errors import Conflict, NotFound, Unprocessable
from common.finance import format_money, quantize
from common.ids import OrderedIds
from common.memory import cyclic_gc_paused
from events.services import events_record
from invoices import services as invoice_services
from invoices.models import (
    EvidenceKind,
    Invoice,
    InvoiceStatus,
    Vendor,
    invoice_status_for,
    write_off_limit_exceeded,
)
from remittances import selectors as remittance_selectors
from tenants.audit import Actor, actor_user, audit_record
from tenants.context import require_tenant_id, tenant_context
from tenants.models import TenantSettings, WriteOffReason
from tenants.selectors import tenant_default_currency

from . import engine, events, selectors
from .engine.payers import ACCOUNT_KEY, NAME_KEY, party_keys, payer_keys
from .models import Match, MatchAllocation, MatchStatus, ReconciliationRun

# --- Serialising engine output --------------------------------------------------------------------


def reason_dicts(reasons: Any) -> list[dict[str, str]]:
    return [{"code": reason.code, "message": reason.message} for reason in reasons]


def pair_score_dict(score: engine.PairScore) -> dict[str, Any]:
    """A PairScore as plain JSON-ready data (the per-signal breakdown)."""
    return {
        "invoice_id": score.invoice_id,
        "transaction_id": score.transaction_id,
        "confidence": str(score.confidence),
        "is_candidate": score.is_candidate,
        "signals": [
            {
                "signal": signal.signal,
                "score": str(signal.score),
                "weight": str(signal.weight),
                "reasons": reason_dicts(signal.reasons),
            }
            for signal in score.signals
        ],
        "blockers": reason_dicts(score.blockers),
    }


# A run stages tens of thousands of explanations: they are written as JSON text directly
# (C string escaping, no intermediate dicts), about twice as fast as building the dicts above
# and dumping them. The text parses to exactly what pair_score_dict gives (a test checks it);
# jsonb stores the same either way.
_json_string = json.encoder.encode_basestring_ascii


def _reasons_json(reasons: Any) -> str:
    return (
        "["
        + ",".join(f'{{"code":{_json_string(r.code)},"message":{_json_string(r.message)}}}' for r in reasons)
        + "]"
    )


def _pair_score_json(score: engine.PairScore) -> str:
    signals = ",".join(
        f'{{"signal":{_json_string(signal.signal)},"score":"{signal.score}","weight":"{signal.weight}",'
        f'"reasons":{_reasons_json(signal.reasons)}}}'
        for signal in score.signals
    )
    return (
        f'{{"invoice_id":{_json_string(score.invoice_id)},"transaction_id":{_json_string(score.transaction_id)},'
        f'"confidence":"{score.confidence}","is_candidate":{"true" if score.is_candidate else "false"},'
        f'"signals":[{signals}],"blockers":{_reasons_json(score.blockers)}}}'
    )


@dataclass(frozen=True)
class Candidate:
    """One proposal of a run as the interfaces present it.

    Each allocation carries its ``amount`` (Decimal) in the transaction's ``currency``;
    ``fee_amount`` is in ``currency``, the invoices'. The interfaces render both at the
    currency's minor unit, like every other amount.
    """

    match_id: uuid.UUID | None
    shape: str
    allocations: list[dict[str, Any]]
    confidence: Decimal
    reasons: list[dict[str, str]]
    auto_confirmed: bool
    fee_amount: Decimal
    currency: str
    would_auto_confirm: bool = False  # shadow mode: the threshold would have confirmed it
    discount_amount: Decimal = Decimal(0)  # in ``currency``, like the fee
    ambiguous: bool = False
    alternatives: list[str] = field(default_factory=list)  # invoice ids, oldest first

    @property
    def invoice_id(self) -> str | None:
        invoices = {a["invoice_id"] for a in self.allocations}
        return next(iter(invoices)) if len(invoices) == 1 else None

    @property
    def transaction_id(self) -> str | None:
        transactions = {a["transaction_id"] for a in self.allocations}
        return next(iter(transactions)) if len(transactions) == 1 else None


@dataclass(frozen=True)
class ReconcileResult:
    run_id: uuid.UUID | None
    dry_run: bool
    candidates: list[Candidate]
    auto_confirmed: int
    stats: dict[str, Any] = field(default_factory=dict)
    would_auto_confirm: int = 0  # shadow mode: how many the threshold would have confirmed

    def summary(self, limit: int) -> ReconcileSummary:
        """What a response carries: the ``limit`` strongest candidates and the run's totals."""
        return ReconcileSummary(
            run_id=self.run_id,
            dry_run=self.dry_run,
            candidates=self.strongest_candidates(limit),
            candidates_total=len(self.candidates),
            auto_confirmed=self.auto_confirmed,
            would_auto_confirm=self.would_auto_confirm,
        )

    def strongest_candidates(self, limit: int) -> list[Candidate]:
        """The candidates a response carries: at most ``limit``, highest confidence first.

        A run proposes as many candidates as the tenant's open items allow, so the REST and
        GraphQL responses carry at most ``RECONCILE_RESPONSE_CANDIDATES`` and say how many
        there are; the rest are read page by page (``GET matches?run_id=``). Highest confidence
        first because that is what a person reviewing the run looks at first (and what a
        truncated response should not leave out); ties keep the engine's order (by transaction,
        then invoice id), so the cut is deterministic.
        """
        return heapq.nlargest(limit, self.candidates, key=attrgetter("confidence"))


@dataclass(frozen=True)
class ReconcileSummary:
    """A run's answer as the interfaces give it, bounded: its strongest candidates and totals.

    A run executes on a worker (``reconciliation.tasks``); the summary is the job's result
    (``to_json``), from which a waiting request builds its response (``from_json``): REST and
    GraphQL answer the same whether the run finished in time or was read later.
    """

    run_id: uuid.UUID | None
    dry_run: bool
    candidates: list[Candidate]
    candidates_total: int
    auto_confirmed: int
    would_auto_confirm: int = 0

    @property
    def candidates_truncated(self) -> bool:
        return len(self.candidates) < self.candidates_total

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": str(self.run_id) if self.run_id else None,
            "dry_run": self.dry_run,
            "candidates_total": self.candidates_total,
            "auto_confirmed": self.auto_confirmed,
            "would_auto_confirm": self.would_auto_confirm,
            "candidates": [
                {
                    "match_id": str(c.match_id) if c.match_id else None,
                    "shape": c.shape,
                    "allocations": [
                        {
                            **a,
                            "amount": str(a["amount"]),
                            "transaction_id": str(a["transaction_id"]),
                            "invoice_id": str(a["invoice_id"]),
                        }
                        for a in c.allocations
                    ],
                    "confidence": str(c.confidence),
                    "reasons": c.reasons,
                    "auto_confirmed": c.auto_confirmed,
                    "fee_amount": str(c.fee_amount),
                    "currency": c.currency,
                    "would_auto_confirm": c.would_auto_confirm,
                    "discount_amount": str(c.discount_amount),
                    "ambiguous": c.ambiguous,
                    "alternatives": [str(i) for i in c.alternatives],
                }
                for c in self.candidates
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReconcileSummary:
        return cls(
            run_id=uuid.UUID(data["run_id"]) if data["run_id"] else None,
            dry_run=bool(data["dry_run"]),
            candidates_total=int(data["candidates_total"]),
            auto_confirmed=int(data["auto_confirmed"]),
            # Results stored before shadow mode existed have no such key.
            would_auto_confirm=int(data.get("would_auto_confirm", 0)),
            candidates=[
                Candidate(
                    match_id=uuid.UUID(c["match_id"]) if c["match_id"] else None,
                    shape=c["shape"],
                    allocations=[{**a, "amount": Decimal(a["amount"])} for a in c["allocations"]],
                    confidence=Decimal(c["confidence"]),
                    reasons=c["reasons"],
                    auto_confirmed=bool(c["auto_confirmed"]),
                    fee_amount=Decimal(c["fee_amount"]),
                    currency=c["currency"],
                    would_auto_confirm=bool(c.get("would_auto_confirm", False)),
                    # Results stored before these existed read as none.
                    discount_amount=Decimal(c.get("discount_amount", "0")),
                    ambiguous=bool(c.get("ambiguous", False)),
                    alternatives=list(c.get("alternatives", [])),
                )
                for c in data["candidates"]
            ],
        )


# --- Runs -------------------------------------------------------------------------------------------

RunProgress = Callable[[str, int, int | None], None]
"""``progress(phase, done, total)``: how a run reports where it is (a job writes it down)."""


def _no_progress(phase: str, done: int, total: int | None) -> None:
    del phase, done, total


def _settings_snapshot(settings: engine.EngineSettings) -> dict[str, Any]:
    snapshot = {}
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        snapshot[item.name] = str(value) if isinstance(value, Decimal) else value
    snapshot["fx_rates"] = {f"{a}/{b}": str(rate) for (a, b), rate in dict(settings.fx_rates).items()}
    return snapshot


def reconcile(
    tenant_id: uuid.UUID | str,
    *,
    dry_run: bool = False,
    actor: Actor = None,
    source: str = "api",
    progress: RunProgress | None = None,
) -> ReconcileResult:
    """Run the engine for a tenant and persist its proposals (auto-confirming the safe ones).

    One run per tenant at a time: a second concurrent run raises Conflict (409). Proposals still
    open from earlier runs are replaced, keeping the id of any proposal that is proposed again.
    ``dry_run`` computes and returns the candidates without writing anything. ``progress`` is
    told each phase (and, while scoring, how many transactions are done); the interfaces run
    this on a worker through ``reconciliation.tasks.reconcile_job``.
    """
    started = time.perf_counter()
    with cyclic_gc_paused(), tenant_context(tenant_id) as tenant_uuid:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"reconcile:{tenant_uuid}"]
            )
            if not cursor.fetchone()[0]:
                raise Conflict("A reconciliation run is already in progress for this tenant.")
        with _batch_planning():
            report = progress or _no_progress
            return _run(dry_run=dry_run, actor=actor, source=source, started=started, progress=report)


def _run(
    *, dry_run: bool, actor: Actor, source: str, started: float, progress: RunProgress
) -> ReconcileResult:
    """One run inside the tenant's context, holding the run lock (see ``reconcile``)."""
    progress("loading open items", 0, None)
    settings = selectors.engine_settings()
    shadow = selectors.auto_confirm_shadow()
    invoices = selectors.open_invoice_inputs()
    transactions = selectors.open_transaction_inputs()
    result = engine.reconcile(
        invoices,
        transactions,
        settings,
        rejected_pairs=selectors.rejected_pairs(),
        workers=django_settings.RECONCILE_WORKERS,
        on_progress=progress,
        rejected_payers=selectors.rejected_payers(),
        advices=remittance_selectors.open_advice_inputs(),
    )
    # The inputs are not needed any more: free them before the proposals are staged (peak memory).
    invoices_considered, transactions_considered = len(invoices), len(transactions)
    currency_of = _proposal_currencies(invoices, transactions)
    del invoices, transactions
    stats = {**result.stats, **result.resources}  # what the run found, then how it was carried out
    if dry_run:
        # A dry run reports what would be auto-confirmed, without doing it (in shadow mode:
        # what the run would flag, confirming nothing).
        candidates = [
            _candidate(
                None,
                p,
                auto_confirmed=p.auto_confirm and not shadow,
                currency_of=currency_of,
                would_auto_confirm=p.auto_confirm and shadow,
            )
            for p in result.proposals
        ]
        return ReconcileResult(
            run_id=None,
            dry_run=True,
            candidates=candidates,
            auto_confirmed=sum(c.auto_confirmed for c in candidates),
            stats=stats,
            would_auto_confirm=sum(c.would_auto_confirm for c in candidates),
        )
    run = ReconciliationRun.objects.create(
        started_by=actor_user(actor),
        source=source,
        engine_version=engine.ENGINE_VERSION,
        settings_used={**_settings_snapshot(settings), "auto_confirm_shadow": shadow},
        invoices_considered=invoices_considered,
        transactions_considered=transactions_considered,
    )
    progress("writing proposals", 0, len(result.proposals))
    with connection.cursor() as cursor:
        staging = _RunStaging(cursor, run.id)
        match_ids = _stage_proposals(staging, result.proposals, progress, shadow=shadow)
        progress("auto-confirming", 0, None)
        # Shadow mode confirms nothing: the proposals carry would_auto_confirm instead.
        confirmed_ids = set() if shadow else _auto_confirm(staging, result.proposals, match_ids)
        _write_run(staging, run, progress)
        settled = _settled_by_run(staging) if confirmed_ids else []
        staging.drop()
    candidates = [
        _candidate(
            match_id,
            proposal,
            auto_confirmed=match_id in confirmed_ids,
            currency_of=currency_of,
            would_auto_confirm=shadow and proposal.auto_confirm,
        )
        for match_id, proposal in zip(match_ids, result.proposals, strict=True)
    ]
    auto_confirmed = len(confirmed_ids)
    would_auto_confirm = sum(c.would_auto_confirm for c in candidates)
    run.proposals_count = len(match_ids)
    run.auto_confirmed_count = auto_confirmed
    run.would_auto_confirm_count = would_auto_confirm
    run.stats = {k: v for k, v in stats.items() if isinstance(v, int | float | str)}
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.save(
        update_fields=[
            "proposals_count",
            "auto_confirmed_count",
            "would_auto_confirm_count",
            "stats",
            "duration_ms",
            "updated_at",
        ]
    )
    confirmed = (
        (match_id, proposal)
        for match_id, proposal in zip(match_ids, result.proposals, strict=True)
        if match_id in confirmed_ids
    )
    events_record(events.run_specs(run, confirmed=confirmed, settled=settled, currency_of=currency_of))
    return ReconcileResult(
        run_id=run.id,
        dry_run=False,
        candidates=candidates,
        auto_confirmed=auto_confirmed,
        stats=run.stats,
        would_auto_confirm=would_auto_confirm,
    )


@contextmanager
def _batch_planning() -> Iterator[None]:
    """Plan a run's statements as the batch work they are: hash joins, no nested loops.

    A run reads and writes a tenant's whole open ledger. Right after a large import the
    planner's statistics may not know the tenant's rows yet (the table's most-common-values
    list still sums to 100 % over the other tenants), so it estimates "1 row" and would pick
    nested loops that rescan the tenant's rows once per row: quadratic. Hash joins are linear
    whatever the estimates say. The settings are put back afterwards, so the rest of a
    request's transaction is planned as usual (after an error the rollback undoes them).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_nestloop'), current_setting('work_mem')")
        nestloop, work_mem = cursor.fetchone()
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('enable_nestloop', %s, true), set_config('work_mem', %s, true)",
            [nestloop, work_mem],
        )


def _proposal_currencies(
    invoices: Iterable[engine.InvoiceInput], transactions: Iterable[engine.TransactionInput]
) -> Callable[[str], str]:
    """The currency of an invoice or transaction id (the engine's proposals carry ids only).

    Only the rows in another currency than the tenant's default are kept, so a single-currency
    tenant's 100k-row run holds no map while its proposals are staged.
    """
    default = tenant_default_currency()
    others = {
        row.id: row.currency for rows in (invoices, transactions) for row in rows if row.currency != default
    }
    return lambda id_: others.get(id_, default)


def _candidate(
    match_id: uuid.UUID | None,
    proposal: engine.Proposal,
    *,
    auto_confirmed: bool,
    currency_of: Callable[[str], str],
    would_auto_confirm: bool = False,
) -> Candidate:
    return Candidate(
        match_id=match_id,
        shape=proposal.shape,
        allocations=[
            {
                "transaction_id": a.transaction_id,
                "invoice_id": a.invoice_id,
                "amount": a.amount,
                "currency": currency_of(a.transaction_id),
            }
            for a in proposal.allocations
        ],
        confidence=proposal.confidence,
        reasons=reason_dicts(proposal.reasons),
        auto_confirmed=auto_confirmed,
        fee_amount=proposal.fee_amount,
        currency=currency_of(proposal.allocations[0].invoice_id),
        would_auto_confirm=would_auto_confirm,
        discount_amount=proposal.discount_amount,
        ambiguous=proposal.ambiguous,
        alternatives=list(proposal.alternatives),
    )


def _open_proposals_by_allocations() -> dict[tuple, uuid.UUID]:
    """Still-proposed matches of earlier runs, keyed by their allocations (to keep their ids)."""
    parts: dict[uuid.UUID, list[tuple]] = {}
    rows = MatchAllocation.objects.filter(match__status=MatchStatus.PROPOSED).values_list(
        "match_id", "transaction_id", "invoice_id", "amount"
    )
    for match_id, transaction_id, invoice_id, amount in rows.iterator(chunk_size=10_000):
        parts.setdefault(match_id, []).append((str(transaction_id), str(invoice_id), amount.normalize()))
    return {tuple(sorted(allocations)): match_id for match_id, allocations in parts.items()}


def _proposal_key(proposal: engine.Proposal) -> tuple:
    return tuple(
        sorted((a.transaction_id, a.invoice_id, Decimal(a.amount).normalize()) for a in proposal.allocations)
    )


def _settled_amounts(proposal: engine.Proposal) -> list[Decimal]:
    """What each allocation settles on its invoice; a fee (or an early-payment discount, which
    only a 1:1 or N:1 proposal takes) is absorbed once, by the first one."""
    settled = []
    fee_left = proposal.fee_amount + proposal.discount_amount
    for allocation in proposal.allocations:
        amount = allocation.invoice_amount if allocation.invoice_amount is not None else allocation.amount
        if fee_left:
            amount += fee_left
            fee_left = Decimal(0)
        settled.append(amount)
    return settled


class _RunStaging:
    """Temporary tables (dropped at commit) that carry a run's proposals into PostgreSQL by COPY.

    Django's bulk_create and array parameters quote every value in Python; COPY streams the rows
    and one set-based statement per table moves them into the RLS-checked tables, whose policies
    check every row as usual. Every staging table is indexed on what the statements join it by,
    so a plan stays cheap even when the planner's statistics lag behind a tenant's fresh rows.
    """

    _TABLES = {
        "matches": "(seq int, id uuid PRIMARY KEY, kept boolean, auto boolean, "
        "shape text, confidence numeric, runner_up_confidence numeric, reasons jsonb, breakdown jsonb, "
        "fee_amount numeric, would_auto boolean, discount_amount numeric, ambiguous boolean, "
        "alternatives uuid[])",
        "allocations": "(seq int, match_id uuid, kept boolean, auto boolean, transaction_id uuid, "
        "invoice_id uuid, amount numeric, invoice_amount numeric)",
        "stale": "(id uuid PRIMARY KEY)",
        "confirmed": "(id uuid PRIMARY KEY)",
        "balances": "(kind text, id uuid, settled numeric, status text, PRIMARY KEY (kind, id))",
    }

    # Statistics only on what the statements join and filter by: sampling the explanations
    # (~1 kB of JSON per proposal) took half a second at 100k.
    _ANALYZED = {"matches": "(id, kept)"}

    def __init__(self, cursor: Any, run_id: uuid.UUID) -> None:
        self.cursor = cursor
        self.names = {name: sql.Identifier(f"run_{name}_{run_id.hex}") for name in self._TABLES}
        for name, columns in self._TABLES.items():
            self.execute(f"CREATE TEMPORARY TABLE {{{name}}} {columns} ON COMMIT DROP")
        self.execute("CREATE INDEX ON {allocations} (match_id)")

    def execute(self, statement: str, params: Any = None, **fragments: sql.Composable) -> None:
        """Run ``statement`` with the staging tables' names (and any ``fragments``) filled in."""
        self.cursor.execute(sql.SQL(statement).format(**self.names, **fragments), params)

    def copy(self, name: str, rows: Iterable[tuple]) -> None:
        """COPY rows into the staging table ``name``, then let the planner know its size."""
        # cursor.copy() bypasses Django's error wrapping: restore it (a lost connection is a 503).
        with (
            connection.wrap_database_errors,
            self.cursor.copy(sql.SQL("COPY {} FROM STDIN").format(self.names[name])) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        self.execute(f"ANALYZE {{{name}}} {self._ANALYZED.get(name, '')}")

    def drop(self) -> None:
        """Drop the tables now (a caller's outer transaction may run several reconciliations)."""
        self.execute("DROP TABLE " + ", ".join(f"{{{name}}}" for name in self._TABLES))


def _stage_proposals(
    staging: _RunStaging,
    proposals: tuple[engine.Proposal, ...],
    progress: RunProgress = _no_progress,
    *,
    shadow: bool = False,
) -> list[uuid.UUID]:
    """COPY a run's proposals into staging; returns their match ids, in proposal order.

    A proposal whose allocations equal a match still proposed from an earlier run keeps that
    match's id (and updates it); earlier proposals not proposed again are stale. In shadow
    mode nothing is staged for confirmation (``auto`` false, so no row is locked) and the
    proposals the threshold would confirm are staged with ``would_auto``.
    """
    existing = _open_proposals_by_allocations()
    new_id = OrderedIds.new()  # new matches' ids grow with the proposal order (see common.ids)
    match_ids: list[uuid.UUID] = []
    allocation_rows: list[tuple] = []

    def match_rows() -> Iterator[tuple]:
        # A generator, so COPY streams: PostgreSQL parses one row's explanations into jsonb on
        # its core while this one serialises the next (~100 MB of JSON at 100k). It also
        # fills match_ids and allocation_rows, complete once the COPY has consumed it.
        for seq, proposal in enumerate(proposals):
            if seq % 1000 == 0:
                progress("writing proposals", seq, len(proposals))
            kept_id = existing.pop(_proposal_key(proposal), None) if existing else None
            match_id = kept_id or new_id(seq)
            match_ids.append(match_id)
            for allocation, settled in zip(proposal.allocations, _settled_amounts(proposal), strict=True):
                allocation_rows.append(
                    (
                        len(allocation_rows),
                        match_id,
                        kept_id is not None,
                        proposal.auto_confirm and not shadow,
                        allocation.transaction_id,
                        allocation.invoice_id,
                        allocation.amount,
                        settled,
                    )
                )
            yield (
                seq,
                match_id,
                kept_id is not None,
                proposal.auto_confirm and not shadow,
                proposal.shape,
                proposal.confidence,
                proposal.runner_up_confidence,
                _reasons_json(proposal.reasons),
                "[" + ",".join(_pair_score_json(score) for score in proposal.breakdown) + "]",
                proposal.fee_amount,
                proposal.auto_confirm and shadow,
                proposal.discount_amount,
                proposal.ambiguous,
                list(proposal.alternatives),
            )

    staging.copy("matches", match_rows())
    staging.copy("allocations", allocation_rows)
    staging.copy("stale", ((match_id,) for match_id in existing.values()))
    return match_ids


# Rows are locked in id order (the sort runs below the lock), like a manual confirm's locks.
# Every statement on a ledger table names the tenant (here and in _WRITE_RUN): RLS would keep
# the rows right without it, but Citus routes a statement to the tenant's shard only when the
# statement itself says which tenant (tenant_id = constant), and a primary key that leads with
# tenant_id serves the look-ups by id best that way on one PostgreSQL too.
_LOCK_TRANSACTIONS = """
SELECT t.id::text, t.amount, t.allocated_amount, t.status FROM banking_banktransaction t
WHERE t.tenant_id = %(tenant)s AND t.id IN (SELECT a.transaction_id FROM {allocations} a WHERE a.auto)
ORDER BY t.id FOR UPDATE
"""
_LOCK_INVOICES = """
SELECT i.id::text, i.amount, i.amount_paid, i.status FROM invoices_invoice i
WHERE i.tenant_id = %(tenant)s AND i.id IN (SELECT a.invoice_id FROM {allocations} a WHERE a.auto)
ORDER BY i.id FOR UPDATE
"""


def _auto_confirm(
    staging: _RunStaging, proposals: tuple[engine.Proposal, ...], match_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Decide which engine-approved matches to confirm, under the same row locks as a manual confirm.

    The rows are locked (transactions, then invoices, in id order) and re-checked: a match
    whose money was taken meanwhile (a person confirmed something else) stays proposed. The
    decisions and the new balances are staged; ``_write_run`` applies them with the proposals.
    """
    chosen = [(match_id, p) for match_id, p in zip(match_ids, proposals, strict=True) if p.auto_confirm]
    if not chosen:
        return set()
    tenant = {"tenant": require_tenant_id()}
    staging.execute(_LOCK_TRANSACTIONS, tenant)
    transactions = {row[0]: [row[1], row[2], row[3]] for row in staging.cursor.fetchall()}
    staging.execute(_LOCK_INVOICES, tenant)
    invoices = {row[0]: [row[1], row[2], row[3]] for row in staging.cursor.fetchall()}
    confirmed: set[uuid.UUID] = set()
    touched_transactions: set[str] = set()
    touched_invoices: set[str] = set()
    for match_id, proposal in chosen:
        transaction_delta: dict[str, Decimal] = {}
        invoice_delta: dict[str, Decimal] = {}
        for allocation, settled in zip(proposal.allocations, _settled_amounts(proposal), strict=True):
            tx_id, inv_id = allocation.transaction_id, allocation.invoice_id
            transaction_delta[tx_id] = transaction_delta.get(tx_id, Decimal(0)) + allocation.amount
            invoice_delta[inv_id] = invoice_delta.get(inv_id, Decimal(0)) + settled
        fits = all(
            transaction_takes_allocations(transactions[tx_id][2])
            and transactions[tx_id][1] + delta <= abs(transactions[tx_id][0])
            for tx_id, delta in transaction_delta.items()
        ) and all(
            invoices[inv_id][2] != InvoiceStatus.VOID and invoices[inv_id][1] + delta <= invoices[inv_id][0]
            for inv_id, delta in invoice_delta.items()
        )
        if not fits:
            continue
        for tx_id, delta in transaction_delta.items():
            transactions[tx_id][1] += delta
        for inv_id, delta in invoice_delta.items():
            invoices[inv_id][1] += delta
        touched_transactions.update(transaction_delta)
        touched_invoices.update(invoice_delta)
        confirmed.add(match_id)
    staging.copy(
        "balances",
        [
            ("transaction", pk, transactions[pk][1], transaction_status_for(*transactions[pk]))
            for pk in touched_transactions
        ]
        + [("invoice", pk, invoices[pk][1], invoice_status_for(*invoices[pk])) for pk in touched_invoices],
    )
    staging.copy("confirmed", ((match_id,) for match_id in confirmed))
    return confirmed


# The INSERT ... SELECTs from staging are written as WITH written AS (... RETURNING 1)
# SELECT count(*): see tenants.citus, "Moving staged rows" (Citus would COPY them into the
# shard, which RLS refuses). On one PostgreSQL the wrapper costs nothing measurable.
_WRITE_RUN = (
    # Earlier proposals not proposed again.
    """
    DELETE FROM reconciliation_matchallocation
    WHERE tenant_id = %(tenant)s AND match_id IN (SELECT id FROM {stale})
    """,
    "DELETE FROM reconciliation_match WHERE tenant_id = %(tenant)s AND id IN (SELECT id FROM {stale})",
    # Proposed again: same match, this run's scores (and confirmation).
    """
    UPDATE reconciliation_match m
    SET run_id = %(run)s, shape = s.shape, confidence = s.confidence,
        runner_up_confidence = s.runner_up_confidence, reasons = s.reasons, breakdown = s.breakdown,
        fee_amount = s.fee_amount, discount_amount = s.discount_amount, ambiguous = s.ambiguous,
        alternatives = s.alternatives, engine_version = %(engine_version)s, updated_at = now(),
        would_auto_confirm = s.would_auto,
        status = CASE WHEN c.id IS NOT NULL THEN 'confirmed' ELSE m.status END,
        auto = c.id IS NOT NULL OR m.auto,
        confirmed_at = CASE WHEN c.id IS NOT NULL THEN %(now)s ELSE m.confirmed_at END
    FROM {matches} s LEFT JOIN {confirmed} c ON c.id = s.id
    WHERE m.tenant_id = %(tenant)s AND m.id = s.id AND s.kept
    """,
    # Same allocations; what they settle on the invoice (a fee) may differ.
    """
    UPDATE reconciliation_matchallocation m SET invoice_amount = a.invoice_amount, updated_at = now()
    FROM {allocations} a
    WHERE m.tenant_id = %(tenant)s AND a.kept AND m.match_id = a.match_id
      AND m.transaction_id = a.transaction_id AND m.invoice_id = a.invoice_id AND m.amount = a.amount
      AND m.invoice_amount <> a.invoice_amount
    """,
    # New proposals, in the engine's order (creation time follows it). New ids grow with that
    # order, so the staging table's primary key hands the rows over sorted: sorting ~70k wide
    # rows (explanations) by seq spilled to disk (~0.8 s at 100k).
    """
    WITH written AS (INSERT INTO reconciliation_match (
        id, tenant_id, run_id, shape, status, auto, confirmed_at, confidence, runner_up_confidence,
        reasons, breakdown, fee_amount, discount_amount, ambiguous, alternatives, engine_version,
        created_at, updated_at, would_auto_confirm
    )
    SELECT s.id, %(tenant)s, %(run)s, s.shape,
           CASE WHEN c.id IS NOT NULL THEN 'confirmed' ELSE 'proposed' END, c.id IS NOT NULL,
           CASE WHEN c.id IS NOT NULL THEN %(now)s END, s.confidence, s.runner_up_confidence,
           s.reasons, s.breakdown, s.fee_amount, s.discount_amount, s.ambiguous, s.alternatives,
           %(engine_version)s, clock_timestamp(), clock_timestamp(), s.would_auto
    FROM {matches} s LEFT JOIN {confirmed} c ON c.id = s.id
    WHERE NOT s.kept
    ORDER BY s.id
    RETURNING 1) SELECT count(*) FROM written
    """,
    """
    WITH written AS (INSERT INTO reconciliation_matchallocation (
        id, tenant_id, match_id, transaction_id, invoice_id, amount, invoice_amount, created_at, updated_at
    )
    SELECT {allocation_id}, %(tenant)s, a.match_id, a.transaction_id, a.invoice_id, a.amount,
           a.invoice_amount, now(), now()
    FROM {allocations} a
    WHERE NOT a.kept
    ORDER BY a.seq
    RETURNING 1) SELECT count(*) FROM written
    """,
    # Auto-confirmations: balances, statuses, one audit event each.
    """
    UPDATE banking_banktransaction t SET allocated_amount = b.settled, status = b.status, updated_at = now()
    FROM {balances} b WHERE t.tenant_id = %(tenant)s AND b.kind = 'transaction' AND t.id = b.id
    """,
    """
    UPDATE invoices_invoice i SET amount_paid = b.settled, status = b.status, updated_at = now()
    FROM {balances} b WHERE i.tenant_id = %(tenant)s AND b.kind = 'invoice' AND i.id = b.id
    """,
    """
    WITH written AS (INSERT INTO tenants_auditevent (
        id, tenant_id, actor_id, action, object_type, object_id, before, after, created_at, updated_at
    )
    SELECT {audit_id}, %(tenant)s, NULL, 'match.auto_confirmed', 'match', s.id,
           jsonb_build_object('status', 'proposed', 'auto', false, 'confidence', s.confidence::text),
           jsonb_build_object('status', 'confirmed', 'auto', true, 'confidence', s.confidence::text),
           clock_timestamp(), clock_timestamp()
    FROM {matches} s JOIN {confirmed} c ON c.id = s.id
    ORDER BY s.seq
    RETURNING 1) SELECT count(*) FROM written
    """,
)


# The invoices a run's auto-confirmations paid in full (an invoice already paid takes no more).
_SETTLED_BY_RUN = """
SELECT i.id, i.number, i.amount, i.amount_paid, i.currency, i.kind FROM invoices_invoice i
WHERE i.tenant_id = %(tenant)s
  AND i.id IN (SELECT b.id FROM {balances} b WHERE b.kind = 'invoice' AND b.status = 'paid')
ORDER BY i.id
"""


def _settled_by_run(staging: _RunStaging) -> list[events.SettledRow]:
    """The invoices this run settled, for their ``invoice.settled`` events."""
    staging.execute(_SETTLED_BY_RUN, {"tenant": require_tenant_id()})
    return list(staging.cursor.fetchall())


def transaction_start() -> Any:
    """``now()``: the current transaction's start time, as PostgreSQL stamps rows with it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def _write_run(staging: _RunStaging, run: ReconciliationRun, progress: RunProgress = _no_progress) -> None:
    """Move a staged run into the ledgers: proposals, allocations, confirmations, audit events."""
    params = {
        "tenant": require_tenant_id(),
        # The confirmation time as a value: Citus refuses now() inside CASE on a distributed
        # table (it would be evaluated per shard); the transaction's start is the same moment.
        "now": transaction_start(),
        "run": run.id,
        "engine_version": engine.ENGINE_VERSION,
        **OrderedIds.new().params("allocation"),
        **OrderedIds.new().params("audit"),
    }
    # New allocations and audit events get time-ordered ids, in the order they are inserted.
    ids = {
        "allocation_id": sql.SQL(OrderedIds.sql("allocation", "a.seq")),
        "audit_id": sql.SQL(OrderedIds.sql("audit", "s.seq")),
    }
    for done, statement in enumerate(_WRITE_RUN):
        progress("storing the run", done, len(_WRITE_RUN))
        staging.execute(statement, params, **ids)


# --- Confirm / reject / undo ------------------------------------------------------------------------


def _match_state(match: Match) -> dict[str, Any]:
    return {"status": match.status, "auto": match.auto, "confidence": str(match.confidence)}


def _locked_match(match_id: uuid.UUID) -> Match:
    match = Match.objects.select_for_update().filter(pk=match_id).first()
    if match is None:
        raise NotFound("No such match.")
    return match


def _lock_rows(allocations: list[MatchAllocation]) -> tuple[dict, dict]:
    """Lock the transactions, then the invoices, each in id order (no deadlocks between confirms)."""
    transaction_ids = sorted({a.transaction_id for a in allocations})
    invoice_ids = sorted({a.invoice_id for a in allocations})
    transactions = {
        t.pk: t
        for t in BankTransaction.objects.select_for_update().filter(pk__in=transaction_ids).order_by("pk")
    }
    invoices = {
        i.pk: i for i in Invoice.objects.select_for_update().filter(pk__in=invoice_ids).order_by("pk")
    }
    return transactions, invoices


def _save_balances(transactions: dict, invoices: dict) -> None:
    """Recompute statuses from the new amounts (the ledgers' settlement rules) and write the
    locked rows back."""
    for bank_transaction in transactions.values():
        bank_transaction.status = transaction_status_for(
            bank_transaction.amount, bank_transaction.allocated_amount, bank_transaction.status
        )
    for invoice in invoices.values():
        invoice.status = invoice_status_for(invoice.amount, invoice.amount_paid, invoice.status)
    BankTransaction.objects.bulk_update(
        list(transactions.values()), ["allocated_amount", "status", "updated_at"]
    )
    Invoice.objects.bulk_update(
        list(invoices.values()), ["amount_paid", "amount_written_off", "status", "updated_at"]
    )


def _decide(match: Match, *, actor: Actor, status: str, stamp: str, action: str) -> Match:
    """Move a locked match to ``status``, stamp who and when, and audit the change."""
    before = _match_state(match)
    match.status = status
    match.decided_by = actor_user(actor)
    setattr(match, stamp, timezone.now())
    match.save(update_fields=["status", "auto", "decided_by", stamp, "updated_at"])
    audit_record(
        actor=match.decided_by,
        action=action,
        object_type="match",
        object_id=match.pk,
        before=before,
        after=_match_state(match),
    )
    return match


def _invoice_subject(invoice: Invoice) -> str:
    """An invoice as the subject of a message: "Invoice INV-0101", "Unnumbered invoice (...)"."""
    name = invoice.label
    return f"Invoice {name}" if invoice.number.strip() else name


def _write_off(
    match: Match, allocations: list[MatchAllocation], invoices: dict, reason: str
) -> dict[str, Decimal]:
    """Write off what the match leaves short on its invoices, within the tenant's policy.

    Applied after the match's own allocations (on the locked invoices, not yet saved): each
    invoice still short gets its shortfall added to ``amount_paid`` and ``amount_written_off``
    (the settlement rule then calls it paid), recorded on the invoice's last allocation of the
    match, so an undo gives back exactly that. Unprocessable (422) when the reason is not one
    the tenant allows or a shortfall exceeds its maximum amount or percent; Conflict (409) when
    nothing is short. The caller's transaction rolls back on either, so nothing is written.
    Returns the written-off amount per invoice id.
    """
    policy = TenantSettings.objects.first() or TenantSettings()
    allowed = list(policy.write_off_reasons)
    if reason not in allowed:
        raise Unprocessable(
            f"The write-off reason {reason!r} is not allowed by the tenant's policy.",
            errors={
                "write_off.reason": [f"Allowed reasons: {allowed}." if allowed else "No reason is allowed."]
            },
        )
    last_allocation = {allocation.invoice_id: allocation for allocation in allocations}
    written: dict[str, Decimal] = {}
    for invoice_id, allocation in last_allocation.items():
        invoice = invoices[invoice_id]
        shortfall = invoice.amount - invoice.amount_paid
        if shortfall <= 0:
            continue
        exceeded = write_off_limit_exceeded(
            shortfall=shortfall,
            invoice_amount=invoice.amount,
            max_amount=policy.write_off_max_amount,
            max_percent=policy.write_off_max_percent,
        )
        if exceeded is not None:
            limit = (
                f"the maximum write-off {format_money(policy.write_off_max_amount, invoice.currency)}"
                if exceeded == "amount"
                else f"{policy.write_off_max_percent} % of its amount"
            )
            raise Unprocessable(
                f"{_invoice_subject(invoice)} would stay {format_money(shortfall, invoice.currency)} short: "
                f"more than {limit} may not be written off.",
                errors={"write_off": [f"The shortfall exceeds {limit} (tenant policy)."]},
            )
        invoice.amount_paid += shortfall
        invoice.amount_written_off += shortfall
        allocation.write_off_amount = shortfall
        written[str(invoice_id)] = shortfall
    if not written:
        raise Conflict("The match settles its invoices in full: there is nothing to write off.")
    MatchAllocation.objects.bulk_update(
        [a for a in last_allocation.values() if a.write_off_amount], ["write_off_amount", "updated_at"]
    )
    match.write_off_amount = sum(written.values(), Decimal(0))
    match.write_off_reason = reason
    match.save(update_fields=["write_off_amount", "write_off_reason", "updated_at"])
    return written


def _payer_facts(
    allocations: list[MatchAllocation], transactions: dict, invoices: dict
) -> list[invoice_services.PayerFact]:
    """The payer names and accounts a confirmed match shows for its customer that the customer's
    own fields (name, aliases, IBAN, account id) do not already say, by the engine's keys.

    Only a match whose invoices all belong to one customer teaches: a payment settling several
    customers' invoices (a parent company, a processor's batch) says nothing about which of
    them the payer is.
    """
    vendor_ids = {invoices[a.invoice_id].vendor_id for a in allocations}
    if len(vendor_ids) != 1 or None in vendor_ids:
        return []
    (vendor_id,) = vendor_ids
    vendor = (
        Vendor.objects.filter(pk=vendor_id)
        .values_list("name", "aliases", "iban", "account_reference")
        .first()
    )
    if vendor is None:
        return []
    name, aliases, iban, account_reference = vendor
    known = party_keys(name, aliases or (), (iban, account_reference))
    facts = []
    for transaction_id in sorted({a.transaction_id for a in allocations}):
        bank_transaction = transactions[transaction_id]
        payer_name = bank_transaction.counterparty_name.strip()
        payer_account = bank_transaction.counterparty_account.strip()
        for key in payer_keys(payer_name, ""):
            if key not in known:
                facts.append(
                    invoice_services.PayerFact(
                        vendor_id, EvidenceKind.ALIAS, payer_name, key[len(NAME_KEY) :]
                    )
                )
        for key in payer_keys("", payer_account):
            if key not in known:
                facts.append(
                    invoice_services.PayerFact(
                        vendor_id, EvidenceKind.ACCOUNT, payer_account, key[len(ACCOUNT_KEY) :]
                    )
                )
    return facts


def _confirm(match: Match, *, actor: Actor, auto: bool, write_off_reason: str | None = None) -> Match:
    match = _locked_match(match.pk)
    if match.status != MatchStatus.PROPOSED:
        raise Conflict(f"Only proposed matches can be confirmed; this one is {match.status}.")
    allocations = list(MatchAllocation.objects.filter(match=match))
    transactions, invoices = _lock_rows(allocations)
    for allocation in allocations:
        bank_transaction = transactions[allocation.transaction_id]
        invoice = invoices[allocation.invoice_id]
        if invoice.status == InvoiceStatus.VOID:
            raise Conflict(f"{_invoice_subject(invoice)} is void.")
        if not transaction_takes_allocations(bank_transaction.status):
            raise Conflict(
                "The transaction is a leg of an internal transfer between your own accounts; "
                "unpair the transfer first if that is wrong."
            )
        if bank_transaction.allocated_amount + allocation.amount > abs(bank_transaction.amount):
            raise Conflict("The transaction's amount is already allocated to other invoices.")
        if invoice.amount_paid + allocation.invoice_amount > invoice.amount:
            raise Conflict(f"{_invoice_subject(invoice)} would be paid more than its amount.")
        bank_transaction.allocated_amount += allocation.amount
        invoice.amount_paid += allocation.invoice_amount
    unpaid = {pk for pk, invoice in invoices.items() if invoice.status != InvoiceStatus.PAID}
    written = _write_off(match, allocations, invoices, write_off_reason) if write_off_reason else {}
    _save_balances(transactions, invoices)
    match.auto = auto
    action = "match.auto_confirmed" if auto else "match.confirmed"
    decided = _decide(match, actor=actor, status=MatchStatus.CONFIRMED, stamp="confirmed_at", action=action)
    if written:
        currency = invoices[allocations[0].invoice_id].currency  # the amounts as the API shows them
        audit_record(
            actor=decided.decided_by,
            action="match.written_off",
            object_type="match",
            object_id=match.pk,
            after={
                "write_off_amount": str(quantize(match.write_off_amount, currency)),
                "write_off_reason": match.write_off_reason,
                "currency": currency,
                "invoices": {
                    invoice_id: str(quantize(amount, currency)) for invoice_id, amount in written.items()
                },
            },
        )
    if not auto:  # what the team taught it; the engine's own decisions teach nothing
        invoice_services.vendor_evidence_learn(
            facts=_payer_facts(allocations, transactions, invoices), match_id=match.pk, actor=actor
        )
    settled = [
        (i.pk, i.number, i.amount, i.amount_paid, i.currency, i.kind)
        for pk, i in sorted(invoices.items())
        if pk in unpaid and i.status == InvoiceStatus.PAID
    ]
    events_record(
        [
            events.match_decision_spec(decided),
            *events.invoices_settled_specs(settled, run_id=decided.run_id, match_id=decided.pk),
        ]
    )
    return decided


@transaction.atomic
def match_confirm(*, match_id: uuid.UUID, actor: Actor, write_off_reason: str | None = None) -> Match:
    """Confirm a proposed match: allocate amounts, update invoices and transactions, under row locks.

    Two concurrent confirmations competing for the same money serialise on the row locks; the
    second sees the first's allocation and gets Conflict (409). Database CHECK constraints guard
    the same invariants underneath.

    ``write_off_reason`` (a ``WriteOffReason``) also writes off what the payment leaves short on
    its invoices, within the tenant's policy (``_write_off``; refused otherwise, nothing written).
    Without it a short payment leaves the invoice partly paid; an overpayment settles the invoice
    and the rest stays unallocated on the transaction (the engine allocates only what is owed).
    A person's confirmation also teaches the engine the payer's name and account for the
    customer when they were not known yet (``invoices.services.vendor_evidence_learn``).
    """
    if write_off_reason is not None and write_off_reason not in WriteOffReason.values:
        raise Unprocessable(
            f"Unknown write-off reason {write_off_reason!r}.",
            errors={"write_off.reason": [f"Choose one of {WriteOffReason.values}."]},
        )
    return _confirm(Match(pk=match_id), actor=actor, auto=False, write_off_reason=write_off_reason)


@transaction.atomic
def match_reject(*, match_id: uuid.UUID, actor: Actor) -> Match:
    """Reject a proposed match; its pairs are never proposed again."""
    match = _locked_match(match_id)
    if match.status != MatchStatus.PROPOSED:
        raise Conflict(f"Only proposed matches can be rejected; this one is {match.status}.")
    match = _decide(
        match, actor=actor, status=MatchStatus.REJECTED, stamp="rejected_at", action="match.rejected"
    )
    events_record([events.match_decision_spec(match)])
    return match


@transaction.atomic
def match_undo(*, match_id: uuid.UUID, actor: Actor) -> Match:
    """Undo a confirmed match: give back exactly the amounts it allocated."""
    match = _locked_match(match_id)
    if match.status != MatchStatus.CONFIRMED:
        raise Conflict(f"Only confirmed matches can be undone; this one is {match.status}.")
    allocations = list(MatchAllocation.objects.filter(match=match))
    transactions, invoices = _lock_rows(allocations)
    for allocation in allocations:
        transactions[allocation.transaction_id].allocated_amount -= allocation.amount
        invoice = invoices[allocation.invoice_id]
        invoice.amount_paid -= allocation.invoice_amount + allocation.write_off_amount
        invoice.amount_written_off -= allocation.write_off_amount
    _save_balances(transactions, invoices)
    undone = _decide(match, actor=actor, status=MatchStatus.UNDONE, stamp="undone_at", action="match.undone")
    if match.write_off_amount:
        currency = invoices[allocations[0].invoice_id].currency
        audit_record(
            actor=undone.decided_by,
            action="match.write_off_reversed",
            object_type="match",
            object_id=match.pk,
            before={
                "write_off_amount": str(quantize(match.write_off_amount, currency)),
                "write_off_reason": match.write_off_reason,
                "currency": currency,
            },
        )
    invoice_services.vendor_evidence_forget(match_id=match.pk, actor=actor)
    events_record([events.match_decision_spec(undone)])
    return undone


def explain_pair(*, invoice_id: uuid.UUID, transaction_id: uuid.UUID) -> engine.PairScore:
    """The engine's full breakdown for any pair of the active tenant, including why it is not a candidate.

    The pair is judged over the same open books a run reads (the run's own selectors), so
    ``is_candidate`` is exactly what a run would decide for it. That costs one read of the
    open invoices per explanation, linear in the open ledger, like a run's first step: the
    price of an answer that cannot contradict the run.
    """
    invoice = selectors.invoice_input_get(invoice_id=invoice_id)
    open_transaction = selectors.open_transaction_inputs(transaction_ids=[transaction_id])
    bank_transaction = (
        open_transaction[0]
        if open_transaction
        else selectors.transaction_input_get(transaction_id=transaction_id)
    )
    return engine.score_pair(
        invoice,
        bank_transaction,
        selectors.engine_settings(),
        open_invoices=selectors.open_invoice_inputs(),
        transaction_open=bool(open_transaction),
        rejected_pairs=selectors.rejected_pairs(),
        rejected_payers=selectors.rejected_payers(),
    )
