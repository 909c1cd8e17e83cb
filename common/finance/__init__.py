"""The financial kernel: money rules without Django, shared by the apps, the statement parsers
and the engine (see DESIGN.md: arrows point down only, nothing here imports the project).

``currencies``: ISO 4217 codes and minor units. ``amounts``: amounts read exactly from text or
API values, or refused; the storage precision every amount column has. ``formatting``: money
written for people. ``references``: ISO 11649 RF creditor references, found in text and
checked. ``iban``: IBANs and account ids, normalised and validated. ``labels``: how sentences
and lists quote clients' texts (excerpts) and name an invoice.
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
from .formatting import format_money
from .iban import (
    IBAN_MAX_LENGTH,
    IbanError,
    compact_account,
    compact_iban,
    iban_problem,
    looks_like_iban,
    validate_iban,
)
from .labels import QUOTE_MAX_CHARS, excerpt, invoice_label
from .references import (
    RF_MAX_LENGTH,
    FoundReference,
    compact_reference,
    find_rf_reference,
    find_rf_references,
    fold_upper,
    is_valid_rf,
)

__all__ = [
    "AMOUNT_DECIMAL_PLACES",
    "AMOUNT_LIMIT",
    "AMOUNT_MAX_DIGITS",
    "API_AMOUNT",
    "CAMT_AMOUNT",
    "CURRENCY_CODES",
    "CURRENCY_QUANTUM",
    "IBAN_MAX_LENGTH",
    "MINOR_UNITS",
    "MT940_AMOUNT",
    "OFX_AMOUNT",
    "QUOTE_MAX_CHARS",
    "RF_MAX_LENGTH",
    "AmountError",
    "AmountFormat",
    "FoundReference",
    "IbanError",
    "MoneyError",
    "amount_reader",
    "compact_account",
    "compact_iban",
    "compact_reference",
    "csv_amount_format",
    "exact_decimal",
    "excerpt",
    "find_rf_reference",
    "find_rf_references",
    "fits_minor_units",
    "fold_upper",
    "format_money",
    "iban_problem",
    "invoice_label",
    "is_valid_rf",
    "json_decimal",
    "json_int",
    "looks_like_iban",
    "minor_units",
    "normalize_currency",
    "parse_amount_text",
    "parse_money",
    "quantize",
    "read_amount_text",
    "validate_iban",
]
