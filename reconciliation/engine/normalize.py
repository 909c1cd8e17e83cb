"""Normalisation of references, RF creditor references, account numbers and party names.

Everything here is pure and cached where the same strings recur (party names, invoice
numbers), because the engine calls these functions for every row of a 100k-row run.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# A "word" ends at whitespace or at a listing punctuation mark. Inside a word, "-", "." and "_"
# join atoms ("INV-000123" is one word of two atoms). "/" separates words so that
# "INV123/INV124" lists two invoices, while "FV/2024/03/001" still matches as a multi-word run.
_WORD_SPLIT_RE = re.compile(r"[\s,;:()\[\]{}\"'/+&#|<>=*!?]+")
_ATOM_RE = re.compile(r"[A-Z]+|[0-9]+")
_ALNUM_RE = re.compile(r"[^A-Z0-9]+")

MAX_KEY_ATOMS = 6  # longest invoice-number key (in atoms) the text windows are built for
MIN_KEY_CHARS = 4  # significant characters a key needs before it can match on its own
FUZZY_MIN_CHARS = 6  # one-typo matching only for references at least this long


def _norm_atom(atom: str) -> str:
    """Digits lose leading zeros ("000123" -> "123"); letters are already upper case."""
    if atom.isdigit():
        return atom.lstrip("0") or "0"
    return atom


def compact(text: str) -> str:
    """Upper-case alphanumerics only: "inv-000 123" -> "INV000123"."""
    return _ALNUM_RE.sub("", text.upper())


def _ascii_upper(text: str) -> str:
    # Accented letters would otherwise split atoms ("FACTURÉ12" -> "FACTUR", "12").
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()


@lru_cache(maxsize=65536)
def invoice_keys(number: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...] | None]:
    """Keys under which an invoice number is recognised in bank text.

    Returns ``(full_keys, numeric_key)``:

    * full keys: the number's atoms with leading zeros dropped (``INV-000123`` ->
      ``("INV", "123")``), plus the same for the separator-less form
      (``INV-2024-0001`` -> ``("INV", "20240001")``) because banks often strip separators;
    * numeric key: the digits alone (``("12345",)``) when the number has an alphabetic
      prefix and at least :data:`MIN_KEY_CHARS` significant digits; ``None`` otherwise.
      Shorter digit runs are too likely to be random numbers in a description.
    """
    upper = _ascii_upper(number)
    raw = _ATOM_RE.findall(upper)
    if not any(a.isdigit() for a in raw):
        return (), None  # purely alphabetic "numbers" cannot be told apart from words
    keys: list[tuple[str, ...]] = []
    for atoms in (raw, _ATOM_RE.findall(compact(upper))):
        key = tuple(_norm_atom(a) for a in atoms)
        if sum(len(a) for a in key) >= MIN_KEY_CHARS and len(key) <= MAX_KEY_ATOMS:
            if key not in keys:
                keys.append(key)
    numeric: tuple[str, ...] | None = None
    digits = "".join(a for a in raw if a.isdigit())
    has_alpha = any(a.isalpha() for a in raw)
    sig = digits.lstrip("0")
    if has_alpha and len(sig) >= MIN_KEY_CHARS:
        numeric = (sig,)
        if numeric in keys:
            numeric = None
    return tuple(keys), numeric


def fuzzy_keys(number: str) -> tuple[str, ...]:
    """Joined forms of the full keys long enough for one-typo matching."""
    keys, _ = invoice_keys(number)
    out = sorted({"".join(k) for k in keys if len("".join(k)) >= FUZZY_MIN_CHARS})
    return tuple(out)


class TextRefs:
    """Reference evidence extracted once from a transaction's text fields."""

    __slots__ = ("windows", "fuzzy_by_len", "rfs")

    def __init__(
        self,
        windows: frozenset[tuple[str, ...]],
        fuzzy_by_len: dict[int, tuple[str, ...]],
        rfs: tuple[tuple[str, bool], ...],
    ) -> None:
        self.windows = windows  # every whole-word run of atoms, normalised
        self.fuzzy_by_len = fuzzy_by_len  # joined runs with a digit, by length (typo matching)
        self.rfs = rfs  # (normalised RF reference, checksum valid)


def _field_windows(text: str, windows: set[tuple[str, ...]], fuzzy: set[str]) -> None:
    atoms: list[str] = []
    starts: list[bool] = []
    ends: list[bool] = []
    for word in _WORD_SPLIT_RE.split(text):
        found = _ATOM_RE.findall(word)
        if not found:
            continue
        for j, atom in enumerate(found):
            atoms.append(_norm_atom(atom))
            starts.append(j == 0)
            ends.append(j == len(found) - 1)
    n = len(atoms)
    for i in range(n):
        if not starts[i]:
            continue  # a reference must start at a word start: "123" never matches "11234"
        has_digit = False
        for j in range(i, min(n, i + MAX_KEY_ATOMS)):
            has_digit = has_digit or atoms[j][0].isdigit()
            if ends[j]:
                window = tuple(atoms[i : j + 1])
                windows.add(window)
                # Typo candidates: short runs that contain digits (invoice numbers do).
                if has_digit and j - i < 4:
                    joined = "".join(window)
                    if FUZZY_MIN_CHARS - 1 <= len(joined) <= 25:
                        fuzzy.add(joined)


