"""Memory housekeeping for bulk work (large imports, reconciliation runs)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk operation (reference counting still frees).

    Bulk work keeps hundreds of thousands of objects alive (parsed rows, engine inputs and
    results); every full collection that their allocations trigger walks all of them again, a
    large share of an API import and of a reconciliation (figures in docs/benchmarks.md).
    Nesting is fine: whoever paused it first turns it back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
