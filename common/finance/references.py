"""ISO 11649 creditor references ("RF references"): found in free text, and checked.

One finder for the statement parsers, the API import and the matching engine, so a bank line
yields the same reference whichever way it arrived (issue 16: the parsers' and the engine's
finders disagreed on ``RF18 53900754 7034`` and ``RF18 539 007547034``).

A reference is ``RF``, two check digits and 1 to 21 ASCII letters or digits (25 characters at
most); it is valid when ISO 7064 MOD 97-10 of the rearranged text (body, then ``RF`` and the
check digits, letters counted A=10 .. Z=35) is 1. The arithmetic is python-stdnum's
(``stdnum.iso7064.mod_97_10``); the structure is checked here, because ``stdnum.iso11649``
also accepts letters as check digits (``RFAM5390...``) and non-ASCII digits.

How a reference is found in text (upper or lower case; accents folded as the engine folds
them, so ``für RF18...`` and ``FUR RF18...`` read alike):

* it starts at a word that begins with ``RF`` and two digits (``PERFECT 12`` has none);
* it may continue over the following words when only whitespace or hyphens separate them
  (``RF18 5390 0754 7034``, ``RF18-5390-...``), never across other punctuation (``,``,
  ``/``, ``.``, ``:`` end it) and never beyond 25 characters;
* the print form comes first: groups of four (the last may be shorter) joined as long as a
  group of four is followed by a group of at most four, and the longest valid join wins
  (``RF18 5390 0754 7034 2024`` is ``RF18539007547034`` unless ``...2024`` is valid too);
* when no print-form join is valid, banks regrouped it (``RF18 53900754 7034``,
  ``RF18 539 007547034``): the longest valid join of the following words wins;
* a start with no valid join at all is reported as an invalid reference (its print-form join,
  when at least 5 characters), so the engine can say why it gives no credit; the importers
  store valid references only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from stdnum.iso7064 import mod_97_10

RF_MAX_LENGTH = 25
_GROUP = 4

_RF_SHAPE = re.compile(r"RF[0-9]{2}[A-Z0-9]{1,21}")
# A start: "RF" + two digits at the beginning of a word, with the rest of that word.
_RF_START = re.compile(r"(?<![A-Z0-9])RF[0-9]{2}[A-Z0-9]*")
# The next word of a reference: after whitespace and/or hyphens only.
_RF_NEXT = re.compile(r"[\s\-]+([A-Z0-9]+)")

#: A reference found in text: ``(reference, valid)``; plain tuples, the engine keeps many.
FoundReference = tuple[str, bool]


def fold_upper(text: str) -> str:
    """Upper-case ASCII: accents dropped by compatibility decomposition (``"für"`` ->
    ``"FUR"``); letters without an ASCII base vanish. The engine reads every text this way."""
    if text.isascii():
        return text.upper()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()


def compact_reference(value: str | None) -> str:
    """A structured creditor reference as stored: whitespace removed, upper case."""
    return "".join(value.split()).upper() if value else ""


def _checksum_holds(compact: str) -> bool:
    # ISO 11649 moves "RFkk" behind the body before the MOD 97-10 check.
    return mod_97_10.checksum(compact[4:] + compact[:4]) == 1


def is_valid_rf(value: str) -> bool:
    """True when ``value`` (spaces allowed, any case) is a valid ISO 11649 reference."""
    compact = compact_reference(value)
    return bool(_RF_SHAPE.fullmatch(compact)) and _checksum_holds(compact)


def find_rf_references(text: str | None) -> list[FoundReference]:
    """Every RF reference in ``text`` in order, valid or not (see the module docs)."""
    if not text:
        return []
    upper = fold_upper(text)
    return list(_references(upper)) if "RF" in upper else []


def find_rf_reference(text: str | None) -> str:
    """The first valid RF reference in ``text``, or "" (what the importers store)."""
    if text:
        upper = fold_upper(text)
        if "RF" in upper:  # most bank texts have none: one scan, no regex
            for reference, valid in _references(upper):
                if valid:
                    return reference
    return ""


def _references(upper: str) -> Iterator[FoundReference]:
    for start in _RF_START.finditer(upper):
        reference = _read_reference(upper, start)
        if reference is not None:
            yield reference


def _read_reference(upper: str, start: re.Match[str]) -> FoundReference | None:
    """The reference that begins at ``start``: the print form's longest valid join, else the
    longest valid join of the following words, else the print form as an invalid reference
    (None when that is a bare ``RFkk``: nothing to explain)."""
    head = start.group()
    joins = [head]  # head, head + next word, ... (each at most 25 characters)
    print_form = 1  # how many of the joins follow the print form (groups of four)
    previous = head
    position = start.end()
    while len(joins[-1]) < RF_MAX_LENGTH:
        word = _RF_NEXT.match(upper, position)
        if word is None:
            break
        joined = joins[-1] + word.group(1)
        if len(joined) > RF_MAX_LENGTH:
            break
        if print_form == len(joins) and len(previous) == _GROUP and len(word.group(1)) <= _GROUP:
            print_form += 1
        joins.append(joined)
        previous = word.group(1)
        position = word.end()
    for candidates in (joins[:print_form], joins[print_form:]):
        for candidate in reversed(candidates):
            if _RF_SHAPE.fullmatch(candidate) and _checksum_holds(candidate):
                return candidate, True
    invalid = joins[print_form - 1][:RF_MAX_LENGTH]
    return (invalid, False) if len(invalid) > _GROUP else None
