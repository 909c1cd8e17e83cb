"""Pure, deterministic bank-reconciliation matching engine (no Django, no ORM).

Public API: :func:`reconcile`, :func:`score_pair`, :data:`ENGINE_VERSION`, the frozen
dataclasses in :mod:`.types` and :func:`invoice_label` (how the engine names an invoice; its home is
``common.finance.labels``, shared with the ``Invoice`` model).
See ``README.md`` in this folder for weights and rules.
"""

from common.finance.labels import invoice_label

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
    "invoice_label",
    "reconcile",
    "score_pair",
]
