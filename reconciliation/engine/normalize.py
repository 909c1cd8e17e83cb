"""Normalisation of references, account numbers and party names; RF creditor references are
found by the financial kernel (``common.finance.references``).

Everything here is pure and cached where the same strings recur (party names, invoice
numbers), because the engine calls these functions for every row of a 100k-row run. The
caches belong to the run (``engine/caches.py``): emptied when it ends.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from common.finance import find_rf_references, fold_upper

from .caches import run_cache

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


# Accented letters would otherwise split atoms ("FACTURÉ12" -> "FACTUR", "12"); the kernel's
# fold, so that RF references are found in the very text the atoms come from.
_ascii_upper = fold_upper


@run_cache(maxsize=65536)
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
    upper = number.upper() if number.isascii() else _ascii_upper(number)
    raw = _ATOM_RE.findall(upper)
    if not any(a[0].isdigit() for a in raw):
        return (), None  # purely alphabetic "numbers" cannot be told apart from words
    # The separator-less form: neighbouring atoms of the same kind merge ("2024","0001").
    merged: list[str] = []
    for a in raw:
        if merged and merged[-1][0].isdigit() == a[0].isdigit():
            merged[-1] += a
        else:
            merged.append(a)
    keys: list[tuple[str, ...]] = []
    for atoms in (raw, merged) if len(merged) != len(raw) else (raw,):
        if len(atoms) > MAX_KEY_ATOMS:
            continue
        key = tuple([a.lstrip("0") or "0" if a[0] == "0" else a for a in atoms])
        if len("".join(key)) >= MIN_KEY_CHARS:
            if key not in keys:
                keys.append(key)
        elif key != tuple(atoms) and len("".join(atoms)) > MIN_KEY_CHARS:
            # "0000364" is too short without its zeros, but distinctive with them: such a
            # number only matches when quoted zero-padded (text windows keep that form too).
            if tuple(atoms) not in keys:
                keys.append(tuple(atoms))
    numeric: tuple[str, ...] | None = None
    digits = "".join(a for a in raw if a.isdigit())
    has_alpha = any(a.isalpha() for a in raw)
    sig = digits.lstrip("0")
    if has_alpha and len(sig) >= MIN_KEY_CHARS:
        numeric = (sig,)
        if numeric in keys:
            numeric = None
    return tuple(keys), numeric


# Shared by the many texts without typo candidates (an empty dict per transaction is 64 bytes
# that a 100k run keeps). Never mutated: typed read-only.
_NO_FUZZY: Mapping[int, tuple[str, ...]] = {}


class TextRefs:
    """Reference evidence extracted once from a transaction's text fields."""

    __slots__ = ("windows", "fuzzy_by_len", "rfs")

    def __init__(
        self,
        windows: frozenset[tuple[str, ...]],
        fuzzy_by_len: Mapping[int, tuple[str, ...]],
        rfs: tuple[tuple[str, bool], ...],
    ) -> None:
        self.windows = windows  # every whole-word run of atoms, normalised
        self.fuzzy_by_len = fuzzy_by_len  # joined runs with a digit, by length (typo matching)
        self.rfs = rfs  # (normalised RF reference, checksum valid)


_SPLIT_ATOMS_RE = re.compile(r"([A-Z]+|[0-9]+)")
_JOINERS = frozenset({"", "-", ".", "_"})
_PLACEHOLDERS = frozenset({"NOTPROVIDED", "NONREF", "NONE", "NA"})


