"""Memo caches that live for one engine call, not for the worker process.

The engine memoises pure functions of strings that recur within a run (party names, invoice
numbers, day ordinals). Those strings are tenant data: as process-wide ``lru_cache`` they
stayed in every worker for its lifetime, holding names and numbers of tenants long after their
runs and growing each worker as it met new tenants (a soak saw 134 -> 193 MiB, issue 16).

A :func:`run_cache` is an ``lru_cache`` with a bound (its ``maxsize``) and an owner: the run.
:func:`reconcile` and :func:`score_pair` enter :func:`run_scope` (inside the paused-GC window of
``core._without_cyclic_gc``: emptying the caches after the collector is back on cost ~10 % of a
run), and when the last scope open in the process closes (``finally``: also when a run fails)
every registered cache is emptied.
Counting open scopes keeps a run's caches warm while another run in the same process (a thread
of the same worker, or a nested call) is still going; clearing never changes a result, only
what is recomputed. A cached function called outside any run (a helper importing
``normalize_name``) still fills at most ``maxsize`` entries, dropped when the next run ends.
Forked scoring workers (:mod:`.parallel`) take their copies with them when they exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import _lru_cache_wrapper, lru_cache
from typing import Any, TypeVar

T = TypeVar("T")

_REGISTERED: list[_lru_cache_wrapper[Any]] = []
_LOCK = threading.Lock()
_open_scopes = 0


def run_cache(maxsize: int) -> Callable[[Callable[..., T]], _lru_cache_wrapper[T]]:
    """``functools.lru_cache(maxsize)``, emptied when the engine call that filled it ends."""

    def decorate(function: Callable[..., T]) -> _lru_cache_wrapper[T]:
        cached = lru_cache(maxsize=maxsize)(function)
        _REGISTERED.append(cached)
        return cached

    return decorate


def clear_run_caches() -> None:
    """Empty every run cache now."""
    for cached in _REGISTERED:
        cached.cache_clear()


def run_cache_sizes() -> dict[str, int]:
    """Entries held per run cache (``module.function``): what a run leaves behind (nothing)."""
    return {f"{c.__module__}.{c.__qualname__}": c.cache_info().currsize for c in _REGISTERED}


def clear_run_caches_if_alone() -> None:
    """Empty every run cache now if no other engine call of the process has a scope open.

    A run whose remaining work reads no cache (``core._Run.run`` before explaining) calls this
    to lower its peak; another thread's run keeps its warm caches."""
    with _LOCK:
        if _open_scopes <= 1:
            clear_run_caches()


@contextmanager
def run_scope() -> Iterator[None]:
    """One engine call: the run caches are emptied when the last open scope closes."""
    global _open_scopes
    with _LOCK:
        _open_scopes += 1
    try:
        yield
    finally:
        with _LOCK:
            _open_scopes -= 1
            if _open_scopes == 0:
                clear_run_caches()
