"""How the books name things in sentences and lists: excerpts of clients' texts and invoice labels.

Django-free, so the matching engine's reasons, the ``Invoice`` model and the back office name an
invoice with the same words (one home for that rule).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .formatting import format_money

#: Longest piece of a client's text a sentence quotes (a description, a name, a reference, an
#: invoice number, an id). Longer pieces are cut to an excerpt ending in "…": a description holds
#: up to 2,000 characters, and quoted whole in each reason of a proposal, a page of 500 matches
#: reached 80-100 MB.
QUOTE_MAX_CHARS = 80
_ELLIPSIS = "…"


def excerpt(text: str, limit: int = QUOTE_MAX_CHARS) -> str:
    """``text`` as a sentence quotes it: whole up to ``limit`` characters, else its first
    ``limit - 1`` characters and "…" (never more than ``limit``)."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + _ELLIPSIS


def invoice_label(
    number: str,
    *,
    party: str,
    amount: Decimal | None,
    currency: str,
    day: date | None,
    in_sentence: bool = False,
) -> str:
    """What to call an invoice: its number, or when it has none (an ordinary case: the original
    API took invoices without one) who, how much and when.

    "INV-0101"; "Unnumbered invoice (Acme Corp, 150.00 USD, 2023-10-25)", or inside a sentence
    "unnumbered invoice (...)". Never an id: a bookkeeper cannot tell invoices apart by UUID. A
    number or name longer than ``QUOTE_MAX_CHARS`` is shown as an excerpt; a missing amount or
    day (an invoice still being typed) is left out.
    """
    if number.strip():
        return excerpt(number.strip())
    details = [
        part
        for part in (
            excerpt(party.strip()),
            format_money(amount, currency) if amount is not None else "",
            day.isoformat() if day else "",
        )
        if part
    ]
    lead = "unnumbered" if in_sentence else "Unnumbered"
    return f"{lead} invoice ({', '.join(details)})" if details else f"{lead} invoice"
