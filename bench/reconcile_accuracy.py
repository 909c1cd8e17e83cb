"""Accuracy of the matching engine on labelled synthetic data (prints figures, asserts nothing).

Usage: ``.venv/bin/python bench/reconcile_accuracy.py [n] [seed ...]``

Per noise type (the label of the transaction):

* proposal precision: proposed (transaction, invoice) pairs that are true / all proposed pairs;
* proposal recall: true pairs that were proposed / all true pairs;
* auto precision: auto-confirmed pairs that are true / all auto-confirmed pairs;
* auto share: true pairs that were auto-confirmed / all true pairs;
* coverage: transactions with any proposal / transactions (for "unrelated" lower is better).

Overall proposal F1 is the harmonic mean of overall pair precision and recall.

``--realistic`` measures on the realistic books of ``bench/realistic.py`` instead (bank texts
as the banks' statement files carry them, read back by the project's parsers), per KIND:
``.venv/bin/python bench/reconcile_accuracy.py --realistic [n] [seed ...]``. See
:func:`evaluate_realistic` for what each figure counts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.datagen import NOISE_TYPES, generate, positive_int  # noqa: E402
from bench.realistic import KINDS, NON_INVOICE_KINDS  # noqa: E402
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
    """Default profile on a few seeds, then each noise type alone (or the realistic books)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "n", type=positive_int, nargs="?", default=None, help="invoices (default 5000; 2000 realistic)"
    )
    parser.add_argument("seeds", type=int, nargs="*", default=[1, 2, 3], help="seeds (default 1 2 3)")
    parser.add_argument(
        "--realistic", action="store_true", help="realistic books (bench/realistic.py), per kind"
    )
    parser.add_argument(
        "--profile", default="realistic", help="with --realistic: a profile of bench/realistic.py"
    )
    parser.add_argument(
        "--examples", type=int, default=5, help="with --realistic: wrong auto-confirmations shown"
    )
    args = parser.parse_args(argv)
    if args.realistic:
        from bench.realistic import PROFILES

        if args.profile not in PROFILES:
            parser.error(f"unknown profile {args.profile!r}; one of {', '.join(sorted(PROFILES))}")
        realistic_main(args.n or 2000, args.seeds, args.profile, args.examples)
        return
    n, seeds = args.n or 5000, args.seeds
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


# -- realistic books (issue 17) ------------------------------------------------------------------

#: What today's engine has for each kind of bench/realistic.py: "" when it has the means (the
#: figures then say how well it uses them), else why it cannot do the kind yet. Engine work that
#: adds an input (advices, payment terms, learned aliases) feeds it in ``evaluate_realistic`` and
#: clears the line here.
ENGINE_SUPPORT: dict[str, str] = {
    "batch_advice": "no: reconcile() takes no remittance advices",
    "discount": "no: no payment terms in InvoiceInput; beyond the fee tolerance a discount is a partial payment",
    "processor": "no: no processor rule; a percentage fee is beyond the fee tolerance",
    "learned_alias": "no: no aliases learned from confirmations",
    "reference_cut": "partly: no rule for a number cut by a field limit (one typo or its digits only)",
    "batch_quoted": "partly: 1:N groups of at most max_subset_size (5) invoices",
    "subset_sum": "partly: at most max_subset_size (5) invoices",
    "short_payment": "partly: within the fee tolerance only, no write-off",
}
TARGET_F1 = 0.97
_COLUMNS = ("txs", "pairs", "proposed", "tp", "full", "auto", "auto_wrong")


def _fraction(a: float, b: float) -> str:
    return f"{a / b:6.3f}" if b else "     -"


