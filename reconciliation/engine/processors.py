"""Payment processors: who really paid when the money comes through PayPal, Stripe, Square, ...

A sale paid through a payment processor reaches the bank account as the processor's payout:
the counterparty is the processor (its legal name, its account), the customer appears only in
the descriptor after the processor's prefix ("PAYPAL *ACMEGMBH", "SQ *JOES COFFEE", "STRIPE
PAYMENT ACME GMBH"), and the amount is the sale less the processor's fee (a percentage plus a
fixed part). The engine takes the payer name after the prefix for name matching and lets the
fee count as a fee (``EngineSettings.processor_fee_percent`` / ``processor_fee_fixed``).

The table below is the one place the descriptors live. Prefixes come from the processors'
public documentation of card-statement descriptors and payout texts (PayPal "PAYPAL *" and
"PP*", Square "SQ *", Stripe's payout lines, SumUp "SUMUP *", Zettle "IZ *" / "ZETTLE_*",
Shopify Payments "SP *", Toast "TST*", Adyen, Klarna, Mollie "MOLLIE*"); the generator's exact
strings were not used to shape them. A prefix is recognised only as a whole word followed by
its star (or, for the worded ones, by whitespace), so "SQUARE FEET", a name containing "PP" or
the payout's own sender ("Stripe Payments Europe Ltd": "PAYMENTS" is not "PAYMENT ") is not a
processor payment naming a payer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.finance import fold_upper


@dataclass(frozen=True, slots=True)
class ProcessorDescriptor:
    """One processor: its key and the prefixes its descriptors start with (upper case)."""

    key: str
    star_prefixes: tuple[str, ...] = ()  # "PAYPAL" -> "PAYPAL *NAME", "PAYPAL*NAME"
    worded_prefixes: tuple[str, ...] = ()  # "STRIPE PAYMENT" -> "STRIPE PAYMENT NAME ..."


PAYMENT_PROCESSORS: tuple[ProcessorDescriptor, ...] = (
    ProcessorDescriptor("paypal", ("PAYPAL", "PP"), ("PAYPAL PAYMENT FROM",)),
    ProcessorDescriptor("stripe", ("STRIPE",), ("STRIPE PAYMENT", "STRIPE TRANSFER")),
    ProcessorDescriptor("square", ("SQ",), ("SQUARE PAYMENT",)),
    ProcessorDescriptor("adyen", ("ADYEN",), ("ADYEN PAYMENT",)),
    ProcessorDescriptor("sumup", ("SUMUP", "SUM UP"), ()),
    ProcessorDescriptor("klarna", ("KLARNA",), ("KLARNA PAYMENT",)),
    ProcessorDescriptor("mollie", ("MOLLIE",), ("MOLLIE PAYMENT",)),
    ProcessorDescriptor("zettle", ("IZ", "ZETTLE"), ()),
    ProcessorDescriptor("shopify", ("SP", "SHOPIFY"), ()),
    ProcessorDescriptor("toast", ("TST",), ()),
    ProcessorDescriptor("worldpay", ("WORLDPAY",), ()),
)

#: Longest payer name taken after a prefix (card descriptors hold 22 characters, payout lines
#: a little more): the rest of a long text is not a name.
PAYER_MAX_CHARS = 40

# Keyed by the prefix without spaces: a text may write "SUM UP" or "SUMUP".
_STAR = {p.replace(" ", ""): d.key for d in PAYMENT_PROCESSORS for p in d.star_prefixes}
_WORDED = {p.replace(" ", ""): d.key for d in PAYMENT_PROCESSORS for p in d.worded_prefixes}


def _alternation(prefixes: list[str]) -> str:
    # Longest first, so "SUMUP" is tried before a shorter prefix that starts it.
    return "|".join(
        r"\s?".join(re.escape(word) for word in p.split()) for p in sorted(prefixes, key=len, reverse=True)
    )


_STAR_PREFIXES = [p for d in PAYMENT_PROCESSORS for p in d.star_prefixes]
_WORDED_PREFIXES = [p for d in PAYMENT_PROCESSORS for p in d.worded_prefixes]


#: SWIFT's MT940 character set has no "*": banks drop it ("PAYPAL ACMEGMBH"). At the start of a
#: text, a processor name of five letters or more followed by a space therefore counts too
#: (never a two-letter prefix like "SQ", and never inside a text, where "ORIG CO NAME:PAYPAL
#: ORIG ID" names the sender, not a payer).
_SPACED_PREFIXES = [p for p in _STAR_PREFIXES if len(p.replace(" ", "")) >= 5]
_DESCRIPTOR_RE = re.compile(
    rf"(?<![A-Z0-9])(?:(?P<star>{_alternation(_STAR_PREFIXES)})\s?[*_]\s?"
    rf"|(?P<worded>{_alternation(_WORDED_PREFIXES)})\s+)"
    r"(?P<name>[A-Z0-9][A-Z0-9 &.'-]*)"
)
#: First words after a processor's name in its own legal names and payout texts ("Stripe
#: Payments Europe Ltd", "Square Inc", "Klarna Bank AB", "Adyen N.V."): not a payer.
_NOT_A_PAYER = frozenset(
    {"PAYMENTS", "PAYMENT", "EUROPE", "INC", "LTD", "BANK", "PAYOUT", "PAYOUTS", "TRANSFER", "SERVICES",
     "HOLDINGS", "N.V.", "NV", "B.V.", "BV", "AB", "S.A", "SA", "SARL", "GMBH", "CORP", "LLC", "PTE"}
)  # fmt: skip
_SPACED_RE = re.compile(rf"^\s*(?P<star>{_alternation(_SPACED_PREFIXES)})\s+(?P<name>[A-Z0-9][A-Z0-9 &.'-]*)")


# Every descriptor holds a star or underscore, or a processor's name (the worded and the star-less
# forms start with one): texts without any of them skip the pattern (most bank texts: the
# pattern's alternation at every position cost ~8 µs a transaction).
_NAMES = tuple(sorted({p.split()[0] for p in (*_WORDED_PREFIXES, *_SPACED_PREFIXES)}))
_HINT_RE = re.compile("|".join([r"\*", "_", *(re.escape(name) for name in _NAMES)]))


def _may_hold_descriptor(upper: str) -> bool:
    return _HINT_RE.search(upper) is not None


@dataclass(frozen=True, slots=True)
class ProcessorPayment:
    """A processor recognised in a bank text and the payer name after its prefix."""

    processor: str
    payer: str


def find_processor(*texts: str) -> ProcessorPayment | None:
    """The first processor descriptor in ``texts`` (description first, then counterparty
    name, ...); the star-less form only at the start of the first text (see ``_SPACED_RE``)."""
    for position, text in enumerate(texts):
        if not text:
            continue
        upper = fold_upper(text)
        if not _may_hold_descriptor(upper):
            continue
        match = _DESCRIPTOR_RE.search(upper) or (_SPACED_RE.match(upper) if position == 0 else None)
        if match is None:
            continue
        payer = " ".join(match.group("name").split())[:PAYER_MAX_CHARS].strip()
        if len(payer.replace(" ", "")) < 3 or payer.split()[0] in _NOT_A_PAYER:
            continue
        star = match.group("star")
        key = _STAR["".join(star.split())] if star else _WORDED["".join(match["worded"].split())]
        return ProcessorPayment(key, payer)
    return None
