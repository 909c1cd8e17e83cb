"""Orchestration: blocking -> pair scoring -> 1:N groups -> global assignment -> proposals.

Pipeline of :func:`reconcile`:

1. Inputs are sorted by id; every later iteration follows that order, so the output does not
   depend on input order, dict or set ordering.
2. :class:`~.candidates.CandidateIndex` yields a bounded set of invoices per transaction;
   each pair is scored (``stats["pairs_scored"]`` counts them) and kept if >= ``min_score``.
3. For transactions that are not already settled by a single confident match, a bounded
   subset-sum over the counterparty's (and the quoted) open invoices proposes 1:N groups.
4. :func:`~.assignment.assign` picks the options of maximum total confidence per connected
   component, so no transaction amount or outstanding amount is used twice.
5. Later rounds let further transactions pay what is still open on invoices that received a
   partial payment (N:1), scoring them against the *remaining* amount.
6. Each proposal gets its explanation, runner-up and auto-confirmation verdict.

Auto-confirmation (conservative by design): confidence >= threshold, independent evidence
(exact/RF/structured/digits reference or equal IBAN), the best option beats every rival for
the same transaction and for the same invoice by ``ambiguity_margin``; partial payments need
a reference (an IBAN only says who paid); overpayments are never auto-confirmed; 1:N groups
need every invoice referenced, no quoted open invoice left out, and an exhaustive subset
search (other combinations count as rivals); N:1 needs every member to qualify.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import TypeVar

from common.finance import format_money
from common.finance.labels import QUOTE_MAX_CHARS, excerpt

from .abbreviations import completed_numbers
from .advices import match_advices
from .assignment import Option, assign
from .caches import clear_run_caches_if_alone, run_scope
from .candidates import CandidateIndex, TxCandidates
from .normalize import TextRefs, invoice_keys
from .parallel import PicklesAsTuple, resident_bytes, split_map
from .payers import Rejections, payer_keys
from .signals import (
    SCORE_EXACT,
    SCORE_FEE,
    SETTLING_AMOUNTS,
    PairEvidence,
    PreparedInvoice,
    PreparedTransaction,
    bp_decimal,
    evaluate,
    explain,
    fee_tolerance,
    fx_rate,
    group_confidence,
    hard_blockers,
    invoice_name,
    invoice_phrase,
    share_counterparty_facts,
    to_bp,
)
from .subsets import find_subsets, to_units
from .types import (
    AdviceInput,
    Allocation,
    EngineResult,
    EngineSettings,
    InvoiceInput,
    PairScore,
    Proposal,
    Reason,
    Shape,
    TransactionInput,
)

_T = TypeVar("_T")
# 1.1: reasons quote excerpts, at most 12 per proposal; 1.2: remittance advices, larger batches,
# discounts, processor fees, equal invoices, learned evidence, rejection memory (issue 17);
# 1.3: format rules (a dotted label before a number, the payer after a payment system's label,
# transliterated names in the index, abbreviations after a head with slashes, a cut list of
# numbers completed by the exact sum)
ENGINE_VERSION = "1.3.0"
MAX_ROUNDS = 4  # partial-payment rounds (N:1); each needs an earlier allocation to build on
LATER_ROUND_TX_CAP = 50  # transactions re-scored per partly paid invoice in later rounds
MAX_GROUP_OPTIONS = 4  # 1:N options kept per transaction
PARALLEL_MIN_TRANSACTIONS = 5_000  # below this a forked worker costs more than it saves
MAX_ALTERNATIVES = 20  # equal invoices a proposal lists besides the one it applies to (oldest first)
_EMPTY: frozenset = frozenset()
_ONE = Decimal(1)
# Constant sentences are built once (a 100k run creates tens of thousands of proposals).
_NO_INDEPENDENT = Reason(
    "auto.no_independent_evidence",
    "Only amount, name or date agree: auto-confirmation needs the invoice number, "
    "a valid RF reference or the payer's account",
)
_OVERPAYMENT = Reason(
    "auto.overpayment", "The payment exceeds the outstanding amount; the excess needs a person"
)
_PARTIAL_NO_REF = Reason(
    "auto.partial_without_reference",
    "A partial payment is auto-confirmed only when it quotes the invoice",
)
_AUTO_OFF = Reason("auto.disabled", "Auto-confirmation is switched off")
# Payment dates that do not fit an invoice (see _Run._equal_fits).
_IMPLAUSIBLE_DATES = frozenset({"date.before_issue", "date.outside_window"})
_PENALTY_CODES = frozenset({"ref.other_invoice", "rf.invalid", "amount.partial", "amount.over"})

#: Reasons a proposal stores (``Proposal.reasons``). A proposal states what it is (shape, fee,
#: amounts still open: at most 5 lines) and the reasons of its pairs' signals; a 1:N proposal
#: over 5 invoices or an N:1 over 4 payments carried up to 62. Beyond this bound the strongest
#: are kept (see ``_keep_strongest``) and the last line says how many were left out; the
#: breakdown still holds every signal of every pair. 1:1 proposals have at most 11.
MAX_PROPOSAL_REASONS = 12
# How much a reason weighs when some must be left out: its signal's contribution (weight x
# score, at most 0.55); a penalty explains a lowered confidence and a line about the
# proposal's shape says what it is, so both outrank every signal.
_PENALTY_STRENGTH = Decimal(1)
_SHAPE_STRENGTH = Decimal(2)

_Scored = list[tuple[Decimal, Reason]]


def _dedupe(reasons: _Scored) -> _Scored:
    """Drop repeated sentences, keeping the first occurrence (many_to_one lists members)."""
    seen: set[tuple[str, str]] = set()
    out: _Scored = []
    for strength, r in reasons:
        key = (r.code, r.message)
        if key not in seen:
            seen.add(key)
            out.append((strength, r))
    return out


def _keep_strongest(reasons: _Scored) -> tuple[Reason, ...]:
    """At most ``MAX_PROPOSAL_REASONS`` reasons, in their order: the strongest (ties: the
    earlier) when there are more, and a last line saying how many were left out."""
    if len(reasons) <= MAX_PROPOSAL_REASONS:
        return tuple(r for _, r in reasons)
    keep = MAX_PROPOSAL_REASONS - 1
    ranked = sorted(range(len(reasons)), key=lambda k: (-reasons[k][0], k))[:keep]
    kept = [reasons[k][1] for k in sorted(ranked)]
    left_out = len(reasons) - keep
    kept.append(
        Reason(
            "reasons.more",
            f"{left_out} weaker reasons are not listed here; the breakdown gives every signal of every pair",
        )
    )
    return tuple(kept)


def _dec_bp(d: Decimal) -> int:
    """A Decimal setting (0.30) as basis points without float rounding surprises."""
    return int((d * 10000).to_integral_value())


def _reject_duplicate_ids(sorted_ids: Iterable[str], what: str) -> None:
    for a, b in pairwise(sorted_ids):
        if a == b:
            raise ValueError(f"duplicate {what} id {a!r}")


def _prepare(
    invoices: Iterable[InvoiceInput], transactions: Iterable[TransactionInput]
) -> tuple[list[PreparedInvoice], list[PreparedTransaction]]:
    inv_src = sorted(invoices, key=lambda x: x.id)
    tx_src = sorted(transactions, key=lambda x: x.id)
    _reject_duplicate_ids((x.id for x in inv_src), "invoice")
    _reject_duplicate_ids((x.id for x in tx_src), "transaction")
    invs = [PreparedInvoice(x, k) for k, x in enumerate(inv_src)]
    share_counterparty_facts(invs)
    return invs, [PreparedTransaction(x, k, tokenize=False) for k, x in enumerate(tx_src)]


ProgressCallback = Callable[[str, int, int | None], None]
"""``on_progress(phase, done, total)``: scoring (transactions), assigning, explaining (invoices)."""
PROGRESS_EVERY = 256  # transactions (or invoices explained) between two progress calls


def _without_cyclic_gc(work: Callable[[], _T]) -> _T:
    """``work()``, one engine call, with the cyclic garbage collector paused, then restored.

    A call allocates hundreds of thousands of small acyclic objects; cyclic-GC passes over
    them are pure overhead (~30 % of a run). The collector is switched back on only after
    ``work``'s frame (the run's whole state) and the run's memo caches (``run_scope``,
    engine/caches.py) are gone: re-enabling it while that state is alive would let the next
    allocation scan all of it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with run_scope():
            return work()
    finally:
        if was_enabled:
            gc.enable()


