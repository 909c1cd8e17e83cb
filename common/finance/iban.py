"""IBANs (ISO 13616) and account numbers as statements and clients write them.

Two questions with two costs, answered here once for the importers and the vendor ledger:

* *Is this account id an IBAN?* (:func:`looks_like_iban`, :func:`compact_account`): asked for
  every row of a statement, so it is the shape alone: two letters, two digits, 11 to 30
  letters or digits (the shortest IBAN, Norway's, has 15 characters, the longest 34). An
  IBAN-shaped account is stored upper case; other account ids are kept as the bank wrote
  them. Whether it is a *valid* IBAN does not change how a statement row is stored.
* *Is this a valid IBAN?* (:func:`iban_problem`, :func:`validate_iban`): asked when a person
  or a client gives a vendor's IBAN. python-stdnum (``stdnum.iban``) checks what ISO 13616
  defines: the country is in the IBAN registry, the length and the BBAN format are that
  country's, and the ISO 7064 check digits hold. A hand-written mod-97 check (what the vendor
  service had) accepts a German IBAN of the wrong length or a country without IBANs.
  stdnum's optional national checks stay off: for Belgium they look the bank code up in a
  list shipped with the release, and a real account at a bank newer than that list would be
  refused.

Whitespace is the only separator removed: an IBAN is printed in groups of four separated by
spaces; any other character makes the value something else.
"""

from __future__ import annotations

import re

from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

IBAN_MAX_LENGTH = 34
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


class IbanError(ValueError):
    """A value given as an IBAN that is not a valid one; the message says why."""


def compact_iban(value: str | None) -> str:
    """An IBAN as stored: whitespace removed, upper case (``de89 3704 ...`` -> ``DE893704...``)."""
    return "".join(value.split()).upper() if value else ""


def looks_like_iban(value: str | None) -> bool:
    """True when ``value`` (spaces allowed, any case) has the shape of an IBAN; no checksum."""
    return bool(value) and bool(_IBAN_SHAPE.fullmatch(compact_iban(value)))


def compact_account(value: str | None) -> str:
    """An account id as stored: whitespace removed; upper case when it has an IBAN's shape,
    else kept as written (a bank's own account id may be case-sensitive)."""
    if not value:
        return ""
    compact = value.replace(" ", "")  # spaces are the usual separators: C speed
    if not compact.isalnum():  # other whitespace (tabs, no-break spaces), or not alphanumeric
        compact = "".join(compact.split())
    upper = compact.upper()
    if upper == compact:  # the common case (digits, or an IBAN as banks print it): no regex
        return compact
    return upper if _IBAN_SHAPE.fullmatch(upper) else compact


def iban_problem(value: str) -> str | None:
    """Why ``value`` (spaces allowed, any case) is not a valid IBAN, or None when it is."""
    compact = compact_iban(value)
    if not compact:
        return "An IBAN cannot be empty."
    if not _IBAN_SHAPE.fullmatch(compact):
        return "An IBAN is a country code, 2 check digits and 11 to 30 letters or digits."
    try:
        stdnum_iban.validate(compact, check_country=False)
    except InvalidComponent:
        return f"{compact[:2]} is not a country that uses IBANs."
    except (InvalidLength, InvalidFormat):
        return f"The IBAN does not have the length and format of a {compact[:2]} IBAN."
    except InvalidChecksum:
        return "The IBAN check digits do not match."
    except ValidationError:
        return "The IBAN is not valid."
    return None


def validate_iban(value: str) -> str:
    """The compact form of a valid IBAN, or IbanError saying why it is not one."""
    problem = iban_problem(value)
    if problem is not None:
        raise IbanError(problem)
    return compact_iban(value)
