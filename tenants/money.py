"""Money helpers: ISO 4217 currencies with their minor units, Decimal parsing and rounding."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Active ISO 4217 codes with a minor unit other than 2 decimals...
_MINOR_UNITS_EXCEPTIONS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "CLF": 4,
    "UYW": 4,
}
# ...and the active codes with two (the list of ISO 4217 as of 2024, funds codes included).
_TWO_DECIMAL_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD
LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN
PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL
""".split()

MINOR_UNITS: dict[str, int] = {code: 2 for code in _TWO_DECIMAL_CODES} | _MINOR_UNITS_EXCEPTIONS
CURRENCY_CODES = frozenset(MINOR_UNITS)

# Storage precision of every amount column: enough for any ISO 4217 minor unit.
AMOUNT_MAX_DIGITS = 18
AMOUNT_DECIMAL_PLACES = 4


class MoneyError(ValueError):
    """An amount or currency a client sent that cannot be accepted."""


def normalize_currency(code: object) -> str:
    """Upper-case ISO 4217 code, or MoneyError for anything else."""
    if not isinstance(code, str) or code.strip().upper() not in CURRENCY_CODES:
        raise MoneyError(f"{code!r} is not an ISO 4217 currency code.")
    return code.strip().upper()


def parse_amount(value: object, currency: str) -> Decimal:
    """A Decimal from a JSON number (already Decimal/int) or a numeric string, never via float.

    Refuses floats (they have already lost precision), non-finite values and more decimals than
    the currency's minor unit (``150.005`` USD is an error, not a rounding).
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("Send amounts as JSON numbers or strings, parsed exactly.")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str) and value.strip():
        try:
            amount = Decimal(value.strip())
        except InvalidOperation as exc:
            raise MoneyError(f"{value!r} is not a number.") from exc
    else:
        raise MoneyError("An amount is required.")
    if not amount.is_finite():
        raise MoneyError("Amounts must be finite numbers.")
    places = MINOR_UNITS.get(currency, 2)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise MoneyError(f"{currency} amounts have at most {places} decimal places; got {value}.")
    if amount.adjusted() >= AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES:
        raise MoneyError("The amount is too large.")
    return amount


# The quantum of each currency's minor unit (JPY 1, USD 0.01, KWD 0.001): built once, read for
# every amount shown or checked.
CURRENCY_QUANTUM = {code: Decimal(1).scaleb(-places) for code, places in MINOR_UNITS.items()}
_DEFAULT_QUANTUM = Decimal("0.01")


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount at the currency's minor unit (for display and API output)."""
    return amount.quantize(CURRENCY_QUANTUM.get(currency, _DEFAULT_QUANTUM))