def text_refs(*fields: str) -> TextRefs:
    """Tokenise the transaction's text fields into whole-word atom windows and RF refs."""
    windows: set[tuple[str, ...]] = set()
    fuzzy: set[str] = set()
    rfs: list[tuple[str, bool]] = []
    for text in fields:
        if not text:
            continue
        upper = _ascii_upper(text)
        _field_windows(upper, windows, fuzzy)
        for ref in find_rf(upper):
            if ref not in rfs:
                rfs.append(ref)
    by_len: dict[int, list[str]] = {}
    for s in sorted(fuzzy):
        by_len.setdefault(len(s), []).append(s)
    return TextRefs(frozenset(windows), {k: tuple(v) for k, v in by_len.items()}, tuple(rfs))


# --- ISO 11649 RF creditor references -------------------------------------------------------

_RF_TOKEN_RE = re.compile(r"[A-Z0-9]+")


def rf_is_valid(ref: str) -> bool:
    """ISO 11649 check: ``RF`` + 2 check digits + 1..21 alphanumerics, mod 97 == 1."""
    ref = compact(ref)
    if not (5 <= len(ref) <= 25 and ref.startswith("RF") and ref[2:4].isdigit()):
        return False
    rearranged = ref[4:] + ref[:4]
    # Letters become two digits (A=10 .. Z=35), exactly as in IBAN checking.
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def find_rf(upper_text: str) -> list[tuple[str, bool]]:
    """RF references in (upper-case) text, compact or printed in groups of four.

    For the grouped print form ("RF18 5390 0754 7034") the groups are joined while each
    previous group has exactly four characters; the longest valid join wins. A candidate
    with no valid join is reported once as invalid (no credit, but explained).
    """
    toks = _RF_TOKEN_RE.findall(upper_text)
    found: list[tuple[str, bool]] = []
    for i, tok in enumerate(toks):
        if len(tok) < 4 or not tok.startswith("RF") or not tok[2:4].isdigit():
            continue
        joins = [tok]
        prev = tok
        j = i + 1
        # Only a 4-character group may be continued, and only by a group of 1..4 characters.
        while len(prev) == 4 and j < len(toks) and len(toks[j]) <= 4:
            nxt = joins[-1] + toks[j]
            if len(nxt) > 25:
                break
            joins.append(nxt)
            prev = toks[j]
            j += 1
        valid = [c for c in joins if rf_is_valid(c)]
        if valid:
            found.append((max(valid, key=len), True))
        elif len(joins[-1]) >= 5:
            found.append((joins[-1][:25], False))
    return found


def rf_body_keys(ref: str) -> tuple[str, ...]:
    """The body of an RF reference as a normalised atom tuple (for "embeds the number")."""
    return tuple(_norm_atom(a) for a in _ATOM_RE.findall(ref[4:]))


# --- accounts and names ---------------------------------------------------------------------


def normalize_account(account: str) -> str:
    """IBAN / account number compared without spaces, dashes or case; too short -> ""."""
    acct = compact(account)
    return acct if len(acct) >= 5 else ""


LEGAL_SUFFIXES = frozenset(
    {
        "gmbh", "mbh", "ag", "kg", "ug", "ohg", "gbr", "ev", "kgaa",
        "ltd", "limited", "inc", "incorporated", "llc", "llp", "plc", "corp", "corporation",
        "co", "company", "sa", "sas", "sarl", "srl", "spa", "sl", "lda", "bv", "nv", "vof",
        "oy", "oyj", "ab", "as", "asa", "aps", "pty", "pte", "kft", "sro", "zoo", "sp",
    }
)  # fmt: skip
_NAME_SPLIT_RE = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=262144)
def normalize_name(name: str) -> str:
    """Lower-case ASCII words without punctuation or legal-form suffixes.

    "Müller & Söhne GmbH" -> "muller sohne"; "ACME, Inc." -> "acme". Dotted abbreviations
    ("G.m.b.H.", "S.A.") are collapsed first so their letters are recognised as a suffix.
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"\b((?:[a-z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)
    text = text.replace("&", " ")
    words = [w for w in _NAME_SPLIT_RE.split(text) if w and w not in LEGAL_SUFFIXES]
    return " ".join(words)


def name_tokens(norm_name: str) -> tuple[str, ...]:
    """Index tokens of a normalised name: distinct words of three or more characters."""
    return tuple(sorted({w for w in norm_name.split() if len(w) >= 3 and not w.isdigit()}))