def score_pair(
    invoice: InvoiceInput,
    transaction: TransactionInput,
    settings: EngineSettings | None = None,
    *,
    open_invoices: Iterable[InvoiceInput] | None = None,
    transaction_open: bool = True,
    rejected_pairs: frozenset[tuple[str, str]] = frozenset(),
    rejected_payers: frozenset[tuple[str, str]] = frozenset(),
) -> PairScore:
    """Explain any pair: every signal with its reasons, and why it is not a candidate.

    The pair is judged as :func:`reconcile` would judge it over ``open_invoices`` (the open
    books a run reads; by default the invoice alone): the same blocking, the same context
    (another open invoice quoted, a counterparty's accounts from its other invoices) and the
    same scoring, through the one function that decides candidacy for a run. So a pair is a
    candidate here exactly when a run over those books would score it as one; whether the
    run then *proposes* it depends on its rivals (global assignment).

    An invoice missing from ``open_invoices``, or ``transaction_open=False``, means a run
    would not read that side at all (void invoice, ignored transaction): a blocker says so.
    """
    settings = settings or EngineSettings()
    books = [invoice] if open_invoices is None else list(open_invoices)
    in_books = any(x.id == invoice.id for x in books)  # then the books' version is explained
    closed: list[str] = []
    if not in_books and invoice.outstanding > 0:
        closed.append("invoice.not_open")
    if not transaction_open and (transaction.unallocated is None or transaction.unallocated > 0):
        closed.append("transaction.not_open")
    run_books, codes = (books if in_books else [*books, invoice]), tuple(closed)
    return _without_cyclic_gc(
        lambda: _Run(
            run_books, [transaction], settings, rejected_pairs, rejected_payers=rejected_payers
        ).explain_pair(invoice.id, codes)
    )


def group_weight(bp: int, size: int, all_referenced: bool, completed: int = 0) -> int:
    """The weight a 1:N option carries in the assignment: its confidence, times the number of
    invoices when the payment quotes every one of them.

    Assignment maximises the total weight. Counted once, a payment that quotes its 2 invoices
    and pays their exact sum (1.00) lost to one of them alone as an overpayment (0.80) plus an
    unrelated payment scoring the other by a typo (0.61): 1.41 > 1.00, and half of a fully
    evidenced batch was thrown away. Quoting every invoice is evidence per invoice, so such a
    group weighs what as many quoted 1:1 matches would. A group found by its sum alone keeps
    its confidence as weight (a coincidental sum must not outweigh real matches). A group
    whose quoted invoices were ``completed`` by the exact sum (``_Run._completion``) weighs
    as many matches as it has quoted invoices: the completed ones add no evidence.
    """
    if all_referenced:
        return bp * size
    return bp * (size - completed) if completed else bp


def group_bp(weight: int, size: int, all_referenced: bool, completed: int = 0) -> int:
    """The confidence of a 1:N option from its assignment weight (inverse of :func:`group_weight`)."""
    if all_referenced:
        return weight // size
    return weight // (size - completed) if completed else weight


@dataclass(slots=True)
class _Group(PicklesAsTuple):
    """Payload of a 1:N option."""

    shortfall: Decimal
    all_referenced: bool
    complete: bool  # the subset search was not cut by its node budget
    evs: tuple[PairEvidence, ...]
    abbreviated: bool = False  # some invoices are named only by an abbreviated number
    completed: int = 0  # invoices not quoted, completed by the exact sum (_Run._completion)
    left_out: int = 0  # open invoices the payment quotes in full that the group leaves out


@dataclass(slots=True)
class _Alloc:
    """One chosen transaction -> invoice allocation with the evaluation it rests on."""

    tx: int
    inv: int
    ev: PairEvidence
    round: int


@dataclass(slots=True)
class _SliceScores:
    """One slice of transactions scored, with the counters it advanced."""

    # One plain tuple per scored transaction (tuples pickle fastest), in transaction order:
    # (t, windows, fuzzy_by_len, rfs, exact_hits, hit_strings, sorted ref_hits,
    #  counterparties, [(bp, invoice)] at or above min_score, [(bp, invoices, _Group)] best first)
    # where windows / fuzzy_by_len / rfs are the TextRefs reduced to what invoices could match.
    rows: list[tuple]
    increments: dict[str, int]


