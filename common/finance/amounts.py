"""Amounts read exactly, or refused: the one rule for amounts written as text (statement files)
and for amounts sent to the API (JSON numbers and strings).

Why strict: a lenient reader guesses, and a guessed amount is silently wrong money (``1.5e3``
read as 1.53, ``12abc34`` as 1234, ``1O0.00`` as 10.00). So an amount is accepted only when it is
exactly a number written in the format at hand; anything else is refused with a reason, and the
caller rejects the whole file or request.

What an :class:`AmountFormat` accepts:

* ASCII digits with at most one decimal separator of the format's kind (``15000,`` and ``.5``
  included: they cannot mean anything else);
* where the format has grouping (CSV exports), thousands groups that are well formed: one to
  three leading digits, then groups of exactly three (or the Indian 2-2-3 grouping,
  ``1,23,456.78``), all separated by the same character: the other of ``.``/``,``, a space
  (also no-break, narrow no-break and thin), or an apostrophe (``'``, ``’``, ``´``);
* signs as the format allows: none (MT940 and CAMT give the sign elsewhere), a leading ``+``
  or ``-`` (OFX, API), or the forms bank CSV exports use: a leading or trailing minus (also
  ``−``, ``‒``, ``–``), parentheses, or a ``DR``/``CR`` suffix, at most one of them;
* in CSV exports only, one currency symbol, code or abbreviation (``€``, ``US$``, ``EUR``,
  ``zł``) before or after the number, never inside it.

Anything else is refused: a letter inside (``l00.00``, ``1O0.00``, ``5 Feb``), an exponent
(``1e3``), a second sign, a second decimal separator, malformed groups (``12,5`` in a file
whose decimal separator is ``.``). Amounts must also fit the storage precision of every amount
column, ``numeric(18, 4)``: at most 14 digits before the decimal separator and 4 significant
ones after it (trailing zeros are fine), and the text at most 64 characters. The digits are
kept as written: ``Decimal`` from the text, never through float.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal, cast

from .currencies import CURRENCY_CODES, CURRENCY_QUANTUM, MoneyError, minor_units

# Storage precision of every amount column: enough for any ISO 4217 minor unit.
AMOUNT_MAX_DIGITS = 18
AMOUNT_DECIMAL_PLACES = 4
AMOUNT_INTEGER_DIGITS = AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES
#: Longest amount text looked at; the longest storable amount with every decoration is ~40.
AMOUNT_TEXT_MAX_LENGTH = 64
#: Longest JSON number literal accepted anywhere in a request body.
JSON_NUMBER_MAX_LENGTH = 64

AMOUNT_LIMIT = Decimal(10) ** AMOUNT_INTEGER_DIGITS
_STORAGE_QUANTUM = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)

_MINUS_SIGNS = "-\u2212\u2012\u2013"  # hyphen-minus, minus sign, figure dash, en dash
_SIGNS = "+" + _MINUS_SIGNS
#: Thousands separators besides the other of "." and ",": spaces (plain, no-break, narrow
#: no-break, thin) and apostrophes (Swiss ', typographic ’, and the ´ some exports write).
_GROUP_SEPARATORS = " \u00a0\u202f\u2009'\u2019\u00b4"

#: Currency signs (Unicode category Sc, Basic Multilingual Plane) and the code each one names
#: when it names a single currency ("$" is read as USD, as the CSV reader always did).
_CURRENCY_SIGN_CHARS = (
    "$\u00a2-\u00a5\u058f\u060b\u07fe\u07ff\u09f2\u09f3\u09fb\u0af1\u0bf9\u0e3f\u17db"
    "\u20a0-\u20c0\ua838\ufdfc\ufe69\uff04\uffe0\uffe1\uffe5\uffe6"
)
_SIGN_CURRENCIES = {
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₽": "RUB",
    "₺": "TRY",
    "₩": "KRW",
    "₪": "ILS",
    "₫": "VND",
    "₱": "PHP",
    "₴": "UAH",
    "₸": "KZT",
    "฿": "THB",
    "₾": "GEL",
    "₼": "AZN",
    "₦": "NGN",
}
#: Written currency marks that are neither a sign nor an ISO code ("" when they name several).
_CURRENCY_WORDS = {
    "US$": "USD",
    "CA$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
    "Euro": "EUR",
    "EURO": "EUR",
    "SFr.": "CHF",
    "zł": "PLN",
    "Kč": "CZK",
    "Ft": "HUF",
    "lei": "RON",
    "RM": "MYR",
    "Rp": "IDR",
    "kr": "",
    "kr.": "",
    "Fr.": "",
    "Rs": "",
    "Rs.": "",
}
_CURRENCY = "(?:{words}|[A-Z]{{3}}|[{signs}])".format(
    words="|".join(re.escape(word) for word in sorted(_CURRENCY_WORDS, key=len, reverse=True)),
    signs=_CURRENCY_SIGN_CHARS,
)
_EXPONENT = re.compile(r"[0-9.,]\s*[eE]\s*[+\-]?\s*[0-9]")
_DR_CR = re.compile(r"(?:DR|CR)\.?\s*$", re.IGNORECASE)


class AmountError(MoneyError):
    """A text or value that is not exactly an amount; the message says why (not what)."""


@dataclass(frozen=True, slots=True)
class AmountFormat:
    """How one kind of file (or the API) writes amounts; see the module docs.

    ``decimal`` is the decimal separator: ``"."``, ``","``, or ``".,"`` for either (OFX, which has
    no grouping, tolerates a decimal comma). ``separator_required``: the separator is always
    written (MT940's ``15d``: ``15000,``). ``max_length``: the longest text, surrounding
    whitespace included (``15d`` has 15 characters at most, the comma included).
    """

    decimal: Literal[".", ",", ".,"] = "."
    grouping: bool = False
    signs: Literal["none", "leading", "human"] = "none"
    currency_marks: bool = False
    separator_required: bool = False
    max_length: int = AMOUNT_TEXT_MAX_LENGTH

    def __post_init__(self) -> None:
        if self.decimal not in {".", ",", ".,"}:
            raise ValueError(f"decimal separator must be '.', ',' or '.,', not {self.decimal!r}")
        if self.grouping and self.decimal == ".,":
            raise ValueError("a format with grouping needs one decimal separator")


#: JSON strings and GraphQL literals: ``-1234.50``, ``+7``, ``.5``, ``5.`` (the API's documented
#: pattern ``^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$``).
API_AMOUNT = AmountFormat(decimal=".", signs="leading")
#: MT940 ``:61:`` amounts (``15d``): digits and a mandatory decimal comma, 15 characters at most;
#: the D/C mark signs it.
MT940_AMOUNT = AmountFormat(decimal=",", separator_required=True, max_length=15)
#: OFX ``TRNAMT``: signed, decimal point (a decimal comma is tolerated), no grouping.
OFX_AMOUNT = AmountFormat(decimal=".,", signs="leading")
#: CAMT ``Amt`` (XML Schema decimal, non-negative): the ``CdtDbtInd`` signs it.
CAMT_AMOUNT = AmountFormat(decimal=".")


def csv_amount_format(decimal: str) -> AmountFormat:
    """Amounts of a CSV export whose (detected or configured) decimal separator is ``decimal``."""
    if decimal not in {".", ","}:
        raise ValueError(f"decimal separator must be '.' or ',', not {decimal!r}")
    separator = cast(Literal[".", ","], decimal)
    return AmountFormat(decimal=separator, grouping=True, signs="human", currency_marks=True)


@dataclass(frozen=True, slots=True)
class _Patterns:
    plain: re.Pattern[str]  # the bulk of real amounts, read without the full grammar
    full: re.Pattern[str]


@lru_cache(maxsize=32)
def _patterns(fmt: AmountFormat) -> _Patterns:
    decimal = f"[{re.escape(fmt.decimal)}]"
    integer = "[0-9]+"
    if fmt.grouping:
        group = f"[{re.escape(('.' if fmt.decimal == ',' else ',') + _GROUP_SEPARATORS)}]"
        integer = (
            f"(?:[0-9]+"
            rf"|[0-9]{{1,3}}(?P<g>{group})[0-9]{{3}}(?:(?P=g)[0-9]{{3}})*"
            rf"|[0-9]{{1,2}}(?P<h>{group})[0-9]{{2}}(?:(?P=h)[0-9]{{2}})*(?P=h)[0-9]{{3}})"
        )
    if fmt.separator_required:
        number = f"(?P<int>{integer})(?P<sep>{decimal})(?P<frac>[0-9]*)"
        plain_number = f"[0-9]{{1,{AMOUNT_INTEGER_DIGITS}}}{decimal}[0-9]{{0,{AMOUNT_DECIMAL_PLACES}}}"
    else:
        number = f"(?P<int>{integer})?(?:(?P<sep>{decimal})(?P<frac>[0-9]*))?"
        plain_number = f"[0-9]{{1,{AMOUNT_INTEGER_DIGITS}}}(?:{decimal}[0-9]{{0,{AMOUNT_DECIMAL_PLACES}}})?"
    sign = f"[{re.escape(_SIGNS)}]"
    plain_sign = "-?" if fmt.signs != "none" else ""
    plain = re.compile(rf"\s*{plain_sign}{plain_number}\s*")
    if fmt.signs == "human":

        def currency(name: str) -> str:
            return rf"(?:(?P<{name}>{_CURRENCY})\s*)?" if fmt.currency_marks else ""

        full = (
            r"\s*"
            + currency("c1")
            + r"(?P<open>\()?\s*"
            + currency("c2")
            + rf"(?P<lead>{sign})?\s*"
            + currency("c3")
            + number
            + r"\s*"
            + currency("c4")
            + rf"(?P<trail>{sign})?\s*"
            + r"(?P<close>\))?\s*"
            + currency("c5")
            + r"(?P<drcr>(?i:DR|CR)\.?)?\s*"
        )
    elif fmt.signs == "leading":
        full = rf"\s*(?P<lead>[+\-])?{number}\s*"
    else:
        full = rf"\s*{number}\s*"
    return _Patterns(plain=re.compile(plain), full=re.compile(full))


def parse_amount_text(text: str, fmt: AmountFormat) -> Decimal:
    """The exact amount ``text`` writes in ``fmt``, or AmountError saying why it is not one."""
    return amount_reader(fmt)(text)[0]


def read_amount_text(text: str, fmt: AmountFormat) -> tuple[Decimal, str]:
    """``(amount, currency)``: the currency is the ISO code a currency mark names, else ""."""
    return amount_reader(fmt)(text)


@lru_cache(maxsize=32)
def amount_reader(fmt: AmountFormat) -> Callable[[str], tuple[Decimal, str]]:
    """:func:`read_amount_text` for one format, for reading many amounts (a file's rows): the
    format's patterns are looked up once, and plain amounts (``-12.34``, ``1234,5``, ``7``: no
    grouping, mark or limit to check) skip the full grammar."""
    patterns = _patterns(fmt)
    plain = patterns.plain.fullmatch
    max_length = fmt.max_length
    comma = "," in fmt.decimal

    def read(text: str) -> tuple[Decimal, str]:
        if len(text) <= max_length and plain(text):
            value = Decimal(text.replace(",", ".")) if comma else Decimal(text)
            return (abs(value) if value.is_zero() else value), ""
        return _read_full(text, fmt, patterns)

    return read


def _read_full(text: str, fmt: AmountFormat, patterns: _Patterns) -> tuple[Decimal, str]:
    if len(text) > fmt.max_length:
        raise AmountError(f"longer than {fmt.max_length} characters")
    match = patterns.full.fullmatch(text)
    if match is None:
        raise AmountError(_why_not(text, fmt))
    parts = match.groupdict()
    whole, fraction = parts["int"], parts["frac"]
    if not whole and not fraction:
        raise AmountError("no digits" if text.strip() else "empty")
    negative = False
    currency = ""
    if fmt.signs == "human":
        negative, currency = _human_marks(parts)
    elif parts.get("lead") == "-":
        negative = True
    digits = re.sub("[^0-9]", "", whole or "").lstrip("0")
    if len(digits) > AMOUNT_INTEGER_DIGITS:
        raise AmountError(
            f"more than {AMOUNT_INTEGER_DIGITS} digits before the decimal separator: too large to store"
        )
    fraction = fraction or ""
    if len(fraction.rstrip("0")) > AMOUNT_DECIMAL_PLACES:
        raise AmountError(f"more than {AMOUNT_DECIMAL_PLACES} decimal places cannot be stored")
    value = Decimal(f"{digits or '0'}.{fraction}" if fraction else digits or "0")
    if value.is_zero():
        return value, currency
    return (-value if negative else value), currency


def _human_marks(parts: dict[str, str | None]) -> tuple[bool, str]:
    """Sign and currency of a CSV amount's decorations; AmountError when they contradict."""
    if bool(parts["open"]) != bool(parts["close"]):
        raise AmountError("unbalanced parentheses")
    marks = [mark for mark in (parts["lead"], parts["trail"], parts["drcr"], parts["open"]) if mark]
    if len(marks) > 1:
        raise AmountError("more than one sign (minus, plus, parentheses or DR/CR)")
    negative = bool(marks) and (
        marks[0] in _MINUS_SIGNS or marks[0] == "(" or marks[0].upper().startswith("DR")
    )
    tokens = [parts[name] for name in ("c1", "c2", "c3", "c4", "c5") if parts.get(name)]
    if len(tokens) > 1:
        raise AmountError("more than one currency mark")
    currency = ""
    if tokens:
        token = tokens[0] or ""
        if token in _CURRENCY_WORDS:
            currency = _CURRENCY_WORDS[token]
        elif len(token) == 3 and token.isalpha():
            if token not in CURRENCY_CODES:
                raise AmountError(f"{token!r} is not an ISO 4217 currency code")
            currency = token
        else:
            currency = _SIGN_CURRENCIES.get(token, "")
    return negative, currency


def _why_not(text: str, fmt: AmountFormat) -> str:
    """The reason a text that failed the grammar is not an amount (error path only)."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    if _EXPONENT.search(stripped):
        return "exponent notation (e) is not allowed"
    signs = sum(stripped.count(sign) for sign in _SIGNS) + ("(" in stripped)
    if fmt.signs == "human" and _DR_CR.search(stripped):
        signs += 1
    if signs > 1:
        return "more than one sign"
    if signs and fmt.signs == "none":
        return "no sign allowed here"
    decimals = sum(stripped.count(separator) for separator in fmt.decimal)
    if decimals > 1:
        return f"more than one decimal separator {fmt.decimal[0]!r}"
    if any(character.isalpha() for character in stripped):
        if fmt.currency_marks:
            return "letters that are not one currency code or symbol before or after the number"
        return "letters are not allowed"
    if fmt.grouping and any(character in _GROUP_SEPARATORS or character in ".," for character in stripped):
        return (
            f"with the decimal separator {fmt.decimal!r}, thousands separators must group "
            "exactly three digits"
        )
    if fmt.separator_required and not decimals:
        return f"the decimal separator {fmt.decimal!r} is missing"
    return f"not a number written with the decimal separator {' or '.join(fmt.decimal)!r}"


# --- Amounts sent to the API ------------------------------------------------------------------------


def exact_decimal(value: object) -> Decimal:
    """An exact Decimal from what a client sent, within the storage precision.

    Accepts an int, a Decimal (JSON numbers are decoded as Decimal by :func:`json_decimal`) or
    a string in :data:`API_AMOUNT`. Refuses bool and float (already inexact), non-finite values,
    exponents, and values beyond ``numeric(18, 4)``. A negative zero reads as zero.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise AmountError("send amounts as JSON numbers or strings, parsed exactly (never as floats)")
    if isinstance(value, str):
        return parse_amount_text(value, API_AMOUNT)
    if isinstance(value, int):
        if abs(value) >= AMOUNT_LIMIT:
            raise AmountError(f"more than {AMOUNT_INTEGER_DIGITS} digits: too large to store")
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise AmountError("expected a number")
    if not value.is_finite():
        raise AmountError("must be a finite number")
    if value.adjusted() >= AMOUNT_INTEGER_DIGITS:  # O(1) even for 1E+1000000
        raise AmountError(f"more than {AMOUNT_INTEGER_DIGITS} digits: too large to store")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        raise AmountError("exponent notation (e) is not allowed")
    if value != value.quantize(_STORAGE_QUANTUM):
        raise AmountError(f"more than {AMOUNT_DECIMAL_PLACES} decimal places cannot be stored")
    return abs(value) if value.is_zero() else value


def fits_minor_units(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` has no more decimals than ``currency``'s minor unit (trailing zeros
    are fine: 1.500 USD fits). ``amount`` must be within the storage precision."""
    quantum = CURRENCY_QUANTUM.get(currency)
    if quantum is None:
        quantum = Decimal(1).scaleb(-minor_units(currency))
    return amount == amount.quantize(quantum)


def parse_money(value: object, currency: str) -> Decimal:
    """:func:`exact_decimal` with at most ``currency``'s minor unit of decimals (no rounding:
    ``150.005`` USD is an error)."""
    amount = exact_decimal(value)
    if not fits_minor_units(amount, currency):
        raise AmountError(
            f"{currency} amounts have at most {minor_units(currency)} decimal places; got {amount}."
        )
    return amount


# --- JSON numbers ------------------------------------------------------------------------------------


def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:20]}..."


def json_decimal(text: str) -> Decimal:
    """``json.loads(parse_float=...)``: a JSON number with a fraction, as an exact Decimal.

    Refuses exponents (``1e1000000``) and literals over 64 characters, so no number a client
    sends ever makes the server build, round or print a huge value: exactness is the API's
    promise, and no amount, rate or threshold needs either.
    """
    if len(text) > JSON_NUMBER_MAX_LENGTH:
        raise ValueError(f"the number {_shown(text)} is longer than {JSON_NUMBER_MAX_LENGTH} characters")
    if "e" in text or "E" in text:
        raise ValueError(
            f"the number {_shown(text)} is written with an exponent; write it out in full (e.g. 1500.00)"
        )
    return Decimal(text)


def json_int(text: str) -> int:
    """``json.loads(parse_int=...)``: a JSON integer of at most 64 characters."""
    if len(text) > JSON_NUMBER_MAX_LENGTH:
        raise ValueError(f"the number {_shown(text)} is longer than {JSON_NUMBER_MAX_LENGTH} characters")
    return int(text)
