"""The run writer: a run's proposals and auto-confirmations into the ledgers, in bulk SQL.

Proposals are staged by COPY into temporary tables and moved into the RLS-checked tables by
one set-based statement per table (``write_run``); auto-confirmations take the same row
locks and settlement rules as a person's confirmation (``reconciliation.services.decisions``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import connection
from psycopg import sql

from banking.models import BankTransaction, transaction_status_for, transaction_takes_allocations
from common.ids import OrderedIds
from invoices.models import Invoice, InvoiceStatus, invoice_status_for
from tenants.audit import current_audit_source
from tenants.context import require_tenant_id
from tenants.models import AuditEvent

from .. import engine, events
from ..models import Match, MatchAllocation, MatchStatus, ReconciliationRun
from .match_audit import AUTO_CONFIRMED_AUDIT_SQL

# --- Progress -----------------------------------------------------------------------------------------

RunProgress = Callable[[str, int, int | None], None]
"""``progress(phase, done, total)``: how a run reports where it is (a job writes it down)."""


def no_progress(phase: str, done: int, total: int | None) -> None:
    del phase, done, total


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


# The ledgers' tables and the statuses the statements below write and read, as the models name
# them: every statement is built from these (``RunStaging.execute`` fills them in), so renaming a
# table or a status cannot leave the run's SQL behind (tests/test_bulk_sql_names.py).
LEDGER_SQL_NAMES: dict[str, sql.Composable] = {
    "match_table": sql.Identifier(Match._meta.db_table),
    "allocation_table": sql.Identifier(MatchAllocation._meta.db_table),
    "transaction_table": sql.Identifier(BankTransaction._meta.db_table),
    "invoice_table": sql.Identifier(Invoice._meta.db_table),
    "audit_table": sql.Identifier(AuditEvent._meta.db_table),
    "match_proposed": sql.Literal(MatchStatus.PROPOSED.value),
    "match_confirmed": sql.Literal(MatchStatus.CONFIRMED.value),
    "invoice_paid": sql.Literal(InvoiceStatus.PAID.value),
}


class RunStaging:
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
    # (the bulk of each proposal's JSON) was a visible part of a large run (docs/benchmarks.md).
    _ANALYZED = {"matches": "(id, kept)"}

    def __init__(self, cursor: Any, run_id: uuid.UUID) -> None:
        self.cursor = cursor
        self.names = {name: sql.Identifier(f"run_{name}_{run_id.hex}") for name in self._TABLES}
        for name, columns in self._TABLES.items():
            self.execute(f"CREATE TEMPORARY TABLE {{{name}}} {columns} ON COMMIT DROP")
        self.execute("CREATE INDEX ON {allocations} (match_id)")

    def execute(self, statement: str, params: Any = None, **fragments: sql.Composable) -> None:
        """Run ``statement`` with the staging tables' and the ledgers' names (``LEDGER_SQL_NAMES``)
        and any ``fragments`` filled in."""
        self.cursor.execute(sql.SQL(statement).format(**self.names, **LEDGER_SQL_NAMES, **fragments), params)

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


def stage_proposals(
    staging: RunStaging,
    proposals: tuple[engine.Proposal, ...],
    progress: RunProgress = no_progress,
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
        # its core while this one serialises the next (a large run writes much JSON). It also
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
SELECT t.id::text, t.amount, t.allocated_amount, t.status FROM {transaction_table} t
WHERE t.tenant_id = %(tenant)s AND t.id IN (SELECT a.transaction_id FROM {allocations} a WHERE a.auto)
ORDER BY t.id FOR UPDATE
"""
_LOCK_INVOICES = """
SELECT i.id::text, i.amount, i.amount_paid, i.status FROM {invoice_table} i
WHERE i.tenant_id = %(tenant)s AND i.id IN (SELECT a.invoice_id FROM {allocations} a WHERE a.auto)
ORDER BY i.id FOR UPDATE
"""


