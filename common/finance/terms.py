"""Payment terms with an early-payment discount ("2/10 net 30", "2 % Skonto within 14 days").

One home for the rules every side reads: what terms a client may set (``check_terms``), how a
printed terms text is read (``parse_payment_terms``: a small, strict grammar; anything else is
refused, never guessed), how they are written back (``format_payment_terms``) and what a payer
who takes the discount pays (``discount_amount`` / ``discounted_amounts``).

Decisions, and why:

* The discount period runs from the **issue date** (the invoice date): "2/10 net 30" means 2 %
  off when paid within 10 days of the invoice date, in full within 30 (the usual reading of US
  trade terms and of German "Skonto" clauses). An invoice without an issue date gets no discount
  recognised.
* The percent is ``0 < p < 100`` with at most :data:`DISCOUNT_PERCENT_PLACES` decimals (terms
  print "2", "2.5" or "1.75"; a finer percent is a typo). Days are whole days in
  ``1..MAX_TERM_DAYS``; a discount period longer than the net period is refused.
* Percent and discount days come together or not at all (a percent without a period, or a
  period without a percent, means nothing); net days may stand alone ("net 30").
* The discount is ``amount × percent / 100`` at the currency's minor unit, **rounded half up**
  (commercial rounding, as an invoice prints "Skonto 2,01 EUR, Zahlbetrag 98,24 EUR"); the
  discounted amount is the amount less that discount. Payers' software also rounds the
  payable instead of the discount, which differs only when the exact discount ends in half a
  minor unit: :func:`discounted_amounts` lists both, so such a payment is still recognised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from .currencies import CURRENCY_QUANTUM

#: Decimals a discount percent may carry.
DISCOUNT_PERCENT_PLACES = 2
#: Longest discount or net period, in days (a year: anything longer is not trade credit).
MAX_TERM_DAYS = 365
#: Longest terms text read (a printed clause is one short line).
PAYMENT_TERMS_MAX_CHARS = 120

_HUNDRED = Decimal(100)
_PERCENT_QUANTUM = Decimal(1).scaleb(-DISCOUNT_PERCENT_PLACES)  # stored at this scale: 2 -> 2.00
_DEFAULT_QUANTUM = Decimal("0.01")


class TermsError(ValueError):
    """Payment terms a client (or a file) sent that cannot be accepted."""


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """Early-payment discount (percent within days of the issue date) and net days."""

    discount_percent: Decimal | None = None
    discount_days: int | None = None
    net_days: int | None = None

    @property
    def has_discount(self) -> bool:
        """True when a discount may be taken."""
        return self.discount_percent is not None


def check_terms(
    discount_percent: Decimal | None, discount_days: int | None, net_days: int | None
) -> PaymentTerms:
    """The terms if they are consistent (see the module docstring), else TermsError."""
    if (discount_percent is None) != (discount_days is None):
        raise TermsError("discount_percent and discount_days go together: set both or neither.")
    if discount_percent is not None:
        if not isinstance(discount_percent, Decimal) or not discount_percent.is_finite():
            raise TermsError("discount_percent must be a decimal number.")
        if not Decimal(0) < discount_percent < _HUNDRED:
            raise TermsError("discount_percent must be more than 0 and less than 100.")
        exponent = discount_percent.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > DISCOUNT_PERCENT_PLACES:
            raise TermsError(f"discount_percent has at most {DISCOUNT_PERCENT_PLACES} decimals.")
    for name, days in (("discount_days", discount_days), ("net_days", net_days)):
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            raise TermsError(f"{name} must be a whole number of days.")
        if days is not None and not 1 <= days <= MAX_TERM_DAYS:
            raise TermsError(f"{name} must be between 1 and {MAX_TERM_DAYS}.")
    if discount_days is not None and net_days is not None and discount_days > net_days:
        raise TermsError("discount_days cannot be longer than net_days.")
    percent = None if discount_percent is None else discount_percent.quantize(_PERCENT_QUANTUM)
    return PaymentTerms(percent, discount_days, net_days)


def percent_text(percent: Decimal) -> str:
    """A percent as terms print it: "2", "2.5", "1.75" (no trailing zeros, no exponent)."""
    text = f"{percent:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- reading printed terms ---------------------------------------------------------------------

_PCT = r"(?P<pct>\d{1,2}(?:[.,]\d{1,2})?)"
_DAYS_WORD = r"(?:days?|tage?n?|d)"
_NET_WORD = r"(?:net(?:to)?|n)"
# "2/10 net 30", "2/10, n/30", "2/10 n 30", "2% 10 net 30 days"
_SLASH = re.compile(
    rf"^{_PCT}\s*%?\s*/\s*(?P<dd>\d{{1,3}})"
    rf"(?:\s*,?\s*{_NET_WORD}\s*/?\s*(?P<nd>\d{{1,3}})(?:\s*{_DAYS_WORD})?)?$"
)
# "2 % Skonto within 14 days", "2% discount 10 days, net 30", "3 % Skonto bei Zahlung
# innerhalb von 14 Tagen, 30 Tage netto"
_WORDED = re.compile(
    rf"^{_PCT}\s*%\s*(?:skonto|discount|early\s+payment\s+discount|cash\s+discount)"
    r"(?:\s+(?:if\s+paid\s+|bei\s+zahlung\s+)?(?:within|innerhalb(?:\s+von)?|binnen|in|bis|zu)?)?"
    rf"\s*(?P<dd>\d{{1,3}})\s*{_DAYS_WORD}"
    rf"(?:\s*[,;]?\s*(?:(?:{_NET_WORD}\s*(?P<nd1>\d{{1,3}})(?:\s*{_DAYS_WORD})?)"
    rf"|(?:(?P<nd2>\d{{1,3}})\s*{_DAYS_WORD}\s*{_NET_WORD})))?$"
)
# "net 30", "n/30", "net 30 days", "30 Tage netto", "30 days net"
_NET_ONLY = re.compile(
    rf"^(?:{_NET_WORD}\s*/?\s*(?P<nd1>\d{{1,3}})(?:\s*{_DAYS_WORD})?|(?P<nd2>\d{{1,3}})\s*{_DAYS_WORD}\s*{_NET_WORD})$"
)


def _percent(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits digits only
        raise TermsError(f"{text!r} is not a percent.") from exc


def parse_payment_terms(text: object) -> PaymentTerms:
    """Read printed payment terms; TermsError for anything outside the grammar.

    Understood (case and spacing free, "," or "." as decimal mark): ``P/D net N``,
    ``P/D, n/N``, ``P/D`` (US trade terms: P % within D days, net N days);
    ``P % Skonto|discount [within|innerhalb von|bis] D days|Tage[n] [, net N | , N Tage netto]``;
    ``net N`` / ``n/N`` / ``N days net`` / ``N Tage netto``. Nothing is guessed: "2/10 EOM",
    "1%" or free prose are refused.
    """
    if not isinstance(text, str):
        raise TermsError("payment_terms must be a string.")
    if len(text) > PAYMENT_TERMS_MAX_CHARS:
        raise TermsError(f"payment_terms has at most {PAYMENT_TERMS_MAX_CHARS} characters.")
    folded = " ".join(text.lower().split()).rstrip(".")
    if m := _SLASH.match(folded):
        nd = m.group("nd")
        return check_terms(_percent(m.group("pct")), int(m.group("dd")), int(nd) if nd else None)
    if m := _WORDED.match(folded):
        nd = m.group("nd1") or m.group("nd2")
        return check_terms(_percent(m.group("pct")), int(m.group("dd")), int(nd) if nd else None)
    if m := _NET_ONLY.match(folded):
        return check_terms(None, None, int(m.group("nd1") or m.group("nd2")))
    raise TermsError(
        f"Payment terms {text[:40]!r} are not understood: write them like '2/10 net 30', "
        "'2 % Skonto within 14 days, net 30' or 'net 30'."
    )


def format_payment_terms(terms: PaymentTerms) -> str:
    """The terms as "2/10 net 30" (or "2/10", "net 30", "" for none); parses back to the same."""
    parts = []
    if terms.discount_percent is not None:
        parts.append(f"{percent_text(terms.discount_percent)}/{terms.discount_days}")
    if terms.net_days is not None:
        parts.append(f"net {terms.net_days}")
    return " ".join(parts)


# -- the discounted amount ---------------------------------------------------------------------


def _quantum(currency: str) -> Decimal:
    return CURRENCY_QUANTUM.get(currency.upper(), _DEFAULT_QUANTUM)


def discount_amount(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """The discount on ``amount``: percent of it at the currency's minor unit, half up."""
    return (amount * percent / _HUNDRED).quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def discounted_amounts(amount: Decimal, percent: Decimal, currency: str) -> tuple[Decimal, ...]:
    """What a payer taking the discount may pay: the amount less its discount, first as
    :func:`discount_amount` rounds it, then (only when the exact discount ends in half a minor
    unit) with the half rounded down, as software rounding the payable computes it."""
    quantum = _quantum(currency)
    exact = amount * percent / _HUNDRED
    up = amount - exact.quantize(quantum, rounding=ROUND_HALF_UP)
    down = amount - exact.quantize(quantum, rounding=ROUND_HALF_DOWN)
    return (up,) if up == down else (up, down)
