"""The payer's name where a bank's export carries it only as a labelled part of the text.

Many US and UK bank exports (CSV, online banking downloads) have no counterparty column: the
payer is printed inside the description, after a label, among the payment system's other
fields. Without a name the engine has no idea who paid (no pool of the payer's open invoices,
no subset search); the whole description read as a name matches nobody, or worse, the
tenant's own name that the same text carries as the receiver. The labels come from the
payment systems' public record layouts, never from one generator's strings:

* NACHA ACH (batch header, field "Company Name", 16 characters): exports print it as
  ``ORIG CO NAME:`` (the originating company, i.e. the payer of a credit); the receiver's
  ``IND NAME:`` is the tenant and is never taken.
* Fedwire (tag {5000} Originator): printed ``B/O:`` ("by order of"), ``ORIGINATOR:`` or
  ``ORG:``; the originator name holds 35 characters.
* UK Faster Payments and Bacs receipts: the remitter after ``FROM`` at the end of the line
  (``FASTER PAYMENTS RECEIPT REF.… FROM NAME``), 18 characters as the schemes carry it.

A value runs to the next label of these layouts (``ORIG ID:``, ``OBI:``, ``IMAD:``, …) or the
end of the text, and is cut at :data:`PAYER_MAX_CHARS`. The name found is still a
name from the description (``cp.name_description``, its score discounted): it says who paid,
never which invoice, and never makes a match auto-confirm.
"""

from __future__ import annotations

import re

from common.finance import fold_upper

#: Longest payer name taken from a label (Fedwire's originator name holds 35 characters).
PAYER_MAX_CHARS = 35

# The labels these layouts print after the payer's name (NACHA's batch and entry fields, the
# Fedwire tags' usual abbreviations): the name ends at the first of them, or at the text's end.
_NEXT_LABELS = (
    "ORIG ID", "DESC DATE", "CO ENTRY DESCR", "ENTRY DESCR", "SEC", "TRACE#", "TRACE", "EED",
    "IND ID", "IND NAME", "PMT INFO", "ADDENDA", "TRN", "OBI", "IMAD", "OMAD", "BNF", "REF",
    "SSN", "VIA", "ORG", "B/O", "SND", "RFB",
)  # fmt: skip
_LABELLED = re.compile(
    r"(?:^|\s)(?:ORIG CO NAME|B/O|ORIGINATOR|ORG)\s*:\s*(?P<name>.+?)\s*(?=\s(?:"
    + "|".join(re.escape(label) for label in _NEXT_LABELS)
    + r")\s?:|$)"
)
# UK receipts: "... FROM NAME" closing the line, the name without digits (a reference is no name).
_FROM_AT_END = re.compile(r"\sFROM\s+(?P<name>[A-Z][A-Z &.'-]{2,})$")


def labelled_payer(description: str) -> str:
    """The payer's name printed after a label in ``description`` ("" when none), see the module."""
    if not description:
        return ""
    text = description.upper() if description.isascii() else fold_upper(description)
    text = text.strip()
    found = _LABELLED.search(text) or _FROM_AT_END.search(text)
    if found is None:
        return ""
    return found.group("name").strip()[:PAYER_MAX_CHARS].strip()
