"""Reconciliation writes: runs of the engine, and confirm / reject / undo of matches.

The app's service API, one import path for every interface (REST, GraphQL, the admin, the
commands and jobs): ``runs`` (``reconcile``, ``explain_pair``), ``run_writer`` (the bulk SQL
that stores a run), ``decisions`` (confirm, reject, undo, write-offs, the payer learning) and
``presenters`` (what a run's answer looks like to the interfaces).
"""

from __future__ import annotations

from common.errors import Conflict  # what a decision or a concurrent run raises

from .. import engine
from .decisions import match_confirm, match_reject, match_undo
from .presenters import ReconcileResult, ReconcileSummary, RunProposal, pair_score_dict, reason_dicts
from .run_writer import RunProgress
from .run_writer import _pair_score_json as _pair_score_json  # checked against pair_score_dict
from .run_writer import _reasons_json as _reasons_json  # checked against reason_dicts
from .runs import explain_pair, reconcile

__all__ = [
    "Conflict",
    "ReconcileResult",
    "ReconcileSummary",
    "RunProgress",
    "RunProposal",
    "engine",
    "explain_pair",
    "match_confirm",
    "match_reject",
    "match_undo",
    "pair_score_dict",
    "reason_dicts",
    "reconcile",
]
