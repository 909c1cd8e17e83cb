"""What the bank ledger tells the apps above it (which banking must not import).

``transactions_imported`` is sent inside the import's transaction, after its rows are written,
with ``tenant_id``, ``batch_id`` and ``added`` (rows actually stored, duplicates left out). A
receiver that writes (e.g. reconciliation queueing its automatic run) writes in that same
transaction, so what it does exists exactly when the import does.
"""

from __future__ import annotations

from django.dispatch import Signal

transactions_imported = Signal()
