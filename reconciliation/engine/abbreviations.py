"""Invoice numbers a payer abbreviates in a list: "INV-2024-000791/792/793", "RE 0010247, 254, 255".

Payers paying consecutive invoices often write the first number in full and only the trailing
digits that change for the others (a remittance field of 140 characters holds few full
numbers). A run of short digit words right after a number the text quotes in full completes
that number: each replaces as many trailing digits as it has ("0010247, 254" -> 0010254).

Conservative by construction: a head must be a number the text already quotes (an open
invoice's number), a completing word must be shorter than the head's trailing digit run and
follow it directly (separated only by spaces, commas, semicolons, slashes, "&" or "+"), and the
caller uses the completed numbers only to complete a batch whose sum is then exact, never as a
reference of their own (they are no evidence for a 1:1 match and never auto-confirm).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SPLIT = re.compile(r"[\s,;/&+]+")
_TRAILING_DIGITS = re.compile(r"(\d+)$")
MIN_TAIL_DIGITS = 3  # "INV-12, 3" completes nothing: too short to be a numbering scheme
MAX_COMPLETED = 25  # numbers completed per text (the group search bounds its pool alike)


def completed_numbers(text: str, is_quoted: Callable[[str], bool]) -> list[str]:
    """The numbers the abbreviations of ``text`` stand for, in their order (see the module)."""
    tokens = [token for token in _SPLIT.split(text) if token]
    out: list[str] = []
    k = 0
    while k < len(tokens) and len(out) < MAX_COMPLETED:
        head = tokens[k]
        tail = _TRAILING_DIGITS.search(head)
        k += 1
        if tail is None or len(tail.group(1)) < MIN_TAIL_DIGITS or not is_quoted(head):
            continue
        width = len(tail.group(1))
        while k < len(tokens) and tokens[k].isdigit() and len(tokens[k]) < width:
            out.append(head[: len(head) - len(tokens[k])] + tokens[k])
            k += 1
    return out[:MAX_COMPLETED]