def _field_windows(upper: str, windows: set[tuple[str, ...]], fuzzy: set[str] | None, max_atoms: int) -> None:
    # re.split with a capture group alternates separators and atoms: [sep, atom, sep, ...].
    parts = _SPLIT_ATOMS_RE.split(upper)
    atoms = parts[1::2]
    n = len(atoms)
    if n == 0:
        return
    seps = parts[0::2]  # seps[k] precedes atoms[k]
    # Words: anything but a joiner ("-", ".", "_" or nothing) between two atoms starts a new
    # word. A reference must start and end on word boundaries: "123" never matches "11234".
    # A dot after a word of letters followed by another starts a new word too: a label
    # abbreviated with a dot ("REF.INV-2024-000731", "NR.RE-1234", as UK and German bank
    # exports print "REF." and "NR.") must not glue itself to the number it introduces.
    # Extra cuts only add windows (runs may span words), never remove one.
    cuts = [
        k
        for k in range(1, n)
        if seps[k] not in _JOINERS or (seps[k] == "." and atoms[k - 1][0].isalpha() and atoms[k][0].isalpha())
    ]
    starts = [0, *cuts]
    ends = [*cuts, n]
    norm = [a.lstrip("0") or "0" if a[0] == "0" else a for a in atoms]
    padded = "0" in upper and any(a[0] == "0" and len(a) > 1 for a in atoms)
    # Every key contains a digit, so only windows with a digit atom are worth keeping:
    # last_digit[k] = index of the last digit atom before k (exclusive), -1 if none.
    last_digit = [-1] * (n + 1)
    for k, a in enumerate(atoms):
        last_digit[k + 1] = k if a[0].isdigit() else last_digit[k]
    n_words = len(starts)
    for wi in range(n_words):
        st = starts[wi]
        for wj in range(wi, n_words):
            en = ends[wj]
            if en - st > max_atoms:
                break
            if last_digit[en] < st:
                continue
            window = tuple(norm[st:en])
            windows.add(window)
            if padded:  # zero-padded form, for numbers too short without their zeros
                windows.add(tuple(atoms[st:en]))
            # Typo candidates: short runs that contain digits (invoice numbers do).
            if fuzzy is not None and en - st <= 4:
                joined = "".join(window)
                if FUZZY_MIN_CHARS - 1 <= len(joined) <= 25:
                    fuzzy.add(joined)


def text_refs(description: str, *machine_fields: str, max_atoms: int = MAX_KEY_ATOMS) -> TextRefs:
    """Tokenise a transaction's text into whole-word atom windows and RF references.

    Typo candidates come from the description only: machine-filled fields (bank ids,
    end-to-end ids, structured references) are either copied exactly or unrelated.
    """
    windows: set[tuple[str, ...]] = set()
    fuzzy: set[str] = set()
    rfs: list[tuple[str, bool]] = []
    for k, text in enumerate((description, *machine_fields)):
        if not text:
            continue
        upper = text.upper() if text.isascii() else _ascii_upper(text)
        if upper in _PLACEHOLDERS:
            continue
        if k and upper.isalnum():
            # Fast path for one-word machine fields (bank ids, end-to-end ids): the only
            # whole-word window is the word itself.
            atoms = _ATOM_RE.findall(upper)
            if len(atoms) <= max_atoms and not upper.isalpha():
                norm = tuple([a.lstrip("0") or "0" if a[0] == "0" else a for a in atoms])
                windows.add(norm)
                if "0" in upper:
                    windows.add(tuple(atoms))
        else:
            _field_windows(upper, windows, fuzzy if k == 0 else None, max(max_atoms, 4))
        if "RF" in upper:
            for ref in find_rf_references(upper):
                if ref not in rfs:
                    rfs.append(ref)
    if not fuzzy:
        return TextRefs(frozenset(windows), _NO_FUZZY, tuple(rfs))
    by_len: dict[int, tuple[str, ...]] = {}
    for s in sorted(fuzzy):
        by_len[len(s)] = (*by_len.get(len(s), ()), s)
    return TextRefs(frozenset(windows), by_len, tuple(rfs))


# --- ISO 11649 RF creditor references -------------------------------------------------------
# Found and checked by the financial kernel (common.finance.references), the same finder the
# statement parsers and the API import use; the engine only reads their bodies.


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


@run_cache(maxsize=65536)
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


# German letters as SWIFT's character set spells them (ä -> AE, ö -> OE, ü -> UE, ß -> SS),
# while party names lose the accent (ä -> a) and ß altogether: both sides are folded alike.
_SWIFT_SPELLINGS = (("ae", "a"), ("oe", "o"), ("ue", "u"), ("ss", ""))


def fold_transliterations(text: str) -> str:
    """A normalised name with SWIFT's transliterations folded ("mueller" -> "muller"), so that
    "Müller" and "MUELLER" (a bank's SEPA or SWIFT character set) compare equal."""
    for spelled, folded in _SWIFT_SPELLINGS:
        if spelled in text:
            text = text.replace(spelled, folded)
    return text


def name_tokens(norm_name: str) -> tuple[str, ...]:
    """Index tokens of a normalised name: distinct words of three or more characters, their
    transliterations folded (a payer written "Brueckner" finds the party "Brückner")."""
    return tuple(
        sorted(
            {
                folded
                for w in norm_name.split()
                if len(w) >= 3 and not w.isdigit() and len(folded := fold_transliterations(w)) >= 3
            }
        )
    )
