"""Seeded generator of realistic, labelled reconciliation data.

``generate(n, seed, profile)`` returns open invoices, bank transactions and the ground truth
(which transaction paid how much of which invoice), each transaction labelled with the noise
type that produced it. The lead reuses it to fill a database for the end-to-end benchmark,
so it depends on nothing but the engine's input dataclasses.

Noise types (a paid invoice gets one; realistic side effects are mixed in everywhere, e.g.
banks truncating payer names, missing IBANs, order/customer numbers in descriptions):

=============  =================================================================================
clean          full amount within terms, invoice number (or RF reference) in the text
ref_typo       as clean but the quoted number has one typo (substitution, swap, drop, insert)
ref_missing    no reference at all ("Payment", "Order 4711", ...)
payer_alias    payer name differs: registered alias, initials, parent company, trade name
decoy          another open invoice with the same amount exists (other or same customer)
partial        paid in 2-3 instalments, usually quoting the invoice; sometimes not fully paid
batch          one transaction pays 2-4 invoices of the same party; quotes all, some or none
fee            underpaid by a bank fee within the tolerance of :data:`BENCH_SETTINGS`
late           bank lag or paid 20-110 days after the due date
unrelated      payroll, card, tax, bank charges, refunds: no invoice (must stay unmatched)
=============  =================================================================================

Around a fifth of the invoices stay unpaid, which is what makes amount-only matching risky.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reconciliation.engine import EngineSettings, InvoiceInput, TransactionInput  # noqa: E402

NOISE_TYPES = (
    "clean", "ref_typo", "ref_missing", "payer_alias", "decoy", "partial", "batch", "fee",
    "late", "unrelated",
)  # fmt: skip

#: share of paid invoices per noise type; "unrelated" is a share of all transactions
PROFILES: dict[str, dict[str, float]] = {
    "default": {
        "clean": 0.42, "ref_typo": 0.05, "ref_missing": 0.10, "payer_alias": 0.08,
        "decoy": 0.06, "partial": 0.06, "batch": 0.07, "fee": 0.06, "late": 0.10,
        "unrelated": 0.12,
    },
    **{t: {t: 1.0, "unrelated": 0.0} for t in NOISE_TYPES if t != "unrelated"},
}  # fmt: skip
UNPAID_SHARE = 0.20

#: tolerance the generated fees respect (5.00 or 0.5 % of the outstanding, the larger)
BENCH_SETTINGS = EngineSettings(fee_tolerance_fixed=Decimal("5.00"), fee_tolerance_percent=Decimal("0.5"))

_SYL = (
    "nord", "wind", "blue", "peak", "stein", "berg", "sun", "ray", "alp", "ine", "tech", "ora",
    "vista", "lux", "terra", "nova", "kron", "feld", "mar", "tin", "hel", "ios", "quant", "um",
    "del", "ta", "fox", "glen", "river", "stone", "oak", "leaf", "iron", "gate", "silver",
    "brook", "castle", "rock", "pine", "well", "field", "haven", "bright", "star", "moor",
)  # fmt: skip
_INDUSTRY = (
    "Logistics", "Software", "Consulting", "Trading", "Services", "Media", "Engineering",
    "Foods", "Pharma", "Systems", "Solutions", "Textiles", "Energy", "Design", "Partners",
    "Retail", "Digital", "Industries", "Labs", "Bau",
)  # fmt: skip
_SUFFIX = ("GmbH", "Ltd", "Inc.", "LLC", "S.A.", "B.V.", "AG", "SARL", "Oy", "S.r.l.", "")
_PERSON_FIRST = ("Anna", "Jonas", "Marie", "Lukas", "Sofia", "Paul", "Emma", "Noah", "Lena")
_PERSON_LAST = ("Schmidt", "Martin", "Rossi", "Jansen", "Kowalski", "Dubois", "Meyer", "Silva")
_GENERIC = (
    "Payment", "Thank you", "SEPA transfer", "Monthly payment", "Transfer", "Invoice payment",
    "Zahlung", "Virement", "Betaling", "Payment as agreed",
)  # fmt: skip
_UNRELATED = (
    ("Salary {m}/{y}", -1), ("Card payment {shop}", -1), ("Bank charges {m}/{y}", -1),
    ("Tax office VAT {m}/{y}", -1), ("Refund order {n}", 1), ("Interest {m}/{y}", 1),
    ("Rent {m}/{y}", -1), ("Insurance policy {n}", -1), ("Cash deposit", 1),
    ("Transfer between own accounts", 1), ("Card payment {shop}", -1),
)  # fmt: skip
_SHOPS = ("AMAZON", "SHELL 4411", "IKEA", "LIDL 203", "APPLE.COM", "DB BAHN", "UBER")


@dataclass
class Company:
    """A customer (receivable) or vendor (payable)."""

    id: str
    name: str
    aliases: tuple[str, ...]
    unknown_aliases: tuple[str, ...]
    iban: str
    currency: str
    direction: str
    number_fmt: str  # for vendors: their own invoice numbering
    seq: int = 0
    subscription: Decimal | None = None


@dataclass
class Dataset:
    """Generated invoices, transactions and ground truth."""

    invoices: list[InvoiceInput]
    transactions: list[TransactionInput]
    truth: list[tuple[str, str, Decimal]]  # (transaction_id, invoice_id, amount)
    noise: dict[str, str]  # transaction_id -> noise type
    settings: EngineSettings = field(default_factory=lambda: BENCH_SETTINGS)

    @property
    def truth_pairs(self) -> set[tuple[str, str]]:
        """(transaction_id, invoice_id) pairs that are correct."""
        return {(t, i) for t, i, _ in self.truth}


def _mod97(s: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in s)) % 97


def make_rf(body: str) -> str:
    """A valid ISO 11649 reference for ``body``."""
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def make_iban(rng: random.Random, country: str = "DE") -> str:
    """A syntactically valid IBAN (mod-97 check digits) with a random BBAN."""
    bban = "".join(rng.choice("0123456789") for _ in range(18))
    check = 98 - _mod97(bban + country + "00")
    return f"{country}{check:02d}{bban}"


class _Gen:
    def __init__(self, n: int, seed: int, mix: Mapping[str, float]) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.mix = dict(mix)
        self.invoices: list[InvoiceInput] = []
        self.txs: list[TransactionInput] = []
        self.truth: list[tuple[str, str, Decimal]] = []
        self.noise: dict[str, str] = {}
        self.inv_seq = 0
        self.tx_seq = 0
        self.start = date(2024, 1, 1)
        self.used_names: set[str] = set()
        self.companies = [self._company(k) for k in range(max(8, n // 6))]

    # -- building blocks ---------------------------------------------------------------------

    def _word(self) -> str:
        r = self.rng
        return (r.choice(_SYL) + r.choice(_SYL)).capitalize()

    def _company(self, k: int) -> Company:
        r = self.rng
        while True:
            base = self._word()
            industry = r.choice(_INDUSTRY)
            if (base, industry) not in self.used_names:
                self.used_names.add((base, industry))  # type: ignore[arg-type]
                break
        suffix = r.choice(_SUFFIX)
        name = f"{base} {industry} {suffix}".strip()
        initials = "".join(w[0] for w in (base, industry)).upper() + (r.choice("XYZKM"))
        known: list[str] = []
        unknown: list[str] = []
        for alias in (f"{base} Holding", initials, f"{base} {r.choice(_INDUSTRY)}"):
            (known if r.random() < 0.5 else unknown).append(alias)
        currency = r.choices(("EUR", "USD", "GBP"), (0.85, 0.10, 0.05))[0]
        direction = "receivable" if r.random() < 0.75 else "payable"
        vendor_fmt = r.choice(
            ("F{y}-{s:04d}", "{s:07d}", "BILL-{s}", "SO/{y}/{s:05d}", "R{y}{s:05d}", "{s:05d}")
        )
        sub = None
        if r.random() < 0.08:
            sub = Decimal(r.choice((49, 99, 199, 250, 500, 1200))) + Decimal(r.choice(("0", "0.90")))
        return Company(
            id=f"cp{k:06d}",
            name=name,
            aliases=tuple(known),
            unknown_aliases=tuple(unknown),
            iban=make_iban(r, r.choice(("DE", "FR", "NL", "BE", "AT"))),
            currency=currency,
            direction=direction,
            number_fmt=vendor_fmt,
            subscription=sub,
            # Vendors number their own bills; small ranges overlap, as they do in real life.
            seq=r.choice((r.randrange(0, 400), r.randrange(0, 60000))),
        )

    def _amount(self, cp: Company) -> Decimal:
        r = self.rng
        if cp.subscription is not None and r.random() < 0.7:
            return cp.subscription
        if r.random() < 0.15:
            return Decimal(r.choice((50, 100, 150, 200, 250, 300, 500, 750, 1000, 1500, 2000)))
        cents = int(r.lognormvariate(10.3, 1.1))  # median ~300.00, long tail
        return Decimal(max(cents, 500)).scaleb(-2)

    def _invoice(self, cp: Company, amount: Decimal | None = None, issue: date | None = None) -> InvoiceInput:
        r = self.rng
        self.inv_seq += 1
        cp.seq += 1
        issue = issue or self.start + timedelta(days=r.randrange(330))
        due = issue + timedelta(days=r.choice((14, 30, 30, 45, 60)))
        amount = amount if amount is not None else self._amount(cp)
        if cp.direction == "receivable":
            number = f"INV-{issue.year}-{self.inv_seq:06d}"
            sref = make_rf(f"{self.inv_seq:09d}") if r.random() < 0.3 else ""
        else:
            number = cp.number_fmt.format(y=issue.year, s=cp.seq + 100)
            sref = ""
        inv = InvoiceInput(
            id=f"inv{self.inv_seq:07d}",
            number=number,
            amount=amount,
            outstanding=amount,
            currency=cp.currency,
            issue_date=issue,
            due_date=due,
            counterparty_id=cp.id,
            counterparty_name=cp.name,
            counterparty_aliases=cp.aliases,
            counterparty_account=cp.iban if r.random() < 0.8 else "",
            structured_reference=sref,
            direction=cp.direction,
        )
        self.invoices.append(inv)
        return inv

    def _ref_text(self, inv: InvoiceInput) -> str:
        """How payers quote an invoice number: verbatim, reformatted, with noise around it."""
        r = self.rng
        num = inv.number
        x = r.random()
        if x < 0.45:
            shown = num
        elif x < 0.60:
            shown = num.lower()
        elif x < 0.72:
            shown = "".join(ch for ch in num if ch.isalnum())
        elif x < 0.85:
            parts = "".join(ch if ch.isalnum() else " " for ch in num).split()
            shown = " ".join(p.lstrip("0") or "0" if p.isdigit() else p for p in parts)
        else:
            shown = num.replace("-", "/")
        pre = r.choice(("", "", "Invoice ", "Inv. ", "Rechnung ", "Facture ", "Payment "))
        post = r.choice(
            (
                "",
                "",
                "",
                f" Kd-Nr {r.randrange(10000, 99999)}",
                " thanks",
                f" order {r.randrange(1000, 9999)}",
            )
        )
        return f"{pre}{shown}{post}"

    def _typo(self, text: str) -> str:
        r = self.rng
        digits = [k for k, ch in enumerate(text) if ch.isdigit()]
        if len(digits) < 2:
            return text
        k = r.choice(digits)
        kind = r.random()
        if kind < 0.4:
            return text[:k] + r.choice([d for d in "0123456789" if d != text[k]]) + text[k + 1 :]
        if kind < 0.7 and k + 1 < len(text) and text[k + 1].isdigit() and text[k + 1] != text[k]:
            return text[:k] + text[k + 1] + text[k] + text[k + 2 :]
        if kind < 0.85:
            return text[:k] + text[k + 1 :]
        return text[:k] + r.choice("0123456789") + text[k:]

    def _payer_name(self, cp: Company) -> str:
        r = self.rng
        x = r.random()
        if x < 0.35:
            return cp.name
        if x < 0.6:
            return cp.name.upper()
        if x < 0.8:
            return " ".join(cp.name.split()[:2])
        if x < 0.92:
            return cp.name.upper()[:18]  # banks truncate remitter names
        return ""

    def _pay_date(self, inv: InvoiceInput, late: bool = False) -> date:
        r = self.rng
        assert inv.issue_date and inv.due_date
        if late:
            if r.random() < 0.5:
                return inv.due_date + timedelta(days=r.randint(1, 5))  # bank lag
            return inv.due_date + timedelta(days=r.randint(20, 110))
        span = (inv.due_date - inv.issue_date).days
        return inv.issue_date + timedelta(days=r.randint(1, span + 3))

    def _tx(
        self,
        cp: Company | None,
        amount: Decimal,
        currency: str,
        day: date,
        description: str,
        noise: str,
        *,
        name: str | None = None,
        iban: bool | None = None,
        sref: str = "",
    ) -> TransactionInput:
        r = self.rng
        self.tx_seq += 1
        sign = 1 if cp is None or cp.direction == "receivable" else -1
        if iban is None:
            iban = r.random() < 0.6
        book = day + timedelta(days=r.choice((0, 0, 1, 2, 3)))
        tx = TransactionInput(
            id=f"tx{self.tx_seq:07d}",
            amount=amount * sign,
            currency=currency,
            booking_date=book,
            value_date=day if r.random() < 0.7 else None,
            description=description,
            counterparty_name=(name if name is not None else self._payer_name(cp)) if cp else "",
            counterparty_account=cp.iban if cp and iban else "",
            external_id=f"BNK{r.randrange(10**9, 10**10)}",
            end_to_end_id="NOTPROVIDED" if r.random() < 0.5 else f"E2E{r.randrange(10**8)}",
            structured_reference=sref,
        )
        self.txs.append(tx)
        self.noise[tx.id] = noise
        return tx

    def _quote(self, inv: InvoiceInput) -> tuple[str, str]:
        """(description, structured_reference) quoting ``inv``; RF when the invoice has one."""
        r = self.rng
        if inv.structured_reference and r.random() < 0.6:
            rf = inv.structured_reference
            if r.random() < 0.5:
                return r.choice(_GENERIC), rf
            grouped = " ".join(rf[k : k + 4] for k in range(0, len(rf), 4))
            return f"{r.choice(_GENERIC)} {grouped}", ""
        return self._ref_text(inv), ""

    # -- noise types ---------------------------------------------------------------------------

    def _pay(self, cp: Company, inv: InvoiceInput, noise: str) -> None:
        r = self.rng
        amount = inv.outstanding
        day = self._pay_date(inv, late=noise == "late")
        desc, sref = self._quote(inv)
        name: str | None = None
        iban: bool | None = None
        if noise == "ref_typo":
            desc, sref = self._typo(self._ref_text(inv)), ""
        elif noise == "ref_missing":
            desc, sref = r.choice(_GENERIC), ""
            if r.random() < 0.4:
                desc += f" {r.choice(('Order', 'Kd-Nr', 'Ref'))} {r.randrange(100, 999999)}"
        elif noise == "payer_alias":
            pool = cp.aliases + cp.unknown_aliases
            name = r.choice(pool) if pool else cp.name
            iban = r.random() < 0.3
            if r.random() < 0.5:
                desc, sref = r.choice(_GENERIC), ""
        elif noise == "late" and r.random() < 0.3:
            desc, sref = r.choice(_GENERIC), ""
        elif noise == "fee":
            tol = max(Decimal("5.00"), (amount * Decimal("0.005")).quantize(Decimal("0.01")))
            fee = Decimal(r.randint(50, int(tol * 100))).scaleb(-2)
            amount = amount - min(fee, amount - Decimal("0.01"))
            if r.random() < 0.2:
                desc, sref = r.choice(_GENERIC), ""
        tx = self._tx(cp, amount, inv.currency, day, desc, noise, name=name, iban=iban, sref=sref)
        self.truth.append((tx.id, inv.id, amount))

    def _decoy(self, cp: Company, inv: InvoiceInput) -> None:
        r = self.rng
        same_party = r.random() < 0.3
        other = cp if same_party else r.choice(self.companies)
        if other.currency != cp.currency or other.direction != cp.direction:
            other = cp
        self._invoice(
            other, amount=inv.outstanding, issue=inv.issue_date + timedelta(days=r.randint(-40, 40))
        )
        # The real payment quotes its invoice most of the time, like everyone else.
        self._pay(cp, inv, "clean" if r.random() < 0.6 else "ref_missing")
        self.noise[self.txs[-1].id] = "decoy"

    def _partial(self, cp: Company, inv: InvoiceInput) -> None:
        r = self.rng
        parts = r.choice((2, 2, 3))
        total = inv.outstanding if r.random() < 0.7 else (inv.outstanding * Decimal("0.6"))
        cents = int(total * 100)
        # Instalments are sizeable shares (not a few cents): cut between 25 % and 75 %.
        cuts = sorted({int(cents * r.uniform(0.25, 0.75)) for _ in range(parts - 1)})
        amounts = [Decimal(b - a).scaleb(-2) for a, b in zip([0, *cuts], [*cuts, cents], strict=True)]
        day = self._pay_date(inv)
        for amt in amounts:
            if amt <= 0:
                continue
            desc, sref = self._quote(inv) if r.random() < 0.85 else (r.choice(_GENERIC), "")
            tx = self._tx(cp, amt, inv.currency, day, desc, "partial", sref=sref)
            self.truth.append((tx.id, inv.id, amt))
            day += timedelta(days=r.randint(10, 35))

    def _batch(self, cp: Company, first: InvoiceInput) -> None:
        r = self.rng
        invs = [first] + [
            self._invoice(cp, issue=first.issue_date + timedelta(days=r.randint(-20, 20)))
            for _ in range(r.choice((1, 1, 2, 3)))
        ]
        total = sum((i.outstanding for i in invs), Decimal(0))
        x = r.random()
        if x < 0.5:
            quoted = invs
        elif x < 0.7:
            quoted = invs[: max(1, len(invs) - 1)]
        else:
            quoted = []
        desc = ("Invoices " + ", ".join(i.number for i in quoted)) if quoted else r.choice(_GENERIC)
        day = max(self._pay_date(i) for i in invs)
        tx = self._tx(cp, total, first.currency, day, desc, "batch", iban=r.random() < 0.8)
        for inv in invs:
            self.truth.append((tx.id, inv.id, inv.outstanding))

    def _unrelated(self) -> None:
        r = self.rng
        tmpl, sign = r.choice(_UNRELATED)
        day = self.start + timedelta(days=r.randrange(400))
        desc = tmpl.format(m=day.month, y=day.year, n=r.randrange(10000, 999999), shop=r.choice(_SHOPS))
        if r.random() < 0.2:
            amount = Decimal(r.choice((100, 200, 250, 500, 1000, 1500)))
        else:
            amount = Decimal(int(r.lognormvariate(10.0, 1.3)) + 100).scaleb(-2)
        # Refunds go to customers: a real name that must still not match an invoice.
        cp = r.choice(self.companies) if tmpl.startswith("Refund") else None
        name = (
            cp.name
            if cp
            else f"{r.choice(_PERSON_FIRST)} {r.choice(_PERSON_LAST)}"
            if r.random() < 0.5
            else ""
        )
        self.tx_seq += 1
        tx = TransactionInput(
            id=f"tx{self.tx_seq:07d}",
            amount=amount * sign,
            currency="EUR",
            booking_date=day,
            description=desc,
            counterparty_name=name,
            external_id=f"BNK{r.randrange(10**9, 10**10)}",
        )
        self.txs.append(tx)
        self.noise[tx.id] = "unrelated"

    def run(self, min_transactions: int = 0) -> Dataset:
        r = self.rng
        kinds = [k for k in self.mix if k != "unrelated" and self.mix[k] > 0]
        weights = [self.mix[k] for k in kinds]
        while len(self.invoices) < self.n:
            cp = r.choice(self.companies)
            inv = self._invoice(cp)
            if r.random() < UNPAID_SHARE or not kinds:
                continue
            kind = r.choices(kinds, weights)[0]
            if kind == "decoy":
                self._decoy(cp, inv)
            elif kind == "partial":
                self._partial(cp, inv)
            elif kind == "batch":
                self._batch(cp, inv)
            else:
                self._pay(cp, inv, kind)
        share = self.mix.get("unrelated", 0.0)
        for _ in range(int(len(self.txs) * share / max(1e-9, 1 - share))):
            self._unrelated()
        while len(self.txs) < min_transactions:
            self._unrelated()
        return Dataset(self.invoices, self.txs, self.truth, self.noise)


def generate(
    n: int = 1000,
    seed: int = 0,
    profile: str | Mapping[str, float] = "default",
    *,
    min_transactions: int = 0,
) -> Dataset:
    """About ``n`` invoices and a similar number of transactions, reproducible per seed.

    The default profile gives ~0.86 transactions per invoice; ``min_transactions`` tops the
    statement up with unrelated lines (payroll, card, tax, fees, refunds) to at least that many,
    for benchmarks that need as many transactions as invoices.
    """
    mix = PROFILES[profile] if isinstance(profile, str) else profile
    return _Gen(n, seed, mix).run(min_transactions)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (else a usage error, not a traceback)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1")
    return value


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print what a generated data set holds, by noise type.")
    parser.add_argument("n", type=positive_int, nargs="?", default=1000, help="invoices (default 1000)")
    ds = generate(parser.parse_args().n)
    counts: dict[str, int] = {}
    for kind in ds.noise.values():
        counts[kind] = counts.get(kind, 0) + 1
    print(
        f"{len(ds.invoices)} invoices, {len(ds.transactions)} transactions, {len(ds.truth)} true allocations"
    )
    for kind, c in sorted(counts.items()):
        print(f"  {kind:12s} {c}")
