"""The financial kernel: money rules without Django, shared by the apps, the statement parsers
and the engine (see DESIGN.md: arrows point down only, nothing here imports the project).

``currencies``: ISO 4217 codes and minor units. ``amounts``: amounts read exactly from text or
API values, or refused; the storage precision every amount column has. ``labels``: how
sentences and lists quote clients' texts (excerpts) and name an invoice.
"""

from .amounts import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_LIMIT,
    AMOUNT_MAX_DIGITS,
    API_AMOUNT,
    CAMT_AMOUNT,
    MT940_AMOUNT,
    OFX_AMOUNT,
    AmountError,
    AmountFormat,
    amount_reader,
    csv_amount_format,
    exact_decimal,
    fits_minor_units,
    json_decimal,
    json_int,
    parse_amount_text,
    parse_money,
    read_amount_text,
)
from .currencies import (
    CURRENCY_CODES,
    CURRENCY_QUANTUM,
    MINOR_UNITS,
    MoneyError,
    minor_units,
    normalize_currency,
    quantize,
)
from .labels import QUOTE_MAX_CHARS, excerpt, invoice_label, money_text

__all__ = [
    "AMOUNT_DECIMAL_PLACES",
    "AMOUNT_LIMIT",
    "AMOUNT_MAX_DIGITS",
    "API_AMOUNT",
    "CAMT_AMOUNT",
    "CURRENCY_CODES",
    "CURRENCY_QUANTUM",
    "MINOR_UNITS",
    "MT940_AMOUNT",
    "OFX_AMOUNT",
    "QUOTE_MAX_CHARS",
    "AmountError",
    "AmountFormat",
    "MoneyError",
    "amount_reader",
    "csv_amount_format",
    "exact_decimal",
    "excerpt",
    "fits_minor_units",
    "invoice_label",
    "json_decimal",
    "json_int",
    "minor_units",
    "money_text",
    "normalize_currency",
    "parse_amount_text",
    "parse_money",
    "quantize",
    "read_amount_text",
]
