"""Bounded subset-sum for one payment settling several invoices (1 transaction <-> N invoices).

Amounts are turned into integers (minor units) and searched depth-first over at most
``max_subset_candidates`` invoices, largest first, with two prunings: a branch stops when it
overshoots the target plus fee tolerance, and a level stops when even the largest remaining
invoices cannot reach the target. A node budget bounds the worst case; when it is hit the
search reports ``truncated`` and the caller treats the result as ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NODE_BUDGET = 5_000  # DFS nodes per search; exhaustive for typical pools, bounded for worst cases
MAX_SOLUTIONS = 16  # enough to rank the combinations and see ambiguity


@dataclass(frozen=True, slots=True)
class SubsetResult:
    """Subsets whose sum equals the target (or exceeds it by at most the tolerance)."""

    solutions: tuple[tuple[int, ...], ...]  # each a sorted tuple of item keys
    nodes: int
    truncated: bool  # budget or solution cap hit: there may be more combinations


def to_units(values: list[Decimal]) -> tuple[list[int], int]:
    """Scale Decimals to integers with a common exponent (at least cents)."""
    exp = -2
    for v in values:
        e = v.as_tuple().exponent
        if isinstance(e, int):
            exp = min(exp, e)
    exp = max(exp, -6)  # more than 6 decimals is noise, not money
    return [int(v.scaleb(-exp).to_integral_value()) for v in values], exp


def find_subsets(
    target: int,
    items: list[tuple[int, int]],
    *,
    max_size: int,
    tolerance: int = 0,
    budget: int = NODE_BUDGET,
) -> SubsetResult:
    """Subsets of 2..max_size ``(units, key)`` items with ``target <= sum <= target+tol``.

    ``tolerance`` lets the invoices' total exceed the payment by a bank fee (underpayment
    only). Items must be strictly positive. Results are deterministic: items are sorted by
    (amount desc, key) and solutions are returned sorted.
    """
    items = sorted((u, k) for u, k in items if 0 < u <= target + tolerance)
    items.sort(key=lambda x: (-x[0], x[1]))
    n = len(items)
    vals = [u for u, _ in items]
    prefix = [0]
    for v in vals:
        prefix.append(prefix[-1] + v)
    hi_target = target + tolerance
    solutions: list[tuple[int, ...]] = []
    nodes = 0
    truncated = False
    chosen: list[int] = []

    def dfs(start: int, total: int) -> None:
        nonlocal nodes, truncated
        slots = max_size - len(chosen)
        for k in range(start, n):
            if truncated or len(solutions) >= MAX_SOLUTIONS:
                return
            v = vals[k]
            new_total = total + v
            if new_total > hi_target:
                continue  # later items are smaller: they may still fit
            # Largest reachable sum from here: this item plus the next slots-1 items.
            if total + prefix[min(n, k + slots)] - prefix[k] < target:
                return  # items only get smaller: no later start can reach the target
            nodes += 1
            if nodes > budget:
                truncated = True
                return
            chosen.append(k)
            if new_total >= target:
                if len(chosen) >= 2:  # a single invoice is a 1:1 match, not a group
                    solutions.append(tuple(sorted(items[j][1] for j in chosen)))
            elif slots > 1:
                dfs(k + 1, new_total)
            chosen.pop()

    if n >= 2 and target > 0:
        dfs(0, 0)
    # Stopping at MAX_SOLUTIONS also means the search was not exhaustive.
    truncated = truncated or len(solutions) >= MAX_SOLUTIONS
    return SubsetResult(tuple(sorted(solutions)), nodes, truncated)
