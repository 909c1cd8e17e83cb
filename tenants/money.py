"""Money helpers for the apps: the financial kernel's currencies and amount rules.

The rules live in ``common.finance`` (Django-free, shared with the statement parsers); this
module keeps the names the apps have always imported.
"""

from __future__ import annotations

from decimal import Decimal

from common.finance import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    CURRENCY_CODES,
    CURRENCY_QUANTUM,
    MINOR_UNITS,
    MoneyError,
    format_money,
    normalize_currency,
    parse_money,
    quantize,
)

__all__ = [
    "AMOUNT_DECIMAL_PLACES",
    "AMOUNT_MAX_DIGITS",
    "CURRENCY_CODES",
    "CURRENCY_QUANTUM",
    "MINOR_UNITS",
    "MoneyError",
    "format_money",
    "normalize_currency",
    "parse_amount",
    "quantize",
]


def parse_amount(value: object, currency: str) -> Decimal:
    """A Decimal from a JSON number (already Decimal/int) or a numeric string, never via float.

    Refuses floats (they have already lost precision), non-finite values, exponents, values
    beyond the storage precision and more decimals than the currency's minor unit (``150.005``
    USD is an error, not a rounding). The rule is ``common.finance.parse_money``.
    """
    return parse_money(value, currency)