def _f1(tp: int, proposed: int, pairs: int) -> float | None:
    if not proposed or not pairs:
        return None
    precision, recall = tp / proposed, tp / pairs
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_realistic(book: Any, result: Any) -> tuple[dict[str, dict[str, int]], list[dict[str, str]]]:
    """Figures per kind for one engine run over one realistic book, and the wrong auto-confirmations.

    Columns: ``txs`` transactions of the kind, ``pairs`` true pairs, ``prop`` proposed pairs,
    ``P``/``R``/``F1`` of the pairs, ``full`` share of transactions answered completely, ``auto``
    auto-confirmed pairs, ``wrong`` of them wrong, ``auto%`` true pairs rightly auto-confirmed.

    Pairs are (transaction, invoice). A proposed pair is right when the invoice is one the
    transaction paid (for an ``ambiguous`` payment: any of the equal invoices, at most one pair
    per transaction). ``full`` counts transactions answered completely: every true pair
    proposed and nothing else (for the no-invoice kinds: no proposal at all). An
    auto-confirmation is wrong when one of its pairs is wrong, or when it chose among equal
    invoices (a guess).
    """
    labels = book.labels
    invoices = {invoice.id: invoice for invoice in book.invoices}
    texts = {tx.id: tx for tx in book.transactions}
    rows = {kind: dict.fromkeys(_COLUMNS, 0) for kind in KINDS}
    proposed_for: dict[str, set[str]] = {}
    auto_for: dict[str, list[Any]] = {}
    for proposal in result.proposals:
        for allocation in proposal.allocations:
            proposed_for.setdefault(allocation.transaction_id, set()).add(allocation.invoice_id)
        if proposal.auto_confirm:
            for tx_id in proposal.transaction_ids:
                auto_for.setdefault(tx_id, []).append(proposal)
    wrong: list[dict[str, str]] = []
    seen_wrong: set[int] = set()
    for tx_id, label in labels.items():
        row = rows[label.kind]
        acceptable = label.acceptable
        proposed = proposed_for.get(tx_id, set())
        right = min(len(proposed & acceptable), label.expected_pairs)
        row["txs"] += 1
        row["pairs"] += label.expected_pairs
        row["proposed"] += len(proposed)
        row["tp"] += right
        row["full"] += right == label.expected_pairs and len(proposed) == right
        for proposal in auto_for.get(tx_id, ()):
            pairs = [a.invoice_id for a in proposal.allocations if a.transaction_id == tx_id]
            row["auto"] += len(pairs)
            bad = [inv for inv in pairs if inv not in acceptable or label.outcome == "ambiguous"]
            row["auto_wrong"] += len(bad)
            if bad and id(proposal) not in seen_wrong:
                seen_wrong.add(id(proposal))
                if label.outcome == "ambiguous":
                    why = f"a guess among {len(label.alternatives)} equal open invoices"
                elif not label.allocations:
                    why = f"pays no invoice ({label.kind}: {label.facts.get('what', label.outcome)})"
                else:
                    why = "another invoice than the one paid"
                wrong.append(
                    {
                        "transaction": tx_id,
                        "kind": label.kind,
                        "family": label.family,
                        "why": why,
                        "text": f"{texts[tx_id].counterparty_name} | {texts[tx_id].description}"[:150],
                        "proposed": ", ".join(sorted(invoices[i].number for i in pairs)),
                        "paid": ", ".join(sorted(invoices[a.invoice_id].number for a in label.allocations))
                        or "-",
                        "confidence": str(proposal.confidence),
                        "reasons": "; ".join(r.code for r in proposal.reasons[:4]),
                    }
                )
    return rows, wrong


def evaluate_realistic(n: int, seed: int, profile: str = "realistic") -> tuple[dict, list, dict]:
    """Generate one realistic book, run the engine on it (the pure entry point production uses,
    with the bench tenant's settings), score it. Returns (rows, wrong autos, facts)."""
    from bench.realistic import generate

    started = time.perf_counter()
    book = generate(n, seed, profile)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    result = reconcile(book.invoices, book.transactions, book.settings)
    elapsed = time.perf_counter() - started
    rows, wrong = score_realistic(book, result)
    facts = {
        "seed": seed,
        "invoices": len(book.invoices),
        "transactions": len(book.transactions),
        "generated": generated,
        "engine": elapsed,
        "advices": len(book.advices),
        "terms": len(book.terms),
        "alias_facts": len(book.alias_facts),
    }
    return rows, wrong, facts


