"""The misses of the realistic accuracy bench, one by one (prints, asserts nothing).

    .venv/bin/python bench/accuracy_misses.py [n] [seed ...] [--kinds batch_quoted subset_sum partial]
        [--limit 40] [--explain 10]

For each transaction of the chosen kinds that the engine did not answer completely (a true
pair missing or a wrong one proposed): its format family, the bank's text as the statement
file carries it, the fields the engine reads (payer name, account, description), the invoices
it truly paid (number, amount, customer), what the engine proposed instead (shape, confidence,
the reasons' codes) and, for the first ``--explain`` misses, the engine's own explanation of
the first missed true pair (``engine.score_pair`` over the whole book: the same blocking and
scoring a run does, and the blockers that kept it out). A study aid for engine rules: the rules
themselves must come from public knowledge of the formats, never from these strings.
Run it on the tuning seeds only (1-3); the held-out seeds (21-23) are for the final figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.reconcile_accuracy import (  # noqa: E402
    advice_inputs,
    reconcile_with_learned_aliases,
    with_terms,
)
from reconciliation.engine import score_pair  # noqa: E402

HELD_OUT = frozenset({21, 22, 23})


def main(argv: list[str] | None = None) -> None:
    from bench.realistic import generate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=10_000)
    parser.add_argument("seeds", type=int, nargs="*", default=[1])
    parser.add_argument("--kinds", nargs="+", default=["batch_quoted", "subset_sum", "partial"])
    parser.add_argument("--limit", type=int, default=40, help="misses printed per kind")
    parser.add_argument("--explain", type=int, default=10, help="misses explained by score_pair per kind")
    args = parser.parse_args(argv)
    if HELD_OUT & set(args.seeds):
        parser.error("seeds 21-23 are held out: never studied while tuning")
    for seed in args.seeds:
        book = generate(args.n, seed)
        invoices_with_terms = with_terms(book)
        result = reconcile_with_learned_aliases(
            dataclasses.replace(book, invoices=invoices_with_terms), advices=advice_inputs(book.advices)
        )
        invoices = {invoice.id: invoice for invoice in invoices_with_terms}
        transactions = {tx.id: tx for tx in book.transactions}
        proposals_for: dict[str, list] = {}
        for proposal in result.proposals:
            for tx_id in proposal.transaction_ids:
                proposals_for.setdefault(tx_id, []).append(proposal)
        for kind in args.kinds:
            printed = explained = misses = 0
            for tx_id, label in sorted(book.labels.items()):
                if label.kind != kind:
                    continue
                truth = {a.invoice_id for a in label.allocations}
                proposed = {
                    a.invoice_id
                    for p in proposals_for.get(tx_id, ())
                    for a in p.allocations
                    if a.transaction_id == tx_id
                }
                if proposed == truth:
                    continue
                misses += 1
                if printed >= args.limit:
                    continue
                printed += 1
                tx = transactions[tx_id]
                print(
                    f"\n[{kind} seed {seed}] {tx_id} {label.family} {tx.amount} {tx.currency} {tx.value_date}"
                )
                print(f"  raw: {label.raw_text[:400]!r}")
                print(f"  name={tx.counterparty_name!r} account={tx.counterparty_account!r}")
                print(f"  description={tx.description[:300]!r}")
                for extra in ("end_to_end_id", "structured_reference", "external_id"):
                    value = getattr(tx, extra, "")
                    if value:
                        print(f"  {extra}={value!r}")
                for allocation in label.allocations:
                    invoice = invoices[allocation.invoice_id]
                    mark = "ok " if allocation.invoice_id in proposed else "MISS"
                    print(
                        f"  {mark} {invoice.number} {invoice.outstanding} {invoice.counterparty_name!r} "
                        f"issued {invoice.issue_date} pays {allocation.amount}"
                    )
                for proposal in proposals_for.get(tx_id, ()):
                    numbers = [invoices[a.invoice_id].number for a in proposal.allocations]
                    print(
                        f"  proposed {proposal.shape} {proposal.confidence} auto={proposal.auto_confirm} "
                        f"{numbers[:8]} reasons={[r.code for r in proposal.reasons][:8]}"
                    )
                missed = sorted(truth - proposed)
                if missed and explained < args.explain:
                    explained += 1
                    score = score_pair(
                        invoices[missed[0]], tx, book.settings, open_invoices=invoices_with_terms
                    )
                    print(
                        f"  explain {invoices[missed[0]].number}: confidence {score.confidence} "
                        f"candidate={score.is_candidate} blockers={[b.code for b in score.blockers]}"
                    )
                    for signal in score.signals:
                        print(
                            f"    {signal.signal} {signal.score}: {[r.message[:90] for r in signal.reasons]}"
                        )
            print(f"\n== {kind} seed {seed}: {misses} transactions not answered exactly ==")


if __name__ == "__main__":
    main()
