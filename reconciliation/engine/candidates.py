"""Blocking: find the few invoices worth scoring for each transaction, never all of them.

Indexes built once over the open invoices:

* reference keys (normalised invoice-number atoms, digits-only keys, RF and structured
  references) -> invoices, looked up with every whole-word window of the transaction text;
* account (IBAN) -> counterparties and name token -> counterparties, then a bounded pool of
  each matched counterparty's open invoices (closest due dates first);
* (currency, exact outstanding) -> invoices sorted by due date, undated ones last (an undated
  invoice may be due around any payment; the bucket is skipped when too common);
* per currency, outstanding amounts sorted for a bisect walk over the ±5 % band (capped).

Per transaction the work is O(text windows + caps), so a run is O(n log n) overall.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from common.finance import format_money

from .normalize import name_tokens, rf_body_keys
from .payers import Rejections
from .signals import (
    AMOUNT_UNCORROBORATED,
    DESCRIPTOR_MIN_CHARS,
    MAX_BAND,
    NAME_BANDS,
    SCORE_FEE,
    W_AMOUNT,
    PreparedInvoice,
    PreparedTransaction,
    blocker_reason,
    day_text,
    descriptor_key,
    fuzzy_match,
    fx_rate,
    payer_key,
    payer_ratio,
)
from .types import EngineSettings, Reason

K = TypeVar("K")
V = TypeVar("V")

MAX_KEY_POSTINGS = 50  # a reference key shared by more invoices identifies nothing
MAX_TOKEN_POSTINGS = 30  # a name word shared by more counterparties ("services") is skipped
MAX_NAME_CANDIDATES = 5  # counterparties kept by fuzzy name per transaction
DESCRIPTOR_MAX_WORDS = 4  # words of a processor's payer name joined when looking up parties
DESCRIPTOR_NEIGHBOURS = 3  # party names either side of it in sort order compared too
NAME_SLACK = 5.0  # ... only those within this many ratio points of the best name
BAND_F = float(MAX_BAND) + 1e-4  # float pre-filter slightly wider than the exact band
EARLY_DUE_DAYS = 120  # a payment may precede the due date by this much (issue + terms)
UNDATED = 10**9  # sort key of an invoice without dates: after every real day (ordinals < 10**6)
NAME_MIN_RATIO = NAME_BANDS[-1][0]
BEST_BAND_SCORE = 0.6


@dataclass(slots=True)
class TxCandidates:
    """What blocking found for one transaction."""

    invoices: list[int] = field(default_factory=list)  # sorted invoice indexes to score
    exact_hits: frozenset[int] = frozenset()  # invoices whose number/RF is quoted exactly
    ref_hits: frozenset[int] = frozenset()  # exact hits plus digits-only hits
    hit_strings: frozenset[str] = frozenset()  # joined text runs that are exact hits
    counterparties: tuple[str, ...] = ()  # counterparty keys identified (account or name)
    pool: list[int] = field(default_factory=list)  # invoices of those counterparties (bounded)


def _frozen(index: dict[K, list[V]]) -> dict[K, tuple[V, ...]]:
    """A built index as a plain dict of tuples, in the same order."""
    return {key: tuple(bucket) for key, bucket in index.items()}


class CandidateIndex:
    """Inverted indexes over the open invoices (see module docstring)."""

    def __init__(self, invoices: list[PreparedInvoice], settings: EngineSettings) -> None:
        self.invoices = invoices
        self.settings = settings
        # Buckets are lists while the index is built, tuples once it is (see below).
        by_key: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)
        by_numeric: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)
        by_rf: defaultdict[str, list[int]] = defaultdict(list)
        by_sref: defaultdict[str, list[int]] = defaultdict(list)
        by_acct: defaultdict[str, list[str]] = defaultdict(list)
        by_token: defaultdict[str, list[str]] = defaultdict(list)
        cp_lists: dict[str, list[int]] = {}
        self.cp_names: dict[str, tuple[str, ...]] = {}
        by_amount: defaultdict[tuple[str, Decimal], list[int]] = defaultdict(list)
        by_currency: defaultdict[str, list[tuple[Decimal, int]]] = defaultdict(list)
        for inv in invoices:  # already sorted by id -> every bucket is in id order
            if inv.outstanding <= 0:
                continue
            i = inv.idx
            for k in inv.keys:
                by_key[k].append(i)
            if inv.numeric is not None:
                by_numeric[inv.numeric].append(i)
            if inv.rf:
                by_rf[inv.rf].append(i)
            elif inv.sref:
                by_sref[inv.sref].append(i)
            cp = inv.cp_key
            bucket = cp_lists.get(cp)
            if bucket is None:
                # Names and accounts are already shared across the counterparty's invoices.
                bucket = cp_lists[cp] = []
                self.cp_names[cp] = inv.names
                for tok in sorted({t for n in inv.names for t in name_tokens(n)}):
                    by_token[tok].append(cp)
                for acct in sorted(inv.accts):
                    by_acct[acct].append(cp)
            bucket.append(i)
            by_amount[(inv.currency, inv.outstanding)].append(i)
            # A payer taking the early-payment discount pays a discounted amount: the invoice is
            # found under it too (whether the payment was in time is for the scoring to say).
            for discounted in inv.discounted:
                by_amount[(inv.currency, discounted)].append(i)
            by_currency[inv.currency].append((inv.outstanding, i))

        def due_of(i: int) -> int:
            d = invoices[i].due
            return d if d is not None else UNDATED

        def by_due(ids: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
            """The ids sorted by due date (then id), with their due dates."""
            if len(ids) > 1:
                ids.sort(key=lambda i: (due_of(i), i))
            return tuple(ids), tuple(due_of(i) for i in ids)

        # Buckets sorted by due date so "closest dates first" is a bisect, not a scan.
        self.cp_invoices: dict[str, Sequence[int]] = {}
        self.cp_due: dict[str, Sequence[int]] = {}
        for cp, lst in cp_lists.items():
            self.cp_invoices[cp], self.cp_due[cp] = by_due(lst)
        self.by_amount = {key: by_due(lst) for key, lst in by_amount.items()}
        # Read-only from here on: plain dicts (a lookup never inserts) of tuples, which take a
        # third less memory than lists (hundreds of thousands of buckets at 100k, mostly of one).
        self.by_key: Mapping[tuple[str, ...], Sequence[int]] = _frozen(by_key)
        self.by_numeric: Mapping[tuple[str, ...], Sequence[int]] = _frozen(by_numeric)
        self.by_rf: Mapping[str, Sequence[int]] = _frozen(by_rf)
        self.by_sref: Mapping[str, Sequence[int]] = _frozen(by_sref)
        self.by_acct: Mapping[str, Sequence[str]] = _frozen(by_acct)
        self.by_token: Mapping[str, Sequence[str]] = _frozen(by_token)
        self.sorted_amounts: dict[str, tuple[list[Decimal], list[int]]] = {}
        for cur, pairs in by_currency.items():
            pairs.sort()
            self.sorted_amounts[cur] = ([a for a, _ in pairs], [i for _, i in pairs])
        self.currencies = sorted(self.sorted_amounts)
        # Party names without spaces, sorted: a processor's descriptor cuts and compacts the
        # payer's name ("PAYPAL *ACMEGMBH"), so its parties are found by prefix, not by word.
        by_compact: defaultdict[str, list[str]] = defaultdict(list)
        for cp, names in self.cp_names.items():
            for n in names:
                compacted = descriptor_key(n)
                if len(compacted) >= DESCRIPTOR_MIN_CHARS:
                    by_compact[compacted].append(cp)
        self.by_compact: Mapping[str, Sequence[str]] = _frozen(by_compact)
        self.compact_keys = sorted(self.by_compact)
        # Common amounts (more open invoices than max_amount_candidates): their invoices per
        # counterparty, built when a payment first asks (see amount_payers).
        self.amount_parties: dict[tuple[str, Decimal], dict[str, tuple[list[int], list[int]]] | None] = {}
        # One lookup per text window: (invoices with this full key, with this digits key).
        self.by_window: dict[tuple[str, ...], tuple[Sequence[int], Sequence[int]]] = {}
        for key, ids in self.by_key.items():
            self.by_window[key] = (ids, ())
        for key, ids in self.by_numeric.items():
            self.by_window[key] = (self.by_window.get(key, ((), ()))[0], ids)
        self.name_cache: dict[tuple[str, str], tuple[float, str]] = {}
        self.rejected_skipped = 0
        self.reachable: dict[str, list[tuple[str, Decimal]]] = {}
        self.has_fx = bool(settings.fx_rates)
        self.fee_fixed_f = float(settings.fee_tolerance_fixed)
        self.fee_pct_f = float(settings.fee_tolerance_percent) / 100
        self.processor_fixed_f = float(settings.processor_fee_fixed)
        self.processor_pct_f = float(settings.processor_fee_percent) / 100

    # -- helpers ---------------------------------------------------------------------------

    def compatible(self, inv: PreparedInvoice, tx: PreparedTransaction) -> bool:
        """Direction and currency allow this pair at all (cheap pre-filter)."""
        d = inv.direction
        if (d == "receivable" and tx.sign < 0) or (d == "payable" and tx.sign > 0):
            return False
        return inv.currency == tx.currency or (
            self.has_fx and fx_rate(self.settings, tx.currency, inv.currency) is not None
        )

    @staticmethod
    def _closest(ids: Sequence[int], dues: Sequence[int], pay: int, cap: int) -> list[int]:
        """Up to ``cap`` ids whose due date is closest to ``pay`` (deterministic ties)."""
        if len(ids) <= cap:
            return list(ids)
        pos = bisect_left(dues, pay)
        lo, hi = pos - 1, pos
        out: list[int] = []
        while len(out) < cap and (lo >= 0 or hi < len(ids)):
            if hi >= len(ids) or (lo >= 0 and pay - dues[lo] <= dues[hi] - pay):
                out.append(ids[lo])
                lo -= 1
            else:
                out.append(ids[hi])
                hi += 1
        return out

    def _target_currencies(self, tx: PreparedTransaction) -> list[tuple[str, Decimal]]:
        """Invoice currencies reachable from the transaction's, with the amount converted."""
        rates = self.reachable.get(tx.currency)
        if rates is None:
            rates = self.reachable[tx.currency] = [
                (cur, rate)
                for cur in self.currencies
                if (rate := fx_rate(self.settings, tx.currency, cur)) is not None
            ]
        return [
            (cur, tx.avail if rate == 1 else (tx.avail * rate).quantize(Decimal("0.01")))
            for cur, rate in rates
        ]

    def due_window(self, pay: int) -> tuple[int, int]:
        """Due dates (ordinals) of invoices a payment on day ``pay`` may settle on its amount."""
        s = self.settings
        return pay - s.date_window_days - s.bank_lag_days, pay + EARLY_DUE_DAYS

    def amount_peers(self, cur: str, amount: Decimal, pay: int) -> tuple[int, Sequence[int]]:
        """How many open invoices of exactly ``amount`` a payment on day ``pay`` may settle,
        and which: none when they are more than ``max_amount_candidates``.

        They are the bucket's invoices falling due within :meth:`due_window` plus those without
        any date, which may be due around any payment: both count towards the cap, so an
        undated invoice is proposed on its amount alone exactly when a dated one would be, and
        a bucket full of undated invoices costs two bisects, never a scan.
        """
        bucket = self.by_amount.get((cur, amount))
        if bucket is None:
            return 0, ()
        ids, dues = bucket
        lo_day, hi_day = self.due_window(pay)
        lo = bisect_left(dues, lo_day)
        hi = bisect_right(dues, hi_day)
        undated = bisect_left(dues, UNDATED, hi)  # undated invoices sort last
        count = hi - lo + len(ids) - undated
        if count > self.settings.max_amount_candidates:
            return count, ()
        return count, (*ids[lo:hi], *ids[undated:])

    def amount_payers(self, tx: PreparedTransaction, cur: str, amount: Decimal) -> list[int]:
        """Invoices of a common amount (too many for the amount alone) whose party the payer's
        name resembles, up to ``max_amount_candidates`` per party falling due closest to the
        payment.

        A subscription's customer has several open invoices of one amount, and so may others:
        the amount then identifies nothing, but amount *and* payer do, even when the name is
        spelt too differently for the word index (transliterated, cut). Bounded: at most
        ``MAX_TOKEN_POSTINGS`` parties per amount are compared (name ratios are cached).
        """
        key = (cur, amount)
        parties = self.amount_parties.get(key, {})
        if key not in self.amount_parties:
            ids, dues = self.by_amount.get(key, ((), ()))
            grouped: dict[str, tuple[list[int], list[int]]] = {}
            for i, due in zip(ids, dues, strict=True):  # sorted by due date: so is each party's list
                party_ids, party_dues = grouped.setdefault(self.invoices[i].cp_key, ([], []))
                party_ids.append(i)
                party_dues.append(due)
            parties = self.amount_parties[key] = grouped if len(grouped) <= MAX_TOKEN_POSTINGS else None
        if not parties or not tx.name:
            return []
        out: list[int] = []
        cache = self.name_cache
        for cp in sorted(parties):
            names = self.cp_names.get(cp, ())
            ck = payer_key(tx, cp)
            ratio = cache.get(ck)
            if ratio is None:
                ratio = cache[ck] = payer_ratio(tx, names)
            if ratio[0] >= NAME_MIN_RATIO:
                party_ids, party_dues = parties[cp]
                out.extend(self._closest(party_ids, party_dues, tx.pay, self.settings.max_amount_candidates))
        return out

    def _descriptor_parties(self, tx: PreparedTransaction) -> set[str]:
        """Counterparties a processor's payer name (cut, spaces dropped) may stand for: those
        whose compacted name starts it, or starts with its first words joined, and the few names
        next to it in sort order (a letter transliterated, "GRAEF" for "Gräf"). Bounded: a few
        words, a few names per prefix; ``signals.descriptor_ratio`` then decides."""
        words = tx.name.split()[:DESCRIPTOR_MAX_WORDS]
        payer = descriptor_key("".join(words))
        found: set[str] = set()
        for end in range(DESCRIPTOR_MIN_CHARS, len(payer) + 1):
            found.update(self.by_compact.get(payer[:end], ()))
        keys = self.compact_keys
        for k in range(len(words)):
            prefix = descriptor_key("".join(words[: k + 1]))
            if len(prefix) < DESCRIPTOR_MIN_CHARS:
                continue
            pos = bisect_left(keys, prefix)
            for key in keys[pos : pos + MAX_NAME_CANDIDATES]:
                if not key.startswith(prefix):
                    break
                found.update(self.by_compact[key])
            if k == 0:  # the neighbours in sort order: a transliterated or mistyped name
                for key in keys[max(0, pos - DESCRIPTOR_NEIGHBOURS) : pos + DESCRIPTOR_NEIGHBOURS]:
                    found.update(self.by_compact[key])
        return found

    def _walk_band(
        self, tx: PreparedTransaction, cur: str, amount: Decimal, found: set[int], skip: frozenset[str]
    ) -> None:
        """Add up to ``max_band_candidates`` invoices within ±5 %, closest amounts first.

        Unless min_score was lowered, a near amount needs a typo-level reference to become a
        candidate, so only invoices passing that cheap check are added.
        """
        need_fuzzy = W_AMOUNT * max(BEST_BAND_SCORE, SCORE_FEE) * AMOUNT_UNCORROBORATED < float(
            self.settings.min_score
        )
        amounts, ids = self.sorted_amounts[cur]
        lo_amt = amount / (1 + MAX_BAND)
        hi_amt = amount / (1 - MAX_BAND)
        pos = bisect_left(amounts, amount)
        lo, hi = pos - 1, pos
        taken = steps = 0
        cap = self.settings.max_band_candidates
        while taken < cap and steps < cap * 8:  # bounded even among incompatible invoices
            steps += 1
            go_lo = lo >= 0 and amounts[lo] >= lo_amt
            go_hi = hi < len(amounts) and amounts[hi] <= hi_amt
            if not (go_lo or go_hi):
                break
            if go_hi and (not go_lo or amounts[hi] - amount <= amount - amounts[lo]):
                j, hi = hi, hi + 1
            else:
                j, lo = lo, lo - 1
            i = ids[j]
            if amounts[j] == amount:
                continue  # the exact bucket already handled these
            inv = self.invoices[i]
            if i in found or not self.compatible(inv, tx):
                continue
            taken += 1  # the cap counts what was looked at, so the cost stays bounded
            if need_fuzzy and fuzzy_match(inv.fuzzy, tx.refs, skip) is None:
                continue
            found.add(i)

    def _reference_hits(self, tx: PreparedTransaction) -> tuple[set[int], set[int], set[str]]:
        """Invoices the text quotes: ``(exact, numeric, hit_strings)``.

        ``exact`` by a whole number key, a valid RF or the structured reference; ``numeric`` by
        the number's digits alone; ``hit_strings`` the text windows that hit (a typo search
        skips them). A key shared by more than ``MAX_KEY_POSTINGS`` invoices identifies none.
        """
        exact: set[int] = set()
        numeric: set[int] = set()
        hit_strings: set[str] = set()
        by_window = self.by_window
        for w in tx.refs.windows:
            hit = by_window.get(w)
            if hit is not None:
                full, digits_only = hit
                if full and len(full) <= MAX_KEY_POSTINGS:
                    exact.update(full)
                    hit_strings.add("".join(w))
                if digits_only and len(digits_only) <= MAX_KEY_POSTINGS:
                    numeric.update(digits_only)
                    hit_strings.add("".join(w))
        for rf, valid in tx.refs.rfs:
            if not valid:
                continue
            exact.update(self.by_rf.get(rf, ()))
            body = rf_body_keys(rf)
            exact.update(self.by_key.get(body, ()))
            exact.update(self.by_numeric.get(body, ()))
        if tx.sref:
            exact.update(self.by_sref.get(tx.sref, ()))
        return exact, numeric, hit_strings

    def _payer_counterparties(self, tx: PreparedTransaction) -> list[str]:
        """Counterparties the payer may be: those holding its account, else the closest names
        (up to ``MAX_NAME_CANDIDATES``) among the few sharing a distinctive word with it."""
        cps: list[str] = list(self.by_acct.get(tx.acct, ())) if tx.acct else []
        if cps or not tx.name:
            return cps
        seen: set[str] = set(self._descriptor_parties(tx)) if tx.cut_name else set()
        for tok in tx.name_tokens:
            posting = self.by_token.get(tok)
            if posting is not None and len(posting) <= MAX_TOKEN_POSTINGS:
                seen.update(posting)
        scored: list[tuple[float, str]] = []
        cache = self.name_cache
        for cp in sorted(seen):
            key = payer_key(tx, cp)
            ratio = cache.get(key)
            if ratio is None:
                ratio = cache[key] = payer_ratio(tx, self.cp_names[cp])
            if ratio[0] >= NAME_MIN_RATIO:
                scored.append((-ratio[0], cp))
        if not scored:
            return cps
        scored.sort()
        best = -scored[0][0]
        return [cp for r, cp in scored[:MAX_NAME_CANDIDATES] if -r >= best - NAME_SLACK]

    def _add_pool_hits(
        self,
        tx: PreparedTransaction,
        pool: list[int],
        found: set[int],
        skip: frozenset[str],
        fuzzy_possible: bool,
    ) -> None:
        """Add the payer's invoices (``pool``) worth scoring 1:1 to ``found``.

        Pool invoices are scored for 1:1 only when the amount is near (±5 %) or within fee
        tolerance, or the text has a typo-level reference to them: counterparty evidence
        alone cannot reach min_score. Floats are fine here: this only pre-filters.
        """
        s, invs = self.settings, self.invoices
        fee_fixed, fee_pct = self.fee_fixed_f, self.fee_pct_f
        processor_fixed, processor_pct = self.processor_fixed_f, self.processor_pct_f
        for i in pool:
            if i in found:
                continue
            inv = invs[i]
            if fuzzy_possible and fuzzy_match(inv.fuzzy, tx.refs, skip) is not None:
                found.add(i)
                continue
            if inv.currency == tx.currency:
                paid = tx.avail_f
            else:
                rate = fx_rate(s, tx.currency, inv.currency)
                if rate is None:
                    continue
                paid = tx.avail_f * float(rate)
            outstanding = inv.out_f
            diff = outstanding - paid
            if (
                abs(diff) <= BAND_F * outstanding
                or 0 < diff <= max(fee_fixed, outstanding * fee_pct)
                or (tx.processor and 0 < diff <= outstanding * processor_pct + processor_fixed + 0.01)
            ):
                found.add(i)

    # -- main entry ------------------------------------------------------------------------

    def candidates(
        self, tx: PreparedTransaction, rejected: frozenset[tuple[str, str]] | Rejections
    ) -> TxCandidates:
        """Invoices to score for ``tx``; see the module docstring for the blocking keys."""
        s = self.settings
        invs = self.invoices
        # 1) references: whole-word windows of the text against the number keys
        exact, numeric, hit_strings = self._reference_hits(tx)
        found: set[int] = exact | numeric
        # 2) counterparty: an account match is decisive; otherwise the best fuzzy names among
        # the few counterparties sharing a distinctive word with the payer name.
        cps = self._payer_counterparties(tx)
        pool: list[int] = []
        for cp in cps:
            pool.extend(self._closest(self.cp_invoices[cp], self.cp_due[cp], tx.pay, s.max_subset_candidates))
        fuzzy_possible = bool(tx.refs.fuzzy_by_len) and not found
        skip = frozenset(hit_strings)
        self._add_pool_hits(tx, pool, found, skip, fuzzy_possible)
        # 3) amounts: the exact bucket, when the amount identifies something: if more than
        # max_amount_candidates invoices with that amount fall due around the payment date or
        # have no dates, an amount-only match would be a coin toss (round sums, subscriptions),
        # so only the counterparty and reference paths above can propose them.
        # The ±5 % band: a near amount alone counts half and stays below min_score (unless
        # a person lowered it), so it is only walked with typo candidates to pair it with.
        min_score = float(s.min_score)
        walk_band = fuzzy_possible or (
            W_AMOUNT * max(BEST_BAND_SCORE, SCORE_FEE) * AMOUNT_UNCORROBORATED >= min_score
        )
        for cur, amount in self._target_currencies(tx):
            count, peers = self.amount_peers(cur, amount, tx.pay)
            found.update(peers)
            if count > s.max_amount_candidates:
                found.update(self.amount_payers(tx, cur, amount))
            if amount > 0 and walk_band:
                self._walk_band(tx, cur, amount, found, skip)
        compatible = self.compatible
        out = [i for i in sorted(found) if compatible(invs[i], tx)]
        if rejected:
            kept = [i for i in out if (invs[i].id, tx.id) not in rejected]
            self.rejected_skipped += len(out) - len(kept)
            out = kept
        return TxCandidates(
            invoices=out,
            exact_hits=frozenset(exact),
            ref_hits=frozenset(exact | numeric),
            hit_strings=frozenset(hit_strings),
            counterparties=tuple(cps),
            pool=pool,
        )

    def why_unreached(self, i: int, tx: PreparedTransaction, c: TxCandidates) -> Reason:
        """Why :meth:`candidates` did not return invoice ``i`` for ``tx`` (a compatible pair).

        Blocking bounds the work per transaction, so a pair may score above ``min_score`` and
        still not be a candidate: the reason names the bound that left it out.
        """
        inv = self.invoices[i]
        windows = tx.refs.windows
        for key in inv.keys:
            posting = self.by_key.get(key, ())
            if key in windows and len(posting) > MAX_KEY_POSTINGS:
                return blocker_reason("blocking.reference_common", key="".join(key), count=len(posting))
        if inv.numeric is not None and inv.numeric in windows:
            posting = self.by_numeric.get(inv.numeric, ())
            if len(posting) > MAX_KEY_POSTINGS:
                return blocker_reason("blocking.reference_common", key=inv.numeric[0], count=len(posting))
        for cur, amount in self._target_currencies(tx):
            if cur != inv.currency or amount != inv.outstanding:
                continue
            lo_day, hi_day = self.due_window(tx.pay)
            if inv.due is not None and not lo_day <= inv.due <= hi_day:
                return blocker_reason("blocking.amount_date", due=day_text(inv.due), pay=day_text(tx.pay))
            count, _ = self.amount_peers(cur, amount, tx.pay)
            return blocker_reason("blocking.amount_common", count=count, amount=format_money(amount, cur))
        if inv.cp_key in c.counterparties:
            return blocker_reason(
                "blocking.payer_pool",
                party=inv.src.counterparty_name or "The payer",
                cap=self.settings.max_subset_candidates,
            )
        return blocker_reason("blocking.not_reached")
