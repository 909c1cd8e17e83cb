"""Per-pair signals and how they combine into one confidence.

Four signals, each a sub-score in [0, 1]:

============  ======  ===========================================================
signal        weight  sub-scores
============  ======  ===========================================================
amount        0.45    exact 1.0 · within fee tolerance (underpayment) 0.9 ·
                      ≤1 % 0.6 · ≤2 % 0.45 · ≤5 % 0.25 · partial / overpaid 0.0
reference     0.55    valid RF equal or embedding the number 1.0 · structured
                      reference 1.0 · invoice number as whole word(s) 1.0 ·
                      digits without prefix (≥4 significant) 0.8 · one typo
                      (≥6 chars) 0.5 · invalid RF / none 0.0
counterparty  0.50    IBAN/account equal 1.0 · name similarity (token_set_ratio)
                      ≥95 0.55, ≥85 0.45, ≥75 0.30; ×0.8 when the name is only
                      found in the description
date          ×0.8–1  multiplier 0.8 + 0.2·score: in terms 1.0 · late: 1.0→0.4
                      over the window · >window 0 · ≤30 days before issue 0.3,
                      earlier 0 · no dates 0.8
============  ======  ===========================================================

``evidence = 0.45·amount + 0.55·reference + 0.50·counterparty``, where counterparty counts
half when neither amount nor reference agree (it says *who* paid, not *what for*), and a
non-exact amount (near band or fee) counts half when neither reference nor counterparty agree
(a random invoice is often within a few euros of any payment);
``confidence = min(1, evidence × (0.8 + 0.2·date))``, then ×0.6 when the transaction quotes
another open invoice's number but not this one's, and ×0.8 when the payment exceeds the
outstanding by more than 5 % (usually one payment for several invoices).
Consequences, by construction:

* exact amount + invoice number → 1.0; exact amount + IBAN, paid in terms → 0.95;
* exact amount alone → 0.45 (a suggestion, never auto); a near or fee amount alone → ≤ 0.21
  and any counterparty alone → ≤ 0.25, i.e. below the default ``min_score`` 0.30;
* a reference alone (partial payment) → 0.55: proposed, the invoice stays partly open.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from common.finance import format_money, is_valid_rf
from common.finance.labels import excerpt, invoice_label
from common.finance.terms import discounted_amounts

from .caches import run_cache
from .normalize import (
    FUZZY_MIN_CHARS,
    LEGAL_SUFFIXES,
    MAX_KEY_ATOMS,
    TextRefs,
    compact,
    fold_transliterations,
    invoice_keys,
    name_tokens,
    normalize_account,
    normalize_name,
    rf_body_keys,
    text_refs,
)
from .parallel import PicklesAsTuple
from .payer_labels import labelled_payer
from .processors import find_processor
from .types import (
    EngineSettings,
    InvoiceInput,
    PairScore,
    Reason,
    SignalScore,
    TransactionInput,
)

W_AMOUNT = 0.45
W_REFERENCE = 0.55
W_COUNTERPARTY = 0.50
DATE_FLOOR = 0.80  # the date multiplier runs from DATE_FLOOR (implausible) to 1.0 (in terms)
OTHER_REF_FACTOR = 0.6
OVERPAY_FACTOR = 0.8
CP_UNCORROBORATED = 0.5
AMOUNT_UNCORROBORATED = 0.5

AMOUNT_BANDS: tuple[tuple[Decimal, float], ...] = (
    (Decimal("0.01"), 0.6),
    (Decimal("0.02"), 0.45),
    (Decimal("0.05"), 0.25),
)
MAX_BAND = AMOUNT_BANDS[-1][0]
FX_ROUNDING_CENT = Decimal("0.01")
FX_ROUNDING_SHARE = Decimal("0.0005")  # 0.05 % of the outstanding, only for converted amounts
SCORE_EXACT = 1.0
SCORE_FEE = 0.9
#: Amount kinds that settle the invoice in full: the payment (plus a fee or the discount the
#: terms grant) covers what is outstanding.
SETTLING_AMOUNTS = frozenset({"amount.exact", "amount.fee", "amount.discount_taken", "amount.processor_fee"})
#: Words that say a payer took an early-payment discount (EN, DE, NL, FR, IT, ES) or quote US
#: trade terms ("2/10"): a text with one supports a discount match (see ``_discount_words``).
DISCOUNT_WORDS_RE = re.compile(
    r"(?<![A-Z0-9])(?:SKONTO|DISCOUNT|DISC|KORTING|BETALINGSKORTING|ESCOMPTE|SCONTO|DESCUENTO|"
    r"\d{1,2}(?:[.,]\d{1,2})?\s?/\s?\d{1,3}(?:\s?N(?:ET)?\s?/?\s?\d{1,3})?)(?![A-Z0-9])"
)
REF_SCORES = {
    "rf.match": 1.0,
    "rf.embedded": 1.0,
    "ref.structured": 1.0,
    "ref.exact": 1.0,
    "ref.numeric": 0.8,
    "ref.fuzzy": 0.5,
}
#: reference kinds that count as independent evidence for auto-confirmation
STRONG_REFS = frozenset({"rf.match", "rf.embedded", "ref.structured", "ref.exact", "ref.numeric"})
NAME_BANDS: tuple[tuple[float, float], ...] = ((95.0, 0.55), (85.0, 0.45), (75.0, 0.30))
DESCRIPTION_NAME_FACTOR = 0.8
EARLY_GRACE_DAYS = 30
DATE_UNKNOWN = 0.8
DATE_EARLY = 0.3
DATE_LATE_END = 0.4

ZERO = Decimal("0")
HUNDRED = Decimal("100")
Q4 = Decimal("0.0001")


_W_A = Decimal(str(W_AMOUNT))
_W_R = Decimal(str(W_REFERENCE))
_W_C = Decimal(str(W_COUNTERPARTY))
_W_D = Decimal(str(round(1 - DATE_FLOOR, 2)))  # the date's share of the multiplier
_BP_DECIMALS = [Decimal(k).scaleb(-4) for k in range(10001)]  # 0.0000 .. 1.0000, reused


def to_bp(x: float) -> int:
    """Confidence as integer basis points; integers keep comparisons and sums exact."""
    return int(x * 10000 + 0.5)


def bp_decimal(bp: int) -> Decimal:
    """Basis points back to a 4-dp Decimal."""
    return _BP_DECIMALS[bp] if 0 <= bp <= 10000 else Decimal(bp).scaleb(-4)


def dec4(x: float) -> Decimal:
    """A float sub-score as a 4-dp Decimal."""
    return bp_decimal(to_bp(x))


# --- prepared records -------------------------------------------------------------------------


@run_cache(maxsize=65536)
def _party_names(name: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
    """Normalised, de-duplicated name and aliases (cached: parties repeat across invoices)."""
    names = [normalize_name(name), *(normalize_name(a) for a in aliases)]
    return tuple(dict.fromkeys(n for n in names if len(n) >= 3))


@run_cache(maxsize=65536)
def _name_tokens(name: str) -> tuple[str, ...]:
    return name_tokens(name)


class PreparedInvoice:
    """An invoice with everything the signals need precomputed."""

    __slots__ = (
        "src", "idx", "id", "outstanding", "currency", "direction", "keys", "numeric",
        "fuzzy", "rf", "sref", "acct", "accts", "cp_key", "names", "issue", "due", "out_f",
        "discount_until", "discounted",
    )  # fmt: skip

    def __init__(self, src: InvoiceInput, idx: int) -> None:
        self.src = src
        self.idx = idx
        self.id = src.id
        self.outstanding = src.outstanding
        self.out_f = float(src.outstanding)  # for cheap pre-filters only, never for decisions
        self.currency = src.currency.upper()
        self.direction = src.direction
        keys, numeric = invoice_keys(src.number)
        self.fuzzy = tuple(sorted({j for j in map("".join, keys) if len(j) >= FUZZY_MIN_CHARS}))
        sref = compact(src.structured_reference) if src.structured_reference else ""
        self.rf = sref if sref and is_valid_rf(sref) else ""
        # A non-RF structured reference is matched like another invoice number.
        if sref and not self.rf:
            skeys, _ = invoice_keys(src.structured_reference)
            keys = keys + tuple(k for k in skeys if k not in keys)
        self.keys = keys
        self.numeric = numeric
        self.sref = sref if len(sref) >= 4 else ""
        self.acct = normalize_account(src.counterparty_account) if src.counterparty_account else ""
        # Accounts and names belong to the counterparty; reconcile() widens both to every
        # spelling and account seen on any of that counterparty's invoices.
        self.accts: frozenset[str] = frozenset((self.acct,)) if self.acct else frozenset()
        if src.counterparty_accounts:
            more = (normalize_account(a) for a in src.counterparty_accounts)
            self.accts = self.accts | frozenset(a for a in more if a)
        self.names = _party_names(src.counterparty_name, src.counterparty_aliases)
        self.cp_key = (
            "id:" + src.counterparty_id
            if src.counterparty_id
            else ("acct:" + self.acct if self.acct else "name:" + (self.names[0] if self.names else ""))
        )
        issue = src.issue_date.toordinal() if src.issue_date else None
        due = src.due_date.toordinal() if src.due_date else None
        self.issue = issue if issue is not None else due
        self.due = due if due is not None else issue
        # Early-payment discount: the last day (ordinal) of the discount period, counted from
        # the issue date (common.finance.terms), and what a payer taking it pays.
        self.discount_until: int | None = None
        self.discounted: tuple[Decimal, ...] = ()
        if src.discount_percent is not None and src.discount_days is not None and issue is not None:
            self.discount_until = issue + src.discount_days
            self.discounted = discounted_amounts(src.outstanding, src.discount_percent, self.currency)


def share_counterparty_facts(invoices: list[PreparedInvoice]) -> None:
    """Give every invoice of a counterparty all accounts and names known for it.

    Otherwise an invoice whose row lacks the IBAN would look weaker than its sibling with the
    same amount, and the sibling could be auto-confirmed although the two are indistinct.
    """
    accts: dict[str, set[str]] = {}
    names: dict[str, dict[str, None]] = {}
    for inv in invoices:
        accts.setdefault(inv.cp_key, set()).update(inv.accts)
        names.setdefault(inv.cp_key, {}).update(dict.fromkeys(inv.names))
    frozen = {k: frozenset(v) for k, v in accts.items()}
    name_t = {k: tuple(sorted(v)) for k, v in names.items()}
    for inv in invoices:
        inv.accts = frozen[inv.cp_key]
        inv.names = name_t[inv.cp_key]


_NO_REFS = TextRefs(frozenset(), {}, ())


class PreparedTransaction:
    """A transaction with its text tokenised once."""

    __slots__ = (
        "src", "idx", "id", "sign", "avail", "avail_f", "currency", "pay", "refs", "sref", "acct",
        "name", "name_from_desc", "name_tokens", "processor", "cut_name",
    )  # fmt: skip

    def tokenize(self, max_atoms: int = MAX_KEY_ATOMS) -> TextRefs:
        """Reference windows, typo candidates and RF references of the text fields."""
        src = self.src
        return text_refs(
            src.description,
            src.structured_reference,
            src.end_to_end_id,
            src.external_id,
            max_atoms=max_atoms,
        )

    def __init__(
        self, src: TransactionInput, idx: int, max_atoms: int = MAX_KEY_ATOMS, tokenize: bool = True
    ) -> None:
        self.src = src
        self.idx = idx
        self.id = src.id
        self.sign = 1 if src.amount > 0 else (-1 if src.amount < 0 else 0)
        self.avail = abs(src.amount) if src.unallocated is None else abs(src.unallocated)
        self.currency = src.currency.upper()
        self.pay = (src.value_date or src.booking_date).toordinal()
        # Windows longer than the longest invoice key can never match: max_atoms bounds them.
        # reconcile() tokenises lazily, one transaction at a time (see tokenize()), so the
        # full window sets of 100k transactions never coexist in memory.
        self.refs: TextRefs = self.tokenize(max_atoms) if tokenize else _NO_REFS
        self.sref = compact(src.structured_reference) if src.structured_reference else ""
        self.acct = normalize_account(src.counterparty_account) if src.counterparty_account else ""
        # Through a payment processor the sender is the processor: the payer is the name after
        # its prefix ("PAYPAL *ACMEGMBH"), matched as a payer name (engine/processors.py).
        found = find_processor(src.description, src.counterparty_name)
        self.processor = found.processor if found is not None else ""
        name = normalize_name(found.payer) if found is not None else normalize_name(src.counterparty_name)
        self.name_from_desc = not name
        # A name cut by a field's length (a processor's descriptor, a labelled payer) is
        # compared by its start, as a descriptor is (descriptor_ratio).
        self.cut_name = bool(self.processor)
        if not name and src.description:
            # A US or UK export prints the payer after a label ("ORIG CO NAME:", "B/O:",
            # "FROM"), cut to its field's length: that name, not the whole text
            # (engine/payer_labels.py).
            labelled = labelled_payer(src.description)
            if labelled:
                name = normalize_name(labelled)
                self.cut_name = bool(name)
        # Descriptions are nearly all distinct: normalise them without filling the cache.
        self.name = name or normalize_name.__wrapped__(src.description)
        self.name_tokens = _name_tokens(self.name)
        self.avail_f = float(self.avail)  # for cheap pre-filters only, never for decisions


# --- evaluation -------------------------------------------------------------------------------


@dataclass(slots=True)
class PairEvidence(PicklesAsTuple):
    """Raw outcome of scoring one pair; turned into Reasons only when explained."""

    bp: int = 0
    blockers: tuple[str, ...] = ()
    converted: Decimal = ZERO  # transaction amount in invoice currency
    rate: Decimal | None = None
    outstanding: Decimal = ZERO
    amount_kind: str = "amount.none"
    amount_score: float = 0.0
    band: Decimal = ZERO
    fee: Decimal = ZERO
    alloc_tx: Decimal = ZERO
    alloc_inv: Decimal = ZERO
    reference_kind: str = "ref.none"
    reference_score: float = 0.0
    reference_detail: str = ""
    invalid_rf: str = ""
    counterparty_kind: str = "cp.none"
    counterparty_score: float = 0.0
    counterparty_ratio: float = 0.0
    counterparty_name_matched: str = ""
    counterparty_halved: bool = False
    amount_halved: bool = False
    date_kind: str = "date.unknown"
    date_points: float = DATE_UNKNOWN
    date_days: int = 0
    other_ref: bool = False
    discount: Decimal = ZERO  # early-payment discount taken (invoice currency)
    discount_text: bool = False  # the text says a discount was taken ("Skonto", "2/10")

    @property
    def independent(self) -> bool:
        """Evidence beyond the amount that a person could not get by coincidence."""
        return self.reference_kind in STRONG_REFS or self.counterparty_kind == "cp.account"

    @property
    def strong_ref(self) -> bool:
        """A reference (not just an account) ties the payment to this invoice."""
        return self.reference_kind in STRONG_REFS

    @property
    def settles(self) -> bool:
        """True when this allocation leaves nothing open (exact, or with a fee)."""
        return self.amount_kind in SETTLING_AMOUNTS or (self.alloc_inv >= self.outstanding)


def fx_rate(settings: EngineSettings, tx_cur: str, inv_cur: str) -> Decimal | None:
    """Rate converting transaction currency into invoice currency, if known."""
    if tx_cur == inv_cur:
        return Decimal(1)
    rates = settings.fx_rates
    if (tx_cur, inv_cur) in rates:
        return Decimal(rates[(tx_cur, inv_cur)])
    back = rates.get((inv_cur, tx_cur))
    if back:
        try:
            return Decimal(1) / Decimal(back)
        except (InvalidOperation, ZeroDivisionError):
            return None
    return None


def fee_tolerance(settings: EngineSettings, outstanding: Decimal) -> Decimal:
    """Largest underpayment absorbed as a fee: the larger of the fixed and percent limits."""
    pct = outstanding * settings.fee_tolerance_percent / HUNDRED
    return max(settings.fee_tolerance_fixed, pct)


def processor_fee_tolerance(settings: EngineSettings, outstanding: Decimal) -> Decimal:
    """Largest processor fee on a sale of ``outstanding``: the percent plus the fixed part
    (processors charge both on every sale, unlike a bank's either-or tolerance)."""
    return outstanding * settings.processor_fee_percent / HUNDRED + settings.processor_fee_fixed


def in_discount_period(inv: PreparedInvoice, pay: int, settings: EngineSettings) -> bool:
    """Paid by the end of the discount period (issue date + discount days), plus bank lag."""
    return inv.discount_until is not None and pay <= inv.discount_until + settings.bank_lag_days


def _discount_words(tx: PreparedTransaction) -> bool:
    """The payment's text says it took a discount (see ``DISCOUNT_WORDS_RE``)."""
    src = tx.src
    return any(
        DISCOUNT_WORDS_RE.search(text.upper()) for text in (src.description, src.structured_reference) if text
    )


def hard_blockers(
    inv: PreparedInvoice,
    tx: PreparedTransaction,
    settings: EngineSettings,
    rejected: bool,
    *,
    payer_rejected: bool = False,
) -> tuple[tuple[str, ...], Decimal | None]:
    """Reasons the pair can never be a candidate, plus the FX rate if currencies differ.

    ``rejected``: people rejected this very pair; ``payer_rejected``: they rejected the
    invoice's customer for this payer again and again (``payers.Rejections``)."""
    out: list[str] = []
    rate = fx_rate(settings, tx.currency, inv.currency)
    if rate is None:
        out.append("currency.mismatch")
    if inv.direction == "receivable" and tx.sign < 0:
        out.append("direction.receivable_debit")
    elif inv.direction == "payable" and tx.sign > 0:
        out.append("direction.payable_credit")
    if inv.outstanding <= 0:
        out.append("invoice.settled")
    if tx.avail <= 0 or tx.sign == 0:
        out.append("transaction.allocated")
    if rejected:
        out.append("pair.rejected")
    elif payer_rejected:
        out.append("payer.rejected")
    return tuple(out), rate


def _quantum(x: Decimal) -> Decimal:
    """Minor unit to round converted amounts to: at least cents, finer if the data is."""
    exp = x.as_tuple().exponent
    return Decimal(1).scaleb(min(exp if isinstance(exp, int) else -2, -2))


def _amount(
    ev: PairEvidence, inv: PreparedInvoice, tx: PreparedTransaction, settings: EngineSettings, rate: Decimal
) -> None:
    out = ev.outstanding
    if rate == 1:
        paid = tx.avail
    else:
        paid = (tx.avail * rate).quantize(_quantum(out), rounding=ROUND_HALF_EVEN)
    ev.converted = paid
    ev.rate = None if rate == 1 else rate
    if out <= 0 or paid <= 0:
        return
    diff = paid - out
    if diff == 0 or (rate != 1 and abs(diff) <= FX_ROUNDING_CENT + out * FX_ROUNDING_SHARE):
        # Converted amounts rarely land on the cent: a rate with 3-4 decimals and the bank's
        # rounding leave a few cents, which still count as exact after conversion.
        ev.amount_kind, ev.amount_score = "amount.exact", SCORE_EXACT
        diff = ZERO
    elif (
        rate == 1
        and out == inv.outstanding  # not a later round's remaining amount: terms are on the invoice's
        and paid in inv.discounted
        and in_discount_period(inv, tx.pay, settings)
    ):
        # The early-payment discount the terms grant, taken in time: an exact match; the
        # difference is the discount, settled with the payment.
        ev.amount_kind, ev.amount_score, ev.discount = "amount.discount_taken", SCORE_EXACT, -diff
        ev.discount_text = _discount_words(tx)
    elif diff < 0 and -diff <= fee_tolerance(settings, out):
        ev.amount_kind, ev.amount_score, ev.fee = "amount.fee", SCORE_FEE, -diff
    elif diff < 0 and tx.processor and -diff <= processor_fee_tolerance(settings, out):
        ev.amount_kind, ev.amount_score, ev.fee = "amount.processor_fee", SCORE_FEE, -diff
    else:
        rel = abs(diff) / out
        for band, score in AMOUNT_BANDS:
            if rel <= band:
                ev.amount_kind, ev.amount_score, ev.band = "amount.near", score, band
                break
        else:
            ev.amount_kind = "amount.partial" if diff < 0 else "amount.over"
    if diff == 0:
        ev.alloc_inv, ev.alloc_tx = out, tx.avail  # exact (after FX rounding): settles in full
    elif diff < 0:
        ev.alloc_inv, ev.alloc_tx = paid, tx.avail
    else:
        ev.alloc_inv = out
        if rate == 1:
            ev.alloc_tx = out
        else:
            ev.alloc_tx = min(tx.avail, (out / rate).quantize(_quantum(tx.avail)))


def _reference(
    ev: PairEvidence, inv: PreparedInvoice, tx: PreparedTransaction, skip_fuzzy: Collection[str]
) -> None:
    refs = tx.refs
    for rf, valid in refs.rfs:
        if not valid:
            ev.invalid_rf = ev.invalid_rf or rf
            continue
        if inv.rf and rf == inv.rf:
            ev.reference_kind, ev.reference_detail = "rf.match", rf
            break
        body = rf_body_keys(rf)
        if body and (body in inv.keys or body == inv.numeric):
            ev.reference_kind, ev.reference_detail = "rf.embedded", rf
            break
    else:
        windows = refs.windows
        if inv.sref and tx.sref == inv.sref:
            ev.reference_kind, ev.reference_detail = "ref.structured", inv.src.structured_reference
        elif any(k in windows for k in inv.keys):
            ev.reference_kind = "ref.exact"
        elif inv.numeric is not None and inv.numeric in windows:
            ev.reference_kind, ev.reference_detail = "ref.numeric", inv.numeric[0]
        else:
            found = fuzzy_match(inv.fuzzy, refs, skip_fuzzy)
            if found is not None:
                ev.reference_kind, ev.reference_detail = "ref.fuzzy", found
    ev.reference_score = REF_SCORES.get(ev.reference_kind, 0.0)


def fuzzy_match(keys: tuple[str, ...], refs: TextRefs, skip: Collection[str]) -> str | None:
    """Text run within one edit (incl. swapped neighbours) of an invoice-number key."""
    by_len = refs.fuzzy_by_len
    if not keys or not by_len:
        return None
    for fk in keys:
        # One edit changes the length by at most one: only those buckets are compared.
        n = len(fk)
        for cand in (*by_len.get(n - 1, ()), *by_len.get(n, ()), *by_len.get(n + 1, ())):
            if cand in skip:
                continue  # that text is exactly another open invoice's number
            if OSA.distance(fk, cand, score_cutoff=1) <= 1:
                return cand
    return None


def name_ratio(tx_name: str, names: tuple[str, ...]) -> tuple[float, str]:
    """Best token_set_ratio of the payer name against the invoice party's names."""
    best, best_name = 0.0, ""
    if len(tx_name) < 3:
        return best, best_name
    for n in names:
        r = fuzz.token_set_ratio(tx_name, n, score_cutoff=best or None)
        if r > best:
            best, best_name = r, n
    return best, best_name


DESCRIPTOR_MIN_CHARS = 4  # a descriptor name shorter than this (compacted) matches nothing
DESCRIPTOR_PREFIX_CHARS = 8  # a cut name must share this many characters with the party's
DESCRIPTOR_FUZZY_CHARS = 10  # ... and this many to count when nearly (not exactly) equal
DESCRIPTOR_FULL = 95.0  # a cut descriptor name that starts the party's name, or the reverse
DESCRIPTOR_CLOSE = 85.0  # fuzz.ratio of both cut to the shorter, for a near prefix (scored 85)


def descriptor_key(name: str) -> str:
    """A normalised name as descriptors are compared: no spaces, transliterations folded."""
    return fold_transliterations(name.replace(" ", ""))


def _descriptor_forms(payer: str) -> list[str]:
    """The payer's first words joined without spaces (1, 2, ... words), each also without a
    trailing legal-form suffix ("ACMEGMBH" -> "acme"), as party names are normalised."""
    words = payer.split()
    forms: list[str] = []
    for k in range(len(words)):
        joined = descriptor_key("".join(words[: k + 1]))
        forms.append(joined)
        for suffix in LEGAL_SUFFIXES:
            stem = len(joined) - len(suffix)
            if len(suffix) >= 2 and joined.endswith(suffix) and stem >= DESCRIPTOR_MIN_CHARS:
                forms.append(joined[:stem])
    return forms


def descriptor_ratio(payer: str, names: tuple[str, ...]) -> tuple[float, str]:
    """How well a processor descriptor's payer names one of the party's names.

    Card networks cut a descriptor to 22 characters and many drop the spaces
    ("PAYPAL *OAKBLAUMANUFAC"), and a payout line may go on after the name ("... TRN"): the
    best of the usual ``name_ratio`` and a comparison of the payer's first words joined (see
    ``_descriptor_forms``) with the party's name without spaces, transliterations folded
    (``descriptor_key``: "VOEGELE" is "Vögele"): equal 100; one starting the
    other, sharing at least 8 characters, 95; nearly so (a transliteration, "GRAEF" for
    "Gräf", or a typo: ``fuzz.ratio`` >= 85 over at least 10 characters) 85. The shared start
    must go beyond the party's first word (or be its whole name): "LEHMANN" for "Lehmann
    Druckerei" or "GEBRUEDER" for "Gebrüder Wagner" is a surname or a common word, not a name.
    """
    best, best_name = name_ratio(payer, names)
    forms = _descriptor_forms(payer)
    for n in names:
        party = descriptor_key(n)
        first_word = len(descriptor_key(n.split(" ", 1)[0]))
        for form in forms:
            common = min(len(party), len(form))
            if form == party and common >= DESCRIPTOR_MIN_CHARS:
                ratio = 100.0
            elif common <= first_word and common < len(party):
                continue  # only the party's first word: a surname or a common word, not a name
            elif common >= DESCRIPTOR_PREFIX_CHARS and (party.startswith(form) or form.startswith(party)):
                ratio = DESCRIPTOR_FULL
            elif (
                common >= DESCRIPTOR_FUZZY_CHARS
                and fuzz.ratio(form[:common], party[:common]) >= DESCRIPTOR_CLOSE
            ):
                ratio = DESCRIPTOR_CLOSE
            else:
                continue
            if ratio > best:
                best, best_name = ratio, n
    return best, best_name


def payer_ratio(tx: PreparedTransaction, names: tuple[str, ...]) -> tuple[float, str]:
    """The payer's name against a party's names (a name cut by its field as a descriptor)."""
    return descriptor_ratio(tx.name, names) if tx.cut_name else name_ratio(tx.name, names)


def payer_key(tx: PreparedTransaction, cp_key: str) -> tuple[str, str]:
    """Cache key of :func:`payer_ratio`: a descriptor is compared differently from a name."""
    return ("*" + tx.name, cp_key) if tx.cut_name else (tx.name, cp_key)


def _counterparty(
    ev: PairEvidence,
    inv: PreparedInvoice,
    tx: PreparedTransaction,
    cache: dict[tuple[str, str], tuple[float, str]] | None,
) -> None:
    if tx.acct and tx.acct in inv.accts:
        ev.counterparty_kind, ev.counterparty_score = "cp.account", 1.0
        return
    if not inv.names or not tx.name:
        ev.counterparty_kind = "cp.unknown"
        return
    if cache is not None:
        key = payer_key(tx, inv.cp_key)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = payer_ratio(tx, inv.names)
    else:
        hit = payer_ratio(tx, inv.names)
    ratio, matched = hit
    ev.counterparty_ratio, ev.counterparty_name_matched = ratio, matched
    for cut, score in NAME_BANDS:
        if ratio >= cut:
            if tx.name_from_desc:
                ev.counterparty_kind, ev.counterparty_score = (
                    "cp.name_description",
                    score * DESCRIPTION_NAME_FACTOR,
                )
            else:
                ev.counterparty_kind, ev.counterparty_score = "cp.name", score
            return


def date_score(inv: PreparedInvoice, pay: int, settings: EngineSettings) -> tuple[str, float, int]:
    """Date kind, sub-score and the day count used in the explanation."""
    if inv.issue is None or inv.due is None:
        return "date.unknown", DATE_UNKNOWN, 0
    lag = settings.bank_lag_days
    start = inv.issue - lag
    end = inv.due + lag
    if pay < start:
        early = inv.issue - pay
        return "date.before_issue", (DATE_EARLY if early <= EARLY_GRACE_DAYS + lag else 0.0), early
    if pay <= end:
        return "date.in_terms", 1.0, 0
    late = pay - inv.due
    window = max(1, settings.date_window_days)
    if pay - end > window:
        return "date.outside_window", 0.0, late
    return "date.late", 1.0 - (1.0 - DATE_LATE_END) * (pay - end) / window, late


def combine(ev: PairEvidence) -> float:
    """The documented confidence formula (see module docstring)."""
    c = ev.counterparty_score
    a = ev.amount_score
    if c and a == 0 and ev.reference_score == 0:
        c *= CP_UNCORROBORATED
        ev.counterparty_halved = True
    if a and a < SCORE_EXACT and ev.reference_score == 0 and ev.counterparty_score == 0:
        a *= AMOUNT_UNCORROBORATED
        ev.amount_halved = True
    evidence = W_AMOUNT * a + W_REFERENCE * ev.reference_score + W_COUNTERPARTY * c
    conf = min(1.0, evidence * (DATE_FLOOR + (1.0 - DATE_FLOOR) * ev.date_points))
    if ev.other_ref and ev.reference_score == 0:
        conf *= OTHER_REF_FACTOR
    if ev.amount_kind == "amount.over":
        conf *= OVERPAY_FACTOR  # more money than owed: usually several invoices, or an error
    return conf


GROUP_DISCOUNT_BASE = 0.95
GROUP_DISCOUNT_STEP = 0.05
GROUP_DISCOUNT_FLOOR = 0.6


def group_confidence(a: float, r: float, c: float, d: float, size: int, all_referenced: bool) -> float:
    """Confidence of one payment settling ``size`` invoices (1:N).

    Same formula as a pair, on the group's amount score (sum exact 1.0, within fee 0.9) and
    the members' mean reference, counterparty and date scores. Unless every invoice is
    referenced, a coincidence discount ``0.95 - 0.05·size`` (2 -> 0.85, 5 -> 0.70) applies:
    the more invoices, the likelier an accidental sum.
    """
    if a == 0 and r == 0:
        c *= CP_UNCORROBORATED
    evidence = W_AMOUNT * a + W_REFERENCE * r + W_COUNTERPARTY * c
    conf = min(1.0, evidence * (DATE_FLOOR + (1.0 - DATE_FLOOR) * d))
    if not all_referenced:
        conf *= max(GROUP_DISCOUNT_FLOOR, GROUP_DISCOUNT_BASE - GROUP_DISCOUNT_STEP * size)
    return conf


def evaluate(
    inv: PreparedInvoice,
    tx: PreparedTransaction,
    settings: EngineSettings,
    *,
    rate: Decimal | None,
    outstanding: Decimal | None = None,
    other_ref: bool = False,
    skip_fuzzy: Collection[str] = (),
    name_cache: dict[tuple[str, str], tuple[float, str]] | None = None,
) -> PairEvidence:
    """Score a pair that passed the hard blockers (currency, direction, rejection)."""
    ev = PairEvidence(outstanding=inv.outstanding if outstanding is None else outstanding)
    if rate is not None:
        _amount(ev, inv, tx, settings, rate)
    else:
        ev.amount_kind = "amount.not_comparable"  # only reachable through score_pair's explanation
    _reference(ev, inv, tx, skip_fuzzy)
    _counterparty(ev, inv, tx, name_cache)
    ev.date_kind, ev.date_points, ev.date_days = date_score(inv, tx.pay, settings)
    ev.other_ref = other_ref
    ev.bp = to_bp(combine(ev))
    return ev


# --- explanation ------------------------------------------------------------------------------

#: Longest reason message: the longest sentence with every quoted piece at its excerpt's
#: length (``common.finance.labels.QUOTE_MAX_CHARS``; a list of up to ``max_subset_size`` invoice
#: labels is quoted at twice that). Checked by tests/reconciliation/engine/test_reason_bounds.py
#: with every text at its bound; the GraphQL cost model (reconciliation/schema/limits.py) weighs
#: a message by it.
REASON_MESSAGE_MAX_CHARS = 300


@run_cache(maxsize=4096)
def day_text(ordinal: int | None) -> str:
    """A day ordinal as ISO 8601 text ("?" when unknown)."""
    return date.fromordinal(ordinal).isoformat() if ordinal is not None else "?"


def invoice_name(inv: PreparedInvoice) -> str:
    """A prepared invoice named inside a sentence (``invoice_label``): "INV-0101" or
    "unnumbered invoice (...)", dated by its issue, else its due date."""
    src = inv.src
    return invoice_label(
        src.number,
        party=src.counterparty_name,
        amount=src.amount,
        currency=inv.currency,
        day=src.issue_date or src.due_date,
        in_sentence=True,
    )


def invoice_phrase(inv: PreparedInvoice) -> str:
    """An invoice as a sentence names it: "invoice INV-0101" or "the unnumbered invoice (...)"."""
    return f"invoice {invoice_name(inv)}" if inv.src.number.strip() else f"the {invoice_name(inv)}"


BLOCKER_MESSAGES = {
    "currency.mismatch": "Currencies differ ({tx} vs {inv}) and no exchange rate is configured",
    "direction.receivable_debit": "A receivable invoice can only be paid by an incoming credit",
    "direction.payable_credit": "A payable bill can only be paid by an outgoing debit",
    "invoice.settled": "The invoice has nothing outstanding",
    "transaction.allocated": "The transaction has no unallocated amount left",
    "pair.rejected": "A person rejected this match before; it is never proposed again",
    "payer.rejected": "People rejected this customer for this payer repeatedly: it is no longer proposed "
    "for the payer's payments",
    "score.below_min": "Confidence {conf} is below the minimum score {min}",
    "invoice.not_open": "The invoice is not open (void or closed): runs leave it out",
    "transaction.not_open": "The transaction is not open (ignored or closed): runs leave it out",
    # Blocking bounds the invoices compared with each payment (candidates.py): a pair left out
    # by a bound is not a candidate, whatever it would score.
    "blocking.reference_common": "The quoted number {key} belongs to {count} open invoices: "
    "it points to none of them",
    "blocking.amount_common": "{count} open invoices of {amount} fall due around the payment date or have "
    "no dates: the amount alone does not single this one out",
    "blocking.amount_date": "The invoice falls due on {due}, too far from the payment on {pay} for its "
    "amount to make it a candidate",
    "blocking.payer_pool": "{party} has more open invoices than the {cap} falling due closest "
    "to the payment, which are the ones compared with it",
    "blocking.not_reached": "The payment quotes no reference to this invoice, and neither its amount nor its "
    "payer puts the invoice among the few open invoices compared with it",
}


def blocker_reason(code: str, **kw: object) -> Reason:
    """A blocker code with its sentence; quoted texts (a reference key, a payer) as excerpts."""
    quoted = {name: excerpt(value) if isinstance(value, str) else value for name, value in kw.items()}
    return Reason(code, BLOCKER_MESSAGES[code].format(**quoted))


def _amount_reasons(
    ev: PairEvidence,
    inv: PreparedInvoice,
    tx: PreparedTransaction,
    settings: EngineSettings,
    hard: tuple[str, ...],
) -> tuple[Reason, ...]:
    """The amount signal's sentences: how the paid amount compares with the outstanding."""
    icur, tcur = inv.currency, tx.currency
    out = ev.outstanding
    a: list[Reason] = []
    if "currency.mismatch" in hard:
        a.append(Reason("amount.not_comparable", "Amounts are in different currencies"))
    else:
        paid = format_money(ev.converted, icur)
        if ev.rate is not None:
            a.append(
                Reason(
                    "amount.fx",
                    f"Converted {format_money(tx.avail, tcur)} at {ev.rate} {tcur}/{icur} to {paid}",
                )
            )
        o = format_money(out, icur)
        if ev.amount_kind == "amount.exact":
            a.append(Reason("amount.exact", f"Amount {paid} equals the invoice's outstanding {o}"))
        elif ev.amount_kind == "amount.fee":
            a.append(
                Reason(
                    "amount.fee",
                    f"Amount {paid} is {format_money(ev.fee, icur)} short of the "
                    f"outstanding {o}; within the fee tolerance, booked as a bank fee",
                )
            )
        elif ev.amount_kind == "amount.discount_taken":
            src = inv.src
            a.append(
                Reason(
                    "amount.discount_taken",
                    f"Amount {paid} is the outstanding {o} less the {src.discount_percent} % early-payment "
                    f"discount ({format_money(ev.discount, icur)}), paid {day_text(tx.pay)} within "
                    f"{src.discount_days} days of the issue date (until {day_text(inv.discount_until)})",
                )
            )
            if ev.discount_text:
                a.append(Reason("amount.discount_mentioned", "The payment's text says a discount was taken"))
        elif ev.amount_kind == "amount.processor_fee":
            a.append(
                Reason(
                    "amount.processor_fee",
                    f"Amount {paid} is {format_money(ev.fee, icur)} short of the outstanding {o}: paid "
                    f"through {tx.processor}, within its fee ({settings.processor_fee_percent} % + "
                    f"{settings.processor_fee_fixed}), booked as a processor fee",
                )
            )
        elif ev.amount_kind == "amount.near":
            diff = ev.converted - out
            word = "short of" if diff < 0 else "above"
            a.append(
                Reason(
                    "amount.near",
                    f"Amount {paid} is {format_money(abs(diff), icur)} {word} "
                    f"the outstanding {o} (within {ev.band * 100:.0f} %)",
                )
            )
        elif ev.amount_kind == "amount.partial":
            a.append(
                Reason(
                    "amount.partial",
                    f"Amount {paid} is less than the outstanding {o}: "
                    f"a partial payment, {format_money(out - ev.converted, icur)} would stay open",
                )
            )
        elif ev.amount_kind == "amount.over":
            a.append(
                Reason(
                    "amount.over",
                    f"Amount {paid} exceeds the outstanding {o} by {format_money(ev.converted - out, icur)}",
                )
            )
        else:
            a.append(Reason("amount.none", "Nothing to compare: zero amount or outstanding"))
    if ev.amount_halved:
        a.append(
            Reason(
                "amount.corroboration_only",
                "A near or fee-reduced amount counts half without a reference or counterparty",
            )
        )
    if ev.amount_kind == "amount.over":
        a.append(
            Reason(
                "amount.overpaid",
                f"The payment is larger than the amount owed: confidence ×{OVERPAY_FACTOR}",
            )
        )
    return tuple(a)


def _reference_reasons(ev: PairEvidence, number: str) -> tuple[Reason, ...]:
    """The reference signal's sentences: which reference to invoice ``number`` the text quotes."""
    detail = excerpt(ev.reference_detail)
    r: list[Reason] = []
    if ev.reference_kind == "rf.match":
        r.append(
            Reason(
                "rf.match",
                f"Valid RF creditor reference {detail} equals the invoice's structured reference",
            )
        )
    elif ev.reference_kind == "rf.embedded":
        r.append(
            Reason("rf.embedded", f"Valid RF creditor reference {detail} embeds invoice number {number}")
        )
    elif ev.reference_kind == "ref.structured":
        r.append(
            Reason(
                "ref.structured",
                f"Structured reference {detail} equals the invoice's structured reference",
            )
        )
    elif ev.reference_kind == "ref.exact":
        r.append(Reason("ref.exact", f"Invoice number {number} appears in the transaction text"))
    elif ev.reference_kind == "ref.numeric":
        r.append(
            Reason(
                "ref.numeric",
                f"The digits {detail} of invoice number {number} "
                "appear in the transaction text without the prefix",
            )
        )
    elif ev.reference_kind == "ref.fuzzy":
        r.append(
            Reason(
                "ref.fuzzy",
                f"'{detail}' in the transaction text differs from invoice number {number} by one character",
            )
        )
    elif number:
        r.append(Reason("ref.none", f"Invoice number {number} not found in the transaction"))
    else:
        r.append(Reason("ref.none", "The invoice has no number to look for in the transaction"))
    if ev.invalid_rf:
        r.append(
            Reason(
                "rf.invalid", f"RF reference {excerpt(ev.invalid_rf)} has an invalid checksum and is ignored"
            )
        )
    if ev.other_ref and ev.reference_score == 0:
        r.append(
            Reason(
                "ref.other_invoice",
                "The transaction quotes another open invoice's number"
                + (f" but not {number}" if number else "")
                + f": confidence ×{OTHER_REF_FACTOR}",
            )
        )
    return tuple(r)


def _counterparty_reasons(
    ev: PairEvidence, inv: PreparedInvoice, tx: PreparedTransaction
) -> tuple[Reason, ...]:
    """The counterparty signal's sentences: how the payer compares with the invoice's party."""
    c: list[Reason] = []
    party = excerpt(inv.src.counterparty_name) or "the counterparty"
    if ev.counterparty_kind == "cp.account":
        c.append(
            Reason(
                "cp.account",
                f"Payer account {excerpt(tx.src.counterparty_account)} equals {party}'s account on file",
            )
        )
    elif ev.counterparty_kind in ("cp.name", "cp.name_description"):
        where = (
            f"Payer after the {tx.processor} prefix"
            if tx.processor
            else "Payer name"
            if ev.counterparty_kind == "cp.name"
            else "Description"
        )
        c.append(
            Reason(
                ev.counterparty_kind,
                f"{where} '{excerpt(tx.name)}' matches '{excerpt(ev.counterparty_name_matched)}' "
                f"({ev.counterparty_ratio:.0f} % similar)",
            )
        )
    elif ev.counterparty_kind == "cp.unknown":
        c.append(Reason("cp.unknown", "No payer name or account to compare"))
    else:
        payer = excerpt(tx.src.counterparty_name or tx.name)
        c.append(Reason("cp.none", f"Payer '{payer}' does not resemble {party}"))
    if inv.accts and tx.acct and tx.acct not in inv.accts:
        c.append(
            Reason(
                "cp.account_differs",
                "Payer account differs from the one on file (not held against the match)",
            )
        )
    if ev.counterparty_halved:
        c.append(
            Reason(
                "cp.corroboration_only",
                "Counterparty evidence counts half: neither amount nor reference agree",
            )
        )
    return tuple(c)


def _date_reasons(
    ev: PairEvidence, inv: PreparedInvoice, tx: PreparedTransaction, settings: EngineSettings
) -> tuple[Reason, ...]:
    """The date signal's sentences: when the payment came against the invoice's dates."""
    d: list[Reason] = []
    pay = day_text(tx.pay)
    if ev.date_kind == "date.in_terms":
        d.append(
            Reason(
                "date.in_terms",
                f"Paid {pay}, between issue {day_text(inv.issue)} and due "
                f"date {day_text(inv.due)} (± {settings.bank_lag_days} "
                "days bank lag)",
            )
        )
    elif ev.date_kind == "date.late":
        d.append(
            Reason("date.late", f"Paid {pay}, {ev.date_days} days after the due date {day_text(inv.due)}")
        )
    elif ev.date_kind == "date.outside_window":
        d.append(
            Reason(
                "date.outside_window",
                f"Paid {pay}, {ev.date_days} days after the due "
                f"date, beyond the {settings.date_window_days}-day window",
            )
        )
    elif ev.date_kind == "date.before_issue":
        d.append(
            Reason(
                "date.before_issue",
                f"Paid {pay}, {ev.date_days} days before the invoice was issued ({day_text(inv.issue)})",
            )
        )
    else:
        d.append(Reason("date.unknown", "The invoice has no dates; date is neutral"))
    return tuple(d)


def explain(
    ev: PairEvidence,
    inv: PreparedInvoice,
    tx: PreparedTransaction,
    settings: EngineSettings,
    hard: tuple[str, ...] = (),
    unreached: Reason | None = None,
) -> PairScore:
    """Turn an evaluation into a PairScore with human sentences.

    ``hard`` are the codes that rule the pair out whatever it scores; ``unreached`` is set when
    blocking did not compare the invoice with the transaction (see ``why_unreached``). The
    pair is a candidate exactly when neither applies and it scores at least ``min_score``.
    """
    number = excerpt(inv.src.number.strip())
    signals = (
        SignalScore("amount", dec4(ev.amount_score), _W_A, _amount_reasons(ev, inv, tx, settings, hard)),
        SignalScore("reference", dec4(ev.reference_score), _W_R, _reference_reasons(ev, number)),
        SignalScore("counterparty", dec4(ev.counterparty_score), _W_C, _counterparty_reasons(ev, inv, tx)),
        SignalScore("date", dec4(ev.date_points), _W_D, _date_reasons(ev, inv, tx, settings)),
    )
    conf = bp_decimal(ev.bp)
    blockers = [
        blocker_reason(code, tx=tx.currency, inv=inv.currency)
        if code == "currency.mismatch"
        else blocker_reason(code)
        for code in hard
    ]
    if not hard and conf < settings.min_score:
        blockers.append(blocker_reason("score.below_min", conf=conf, min=settings.min_score))
    elif not hard and unreached is not None:
        blockers.append(unreached)
    return PairScore(
        invoice_id=inv.id,
        transaction_id=tx.id,
        confidence=conf,
        signals=signals,
        is_candidate=not blockers,
        blockers=tuple(blockers),
    )
