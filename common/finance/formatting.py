"""Money written for people: the back office, the workbench, command output, the engine's reasons.

``format_money(Decimal("1234.5"), "EUR")`` is ``"1,234.50 EUR"``: the amount at its currency's
ISO 4217 minor unit (JPY ``"1,234 JPY"``, KWD ``"1.234 KWD"``, CLF ``"0.5000 CLF"``), thousands
grouped with ``,``, ``.`` before the decimals, a leading ``-`` for negative amounts, and the
ISO code after the number. Amounts with more decimals than the currency has (an FX conversion)
are rounded half to even, as :func:`quantize` rounds; a zero is never shown as ``-0.00``.

Why one fixed format and not CLDR locale formats (babel): this is a back office where a
figure is read beside bank statements and exports, by staff of one tenant who may sit in
different countries. One unambiguous form with the ISO code reads the same for all of them
and never turns ``1.234`` (three KWD decimals) into "one thousand". Locale formats would also
need the reader's locale on every path that writes money (commands, engine reasons stored
with a match), and babel (~30 MB) would bring CLDR's currency digits, which are display
conventions that differ from ISO 4217 for 14 currencies (IQD 0 instead of 3, ALL 0 instead
of 2, ...): the amounts banks send are in ISO 4217 minor units, which ``currencies`` keeps.

Machine-readable outputs (REST, GraphQL, CSV exports) write :func:`quantize`'s Decimal
instead: the same minor units, no grouping, the currency in a field of its own.
"""

from __future__ import annotations

from decimal import Decimal

from .currencies import quantize


def format_money(amount: Decimal | int, currency: str) -> str:
    """``amount`` in ``currency`` for people: ``"1,234.50 EUR"`` (see the module docs)."""
    value = quantize(Decimal(amount), currency)
    if value.is_zero():
        value = abs(value)
    return f"{value:,f} {currency}"
