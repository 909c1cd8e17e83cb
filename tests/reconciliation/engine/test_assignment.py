"""The assignment solver against brute force, and the subset-sum search."""

from __future__ import annotations

import itertools
import random

import pytest

from reconciliation.engine.assignment import Option, assign, max_weight_matching
from reconciliation.engine.subsets import find_subsets, to_units


def brute_force(options: list[Option]) -> int:
    """Best total weight over all conflict-free subsets of options (tiny inputs only)."""
    best = 0
    for r in range(len(options) + 1):
        for combo in itertools.combinations(options, r):
            txs = [o.tx for o in combo]
            invs = [i for o in combo for i in o.invs]
            if len(set(txs)) == len(txs) and len(set(invs)) == len(invs):
                best = max(best, sum(o.bp for o in combo))
    return best


def check(chosen: list[Option]) -> int:
    txs = [o.tx for o in chosen]
    invs = [i for o in chosen for i in o.invs]
    assert len(set(txs)) == len(txs) and len(set(invs)) == len(invs)
    return sum(o.bp for o in chosen)


@pytest.mark.parametrize("seed", range(40))
def test_pairs_only_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    edges = {(rng.randrange(5), rng.randrange(5)) for _ in range(rng.randint(1, 11))}
    options = [
        Option(k, t, (i,), rng.choice([3000, 4500, 5500, 7250, 9500, 10000]))
        for k, (t, i) in enumerate(sorted(edges))
    ]
    chosen, _ = assign(options)
    assert check(chosen) == brute_force(options)


@pytest.mark.parametrize("seed", range(40))
def test_pairs_and_groups_match_brute_force(seed: int) -> None:
    rng = random.Random(1000 + seed)
    options: list[Option] = []
    for k in range(rng.randint(2, 10)):
        t = rng.randrange(4)
        invs = tuple(sorted(rng.sample(range(6), rng.choice([1, 1, 2, 3]))))
        options.append(Option(k, t, invs, rng.randint(3000, 10000)))
    chosen, _ = assign(options)
    assert check(chosen) == brute_force(options)


def test_greedy_would_be_wrong() -> None:
    # t0 prefers i0 (0.90) but t1 can only use i0 (0.88): optimum is t0-i1 + t1-i0.
    options = [Option(0, 0, (0,), 9000), Option(1, 0, (1,), 8500), Option(2, 1, (0,), 8800)]
    chosen, _ = assign(options)
    assert sorted((o.tx, o.invs) for o in chosen) == [(0, (1,)), (1, (0,))]


def test_matching_stops_when_more_pairs_would_lower_the_total() -> None:
    # Matching both transactions would need the weak 0.31 pair: 0.99 alone is better.
    match = max_weight_matching(2, 2, [[(0, 9900), (1, 3100)], [(0, 3100)]])
    assert match == [0, -1]


def test_subset_sum_exact_and_bounded() -> None:
    units, exp = to_units([Dec("425.50"), Dec("100.00"), Dec("250.00"), Dec("75.50"), Dec("80.00")])
    assert exp == -2
    res = find_subsets(units[0], list(zip(units[1:], "abcd", strict=True)), max_size=5)
    assert res.solutions == (("a", "b", "c"),) and not res.truncated
    assert (
        find_subsets(units[0], [(u, k) for u, k in zip(units[1:], "abcd", strict=True)], max_size=2).solutions
        == ()
    )
    tol = find_subsets(34700, [(10000, "a"), (25000, "b")], max_size=3, tolerance=500)
    assert tol.solutions == (("a", "b"),)
    many = [(100, k) for k in range(30)]
    capped = find_subsets(500, many, max_size=5, budget=200)
    assert capped.truncated


def Dec(x: str):  # noqa: N802 - reads like the Decimal constructor it wraps
    from decimal import Decimal

    return Decimal(x)