def print_realistic(rows: dict[str, dict[str, int]], wrong: list[dict[str, str]], examples: int) -> dict:
    """The per-kind table, the wrong auto-confirmations and the overall figures; returns the latter."""
    print(
        f"{'kind':20s}{'txs':>6s}{'pairs':>7s}{'prop':>6s}{'P':>7s}{'R':>7s}{'F1':>7s}{'full':>7s}"
        f"{'auto':>6s}{'wrong':>6s}{'auto%':>7s}  engine support"
    )
    for kind in KINDS:
        row = rows[kind]
        if not row["txs"]:
            continue
        f1 = _f1(row["tp"], row["proposed"], row["pairs"])
        support = ENGINE_SUPPORT.get(kind, "")
        if kind in NON_INVOICE_KINDS:
            support = support or "no invoice: proposals are false, 'full' = left alone"
        print(
            f"{kind:20s}{row['txs']:6d}{row['pairs']:7d}{row['proposed']:6d}"
            f"{_fraction(row['tp'], row['proposed']):>7s}{_fraction(row['tp'], row['pairs']):>7s}"
            f"{(f'{f1:6.3f}' if f1 is not None else '     -'):>7s}{_fraction(row['full'], row['txs']):>7s}"
            f"{row['auto']:6d}{row['auto_wrong']:6d}{_fraction(row['auto'] - row['auto_wrong'], row['pairs']):>7s}"
            f"  {support or 'yes'}"
        )
    total = {column: sum(row[column] for row in rows.values()) for column in _COLUMNS}
    precision = total["tp"] / total["proposed"] if total["proposed"] else 0.0
    recall = total["tp"] / total["pairs"] if total["pairs"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(
        f"{'ALL':20s}{total['txs']:6d}{total['pairs']:7d}{total['proposed']:6d}{precision:7.3f}{recall:7.3f}"
        f"{f1:7.3f}{_fraction(total['full'], total['txs']):>7s}{total['auto']:6d}{total['auto_wrong']:6d}"
        f"{_fraction(total['auto'] - total['auto_wrong'], total['pairs']):>7s}"
    )
    supported = [kind for kind in KINDS if not ENGINE_SUPPORT.get(kind, "").startswith("no")]
    sub = {column: sum(rows[kind][column] for kind in supported) for column in _COLUMNS}
    sub_f1 = _f1(sub["tp"], sub["proposed"], sub["pairs"]) or 0.0
    print(f"{'ALL the engine can do':20s}{sub['txs']:6d}{sub['pairs']:7d}{sub['proposed']:6d}"
          f"{'':14s}{sub_f1:7.3f}  (kinds without a 'no' in the support column)")  # fmt: skip
    advice = rows["batch_advice"]
    if wrong:
        print(f"\nwrong auto-confirmations: {len(wrong)} proposals; the first {min(examples, len(wrong))}:")
        for item in wrong[:examples]:
            print(
                f"  {item['transaction']} {item['kind']} ({item['family']}): {item['why']}; proposed "
                f"{item['proposed']} at {item['confidence']}, paid {item['paid']}\n"
                f"      text: {item['text']}\n      reasons: {item['reasons']}"
            )
    else:
        print("\nwrong auto-confirmations: none")
    print(
        f"targets: proposal F1 >= {TARGET_F1} -> {f1:.4f}; every batch with an advice matched -> "
        f"{advice['full']} of {advice['txs']}; zero wrong auto-confirmations -> {total['auto_wrong']}"
    )
    return {"f1": f1, "precision": precision, "recall": recall, "auto": total["auto"],
            "auto_wrong": total["auto_wrong"], "advice_full": advice["full"], "advice": advice["txs"]}  # fmt: skip


def realistic_main(n: int, seeds: list[int], profile: str, examples: int) -> None:
    """Each seed's table, then the seeds pooled."""
    pooled = {kind: dict.fromkeys(_COLUMNS, 0) for kind in KINDS}
    all_wrong: list[dict[str, str]] = []
    for seed in seeds:
        rows, wrong, facts = evaluate_realistic(n, seed, profile)
        print(
            f"\nengine {ENGINE_VERSION} | realistic profile={profile} n={n} seed={seed} | "
            f"{facts['invoices']} invoices, {facts['transactions']} transactions, {facts['advices']} advices, "
            f"{facts['terms']} payment terms, {facts['alias_facts']} alias facts (not fed: the engine takes none) "
            f"| generated {facts['generated']:.1f} s, engine {facts['engine']:.1f} s"
        )
        print_realistic(rows, wrong, examples)
        for kind, row in rows.items():
            for column in _COLUMNS:
                pooled[kind][column] += row[column]
        all_wrong += wrong
    if len(seeds) > 1:
        print(f"\nREALISTIC, n={n}, seeds {seeds} pooled:")
        print_realistic(pooled, all_wrong, examples)


if __name__ == "__main__":
    main()
