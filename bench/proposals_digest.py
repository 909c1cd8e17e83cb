"""A fingerprint of the engine's proposals on the bench books (prints digests, asserts nothing).

Usage: ``.venv/bin/python bench/proposals_digest.py [--large]``

A restructuring of the engine must not change what it proposes: run this before and after
and compare the lines. Books: the datagen book (``bench/datagen.py``) at 10,000 invoices
(and 100,000 with ``--large``), and the realistic books (``bench/realistic.py``) at 2,000,
seeds 1-3, with the side data ``bench/reconcile_accuracy.py`` feeds (payment terms, remittance
advices, learned aliases). Each proposal is written as one canonical line (shape, allocations,
confidence, reasons, blockers, fee, discount, runner-up, ambiguity, alternatives, advice and
the per-pair breakdown); the lines are sorted, so the digest says "the same proposals" and
not "the same order", and hashed with SHA-256. The recorded digests are in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.datagen import generate  # noqa: E402
from bench.reconcile_accuracy import (  # noqa: E402
    advice_inputs,
    reconcile_with_learned_aliases,
    with_terms,
)
from reconciliation.engine import ENGINE_VERSION, reconcile  # noqa: E402
from reconciliation.engine.types import Proposal  # noqa: E402


def _reasons(reasons: Any) -> str:
    return "|".join(f"{r.code}:{r.message}" for r in reasons)


def proposal_line(p: Proposal) -> str:
    """One proposal as a canonical text line (every field the engine decides)."""
    allocations = ",".join(
        f"{a.transaction_id}>{a.invoice_id}={a.amount}/{a.invoice_amount}" for a in p.allocations
    )
    breakdown = ",".join(
        f"{s.invoice_id}~{s.transaction_id}={s.confidence}:{int(s.is_candidate)}:"
        + ";".join(f"{g.signal}={g.score}x{g.weight}[{_reasons(g.reasons)}]" for g in s.signals)
        + f"!{_reasons(s.blockers)}"
        for s in p.breakdown
    )
    return "\t".join(
        (
            p.shape,
            allocations,
            str(p.confidence),
            _reasons(p.reasons),
            str(int(p.auto_confirm)),
            _reasons(p.auto_confirm_blockers),
            str(p.fee_amount),
            str(p.runner_up_confidence),
            str(p.discount_amount),
            str(int(p.ambiguous)),
            ",".join(p.alternatives),
            p.advice_id,
            breakdown,
        )
    )


def digest(proposals: Any) -> str:
    """SHA-256 of the sorted canonical lines of ``proposals``."""
    h = hashlib.sha256()
    for line in sorted(proposal_line(p) for p in proposals):
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def datagen_digest(n: int, seed: int = 7) -> tuple[str, int, float]:
    """Digest of the engine's proposals on the datagen book (engine_speed's seed)."""
    ds = generate(n, seed)
    started = time.perf_counter()
    result = reconcile(ds.invoices, ds.transactions, ds.settings)
    return digest(result.proposals), len(result.proposals), time.perf_counter() - started


def realistic_digest(n: int, seed: int) -> tuple[str, int, float]:
    """Digest on one realistic book, fed as ``bench/reconcile_accuracy.py`` feeds it."""
    from bench.realistic import generate as generate_realistic

    book = generate_realistic(n, seed, "realistic")
    advices = advice_inputs(book.advices)
    started = time.perf_counter()
    result = reconcile_with_learned_aliases(
        dataclasses.replace(book, invoices=with_terms(book)), advices=advices
    )
    return digest(result.proposals), len(result.proposals), time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Print one line per book: name, proposals, digest."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="also the datagen book at 100,000")
    args = parser.parse_args(argv)
    print(f"engine {ENGINE_VERSION}")
    sizes = [10_000] + ([100_000] if args.large else [])
    for n in sizes:
        sha, count, seconds = datagen_digest(n)
        print(f"datagen n={n} seed=7: {count} proposals sha256={sha} ({seconds:.1f} s)")
    for seed in (1, 2, 3):
        sha, count, seconds = realistic_digest(2000, seed)
        print(f"realistic n=2000 seed={seed}: {count} proposals sha256={sha} ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
