"""Engine-only speed and memory at growing sizes (prints figures, asserts nothing).

Usage: ``.venv/bin/python bench/engine_speed.py [sizes ...]`` (default 1000 10000 100000).

For each size ``n`` (invoices; transactions come out at ~0.85 n from the default profile):
wall time and CPU time of ``reconcile`` in a clean run, then peak traced memory of a second
run under ``tracemalloc`` (tracing slows Python down, so it is never timed). The growth ratio
compares each size with the previous one: ~10 per 10x means linear scaling.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.datagen import generate, positive_int  # noqa: E402
from reconciliation.engine import ENGINE_VERSION, reconcile  # noqa: E402


def measure(n: int, seed: int = 7, memory: bool = True) -> dict[str, float]:
    """Time (and optionally trace) one engine run on ``n`` generated invoices."""
    ds = generate(n, seed)
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    result = reconcile(ds.invoices, ds.transactions, ds.settings)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    peak = 0.0
    if memory:
        del result
        gc.collect()
        tracemalloc.start()
        result = reconcile(ds.invoices, ds.transactions, ds.settings)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {
        "invoices": len(ds.invoices),
        "transactions": len(ds.transactions),
        "wall": wall,
        "cpu": cpu,
        "peak_mib": peak,
        "pairs": result.stats["pairs_scored"],
        "proposals": len(result.proposals),
    }


def main(argv: list[str] | None = None) -> None:
    """Measure each size and print one row per size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sizes",
        type=positive_int,
        nargs="*",
        default=[1_000, 10_000, 100_000],
        help="invoices per run (default: 1000 10000 100000)",
    )
    sizes = parser.parse_args(argv).sizes
    print(f"engine {ENGINE_VERSION}; peak = tracemalloc peak of the engine call (inputs excluded)")
    print(
        f"{'invoices':>9s} {'txs':>8s} {'wall s':>8s} {'cpu s':>8s} {'x/10x':>6s} "
        f"{'peak MiB':>9s} {'pairs':>9s} {'proposals':>9s}"
    )
    prev: dict[str, float] | None = None
    for n in sizes:
        m = measure(n)
        growth = f"{m['cpu'] / prev['cpu']:6.1f}" if prev and prev["cpu"] else "     -"
        print(
            f"{m['invoices']:9d} {m['transactions']:8d} {m['wall']:8.2f} {m['cpu']:8.2f} {growth} "
            f"{m['peak_mib']:9.1f} {m['pairs']:9d} {m['proposals']:9d}"
        )
        prev = m


if __name__ == "__main__":
    main()
