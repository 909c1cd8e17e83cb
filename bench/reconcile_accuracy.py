"""Accuracy of the matching engine on labelled synthetic data (prints figures, asserts nothing).

Usage: ``.venv/bin/python bench/reconcile_accuracy.py [n] [seed ...]``

Per noise type (the label of the transaction):

* proposal precision: proposed (transaction, invoice) pairs that are true / all proposed pairs;
* proposal recall: true pairs that were proposed / all true pairs;
* auto precision: auto-confirmed pairs that are true / all auto-confirmed pairs;
* auto share: true pairs that were auto-confirmed / all true pairs;
* coverage: transactions with any proposal / transactions (for "unrelated" lower is better).

Overall proposal F1 is the harmonic mean of overall pair precision and recall.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.datagen import NOISE_TYPES, generate, positive_int  # noqa: E402
from reconciliation.engine import ENGINE_VERSION, reconcile  # noqa: E402


def _ratio(a: int, b: int) -> str:
    return f"{a / b:6.3f}" if b else "     -"


def evaluate(n: int, seed: int, profile: str = "default", verbose: bool = True) -> dict[str, float]:
    """Run the engine on one generated data set and print the per-noise-type table."""
    ds = generate(n, seed, profile)
    t0 = time.perf_counter()
    result = reconcile(ds.invoices, ds.transactions, ds.settings)
    elapsed = time.perf_counter() - t0
    truth = ds.truth_pairs
    rows: dict[str, dict[str, int]] = {
        k: dict.fromkeys(("prop", "tp", "true", "auto", "auto_tp", "tx", "covered"), 0) for k in NOISE_TYPES
    }
    for _, kind in ds.noise.items():
        rows[kind]["tx"] += 1
    for tx_id, _ in truth:
        rows[ds.noise[tx_id]]["true"] += 1
    covered: set[str] = set()
    for p in result.proposals:
        for a in p.allocations:
            kind = ds.noise[a.transaction_id]
            row = rows[kind]
            ok = (a.transaction_id, a.invoice_id) in truth
            row["prop"] += 1
            row["tp"] += ok
            if p.auto_confirm:
                row["auto"] += 1
                row["auto_tp"] += ok
            covered.add(a.transaction_id)
    for tx_id in covered:
        rows[ds.noise[tx_id]]["covered"] += 1
    tot = {k: sum(r[k] for r in rows.values()) for k in rows["clean"]}
    precision = tot["tp"] / tot["prop"] if tot["prop"] else 0.0
    recall = tot["tp"] / tot["true"] if tot["true"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auto_p = tot["auto_tp"] / tot["auto"] if tot["auto"] else 1.0
    if verbose:
        print(
            f"\nengine {ENGINE_VERSION} | profile={profile} n={n} seed={seed} | "
            f"{len(ds.invoices)} invoices, {len(ds.transactions)} transactions, "
            f"{len(truth)} true pairs | engine {elapsed:.2f} s"
        )
        print(
            f"{'noise type':12s} {'txs':>6s} {'prop.P':>6s} {'prop.R':>6s} {'auto.P':>6s} "
            f"{'auto%':>6s} {'cover':>6s}   (auto n / wrong)"
        )
        for kind in NOISE_TYPES:
            r = rows[kind]
            if not r["tx"]:
                continue
            print(
                f"{kind:12s} {r['tx']:6d} {_ratio(r['tp'], r['prop'])} "
                f"{_ratio(r['tp'], r['true'])} {_ratio(r['auto_tp'], r['auto'])} "
                f"{_ratio(r['auto_tp'], r['true'])} {_ratio(r['covered'], r['tx'])}"
                f"   ({r['auto']} / {r['auto'] - r['auto_tp']})"
            )
        print(
            f"{'ALL':12s} {tot['tx']:6d} {precision:6.3f} {recall:6.3f} {auto_p:6.3f} "
            f"{_ratio(tot['auto_tp'], tot['true'])} {_ratio(tot['covered'], tot['tx'])}"
            f"   ({tot['auto']} / {tot['auto'] - tot['auto_tp']})"
        )
        print(
            f"proposal F1 = {f1:.4f}   auto-confirmed precision = {auto_p:.4f}   "
            f"stats: pairs_scored={result.stats['pairs_scored']} "
            f"largest_component={result.stats['largest_component']}"
        )
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auto_precision": auto_p,
        "auto": tot["auto"],
        "auto_wrong": tot["auto"] - tot["auto_tp"],
    }


def main(argv: list[str] | None = None) -> None:
    """Default profile on a few seeds, then each noise type alone."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=positive_int, nargs="?", default=5000, help="invoices (default 5000)")
    parser.add_argument("seeds", type=int, nargs="*", default=[1, 2, 3], help="seeds (default 1 2 3)")
    args = parser.parse_args(argv)
    n, seeds = args.n, args.seeds
    agg = {"f1": 0.0, "auto": 0, "auto_wrong": 0}
    for seed in seeds:
        res = evaluate(n, seed)
        agg["f1"] += res["f1"] / len(seeds)
        agg["auto"] += res["auto"]
        agg["auto_wrong"] += res["auto_wrong"]
    auto_p = 1 - agg["auto_wrong"] / agg["auto"] if agg["auto"] else 1.0
    print(
        f"\nDEFAULT PROFILE over seeds {seeds}: mean proposal F1 = {agg['f1']:.4f} "
        f"(target >= 0.95); auto-confirmed precision = {auto_p:.4f} "
        f"({agg['auto_wrong']} wrong of {agg['auto']}; target >= 0.999)"
    )


if __name__ == "__main__":
    main()
