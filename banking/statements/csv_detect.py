"""CSV layout detection: which row is the header and what each column holds, the text encoding,
the decimal separator (see ``csv_format``'s module docs for the decisions)."""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field

from ._text import FALLBACK_ERRORS
from .csv_synonyms import NOT_AMOUNT_WORDS, NUMBERED_DESCRIPTION, PREFIX_FIELDS, SYNONYMS

#: A bank reference: an identifier without spaces that has a digit (``A01234BC01234567``).
REFERENCE_ID = re.compile(r"(?=[^0-9]*[0-9])[A-Za-z0-9][A-Za-z0-9/._:+\-]{0,127}")


def normalize_header(header: str) -> str:
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("ß", "ss")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def classify_header(name: str) -> str | None:
    """Which field a normalised header name stands for, if any."""
    if not name:
        return None
    for field_name, names in SYNONYMS:
        if name in names:
            return field_name
    if NUMBERED_DESCRIPTION.fullmatch(name):
        return "description"
    words = name.split()
    if not NOT_AMOUNT_WORDS.intersection(words):
        for field_name, prefixes in PREFIX_FIELDS:
            if words[0] in prefixes:
                return field_name
    return None


@dataclass(slots=True)
class HeaderMapping:
    """Column indexes per field (description may use several columns)."""

    columns: dict[str, int] = field(default_factory=dict)
    description: list[int] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    reference: int | None = None  # a plain "Reference" column: external_id if its values fit

    def valid(self) -> bool:
        has_date = "date" in self.columns or "value_date" in self.columns
        has_amount = any(k in self.columns for k in ("amount", "debit", "credit"))
        return has_date and has_amount

    def score(self) -> int:
        return len(self.columns) + len(self.description)


def resolve_explicit(
    headers: list[str], columns: dict[str, str]
) -> tuple[dict[str, int], list[int], list[str]]:
    """Indexes of the explicitly named columns, and the names not found."""
    exact = {h.strip(): i for i, h in reversed(list(enumerate(headers)))}
    normal = {normalize_header(h): i for i, h in reversed(list(enumerate(headers)))}
    found: dict[str, int] = {}
    description: list[int] = []
    missing: list[str] = []
    for field_name, spec in columns.items():
        names = [n for n in spec.split("+")] if field_name == "description" else [spec]
        for name in names:
            idx = exact.get(name.strip(), normal.get(normalize_header(name)))
            if idx is None:
                missing.append(name)
            elif field_name == "description":
                description.append(idx)
            else:
                found[field_name] = idx
    return found, description, missing


def map_header(headers: list[str], explicit: dict[str, str] | None) -> HeaderMapping | None:
    """Map a candidate header row; None if it lacks a date or an amount column."""
    mapping = HeaderMapping(headers=headers)
    used: set[int] = set()
    if explicit:
        found, description, missing = resolve_explicit(headers, explicit)
        if missing:
            return None
        mapping.columns.update(found)
        mapping.description = description
        used.update(found.values())
        used.update(description)
    generic: list[int] = []
    purpose: list[int] = []
    for idx, header in enumerate(headers):
        if idx in used:
            continue
        kind = classify_header(normalize_header(header))
        if kind is None:
            continue
        if kind == "description":
            purpose.append(idx)
        elif kind == "reference":
            if mapping.reference is None:
                mapping.reference = idx
        elif kind == "description_generic":
            generic.append(idx)
        elif kind not in mapping.columns:
            mapping.columns[kind] = idx
    if not (explicit and "description" in explicit):
        mapping.description = purpose or generic
    explicit_keys = set(explicit or ())
    if explicit_keys & {"debit", "credit"} and "amount" not in explicit_keys:
        mapping.columns.pop("amount", None)
    elif "amount" in mapping.columns:
        mapping.columns.pop("debit", None)
        mapping.columns.pop("credit", None)
    if "date" not in mapping.columns and "value_date" in mapping.columns:
        mapping.columns["date"] = mapping.columns["value_date"]
    return mapping if mapping.valid() else None


def choose_encoding(head: bytes, requested: str | None) -> tuple[str, str]:
    """(encoding, errors) for the text layer; see module docs."""
    if requested:
        return requested, "strict"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", FALLBACK_ERRORS
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "strict"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        # Consistent legacy decoding for the whole file.
        return "cp1252", FALLBACK_ERRORS
    # Looks like UTF-8; a stray legacy byte later on still decodes (as cp1252).
    return "utf-8", FALLBACK_ERRORS


def detect_decimal(values: list[str], fallback: str) -> str:
    """Vote the decimal separator from sampled amount texts."""
    votes = {",": 0, ".": 0}
    for raw in values:
        s = re.sub(r"[^\d.,']", "", raw)
        if "'" in s:
            votes["."] += 1
            continue
        if "," in s and "." in s:
            votes["," if s.rfind(",") > s.rfind(".") else "."] += 1
            continue
        for sep in (",", "."):
            if s.count(sep) == 1:
                frac = s.split(sep)[1]
                if len(frac) != 3:
                    votes[sep] += 1
            elif s.count(sep) > 1:
                votes["." if sep == "," else ","] += 1
    if votes[","] != votes["."]:
        return "," if votes[","] > votes["."] else "."
    return fallback
