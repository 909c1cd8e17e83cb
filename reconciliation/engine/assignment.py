"""Global assignment: choose the options that maximise total confidence without reusing money.

An *option* gives one transaction to one invoice (1:1) or to a group of invoices (1:N).
Options form a sparse bipartite graph; it is split into connected components and each is
solved on its own:

* a component with one transaction or one invoice: take its best option;
* otherwise maximum-weight bipartite matching by successive shortest paths (Dijkstra with
  Johnson potentials; weights are integer basis points, so it is exact and deterministic).
  Augmentation stops as soon as the cheapest augmenting path would lower the total, so the
  matching is maximum-*weight*, not maximum-cardinality;
* fallback for huge components (``edges × transactions`` above ``exact_limit``, e.g. thousands
  of identical subscription amounts): greedy by descending confidence with id tie-breaks.
  These components are made of near-identical options, where greedy loses little.

Before splitting, options that provably belong to an optimal solution are fixed (see
:func:`_peel_dominant`); in real data that removes most strong matches and their weak rivals.

Components containing 1:N groups are no longer bipartite matchings (a group uses several
invoices). Up to ``SEARCH_MAX_OPTIONS`` options they are solved exactly by branch and bound.
Beyond that (or past the search budget) a group becomes a virtual invoice reachable only from
its transaction; if the matching picks a group and also another option using one of its
invoices, the lighter side is removed and the component is solved again (each round removes
at least one option, so it ends). That repair is a heuristic, documented as such.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

SEARCH_MAX_OPTIONS = 60  # components with 1:N groups up to this size are solved exactly
SEARCH_BUDGET = 50_000  # branch-and-bound nodes before falling back to matching + repair


@dataclass(slots=True)
class Option:
    """One way to use a transaction: its invoices and its weight (confidence in bp)."""

    key: int  # stable id, used for deterministic tie-breaks
    tx: int
    invs: tuple[int, ...]
    bp: int
    payload: object = None  # opaque data for the caller (group details, ...)


@dataclass(slots=True)
class AssignStats:
    """Counters describing how components were solved."""

    components: int = 0
    largest: int = 0
    exact: int = 0
    greedy: int = 0
    conflict_rounds: int = 0
    sizes: dict[str, int] = field(default_factory=dict)


class _DSU:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                ra, rb = rb, ra
            self.parent[ra] = rb


def max_weight_matching(n_left: int, n_right: int, adj: list[list[tuple[int, int]]]) -> list[int]:
    """Maximum-weight bipartite matching; ``adj[l] = [(r, w>0), ...]``. Returns match per left.

    Min-cost flow S -> left -> right -> T with costs -w, one unit per augmentation, stopping
    when the shortest augmenting path is no longer negative (total weight would not grow).
    Potentials (``h_l``, ``h_r``, ``h_t``) keep the reduced costs non-negative for Dijkstra.
    """
    h_l: list[float] = [0] * n_left
    h_r: list[float] = [0] * n_right
    for edges in adj:
        for r, w in edges:
            if -w < h_r[r]:
                h_r[r] = -w
    h_t: float = min(h_r) if n_right else 0
    match_l = [-1] * n_left
    match_r = [-1] * n_right
    weight = [dict(edges) for edges in adj]
    while True:
        path = _shortest_augmenting_path(adj, weight, match_l, match_r, h_l, h_r, h_t)
        if path.best_r < 0 or path.dist_t + h_t >= 0:
            break  # no augmenting path, or it would not increase the total weight
        _raise_potentials(h_l, path.dist_l, path.dist_t)
        _raise_potentials(h_r, path.dist_r, path.dist_t)
        h_t += path.dist_t
        _augment(path.prev_r, path.best_r, match_l, match_r)
    return match_l


@dataclass(slots=True)
class _Path:
    """Dijkstra's outcome over the residual graph: reduced distances, the right node ending the
    shortest S-T path (``best_r``, -1 when none) and the left node each right was reached from."""

    dist_l: list[float]
    dist_r: list[float]
    prev_r: list[int]
    dist_t: float
    best_r: int


def _shortest_augmenting_path(
    adj: list[list[tuple[int, int]]],
    weight: list[dict[int, int]],
    match_l: list[int],
    match_r: list[int],
    h_l: list[float],
    h_r: list[float],
    h_t: float,
) -> _Path:
    """Shortest augmenting path from the free left nodes to T under the reduced costs."""
    inf = float("inf")
    n_left, n_right = len(match_l), len(match_r)
    dist_l = [inf] * n_left
    dist_r = [inf] * n_right
    prev_r = [-1] * n_right
    heap: list[tuple[float, int, int]] = []
    for left in range(n_left):
        if match_l[left] == -1:
            d = -h_l[left]  # reduced cost of S -> left (h_S = 0)
            dist_l[left] = d
            heap.append((d, 0, left))
    heapq.heapify(heap)
    dist_t = inf
    best_r = -1
    while heap:
        d, kind, u = heapq.heappop(heap)
        if d >= dist_t:
            break
        if kind == 0:
            if d > dist_l[u]:
                continue
            hu = h_l[u]
            mu = match_l[u]
            for r, w in adj[u]:
                if r == mu:
                    continue  # saturated: only its reverse edge exists
                nd = d - w + hu - h_r[r]
                if nd < dist_r[r]:
                    dist_r[r] = nd
                    prev_r[r] = u
                    heapq.heappush(heap, (nd, 1, r))
        else:
            if d > dist_r[u]:
                continue
            owner = match_r[u]
            if owner == -1:
                nd = d + h_r[u] - h_t
                if nd < dist_t:
                    dist_t, best_r = nd, u
            else:
                nd = d + weight[owner][u] + h_r[u] - h_l[owner]
                if nd < dist_l[owner]:
                    dist_l[owner] = nd
                    heapq.heappush(heap, (nd, 0, owner))
    return _Path(dist_l, dist_r, prev_r, dist_t, best_r)


def _raise_potentials(h: list[float], dist: list[float], dist_t: float) -> None:
    """Add each node's distance, capped at T's, to its potential (in place)."""
    for i in range(len(h)):
        if dist[i] < dist_t:
            h[i] += dist[i]
        else:
            h[i] += dist_t


def _augment(prev_r: list[int], best_r: int, match_l: list[int], match_r: list[int]) -> None:
    """Flip the matching along the path ending at right node ``best_r`` (in place)."""
    r = best_r
    while True:
        left = prev_r[r]
        old = match_l[left]
        match_l[left] = r
        match_r[r] = left
        if old == -1:
            break
        r = old


def _match(opts: list[Option], exact_limit: int, stats: AssignStats) -> list[Option]:
    txs = sorted({o.tx for o in opts})
    rights: dict[tuple[int, int], int] = {}
    for o in opts:
        rk = (0, o.invs[0]) if len(o.invs) == 1 else (1, o.key)
        if rk not in rights:
            rights[rk] = len(rights)
    if len(txs) == 1:
        return [max(opts, key=lambda o: (o.bp, -o.key))]
    if len(rights) == 1:
        return [max(opts, key=lambda o: (o.bp, -o.key))]
    if len(opts) * len(txs) <= exact_limit:
        stats.exact += 1
        left_of = {t: k for k, t in enumerate(txs)}
        ordered = sorted(rights)
        right_idx = {rk: k for k, rk in enumerate(ordered)}
        adj: list[list[tuple[int, int]]] = [[] for _ in txs]
        by_edge: dict[tuple[int, int], Option] = {}
        for o in sorted(opts, key=lambda o: o.key):
            rk = (0, o.invs[0]) if len(o.invs) == 1 else (1, o.key)
            left, right = left_of[o.tx], right_idx[rk]
            prev = by_edge.get((left, right))
            if prev is None or o.bp > prev.bp:
                if prev is None:
                    adj[left].append((right, o.bp))
                else:
                    adj[left] = [(r, o.bp if r == right else w) for r, w in adj[left]]
                by_edge[(left, right)] = o
        for edges in adj:
            edges.sort()
        match = max_weight_matching(len(txs), len(ordered), adj)
        return [by_edge[(left, r)] for left, r in enumerate(match) if r >= 0]
    stats.greedy += 1
    used_tx: set[int] = set()
    used_inv: set[int] = set()
    chosen: list[Option] = []
    for o in sorted(opts, key=lambda o: (-o.bp, o.key)):
        if o.tx in used_tx or any(i in used_inv for i in o.invs):
            continue
        chosen.append(o)
        used_tx.add(o.tx)
        used_inv.update(o.invs)
    return chosen


def _exact_search(opts: list[Option], budget: int = SEARCH_BUDGET) -> list[Option] | None:
    """Branch and bound over transactions: the optimum with groups, or None past the budget.

    Each transaction takes one of its options (best first) or none; a branch is cut when
    even the best remaining option of every later transaction cannot beat the incumbent.
    """
    by_tx: dict[int, list[Option]] = {}
    for o in sorted(opts, key=lambda o: (-o.bp, o.key)):
        by_tx.setdefault(o.tx, []).append(o)
    txs = sorted(by_tx)
    bound = [0] * (len(txs) + 1)
    for k in range(len(txs) - 1, -1, -1):
        bound[k] = bound[k + 1] + by_tx[txs[k]][0].bp
    best: list[Option] = []
    best_w = -1
    nodes = 0
    used: set[int] = set()
    chosen: list[Option] = []

    def dfs(k: int, w: int) -> bool:
        nonlocal best, best_w, nodes
        nodes += 1
        if nodes > budget:
            return False
        if w + bound[k] <= best_w:
            return True
        if k == len(txs):
            best, best_w = list(chosen), w
            return True
        for o in by_tx[txs[k]]:
            if used.isdisjoint(o.invs):
                used.update(o.invs)
                chosen.append(o)
                ok = dfs(k + 1, w + o.bp)
                chosen.pop()
                used.difference_update(o.invs)
                if not ok:
                    return False
        return dfs(k + 1, w)

    return best if dfs(0, 0) else None


def _solve_component(opts: list[Option], exact_limit: int, stats: AssignStats) -> list[Option]:
    """The best options of one component (see the module docstring for the methods)."""
    chosen: list[Option] = []
    pending = [list(opts)]
    while pending:
        component = pending.pop()
        if len(component) <= SEARCH_MAX_OPTIONS and any(len(o.invs) > 1 for o in component):
            found = _exact_search(component)
            if found is not None:
                stats.exact += 1
                chosen.extend(found)
                continue
        # Large components with groups: matching with groups as virtual invoices, then clash
        # repair. The repair removes options, which usually cuts the component into pieces:
        # each piece is solved again on its own (small pieces exactly), not the whole again.
        matched = _match(component, exact_limit, stats)
        removed = _settle_clashes(component, matched)
        if removed is None:
            chosen.extend(matched)
            continue
        stats.conflict_rounds += 1
        pending.extend(reversed(_split_components([o for o in component if o.key not in removed])))
    return chosen


def _settle_clashes(opts: list[Option], chosen: list[Option]) -> set[int] | None:
    """Keys of options to remove so that no chosen group shares an invoice; None if none clash.

    Every clash of this round is settled at once, strongest group first: a group beats its
    rivals only if it outweighs them together; the loser's options are removed.
    """
    users: dict[int, list[Option]] = {}
    for o in chosen:
        for i in o.invs:
            users.setdefault(i, []).append(o)
    clashing = sorted(
        {o.key: o for lst in users.values() if len(lst) > 1 for o in lst if len(o.invs) > 1}.values(),
        key=lambda o: (-o.bp, o.key),
    )
    if not clashing:
        return None
    removed: set[int] = set()
    for group in clashing:
        if group.key in removed:
            continue
        rivals = [
            o for i in group.invs for o in users.get(i, ()) if o.key != group.key and o.key not in removed
        ]
        if not rivals:
            continue
        members = set(group.invs)
        if group.bp >= sum({o.key: o.bp for o in rivals}.values()):
            removed.update(
                o.key
                for o in opts
                if o.key != group.key and o.tx != group.tx and members.intersection(o.invs)
            )
        else:
            removed.add(group.key)
    return removed


def _split_components(options: list[Option]) -> list[list[Option]]:
    """Connected components of the option graph (transactions and invoices as nodes).

    Options keep their key order inside a component; components come in the order of their
    first option's key. Deterministic whatever the input order.
    """
    dsu = _DSU()
    for o in options:
        node = 2 * o.tx
        for i in o.invs:
            dsu.union(node, 2 * i + 1)
    comps: dict[int, list[Option]] = {}
    for o in sorted(options, key=lambda o: o.key):
        comps.setdefault(dsu.find(2 * o.tx), []).append(o)
    return sorted(comps.values(), key=lambda comp: comp[0].key)


def _peel_dominant(options: list[Option]) -> tuple[list[Option], list[Option]]:
    """Fix options that belong to some optimal solution, by an exchange argument.

    A 1:1 option (t, i) with ``w >= best other option of t + best option of another
    transaction touching i`` can replace whatever an optimal solution does with t and i
    without losing weight. Fixing it removes t and i, which splits the big components
    (thousands of identical amounts) into pieces the exact matcher can afford.
    """
    fixed: list[Option] = []
    remaining = options
    while True:
        # Per transaction: best and second-best weight. Per invoice: best weight and the
        # best weight from a *different* transaction. One linear pass.
        tx_top: dict[int, list[int]] = {}
        inv_top: dict[int, list[int]] = {}  # [best_bp, best_tx, second_bp (other tx)]
        for o in remaining:
            top = tx_top.get(o.tx)
            if top is None:
                tx_top[o.tx] = [o.bp, 0]
            elif o.bp > top[0]:
                top[1] = top[0]
                top[0] = o.bp
            elif o.bp > top[1]:
                top[1] = o.bp
            for i in o.invs:
                it = inv_top.get(i)
                if it is None:
                    inv_top[i] = [o.bp, o.tx, 0]
                elif o.tx == it[1]:
                    if o.bp > it[0]:
                        it[0] = o.bp
                elif o.bp > it[0]:
                    it[2] = it[0]
                    it[0], it[1] = o.bp, o.tx
                elif o.bp > it[2]:
                    it[2] = o.bp
        used_tx: set[int] = set()
        used_inv: set[int] = set()
        newly: list[Option] = []
        for o in remaining:  # sorted by key: deterministic
            if len(o.invs) != 1:
                continue
            i = o.invs[0]
            if o.tx in used_tx or i in used_inv:
                continue
            top = tx_top[o.tx]
            # Best other option of this transaction (ties: an equal sibling counts).
            other_t = top[1] if o.bp == top[0] else top[0]
            it = inv_top[i]
            other_i = it[2] if it[1] == o.tx else it[0]
            if o.bp >= other_t + other_i:
                newly.append(o)
                used_tx.add(o.tx)
                used_inv.add(i)
        if not newly:
            return fixed, remaining
        fixed.extend(newly)
        remaining = [o for o in remaining if o.tx not in used_tx and not any(i in used_inv for i in o.invs)]


def assign(options: list[Option], exact_limit: int = 300_000) -> tuple[list[Option], AssignStats]:
    """Pick a conflict-free set of options of maximum total weight, component by component."""
    stats = AssignStats()
    options = sorted(options, key=lambda o: o.key)
    fixed, options = _peel_dominant(options)
    stats.sizes["dominant_fixed"] = len(fixed)
    chosen: list[Option] = list(fixed)
    for opts in _split_components(options):
        stats.components += 1
        stats.largest = max(stats.largest, len(opts))
        chosen.extend(_solve_component(opts, exact_limit, stats))
    chosen.sort(key=lambda o: o.key)
    return chosen, stats
