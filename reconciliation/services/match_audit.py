"""What the audit trail records of a match, in one place for Python and the run's bulk SQL.

A person's decision (``decisions``) records ``match_audit_state`` before and after; a run's
auto-confirmations (``run_writer``) are inserted by one SQL statement whose JSON is generated
from the same field list (``match_audit_state_sql``), so both read alike in the trail.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from tenants.audit import AuditAction, audit_state_sql

from ..models import Match, MatchStatus

MATCH_AUDITED = ("status", "auto", "confidence")
"""The fields of a match its audit events hold (confidence as text: exact, as stored)."""


def match_audit_state(match: Match) -> dict[str, Any]:
    """The audited state of ``match``."""
    state: dict[str, Any] = {name: getattr(match, name) for name in MATCH_AUDITED}
    state["confidence"] = str(state["confidence"])
    return state


def match_audit_state_sql(*, status: str, auto: bool, confidence: sql.Composable) -> sql.Composable:
    """``match_audit_state`` as a ``jsonb`` expression for a match with ``status`` and ``auto``
    whose confidence is the SQL expression ``confidence`` (a numeric column)."""
    return audit_state_sql(
        MATCH_AUDITED,
        {
            "status": sql.Literal(MatchStatus(status).value),
            "auto": sql.Literal(auto),
            "confidence": sql.SQL("({})::text").format(confidence),
        },
    )


AUTO_CONFIRMED_AUDIT_SQL: dict[str, sql.Composable] = {
    "auto_confirmed_action": sql.Literal(AuditAction.MATCH_AUTO_CONFIRMED.value),
    "auto_confirmed_object_type": sql.Literal(AuditAction.MATCH_AUTO_CONFIRMED.object_type),
    "auto_confirmed_before": match_audit_state_sql(
        status=MatchStatus.PROPOSED, auto=False, confidence=sql.SQL("s.confidence")
    ),
    "auto_confirmed_after": match_audit_state_sql(
        status=MatchStatus.CONFIRMED, auto=True, confidence=sql.SQL("s.confidence")
    ),
}
"""The fragments of the run's INSERT of ``match.auto_confirmed`` events (``s`` = staged match)."""
