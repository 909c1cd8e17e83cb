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

_TOKEN = re.compile(r"[^\s,;/&+]+")
_TRAILING_DIGITS = re.compile(r"(\d+)$")
MIN_TAIL_DIGITS = 3  # "INV-12, 3" completes nothing: too short to be a numbering scheme
MAX_COMPLETED = 25  # numbers completed per text (the group search bounds its pool alike)
MAX_HEAD_TOKENS = 4  # "SO/2024/30681": a head may itself hold separators ("/", spaces)


def completed_numbers(text: str, is_quoted: Callable[[str], bool]) -> list[str]:
    """The numbers the abbreviations of ``text`` stand for, in their order (see the module).

    A head may span several tokens: numbering schemes with slashes or spaces ("SO/2024/30681
    688 689", "FV 2024 0113/114") are quoted as written, so the longest run of up to
    :data:`MAX_HEAD_TOKENS` tokens (with the text's own separators) that is a quoted number
    is the head.
    """
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out: list[str] = []
    k = 0
    while k < len(spans) and len(out) < MAX_COMPLETED:
        head = ""
        for size in range(min(MAX_HEAD_TOKENS, len(spans) - k), 0, -1):
            candidate = text[spans[k][0] : spans[k + size - 1][1]]
            tail = _TRAILING_DIGITS.search(candidate)
            if tail is not None and len(tail.group(1)) >= MIN_TAIL_DIGITS and is_quoted(candidate):
                head = candidate
                k += size
                break
        if not head:
            k += 1
            continue
        width = len(_TRAILING_DIGITS.search(head).group(1))  # type: ignore[union-attr]
        while k < len(spans) and len(out) < MAX_COMPLETED:
            token = text[spans[k][0] : spans[k][1]]
            if not (token.isdigit() and len(token) < width):
                break
            out.append(head[: len(head) - len(token)] + token)
            k += 1
    return out[:MAX_COMPLETED]
