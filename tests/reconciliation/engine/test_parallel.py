"""Scoring split over forked workers: same result as one process, failures surface, order kept."""

from __future__ import annotations

import os

import pytest

from bench.datagen import generate
from reconciliation.engine import core, reconcile
from reconciliation.engine.parallel import WorkerFailed, can_fork, split_map

pytestmark = pytest.mark.skipif(not can_fork(), reason="this platform cannot fork worker processes")

@pytest.mark.parametrize("seed", [3, 11])
def test_workers_find_exactly_what_one_process_finds(seed: int, monkeypatch) -> None:
    monkeypatch.setattr(core, "PARALLEL_MIN_TRANSACTIONS", 1)
    ds = generate(500, seed=seed)
    alone = reconcile(ds.invoices, ds.transactions, ds.settings, workers=1)
    assert alone.resources["workers"] == 1
    assert any(p.shape == "one_to_many" for p in alone.proposals), "the book should hold 1:N groups"
    for workers in (2, 3):
        split = reconcile(ds.invoices, ds.transactions, ds.settings, workers=workers)
        assert split.resources["workers"] == workers
        assert split.proposals == alone.proposals
        assert split.stats == alone.stats
        assert split.resources["scoring_memory_bytes"] > alone.resources["scoring_memory_bytes"] > 0


def test_small_runs_stay_in_one_process() -> None:
    ds = generate(200, seed=5)
    result = reconcile(ds.invoices, ds.transactions, ds.settings, workers=4)
    assert len(ds.transactions) < core.PARALLEL_MIN_TRANSACTIONS
    assert result.resources["workers"] == 1


def _slice_with_pid(lo: int, hi: int) -> tuple[int, int, int]:
    return lo, hi, os.getpid()


def test_split_map_returns_slices_in_order_from_separate_processes() -> None:
    results = split_map(_slice_with_pid, 10, 3)
    assert [(r.value[0], r.value[1]) for r in results] == [(0, 3), (3, 6), (6, 10)]
    assert results[0].value[2] == os.getpid()
    assert len({r.value[2] for r in results}) == 3
    assert results[0].private_bytes == 0
    assert all(r.private_bytes > 0 for r in results[1:])


def test_split_map_never_makes_more_slices_than_items() -> None:
    assert [r.value[:2] for r in split_map(_slice_with_pid, 2, 8)] == [(0, 1), (1, 2)]
    assert [r.value[:2] for r in split_map(_slice_with_pid, 5, 1)] == [(0, 5)]


def _fail_in_workers(lo: int, hi: int) -> int:
    if lo > 0:
        raise ValueError(f"bad slice {lo}:{hi}")
    return hi - lo


def test_a_worker_failure_is_raised_with_its_traceback() -> None:
    with pytest.raises(WorkerFailed, match=r"ValueError: bad slice 5:10"):
        split_map(_fail_in_workers, 10, 2)


def _die_in_workers(lo: int, hi: int) -> int:
    if lo > 0:
        os._exit(3)
    return hi - lo


def test_a_worker_that_dies_is_reported() -> None:
    with pytest.raises(WorkerFailed, match="died"):
        split_map(_die_in_workers, 10, 2)


def _fail_in_caller(lo: int, hi: int) -> int:
    if lo == 0:
        raise KeyError("caller's slice")
    return hi - lo


def _children() -> set[str]:
    """Pids of this process's children (running or not yet reaped), Linux only."""
    found: set[str] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children", encoding="ascii") as listing:
            found.update(listing.read().split())
    return found


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc to list children")
def test_a_failure_in_the_callers_slice_propagates_and_reaps_the_workers() -> None:
    before = _children()
    with pytest.raises(KeyError):
        split_map(_fail_in_caller, 10, 3)
    assert _children() == before  # no worker left running or unreaped
