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

``--dump DIR`` also writes each book's sorted lines to ``DIR/<book>.tsv``: run it on two
versions of the engine and ``--diff OLD NEW`` counts the proposals that changed, per
transaction, with the reason codes that appeared or went (a rule's footprint on the books).
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


def dump(proposals: Any, path: Path) -> None:
    """The sorted canonical lines of ``proposals`` written to ``path`` (see ``--diff``)."""
    path.write_text("".join(line + "\n" for line in sorted(proposal_line(p) for p in proposals)))


def datagen_digest(n: int, seed: int = 7, dump_to: Path | None = None) -> tuple[str, int, float]:
    """Digest of the engine's proposals on the datagen book (engine_speed's seed)."""
    ds = generate(n, seed)
    started = time.perf_counter()
    result = reconcile(ds.invoices, ds.transactions, ds.settings)
    elapsed = time.perf_counter() - started
    if dump_to is not None:
        dump(result.proposals, dump_to / f"datagen-{n}-{seed}.tsv")
    return digest(result.proposals), len(result.proposals), elapsed


def diff(old_dir: Path, new_dir: Path) -> None:
    """Per book: proposals only in the old run, only in the new one, the transactions they
    touch, and the reason codes counted on either side (what the changed proposals say)."""
    from collections import Counter

    for old_file in sorted(old_dir.glob("*.tsv")):
        new_file = new_dir / old_file.name
        if not new_file.exists():
            continue
        old = set(old_file.read_text().splitlines())
        new = set(new_file.read_text().splitlines())
        gone, came = old - new, new - old

        def transactions(lines: set[str]) -> set[str]:
            return {a.split(">")[0] for line in lines for a in line.split("\t")[1].split(",")}

        def codes(lines: set[str]) -> Counter:
            return Counter(
                part.split(":")[0] for line in lines for part in line.split("\t")[3].split("|") if part
            )

        print(
            f"{old_file.stem}: {len(old)} -> {len(new)} proposals; {len(gone)} gone, {len(came)} new, "
            f"touching {len(transactions(gone) | transactions(came))} transactions"
        )
        print(f"  reasons of the gone: {dict(codes(gone).most_common(12))}")
        print(f"  reasons of the new:  {dict(codes(came).most_common(12))}")


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
    parser.add_argument("--only-large", action="store_true", help="only the datagen book at 100,000")
    parser.add_argument("--dump", type=Path, default=None, help="write the datagen books' lines here")
    parser.add_argument("--diff", type=Path, nargs=2, default=None, help="compare two --dump directories")
    args = parser.parse_args(argv)
    if args.diff:
        diff(*args.diff)
        return
    print(f"engine {ENGINE_VERSION}")
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
    sizes = [100_000] if args.only_large else [10_000] + ([100_000] if args.large else [])
    for n in sizes:
        sha, count, seconds = datagen_digest(n, dump_to=args.dump)
        print(f"datagen n={n} seed=7: {count} proposals sha256={sha} ({seconds:.1f} s)")
    if args.only_large:
        return
    for seed in (1, 2, 3):
        sha, count, seconds = realistic_digest(2000, seed)
        print(f"realistic n=2000 seed={seed}: {count} proposals sha256={sha} ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
