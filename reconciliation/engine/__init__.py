"""Pure, deterministic bank-reconciliation matching engine (no Django, no ORM).

Public API: :func:`reconcile`, :func:`score_pair`, :data:`ENGINE_VERSION` and the frozen
dataclasses in :mod:`.types`. See ``README.md`` in this folder for weights and rules.
"""

from .core import ENGINE_VERSION, reconcile, score_pair
from .types import (
    Allocation,
    EngineResult,
    EngineSettings,
    InvoiceInput,
    PairScore,
    Proposal,
    Reason,
    SignalScore,
    TransactionInput,
)

__all__ = [
    "ENGINE_VERSION",
    "Allocation",
    "EngineResult",
    "EngineSettings",
    "InvoiceInput",
    "PairScore",
    "Proposal",
    "Reason",
    "SignalScore",
    "TransactionInput",
    "reconcile",
    "score_pair",
]
