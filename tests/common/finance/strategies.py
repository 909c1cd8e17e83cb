"""Hypothesis strategies for amounts: exactly written ones (with the value they write) and ones
with one defect the kernel must refuse, for any ``AmountFormat``. Shared by the kernel's tests
and the per-path tests (CSV, MT940, OFX, CAMT, API)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from common.finance import AmountFormat

DIGITS = "0123456789"
#: Settings for every property test: reproducible, no example database written to disk.
PROPERTY_SETTINGS = {"max_examples": 60, "derandomize": True, "database": None, "deadline": None}
_GROUP_SEPARATORS = [" ", "\u00a0", "\u202f", "'", "\u2019"]
_CURRENCY_MARKS = ["€", "EUR", "US$", "CHF", "£", "$", "zł"]
#: Letters put between two digits; S, N and F are left out because in MT940 they start the
#: transaction type code that follows the amount (``12,0N00N`` is amount 12,0 of type N00N).
_LETTERS = "aAbeEOolIxXkKzZ"
DEFECTS = ("letter", "exponent", "second sign", "second separator")


def _grouped(whole: str, separator: str) -> str:
    head = len(whole) % 3 or 3
    groups = [whole[:head]] + [whole[i : i + 3] for i in range(head, len(whole), 3)]
    return separator.join(groups)


@st.composite
def _numbers(draw: st.DrawFn, fmt: AmountFormat) -> tuple[str, Decimal]:
    """The unsigned number as written, and its value."""
    whole = draw(st.text(DIGITS, min_size=1, max_size=14))
    with_separator = fmt.separator_required or draw(st.booleans())
    fraction = draw(st.text(DIGITS, max_size=4)) if with_separator else None
    if fraction and not fmt.separator_required and draw(st.integers(0, 9)) == 0:
        whole = ""  # ".5"
    integer_text = whole
    if fmt.grouping and len(whole) > 3 and draw(st.booleans()):
        other = "." if fmt.decimal == "," else ","
        integer_text = _grouped(whole, draw(st.sampled_from([other, *_GROUP_SEPARATORS])))
    decimal = draw(st.sampled_from(list(fmt.decimal)))
    text = integer_text + (decimal + fraction if fraction is not None else "")
    value = Decimal((whole or "0") + (f".{fraction}" if fraction else ""))
    return text, value


def written_amounts(fmt: AmountFormat) -> st.SearchStrategy[tuple[str, Decimal]]:
    """An amount written exactly in ``fmt`` (within its length), and the value it writes."""
    return _written_amounts(fmt).filter(lambda item: len(item[0]) <= fmt.max_length)


@st.composite
def _written_amounts(draw: st.DrawFn, fmt: AmountFormat) -> tuple[str, Decimal]:
    number, value = draw(_numbers(fmt))
    negative = False
    if fmt.signs == "leading":
        sign = draw(st.sampled_from(["", "-", "+"]))
        text, negative = sign + number, sign == "-"
    elif fmt.signs == "human":
        style = draw(st.sampled_from(["", "-", "+", "\u2212", "trailing", "parentheses", " DR", " CR", "cr"]))
        inner = number
        if fmt.currency_marks and draw(st.booleans()):
            mark = draw(st.sampled_from(_CURRENCY_MARKS))
            space = draw(st.sampled_from(["", " "]))
            inner = f"{mark}{space}{number}" if draw(st.booleans()) else f"{number}{space}{mark}"
        if style == "trailing":
            text, negative = f"{inner}-", True
        elif style == "parentheses":
            text, negative = f"({inner})", True
        elif style in {" DR", " CR", "cr"}:
            text, negative = inner + style, style == " DR"
        else:
            text, negative = style + inner, style in {"-", "\u2212"}
    else:
        text = number
    return text, (-value if negative and value else value)


def _between_digits(text: str) -> list[int]:
    return [i + 1 for i in range(len(text) - 1) if text[i].isdigit() and text[i + 1].isdigit()]


def defective_amounts(fmt: AmountFormat, defect: str) -> st.SearchStrategy[str]:
    """A text that is ``fmt``'s amount but for one ``defect`` (see ``DEFECTS``), short enough
    that the defect, not the length, is what makes it wrong."""
    return _defective_amounts(fmt, defect).filter(lambda text: len(text) <= fmt.max_length)


@st.composite
def _defective_amounts(draw: st.DrawFn, fmt: AmountFormat, defect: str) -> str:
    if defect == "letter":
        number, _value = draw(_numbers(fmt).filter(lambda item: _between_digits(item[0])))
        at = draw(st.sampled_from(_between_digits(number)))
        return number[:at] + draw(st.sampled_from(_LETTERS)) + number[at:]
    if defect == "exponent":
        number, _value = draw(_numbers(fmt))
        exponent = draw(st.sampled_from(["e", "E", "e+", "E-", "e-"])) + str(draw(st.integers(0, 10**6)))
        return number + exponent
    if defect == "second sign":
        number, _value = draw(_numbers(fmt))
        signs = ["-", "+"] if fmt.signs != "human" else ["-", "+", "\u2212"]
        first, second = draw(st.sampled_from(signs)), draw(st.sampled_from(signs))
        if fmt.signs == "human":
            forms = [first + second + number, f"{first}{number}{second}", f"({first}{number})"]
            return draw(st.sampled_from([*forms, f"{first}{number} DR"]))
        return first + second + number
    assert defect == "second separator"
    number, _value = draw(_numbers(fmt).filter(lambda item: len(_between_digits(item[0])) >= 2))
    separator = draw(st.sampled_from(list(fmt.decimal)))
    spots = _between_digits(number)
    first = draw(st.sampled_from(spots))
    text = number[:first] + separator + number[first:]
    if sum(text.count(character) for character in fmt.decimal) < 2:
        second = draw(st.sampled_from(_between_digits(text)))
        text = text[:second] + separator + text[second:]
    return text


def digits_written(text: str) -> str:
    """The ASCII digits of a text, without leading zeros."""
    return "".join(character for character in text if character in DIGITS).lstrip("0")