def auto_confirm(
    staging: RunStaging, proposals: tuple[engine.Proposal, ...], match_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Decide which engine-approved matches to confirm, under the same row locks as a manual confirm.

    The rows are locked (transactions, then invoices, in id order) and re-checked: a match
    whose money was taken meanwhile (a person confirmed something else) stays proposed. The
    decisions and the new balances are staged; ``write_run`` applies them with the proposals.
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
    DELETE FROM {allocation_table}
    WHERE tenant_id = %(tenant)s AND match_id IN (SELECT id FROM {stale})
    """,
    "DELETE FROM {match_table} WHERE tenant_id = %(tenant)s AND id IN (SELECT id FROM {stale})",
    # Proposed again: same match, this run's scores (and confirmation).
    """
    UPDATE {match_table} m
    SET run_id = %(run)s, shape = s.shape, confidence = s.confidence,
        runner_up_confidence = s.runner_up_confidence, reasons = s.reasons, breakdown = s.breakdown,
        fee_amount = s.fee_amount, discount_amount = s.discount_amount, ambiguous = s.ambiguous,
        alternatives = s.alternatives, engine_version = %(engine_version)s, updated_at = now(),
        would_auto_confirm = s.would_auto,
        status = CASE WHEN c.id IS NOT NULL THEN {match_confirmed} ELSE m.status END,
        auto = c.id IS NOT NULL OR m.auto,
        confirmed_at = CASE WHEN c.id IS NOT NULL THEN %(now)s ELSE m.confirmed_at END
    FROM {matches} s LEFT JOIN {confirmed} c ON c.id = s.id
    WHERE m.tenant_id = %(tenant)s AND m.id = s.id AND s.kept
    """,
    # Same allocations; what they settle on the invoice (a fee) may differ.
    """
    UPDATE {allocation_table} m SET invoice_amount = a.invoice_amount, updated_at = now()
    FROM {allocations} a
    WHERE m.tenant_id = %(tenant)s AND a.kept AND m.match_id = a.match_id
      AND m.transaction_id = a.transaction_id AND m.invoice_id = a.invoice_id AND m.amount = a.amount
      AND m.invoice_amount <> a.invoice_amount
    """,
    # New proposals, in the engine's order (creation time follows it). New ids grow with that
    # order, so the staging table's primary key hands the rows over sorted: sorting the wide
    # rows (explanations) by seq spilled to disk (figure in docs/benchmarks.md).
    """
    WITH written AS (INSERT INTO {match_table} (
        id, tenant_id, run_id, shape, status, auto, confirmed_at, confidence, runner_up_confidence,
        reasons, breakdown, fee_amount, discount_amount, ambiguous, alternatives, engine_version,
        created_at, updated_at, would_auto_confirm
    )
    SELECT s.id, %(tenant)s, %(run)s, s.shape,
           CASE WHEN c.id IS NOT NULL THEN {match_confirmed} ELSE {match_proposed} END, c.id IS NOT NULL,
           CASE WHEN c.id IS NOT NULL THEN %(now)s END, s.confidence, s.runner_up_confidence,
           s.reasons, s.breakdown, s.fee_amount, s.discount_amount, s.ambiguous, s.alternatives,
           %(engine_version)s, clock_timestamp(), clock_timestamp(), s.would_auto
    FROM {matches} s LEFT JOIN {confirmed} c ON c.id = s.id
    WHERE NOT s.kept
    ORDER BY s.id
    RETURNING 1) SELECT count(*) FROM written
    """,
    """
    WITH written AS (INSERT INTO {allocation_table} (
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
    UPDATE {transaction_table} t SET allocated_amount = b.settled, status = b.status, updated_at = now()
    FROM {balances} b WHERE t.tenant_id = %(tenant)s AND b.kind = 'transaction' AND t.id = b.id
    """,
    """
    UPDATE {invoice_table} i SET amount_paid = b.settled, status = b.status, updated_at = now()
    FROM {balances} b WHERE i.tenant_id = %(tenant)s AND b.kind = 'invoice' AND i.id = b.id
    """,
    """
    WITH written AS (INSERT INTO {audit_table} (
        id, tenant_id, actor_id, action, object_type, object_id, before, after, source, created_at, updated_at
    )
    SELECT {audit_id}, %(tenant)s, NULL, {auto_confirmed_action}, {auto_confirmed_object_type}, s.id,
           {auto_confirmed_before}, {auto_confirmed_after}, %(audit_source)s,
           clock_timestamp(), clock_timestamp()
    FROM {matches} s JOIN {confirmed} c ON c.id = s.id
    ORDER BY s.seq
    RETURNING 1) SELECT count(*) FROM written
    """,
)


# The invoices a run's auto-confirmations paid in full (an invoice already paid takes no more).
_SETTLED_BY_RUN = """
SELECT i.id, i.number, i.amount, i.amount_paid, i.currency, i.kind FROM {invoice_table} i
WHERE i.tenant_id = %(tenant)s
  AND i.id IN (SELECT b.id FROM {balances} b WHERE b.kind = 'invoice' AND b.status = {invoice_paid})
ORDER BY i.id
"""


def settled_by_run(staging: RunStaging) -> list[events.SettledRow]:
    """The invoices this run settled, for their ``invoice.settled`` events."""
    staging.execute(_SETTLED_BY_RUN, {"tenant": require_tenant_id()})
    return list(staging.cursor.fetchall())


def transaction_start() -> Any:
    """``now()``: the current transaction's start time, as PostgreSQL stamps rows with it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def write_run(staging: RunStaging, run: ReconciliationRun, progress: RunProgress = no_progress) -> None:
    """Move a staged run into the ledgers: proposals, allocations, confirmations, audit events."""
    params = {
        "tenant": require_tenant_id(),
        # The confirmation time as a value: Citus refuses now() inside CASE on a distributed
        # table (it would be evaluated per shard); the transaction's start is the same moment.
        "now": transaction_start(),
        "run": run.id,
        "engine_version": engine.ENGINE_VERSION,
        "audit_source": current_audit_source().value,
        **OrderedIds.new().params("allocation"),
        **OrderedIds.new().params("audit"),
    }
    # New allocations and audit events get time-ordered ids, in the order they are inserted.
    ids = {
        "allocation_id": sql.SQL(OrderedIds.sql("allocation", "a.seq")),
        "audit_id": sql.SQL(OrderedIds.sql("audit", "s.seq")),
        **AUTO_CONFIRMED_AUDIT_SQL,
    }
    for done, statement in enumerate(_WRITE_RUN):
        progress("storing the run", done, len(_WRITE_RUN))
        staging.execute(statement, params, **ids)
