"""ISO 4217 currencies and their minor units (Django-free).

The table is the one every amount rule reads: how many decimals an amount of a currency may
carry (JPY 0, USD 2, KWD 3, CLF 4), and the quantum amounts are shown at.

Why a table of our own and not CLDR's (babel): ISO 4217's minor units are what banks and
payment files use, and CLDR's currency "digits" are display conventions that differ for 14
active codes (IQD 0 instead of ISO's 3; AFN, ALL, IRR, KPW, LAK, LBP, MGA, MMK, RSD, SLL, SOS,
SYP, YER 0 instead of 2). An IQD statement line of 1.250 is a valid amount that CLDR's digits
would refuse. The table changes about once a year (a new or retired code), by hand.
"""

from __future__ import annotations

from decimal import Decimal

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

# The quantum of each currency's minor unit (JPY 1, USD 0.01, KWD 0.001): built once, read for
# every amount shown or checked.
CURRENCY_QUANTUM = {code: Decimal(1).scaleb(-places) for code, places in MINOR_UNITS.items()}
_DEFAULT_QUANTUM = Decimal("0.01")


class MoneyError(ValueError):
    """An amount or currency a client (or a file) sent that cannot be accepted."""


def normalize_currency(code: object) -> str:
    """Upper-case ISO 4217 code, or MoneyError for anything else."""
    if not isinstance(code, str) or code.strip().upper() not in CURRENCY_CODES:
        raise MoneyError(f"{code!r} is not an ISO 4217 currency code.")
    return code.strip().upper()


def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit; 2 for a code outside the table."""
    return MINOR_UNITS.get(currency, 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """The amount at the currency's minor unit (for display and API output)."""
    return amount.quantize(CURRENCY_QUANTUM.get(currency, _DEFAULT_QUANTUM))