class _Run:
    """State of one reconcile() call (kept in one object to keep the functions short)."""

    def __init__(
        self,
        invoices: Iterable[InvoiceInput],
        transactions: Iterable[TransactionInput],
        settings: EngineSettings,
        rejected: frozenset[tuple[str, str]],
        on_progress: ProgressCallback | None = None,
        rejected_payers: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.s = settings
        self.on_progress = on_progress
        self.invs, self.txs = _prepare(invoices, transactions)
        self.rejected_pairs = rejected
        # ``self.rejected`` answers "may this pair be proposed?" everywhere; with customers
        # rejected for a payer it also asks that (payers.Rejections), else it is the plain set.
        self.rejected: frozenset[tuple[str, str]] | Rejections = rejected
        if rejected_payers:
            self.rejected = Rejections(
                rejected,
                frozenset(rejected_payers),
                {inv.id: inv.src.counterparty_id for inv in self.invs if inv.src.counterparty_id},
                {tx.id: payer_keys(tx.src.counterparty_name, tx.src.counterparty_account) for tx in self.txs},
            )
        self.max_atoms = max((len(k) for inv in self.invs for k in inv.keys), default=1)
        self.index = CandidateIndex(self.invs, settings)
        self.name_cache = self.index.name_cache
        self.min_bp = _dec_bp(settings.min_score)
        self.margin_bp = _dec_bp(settings.ambiguity_margin)
        self.threshold_bp = (
            None if settings.auto_confirm_threshold is None else _dec_bp(settings.auto_confirm_threshold)
        )
        n_tx = len(self.txs)
        self.cand_tx: list[list[tuple[int, int]]] = [[] for _ in range(n_tx)]
        self.cand_inv: dict[int, list[tuple[int, int]]] = {}
        self.group_tx: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        self.group_inv: dict[int, list[tuple[int, int]]] = {}
        # Per transaction, sorted tuples: mostly of one or two items, a tuple of one takes 48
        # bytes where a frozenset takes 216 (100k transactions keep them until explained).
        self.exact_hits: list[tuple[int, ...]] = [()] * n_tx
        self.hit_strings: list[tuple[str, ...]] = [()] * n_tx
        self.ref_txs: dict[int, list[int]] = {}
        self.cp_txs: dict[str, list[int]] = {}
        self.options: list[Option] = []
        self.stats: dict[str, int] = {
            "invoices": len(self.invs),
            "transactions": n_tx,
            "pairs_scored": 0,
            "candidates": 0,
            "rejected_skipped": 0,
            "subset_searches": 0,
            "subset_nodes": 0,
            "group_options": 0,
        }
        self.resources: dict[str, int] = {}

    # -- scoring -------------------------------------------------------------------------------

    def _eval(self, t: int, i: int, outstanding: Decimal | None = None) -> PairEvidence:
        inv, tx = self.invs[i], self.txs[t]
        hits = self.exact_hits[t]
        self.stats["pairs_scored"] += 1
        return evaluate(
            inv,
            tx,
            self.s,
            rate=_ONE if inv.currency == tx.currency else fx_rate(self.s, tx.currency, inv.currency),
            outstanding=outstanding,
            other_ref=bool(hits) and (len(hits) > 1 or i not in hits),
            skip_fuzzy=self.hit_strings[t],
            name_cache=self.name_cache,
        )

    def _option(self, t: int, invs: tuple[int, ...], bp: int, payload: object = None) -> Option:
        opt = Option(len(self.options), t, invs, bp, payload)
        self.options.append(opt)
        return opt

    def score_all(self, workers: int = 1) -> None:
        """Blocking + pair scoring + 1:N group search for every transaction.

        Each transaction's scoring reads only what ``__init__`` prepared, so the transactions
        are scored in contiguous slices, in forked workers when ``workers > 1`` and the run is
        large enough (:data:`PARALLEL_MIN_TRANSACTIONS`), and merged back in transaction order:
        the result is the same whatever the number of workers.
        """
        n = len(self.txs)
        if n < PARALLEL_MIN_TRANSACTIONS:
            workers = 1
        slices = split_map(self._score_slice, n, workers)
        self.resources["workers"] = len(slices)
        # Memory while the workers ran, from above: this process now (its own slice and the
        # workers' results included) plus what each worker did not share with it. Forked
        # workers share pages only until they touch them, and CPython touches every object it
        # reads (reference counts), so at 100k a worker holds a near copy of the run's state.
        self.resources["scoring_memory_bytes"] = resident_bytes() + sum(s.private_bytes for s in slices)
        for part in slices:
            self._merge_scores(part.value)

    def _tx_candidates(self, tx: PreparedTransaction) -> tuple[TxCandidates, list[tuple[int, PairEvidence]]]:
        """The candidates of one open transaction: blocking, then every pair blocking returned
        that scores at least ``min_score``, with its evaluation (in invoice order).

        The one place that decides whether a pair is a candidate: :meth:`_score_slice` (every
        run) and :meth:`explain_pair` (``score_pair``) both ask it, so an explanation can never
        call a pair a candidate that a run over the same books would not score as one.
        """
        t = tx.idx
        refs = tx.tokenize(self.max_atoms)
        # Only windows that are some open invoice's key can ever match: drop the rest (most
        # of them) before anything looks at them, so blocking looks up only those and 100k
        # transactions do not keep every word run alive.
        windows = self.index.by_window.keys() & refs.windows
        # Most texts quote no open invoice: share one empty set (an empty frozenset is 216 bytes).
        tx.refs = TextRefs(frozenset(windows) if windows else _EMPTY, refs.fuzzy_by_len, refs.rfs)
        c = self.index.candidates(tx, self.rejected)
        # The pair evaluations below read these two through self (see _eval).
        self.exact_hits[t] = tuple(sorted(c.exact_hits))
        self.hit_strings[t] = tuple(sorted(c.hit_strings))
        scored: list[tuple[int, PairEvidence]] = []
        for i in c.invoices:
            ev = self._eval(t, i)
            if ev.bp >= self.min_bp:
                scored.append((i, ev))
        return c, scored

    def explain_pair(self, invoice_id: str, closed: tuple[str, ...] = ()) -> PairScore:
        """The explanation of (``invoice_id``, the run's only transaction), see :func:`score_pair`.

        ``closed`` are blocker codes for a side a run would not read at all.
        """
        (tx,) = self.txs
        i = next(inv.idx for inv in self.invs if inv.id == invoice_id)
        inv = self.invs[i]
        payer_rejected = isinstance(self.rejected, Rejections) and self.rejected.payer_rejected(inv.id, tx.id)
        hard, _ = hard_blockers(
            inv, tx, self.s, (inv.id, tx.id) in self.rejected_pairs, payer_rejected=payer_rejected
        )
        hard = closed + hard
        c: TxCandidates | None = None
        ev: PairEvidence | None = None
        if tx.avail > 0 and tx.sign != 0:  # a run scores only such transactions
            c, scored = self._tx_candidates(tx)
            ev = next((ev for j, ev in scored if j == i), None)
        if ev is None:
            ev = self._eval(tx.idx, i)
        unreached = None
        if not hard and c is not None and i not in c.invoices:
            unreached = self.index.why_unreached(i, tx, c)
        return explain(ev, inv, tx, self.s, hard, unreached)

    def _score_slice(self, lo: int, hi: int) -> _SliceScores:
        """Score transactions ``lo <= idx < hi``; returns what :meth:`_merge_scores` records.

        Runs in a forked worker or in this process; either way it leaves the counters as it
        found them (their increments travel in the result), so merging is the same for both.
        """
        counters = ("pairs_scored", "subset_searches", "subset_nodes")
        before = {key: self.stats[key] for key in counters}
        rejected_before = self.index.rejected_skipped
        rows: list[tuple] = []
        # Only the caller's own slice (it starts at 0) reports, scaled to the whole run: a
        # forked worker must not call back into its parent's objects (or database connection).
        report = self.on_progress if lo == 0 else None
        total = len(self.txs)
        for tx in self.txs[lo:hi]:
            if report is not None and tx.idx % PROGRESS_EVERY == 0:
                report("scoring", min(total, (tx.idx - lo) * total // max(1, hi - lo)), total)
            if tx.avail <= 0 or tx.sign == 0:
                continue
            t = tx.idx
            c, scored = self._tx_candidates(tx)
            pairs: list[tuple[int, int]] = []
            settled_single = False
            for i, ev in scored:
                pairs.append((ev.bp, i))
                if ev.amount_kind in SETTLING_AMOUNTS and (ev.reference_score or ev.counterparty_score):
                    settled_single = True
            groups = (
                self._groups(tx, c.ref_hits, c.pool)
                if not settled_single and self._may_be_batch(tx, c.ref_hits, c.counterparties)
                else []
            )
            refs = tx.refs
            rows.append(
                (
                    t,
                    refs.windows,
                    refs.fuzzy_by_len,
                    refs.rfs,
                    self.exact_hits[t],
                    self.hit_strings[t],
                    tuple(sorted(c.ref_hits)),
                    c.counterparties,
                    pairs,
                    groups,
                )  # fmt: skip
            )
        increments = {key: self.stats[key] - before[key] for key in counters}
        increments["rejected_skipped"] = self.index.rejected_skipped - rejected_before
        self.stats.update(before)
        self.index.rejected_skipped = rejected_before
        return _SliceScores(rows, increments)

    def _merge_scores(self, part: _SliceScores) -> None:
        """Record one slice's scores: candidate lists, options (ids in transaction order), indexes."""
        for key, value in part.increments.items():
            self.stats[key] += value
        for t, windows, fuzzy_by_len, rfs, exact_hits, hit_strings, ref_hits, cps, pairs, groups in part.rows:
            self.txs[t].refs = TextRefs(windows, fuzzy_by_len, rfs)
            self.exact_hits[t] = exact_hits
            self.hit_strings[t] = hit_strings
            for i in ref_hits:
                self.ref_txs.setdefault(i, []).append(t)
            for cp in cps:
                self.cp_txs.setdefault(cp, []).append(t)
            for bp, i in pairs:
                self.stats["candidates"] += 1
                self.cand_tx[t].append((bp, i))
                self.cand_inv.setdefault(i, []).append((bp, t))
                self._option(t, (i,), bp)
            for bp, sol, grp in groups:
                self._option(t, sol, group_weight(bp, len(sol), grp.all_referenced, grp.completed), grp)
                self.stats["group_options"] += 1
                self.group_tx.setdefault(t, []).append((bp, sol))
                for i in sol:
                    self.group_inv.setdefault(i, []).append((bp, t))

    def _may_be_batch(self, tx: PreparedTransaction, ref_hits: frozenset[int], cps: tuple[str, ...]) -> bool:
        """Is a 1:N search worth it? Not when the payment quotes exactly one invoice that is
        at least as large (a partial payment of it), nor without any idea who paid."""
        if len(ref_hits) >= 2:
            return True
        if len(ref_hits) == 1:
            (i,) = ref_hits
            return self.invs[i].outstanding < tx.avail and bool(cps)
        return bool(cps)

    def _abbreviated(self, tx: PreparedTransaction, ref_hits: frozenset[int], ordered: list[int]) -> set[int]:
        """Invoices of ``ordered`` the description names by an abbreviated number after one it
        quotes in full ("INV-2024-000791/792/793"), of the same counterparty as a quoted one."""
        quoted_keys = {key for i in ref_hits for key in self.invs[i].keys}
        parties = {self.invs[i].cp_key for i in ref_hits}

        def is_quoted(token: str) -> bool:
            return not quoted_keys.isdisjoint(invoice_keys(token)[0])

        wanted: set[tuple[str, ...]] = set()
        for number in completed_numbers(tx.src.description, is_quoted):
            wanted.update(invoice_keys(number)[0])
        return {
            i for i in ordered if self.invs[i].cp_key in parties and not wanted.isdisjoint(self.invs[i].keys)
        }

    def _completion(
        self, rest: int, named: list[tuple[int, int]], items: list[tuple[int, int]]
    ) -> tuple[int, ...] | None:
        """The one combination of the named invoices' party's other open invoices that pays
        ``rest`` (units) exactly, or None.

        A payer quoting its invoices in the remittance field runs out of room: SEPA's
        unstructured remittance holds 140 characters, an MT940 ``:86:`` purpose 27 per
        sub-field, a Fedwire OBI 140, so a list of ten numbers is cut after six or seven
        ("…, INV-2024-000633, IN"); other payers leave one out. The quoted invoices say who
        paid and which items; what the amount has beyond them is completed from the same
        party's open invoices, only by an exact sum, only when exactly one combination of at
        most ``max_subset_size`` of them fits (a search cut by its budget counts as several),
        and the group is then not fully referenced, so it is never auto-confirmed.
        """
        parties = {self.invs[i].cp_key for _, i in named}
        taken = {i for _, i in named}
        others = [(u, i) for u, i in items if i not in taken and self.invs[i].cp_key in parties]
        # One invoice alone may be the rest too (find_subsets looks for two or more).
        singles = [(i,) for u, i in others if u == rest]
        res = find_subsets(rest, others, max_size=self.s.max_subset_size, tolerance=0)
        self.stats["subset_searches"] += 1
        self.stats["subset_nodes"] += res.nodes
        if res.truncated or len(singles) + len(res.solutions) != 1:
            return None
        return (singles or res.solutions)[0]

    def _groups(
        self, tx: PreparedTransaction, ref_hits: frozenset[int], pool: list[int]
    ) -> list[tuple[int, tuple[int, ...], _Group]]:
        """Bounded subset-sum over the quoted and the counterparty's open invoices: the best
        few (confidence, invoices, payload) options, best first."""
        s = self.s
        t = tx.idx
        ordered: list[int] = []
        seen: set[int] = set()
        for i in [*sorted(ref_hits), *pool]:
            if i in seen:
                continue
            seen.add(i)
            inv = self.invs[i]
            if (
                inv.currency != tx.currency  # groups are same-currency only (documented)
                or not (0 < inv.outstanding < tx.avail)
                or not self.index.compatible(inv, tx)
                or (inv.id, tx.id) in self.rejected
            ):
                continue
            ordered.append(i)
        ordered = ordered[: s.max_subset_candidates]
        if len(ordered) < 2:
            return []
        units, exp = to_units([tx.avail] + [self.invs[i].outstanding for i in ordered])
        target = units[0]
        items = list(zip(units[1:], ordered, strict=True))
        # Fee tolerance on the group's total; bound it from above, then check exactly.
        pct = s.fee_tolerance_percent / 100
        tol_amount = s.fee_tolerance_fixed
        if 0 < pct < 1:
            tol_amount = max(tol_amount, tx.avail * pct / (1 - pct))
        tol_units = int(tol_amount.scaleb(-exp).to_integral_value()) if tol_amount > 0 else 0
        # Search order matters with a bounded search: the invoices the payment quotes first,
        # then exact sums over the pool, and only if none exists sums within fee tolerance.
        quoted = [(u, i) for u, i in items if i in ref_hits]
        solutions: dict[tuple[int, ...], None] = {}
        truncated = False
        completed: set[int] = set()
        completed_by_sum: set[int] = set()
        # No search for the invoices the payment quotes: their sum is checked, however many
        # (up to max_subset_candidates), then with the numbers it abbreviates (see
        # abbreviations.py), which only ever complete an exact sum.
        quoted_units = sum(u for u, _ in quoted)
        if len(quoted) >= 2 and target <= quoted_units <= target + tol_units:
            solutions[tuple(sorted(i for _, i in quoted))] = None
        elif quoted and quoted_units < target:
            completed = self._abbreviated(tx, ref_hits, ordered)
            extra = [(u, i) for u, i in items if i in completed and i not in ref_hits]
            extra_units = sum(u for u, _ in extra)
            if extra and target <= quoted_units + extra_units <= target + tol_units:
                solutions[tuple(sorted(i for _, i in (*quoted, *extra)))] = None
            elif quoted_units + extra_units < target:
                sole = self._completion(target - quoted_units - extra_units, [*quoted, *extra], items)
                if sole is not None:
                    completed_by_sum = set(sole)
                    solutions[tuple(sorted((*sole, *(i for _, i in (*quoted, *extra)))))] = None
        passes = [(quoted, tol_units), (items, 0)] if len(quoted) >= 2 else [(items, 0)]
        for pool_items, tol in passes:
            res = find_subsets(target, pool_items, max_size=s.max_subset_size, tolerance=tol)
            self.stats["subset_searches"] += 1
            self.stats["subset_nodes"] += res.nodes
            truncated = truncated or res.truncated
            solutions.update(dict.fromkeys(res.solutions))
        if not solutions and tol_units:
            res = find_subsets(target, items, max_size=s.max_subset_size, tolerance=tol_units)
            self.stats["subset_searches"] += 1
            self.stats["subset_nodes"] += res.nodes
            truncated = truncated or res.truncated
            solutions.update(dict.fromkeys(res.solutions))
        # Open invoices the text quotes in full that could be paid by this payment at all.
        quoted_open = {
            i
            for i in self.exact_hits[t]
            if self.index.compatible(self.invs[i], tx) and (self.invs[i].id, tx.id) not in self.rejected
        }
        member_ev: dict[int, PairEvidence] = {}
        found: list[tuple[int, tuple[int, ...], _Group]] = []
        for sol in solutions:
            total = sum((self.invs[i].outstanding for i in sol), Decimal(0))
            shortfall = total - tx.avail
            if shortfall < 0 or (shortfall > 0 and shortfall > fee_tolerance(s, total)):
                continue
            evs = []
            for i in sol:
                if i not in member_ev:
                    member_ev[i] = self._eval(t, i)
                evs.append(member_ev[i])
            n = len(evs)
            # An invoice named by an abbreviated number is quoted by the payer: it counts as
            # referenced for the group's confidence, never for auto-confirmation (a blocker).
            abbreviated = [i in completed and not ev.strong_ref for i, ev in zip(sol, evs, strict=True)]
            all_ref = all(ev.strong_ref or abbr for ev, abbr in zip(evs, abbreviated, strict=True))
            conf = group_confidence(
                SCORE_EXACT if shortfall == 0 else SCORE_FEE,
                sum(1.0 if abbr else ev.reference_score for ev, abbr in zip(evs, abbreviated, strict=True))
                / n,
                sum(ev.counterparty_score for ev in evs) / n,
                sum(ev.date_points for ev in evs) / n,
                n,
                all_ref,
            )
            bp = to_bp(conf)
            if bp >= self.min_bp:
                by_sum = sum(1 for i in sol if i in completed_by_sum)
                left_out = len(quoted_open.difference(sol))
                group = _Group(
                    shortfall, all_ref, not truncated, tuple(evs), any(abbreviated), by_sum, left_out
                )
                found.append((bp, sol, group))
        # Keep the best few; the others only matter as runner-ups (the best rival is kept).
        found.sort(key=lambda f: (-f[0], f[1]))
        return found[:MAX_GROUP_OPTIONS]

    # -- assignment rounds ---------------------------------------------------------------------

    def run(self, workers: int = 1) -> EngineResult:
        """Execute the whole pipeline (scoring split over ``workers`` processes)."""
        self.score_all(workers)
        if self.on_progress is not None:
            self.on_progress("assigning", 0, None)
        # Blocking is done: only the name cache is read from here on. Releasing the indexes
        # before assignment and explanations lowers the peak of a 100k run.
        self.index = None  # type: ignore[assignment]
        chosen, astats = assign(self.options, self.s.exact_matching_limit)
        self.stats["components"] = astats.components
        self.stats["largest_component"] = astats.largest
        self.stats["exact_components"] = astats.exact
        self.stats["greedy_components"] = astats.greedy
        self.stats["conflict_rounds"] = astats.conflict_rounds
        self.assigned_tx: dict[int, Option] = {}
        self.allocs: list[_Alloc] = []
        self.remaining: dict[int, Decimal] = {}
        self.group_members: set[int] = set()
        self.extra_tx: dict[int, list[tuple[int, int]]] = {}
        self.extra_inv: dict[int, list[tuple[int, int]]] = {}
        for opt in chosen:
            self.assigned_tx[opt.tx] = opt
            if len(opt.invs) > 1:
                self.group_members.update(opt.invs)
                for i in opt.invs:
                    self.remaining[i] = Decimal(0)
            else:
                i = opt.invs[0]
                ev = self._eval(opt.tx, i)
                self.allocs.append(_Alloc(opt.tx, i, ev, 1))
                self.remaining[i] = Decimal(0) if ev.fee or ev.discount else ev.outstanding - ev.alloc_inv
        self.alternatives: dict[int, tuple[int, ...]] = {}
        self._apply_to_oldest()
        rounds = 1
        for rnd in range(2, MAX_ROUNDS + 1):
            if not self._later_round(rnd):
                break
            rounds = rnd
        self.stats["rounds"] = rounds
        # Explanations only need the prepared rows and the candidate lists: release the option
        # graph and what only scoring read (name cache, hits, the later rounds' indexes) first,
        # which lowers the peak of a 100k run.
        self.options = []
        self.name_cache = {}
        self.exact_hits, self.hit_strings = [], []
        self.ref_txs, self.cp_txs = {}, {}
        # Explanations read none of the memo caches (invoice keys, names, tokens: at 100k some
        # 160,000 entries, filled by scoring): empty them now rather than when the call ends, so
        # they do not count in the peak that explaining 70,000 proposals reaches. Clearing never
        # changes a result (caches.py); another thread's run keeps them.
        clear_run_caches_if_alone()
        proposals = self._proposals()
        self.stats["proposals"] = len(proposals)
        self.stats["auto_confirmed"] = sum(1 for p in proposals if p.auto_confirm)
        return EngineResult(proposals=tuple(proposals), stats=dict(self.stats), resources=self.resources)

    def _equal_fits(self, t: int, i: int, ev: PairEvidence) -> list[int]:
        """Open invoices that fit transaction ``t`` exactly as well as invoice ``i`` does: the
        same party, currency, outstanding and kind of amount match, no reference to either
        (nothing in the payment tells them apart), and a payment date that is plausible for
        both (not before the invoice was issued, not beyond the date window after its due date:
        an invoice the payment predates, or one overdue for longer than the window, is not an
        equal fit). ``i`` first, then by invoice index."""
        if ev.reference_kind != "ref.none" or ev.invalid_rf or ev.date_kind in _IMPLAUSIBLE_DATES:
            return []
        inv = self.invs[i]
        fits = [i]
        for _bp, j in self.cand_tx[t]:
            other = self.invs[j]
            if (
                j == i
                or other.cp_key != inv.cp_key
                or other.currency != inv.currency
                or other.outstanding != inv.outstanding
            ):
                continue
            ev_j = self._eval(t, j)
            if (
                ev_j.reference_kind == "ref.none"
                and not ev_j.invalid_rf
                and ev_j.amount_kind == ev.amount_kind
                and ev_j.date_kind not in _IMPLAUSIBLE_DATES
            ):
                fits.append(j)
        return fits

    def _apply_to_oldest(self) -> None:
        """Payments that fit several equal open invoices go to the oldest ones.

        When a payment quotes nothing that tells a party's equal open invoices apart (same
        amount, no reference), global assignment would pick one by a date score or by chance.
        Accountants apply such a payment to the oldest open invoice (first in, first out):
        per group of equal invoices, the payments (earliest first) take the oldest invoices
        (issue date, then due date, then id) that fit them and that no other payment was
        assigned. The others that fit are kept as the proposal's alternatives, and the
        proposal is never auto-confirmed. Only first-round 1:1 allocations take part; when the
        oldest-first order cannot give every payment of a group an invoice that fits it, the
        group keeps the assignment's choice (still marked ambiguous).
        """
        fits_of: dict[int, list[int]] = {}
        groups: dict[tuple[str, str, Decimal], list[int]] = {}
        for k, alloc in enumerate(self.allocs):
            fits = self._equal_fits(alloc.tx, alloc.inv, alloc.ev)
            if len(fits) > 1:
                fits_of[k] = fits
                inv = self.invs[alloc.inv]
                groups.setdefault((inv.cp_key, inv.currency, inv.outstanding), []).append(k)
        if not fits_of:
            return
        taken_elsewhere = {a.inv for k, a in enumerate(self.allocs) if k not in fits_of} | self.group_members

        def age(i: int) -> tuple[int, int, str]:
            inv = self.invs[i]
            return (
                inv.issue if inv.issue is not None else 10**9,
                inv.due if inv.due is not None else 10**9,
                inv.id,
            )

        for members in groups.values():
            members.sort(key=lambda k: (self.txs[self.allocs[k].tx].pay, self.txs[self.allocs[k].tx].id))
            chosen: dict[int, int] = {}
            used: set[int] = set()
            for k in members:
                free = [i for i in fits_of[k] if i not in used and i not in taken_elsewhere]
                if not free:
                    chosen = {}
                    break
                oldest = min(free, key=age)
                chosen[k] = oldest
                used.add(oldest)
            for k in members:
                alloc = self.allocs[k]
                new = chosen.get(k, alloc.inv)
                if new != alloc.inv:
                    self.remaining.pop(alloc.inv, None)
                    self.allocs[k] = _Alloc(alloc.tx, new, self._eval(alloc.tx, new), alloc.round)
                self.alternatives[alloc.tx] = tuple(
                    sorted((i for i in fits_of[k] if i != new and i not in taken_elsewhere), key=age)
                )[:MAX_ALTERNATIVES]
            # Then what each chosen invoice still has open (an invoice may have changed hands
            # within the group, so this runs after every move).
            for k in members:
                ev = self.allocs[k].ev
                self.remaining[self.allocs[k].inv] = (
                    Decimal(0) if ev.fee or ev.discount else ev.outstanding - ev.alloc_inv
                )

    def _later_round(self, rnd: int) -> bool:
        """Let unassigned transactions pay what is still open on partly paid invoices."""
        open_invs = sorted(i for i, rem in self.remaining.items() if rem > 0 and i not in self.group_members)
        opts: list[Option] = []
        evs: dict[tuple[int, int], PairEvidence] = {}
        key = 0
        for i in open_invs:
            inv = self.invs[i]
            rem = self.remaining[i]
            txs = set(self.ref_txs.get(i, ())) | set(self.cp_txs.get(inv.cp_key, ()))
            cands = sorted(
                (t for t in txs if t not in self.assigned_tx),
                key=lambda t: (abs(self.txs[t].pay - (inv.due or 0)), t),
            )[:LATER_ROUND_TX_CAP]
            for t in sorted(cands):
                tx = self.txs[t]
                hard, _ = hard_blockers(inv, tx, self.s, (inv.id, tx.id) in self.rejected)
                if hard:
                    continue
                ev = self._eval(t, i, outstanding=rem)
                if ev.bp < self.min_bp:
                    continue
                evs[(t, i)] = ev
                opts.append(Option(key, t, (i,), ev.bp))
                key += 1
                self.extra_tx.setdefault(t, []).append((ev.bp, i))
                self.extra_inv.setdefault(i, []).append((ev.bp, t))
        if not opts:
            return False
        chosen, _ = assign(opts, self.s.exact_matching_limit)
        for opt in chosen:
            t, i = opt.tx, opt.invs[0]
            ev = evs[(t, i)]
            self.assigned_tx[t] = opt
            self.allocs.append(_Alloc(t, i, ev, rnd))
            self.remaining[i] = Decimal(0) if ev.fee or ev.discount else ev.outstanding - ev.alloc_inv
        return bool(chosen)

    # -- proposals -----------------------------------------------------------------------------

    def _rival_tx(self, t: int, exclude_invs: Iterable[int], exclude_group: tuple[int, ...] = ()) -> int:
        ex = set(exclude_invs)
        best = 0
        for bp, i in (*self.cand_tx[t], *self.extra_tx.get(t, ())):
            if i not in ex and bp > best:
                best = bp
        for bp, sol in self.group_tx.get(t, ()):
            if sol != exclude_group and bp > best:
                best = bp
        return best

    def _rival_inv(self, i: int, exclude_txs: Iterable[int]) -> int:
        ex = set(exclude_txs)
        best = 0
        for bp, t in (*self.cand_inv.get(i, ()), *self.extra_inv.get(i, ()), *self.group_inv.get(i, ())):
            if t not in ex and bp > best:
                best = bp
        return best

    def _auto_common(self, bp: int, rival: int, blockers: list[Reason]) -> None:
        s = self.s
        if self.threshold_bp is None:
            blockers.append(_AUTO_OFF)
        elif bp < self.threshold_bp:
            blockers.append(
                Reason(
                    "auto.below_threshold",
                    f"Confidence {bp_decimal(bp)} is below the auto-confirm threshold "
                    f"{s.auto_confirm_threshold}",
                )
            )
        if rival and bp - rival < self.margin_bp:
            blockers.append(
                Reason(
                    "auto.ambiguous",
                    f"A competing match scores {bp_decimal(rival)}: the best must lead by "
                    f"{s.ambiguity_margin}",
                )
            )

    @staticmethod
    def _pair_blockers(ev: PairEvidence) -> list[Reason]:
        out: list[Reason] = []
        if not ev.independent:
            out.append(_NO_INDEPENDENT)
        if ev.amount_kind == "amount.over" or (
            ev.amount_kind == "amount.near" and ev.converted > ev.outstanding
        ):
            out.append(_OVERPAYMENT)
        elif not ev.settles and not ev.strong_ref:
            out.append(_PARTIAL_NO_REF)
        return out

    def _explain(self, t: int, i: int, ev: PairEvidence) -> PairScore:
        return explain(ev, self.invs[i], self.txs[t], self.s)

    def _summary(self, ps: PairScore) -> _Scored:
        """The reasons that carry weight (signals with a positive score, plus penalties), each
        with its strength: its signal's contribution to the confidence."""
        out: _Scored = []
        for sig in ps.signals:
            if sig.score > 0:
                strength = sig.weight * sig.score
                out.extend((strength, r) for r in sig.reasons)
            else:
                out.extend((_PENALTY_STRENGTH, r) for r in sig.reasons if r.code in _PENALTY_CODES)
        return out

    def _proposals(self) -> list[Proposal]:
        props: list[Proposal] = []
        by_inv: dict[int, list[_Alloc]] = {}
        for a in self.allocs:
            by_inv.setdefault(a.inv, []).append(a)
        for n, (i, allocs) in enumerate(by_inv.items()):
            if self.on_progress is not None and n % PROGRESS_EVERY == 0:
                self.on_progress("explaining", n, len(by_inv))
            allocs.sort(key=lambda a: (a.round, a.tx))
            props.append(self._pair_proposal(i, allocs))
        for t, opt in self.assigned_tx.items():
            if len(opt.invs) > 1:
                props.append(self._group_proposal(t, opt))
        props.sort(key=lambda p: (p.allocations[0].transaction_id, p.allocations[0].invoice_id))
        return props

    def _pair_proposal(self, i: int, allocs: list[_Alloc]) -> Proposal:
        inv = self.invs[i]
        members = [a.tx for a in allocs]
        blockers: list[Reason] = []
        breakdown: list[PairScore] = []
        reasons: _Scored = []
        rival = 0
        fee = discount = Decimal(0)
        alternatives: list[int] = []
        for a in allocs:
            ev = a.ev
            ps = self._explain(a.tx, i, ev)
            breakdown.append(ps)
            reasons.extend(self._summary(ps))
            rival = max(rival, self._rival_tx(a.tx, [i]), self._rival_inv(i, members))
            for r in self._pair_blockers(ev):
                if all(b is not r for b in blockers):
                    blockers.append(r)
            fee += ev.fee
            discount += ev.discount
            alternatives.extend(j for j in self.alternatives.get(a.tx, ()) if j not in alternatives)
        del alternatives[MAX_ALTERNATIVES:]
        if alternatives:
            blockers.append(self._ambiguous_blocker(len(alternatives) + 1))
        bp = min(a.ev.bp for a in allocs)
        self._auto_common(bp, rival, blockers)
        shape: Shape = "one_to_one" if len(allocs) == 1 else "many_to_one"
        cur = inv.currency
        paid = sum((a.ev.alloc_inv for a in allocs), Decimal(0))
        left = inv.outstanding - paid - fee - discount
        if len(allocs) > 1:
            reasons.insert(
                0,
                (
                    _SHAPE_STRENGTH,
                    Reason(
                        "shape.many_to_one",
                        f"{len(allocs)} payments settle {format_money(paid, cur)} of {invoice_phrase(inv)}"
                        + (f"; {format_money(left, cur)} stays open" if left > 0 else ""),
                    ),
                ),
            )
        elif left > 0:
            reasons.insert(
                0,
                (
                    _SHAPE_STRENGTH,
                    Reason(
                        "shape.partial",
                        f"Partial payment: {format_money(left, cur)} of {invoice_phrase(inv)} stays open",
                    ),
                ),
            )
        if fee:
            reasons.append(
                (
                    _SHAPE_STRENGTH,
                    Reason("shape.fee", f"{format_money(fee, cur)} underpayment booked as a fee"),
                )
            )
        if discount:
            reasons.append(
                (
                    _SHAPE_STRENGTH,
                    Reason(
                        "shape.discount",
                        f"{format_money(discount, cur)} early-payment discount taken: the invoice is settled",
                    ),
                )
            )
        if alternatives:
            others = [self.invs[j] for j in alternatives]
            labels = ("; " if any("," in invoice_name(o) for o in others) else ", ").join(
                invoice_name(o) for o in others
            )
            reasons.insert(
                0,
                (
                    _SHAPE_STRENGTH,
                    Reason(
                        "shape.ambiguous",
                        f"{len(others) + 1} open invoices fit equally (same party and amount, no reference "
                        f"tells them apart): applied to the oldest, {invoice_name(inv)}; the others: "
                        f"{excerpt(labels, 2 * QUOTE_MAX_CHARS)}",
                    ),
                ),
            )
        for a in allocs:
            if a.round > 1:
                reasons.append(
                    (
                        _SHAPE_STRENGTH,
                        Reason(
                            "shape.remaining",
                            f"Transaction {excerpt(self.txs[a.tx].id)} was scored against the amount still "
                            f"open ({format_money(a.ev.outstanding, cur)}) after earlier payments",
                        ),
                    )
                )
        allocations = tuple(
            Allocation(self.txs[a.tx].id, inv.id, a.ev.alloc_tx, a.ev.alloc_inv) for a in allocs
        )
        return Proposal(
            shape=shape,
            allocations=allocations,
            confidence=bp_decimal(bp),
            reasons=_keep_strongest(reasons if len(allocs) == 1 else _dedupe(reasons)),
            breakdown=tuple(breakdown),
            auto_confirm=not blockers,
            auto_confirm_blockers=tuple(blockers),
            fee_amount=fee,
            runner_up_confidence=bp_decimal(rival) if rival else None,
            discount_amount=discount,
            ambiguous=bool(alternatives),
            alternatives=tuple(self.invs[j].id for j in alternatives),
        )

    @staticmethod
    def _ambiguous_blocker(count: int) -> Reason:
        return Reason(
            "auto.ambiguous_invoices",
            f"{count} open invoices fit this payment equally: a person chooses which one it pays",
        )

    def _group_proposal(self, t: int, opt: Option) -> Proposal:
        grp = opt.payload
        assert isinstance(grp, _Group)
        tx = self.txs[t]
        invs = [self.invs[i] for i in opt.invs]
        blockers: list[Reason] = []
        if not grp.all_referenced:
            blockers.append(
                Reason(
                    "auto.group_not_referenced",
                    "A payment for several invoices is auto-confirmed only when it quotes every one",
                )
            )
        if grp.abbreviated:
            blockers.append(
                Reason(
                    "auto.group_abbreviated",
                    "Some invoices are named only by abbreviated numbers (e.g. …/792/793): a person confirms",
                )
            )
        if not grp.complete:
            blockers.append(
                Reason("auto.subset_ambiguous", "Several combinations of open invoices add up to this amount")
            )
        if grp.all_referenced and grp.left_out:
            # The payer's list names more open invoices than the group pays (a number two
            # invoices share, a list the amount does not cover): the group is a pick among
            # what the payer quoted, not what it said it pays.
            blockers.append(
                Reason(
                    "auto.group_leaves_quoted",
                    f"The payment also quotes {grp.left_out} open invoice(s) this group leaves out: "
                    "a person chooses",
                )
            )
        rival = self._rival_tx(t, (), exclude_group=opt.invs)
        for i in opt.invs:
            rival = max(rival, self._rival_inv(i, [t]))
        bp = group_bp(opt.bp, len(opt.invs), grp.all_referenced, grp.completed)
        self._auto_common(bp, rival, blockers)
        cur = tx.currency
        # Labels of unnumbered invoices hold commas themselves: then semicolons separate them.
        labels = [invoice_name(inv) for inv in invs]
        numbers = ("; " if any("," in label for label in labels) else ", ").join(labels)
        total = sum((inv.outstanding for inv in invs), Decimal(0))
        lines = [
            Reason(
                "shape.one_to_many",
                f"One payment of {format_money(tx.avail, cur)} settles {len(invs)} invoices "
                f"({excerpt(numbers, 2 * QUOTE_MAX_CHARS)}) totalling {format_money(total, cur)}",
            )
        ]
        if grp.shortfall:
            lines.append(
                Reason("shape.fee", f"{format_money(grp.shortfall, cur)} underpayment booked as a fee")
            )
        if grp.all_referenced:
            lines.append(Reason("group.all_referenced", "Every invoice is quoted in the payment"))
        elif grp.completed:
            lines.append(
                Reason(
                    "group.completed_by_sum",
                    f"{grp.completed} of the {len(invs)} invoices are not quoted (the payer's list was cut "
                    "by the field's length or left them out): completed from the payer's open invoices, "
                    "the only combination that makes the exact amount",
                )
            )
        else:
            k = len(invs)
            lines.append(
                Reason(
                    "group.coincidence_discount",
                    f"Not every invoice is quoted: confidence discounted for a "
                    f"possible accidental sum of {k} amounts",
                )
            )
        reasons: _Scored = [(_SHAPE_STRENGTH, line) for line in lines]
        breakdown = tuple(self._explain(t, i, ev) for i, ev in zip(opt.invs, grp.evs, strict=True))
        for ps in breakdown:
            for strength, r in self._summary(ps):
                if not r.code.startswith("amount."):
                    reasons.append((strength, r))
        allocations: list[Allocation] = []
        left = grp.shortfall
        for inv in reversed(invs):  # the fee is taken from the last invoice(s)
            take = min(left, inv.outstanding)
            left -= take
            amt = inv.outstanding - take
            allocations.append(Allocation(tx.id, inv.id, amt, amt))
        allocations.reverse()
        return Proposal(
            shape="one_to_many",
            allocations=tuple(allocations),
            confidence=bp_decimal(bp),
            reasons=_keep_strongest(_dedupe(reasons)),
            breakdown=breakdown,
            auto_confirm=not blockers,
            auto_confirm_blockers=tuple(blockers),
            fee_amount=grp.shortfall,
            runner_up_confidence=bp_decimal(rival) if rival else None,
        )


def reconcile(
    invoices: Iterable[InvoiceInput],
    transactions: Iterable[TransactionInput],
    settings: EngineSettings | None = None,
    *,
    rejected_pairs: frozenset[tuple[str, str]] = frozenset(),
    workers: int = 1,
    on_progress: ProgressCallback | None = None,
    rejected_payers: frozenset[tuple[str, str]] = frozenset(),
    advices: Iterable[AdviceInput] = (),
) -> EngineResult:
    """Match transactions to invoices; see the module docstring for the pipeline and rules.

    ``rejected_pairs`` holds ``(invoice_id, transaction_id)`` pairs a person rejected: they are
    never proposed again, neither alone nor inside a multi-invoice group. ``workers > 1``
    scores large runs in that many forked processes (same result, see :mod:`.parallel`).
    ``on_progress(phase, done, total)`` is called while transactions are scored and proposals
    explained (the long phases), every few hundred items, and when assignment starts; an
    exception it raises stops the run. ``rejected_payers`` holds ``(counterparty_id, payer
    key)`` (``payers.payer_keys``): customers people rejected repeatedly for a payer, never
    proposed for that payer's transactions (see :mod:`.payers`).
    """
    engine_settings, rejected = settings or EngineSettings(), frozenset(rejected_pairs)
    advice_list = list(advices)
    if not advice_list:
        return _without_cyclic_gc(
            lambda: _Run(
                invoices,
                transactions,
                engine_settings,
                rejected,
                on_progress,
                rejected_payers=rejected_payers,
            ).run(workers)
        )
    return _without_cyclic_gc(
        lambda: _reconcile_with_advices(
            invoices,
            transactions,
            advice_list,
            engine_settings,
            rejected,
            workers,
            on_progress,
            rejected_payers,
        )
    )


def _reconcile_with_advices(
    invoices: Iterable[InvoiceInput],
    transactions: Iterable[TransactionInput],
    advices: list[AdviceInput],
    settings: EngineSettings,
    rejected: frozenset[tuple[str, str]],
    workers: int,
    on_progress: ProgressCallback | None,
    rejected_payers: frozenset[tuple[str, str]] = frozenset(),
) -> EngineResult:
    """Advices first (:mod:`.advices`), then the ordinary pipeline over what they left.

    What an advice describes is the payer's own statement of the payment, stronger than any
    score: its transaction and the amounts it settles are taken out before scoring, so the
    ordinary pipeline neither proposes them again nor counts them twice. The proposals are merged
    in the run's usual order.
    """
    invoice_list, transaction_list = list(invoices), list(transactions)
    outcome = match_advices(invoice_list, transaction_list, advices, settings, rejected)
    result = _Run(
        outcome.invoices,
        outcome.transactions,
        settings,
        rejected,
        on_progress,
        rejected_payers=rejected_payers,
    ).run(workers)
    proposals = sorted(
        (*result.proposals, *outcome.proposals),
        key=lambda p: (p.allocations[0].transaction_id, p.allocations[0].invoice_id),
    )
    stats = dict(result.stats)
    stats.update(outcome.stats)
    stats["invoices"], stats["transactions"] = len(invoice_list), len(transaction_list)
    stats["proposals"] = len(proposals)
    stats["auto_confirmed"] = sum(1 for p in proposals if p.auto_confirm)
    return EngineResult(proposals=tuple(proposals), stats=stats, resources=result.resources)
