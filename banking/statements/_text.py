"""Text helpers shared by the parsers: amounts, whitespace, accounts, RF refs."""

from __future__ import annotations

import codecs
import io
import re
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

_MINUS_SIGNS = "-\u2212\u2012\u2013"  # hyphen-minus, minus sign, figure dash, en dash
_AMOUNT_NOISE = re.compile(r"[^\d.,'\u2019\u00b4\-\u2212\u2012\u2013+()]")
_DIGITS = re.compile(r"\d*\.?\d*")
_PLAIN_AMOUNT = re.compile(r"\s*(-?)(\d+)(?:([.,])(\d+))?\s*")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_RF_START = re.compile(r"(?<![A-Z0-9])RF\d{2}(?=[ ]?[A-Z0-9])", re.IGNORECASE)
_DR_CR_SUFFIX = re.compile(r"\s*(DR|CR)\.?$", re.IGNORECASE)

#: Name of the codec error handler used for "UTF-8 unless it is not" decoding.
FALLBACK_ERRORS = "banking-statements-cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode bytes the main codec rejected as cp1252 (latin-1 for its 5 holes)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    chars = []
    for byte in exc.object[exc.start : exc.end]:
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars), exc.end


codecs.register_error(FALLBACK_ERRORS, _cp1252_fallback)


def collapse_ws(text: str | None) -> str:
    """Strip and collapse every whitespace run (line breaks included) to one space."""
    return " ".join(text.split()) if text else ""


def join_text(*parts: str | None) -> str:
    """Join the non-empty parts with single spaces."""
    return " ".join(p for p in (collapse_ws(part) for part in parts) if p)


def compact_account(value: str | None) -> str:
    """Remove spaces from an account number; IBAN-looking values are upper-cased."""
    if not value:
        return ""
    compact = "".join(value.split())
    upper = compact.upper()
    return upper if _IBAN.fullmatch(upper) else compact


def looks_like_iban(value: str) -> bool:
    """True when the value has the shape of an IBAN (no checksum test)."""
    return bool(_IBAN.fullmatch("".join(value.split()).upper()))


def parse_amount(text: str, decimal: str | None = None) -> Decimal:
    """Parse a human-written amount to a signed Decimal, never through float.

    Accepts decimal comma or point, thousands separators (``.``, ``,``, space,
    apostrophe), currency symbols/codes, a leading or trailing minus sign,
    parentheses and a ``DR``/``CR`` suffix as negative/positive markers.
    ``decimal`` (``","`` or ``"."``) settles the ambiguous single-separator
    case ``1,234``/``1.234``; when both separators are present the rightmost
    one is the decimal separator whatever ``decimal`` says.

    Raises ValueError with a short reason when the text is not an amount.
    """
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain:  # fast path for the bulk of CSV rows: "-12,34", "1234.5", "7"
        sign, whole, sep, frac = plain.groups()
        if not sep:
            value = Decimal(whole)
        elif sep == decimal or decimal is None or len(frac) != 3:
            value = Decimal(f"{whole}.{frac}")
        else:
            value = Decimal(whole + frac)  # "1,234" with decimal ".": thousands
        if value == 0:
            return abs(value)
        return -value if sign else value
    raw = text
    s = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not s:
        raise ValueError("empty amount")
    negative = False
    suffix = _DR_CR_SUFFIX.search(s)
    if suffix and any(ch.isdigit() for ch in s[: suffix.start()]):
        negative = suffix.group(1).upper() == "DR"
        s = s[: suffix.start()]
    s = _AMOUNT_NOISE.sub("", s)  # currency symbols, codes, spaces
    if s.startswith("(") and s.endswith(")"):
        negative = not negative
        s = s[1:-1]
    if s[:1] == "+":
        s = s[1:]
    elif s[:1] and s[0] in _MINUS_SIGNS:
        negative = not negative
        s = s[1:]
    elif s[-1:] and s[-1] in _MINUS_SIGNS:
        negative = not negative
        s = s[:-1]
    elif s[-1:] == "+":
        s = s[:-1]
    s = s.replace("'", "").replace("\u2019", "").replace("\u00b4", "")
    if not s or not any(ch.isdigit() for ch in s):
        raise ValueError(f"not an amount: {raw.strip()!r}")
    has_comma, has_dot = "," in s, "." in s
    if has_comma and has_dot:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        if s.count(dec) > 1:
            raise ValueError(f"not an amount: {raw.strip()!r}")
        s = s.replace("." if dec == "," else ",", "").replace(dec, ".")
    elif has_comma or has_dot:
        sep = "," if has_comma else "."
        if s.count(sep) > 1:
            s = s.replace(sep, "")  # 1.234.567: thousands only
        else:
            whole, frac = s.split(sep)
            thousands = decimal is not None and decimal != sep and len(frac) == 3 and 0 < len(whole) <= 3
            s = whole + frac if thousands else f"{whole}.{frac}"
    if not _DIGITS.fullmatch(s):
        raise ValueError(f"not an amount: {raw.strip()!r}")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw.strip()!r}") from None
    if value == 0:
        return abs(value)
    return -value if negative else value


def _rf_valid(ref: str) -> bool:
    """ISO 11649 check: RFkk + 1..21 alphanumerics, mod-97 of the rotated value is 1."""
    if not 5 <= len(ref) <= 25 or not ref[:2] == "RF" or not ref[2:4].isdigit():
        return False
    if not ref[4:].isalnum() or not ref.isascii():
        return False
    rotated = ref[4:] + ref[:4]
    digits = "".join(str(int(ch, 36)) for ch in rotated)
    return int(digits) % 97 == 1


def normalize_reference(value: str | None) -> str:
    """Upper-case and remove spaces from a structured creditor reference."""
    return "".join(value.split()).upper() if value else ""


def find_rf_reference(text: str | None) -> str:
    """Return the first valid ISO 11649 ``RF`` creditor reference in the text.

    Banks print it in blocks of four (``RF18 5390 0754 7034``), so the
    following space-separated chunks are tried longest first and the
    checksum decides where the reference ends.
    """
    if not text or "rf" not in text.lower():
        return ""
    for match in _RF_START.finditer(text):
        head = match.group(0).upper()
        rest = text[match.end() :]
        chunks = re.match(r"[ ]?([A-Za-z0-9]+(?: [A-Za-z0-9]+){0,6})", rest)
        if not chunks:
            continue
        words = chunks.group(1).split(" ")
        for count in range(len(words), 0, -1):
            candidate = head + "".join(words[:count]).upper()
            if len(candidate) <= 25 and _rf_valid(candidate):
                return candidate
    return ""


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode a whole file: BOM, then UTF-8, then the declared charset, then cp1252.

    UTF-8 is tried before the declared charset because banks often declare
    a legacy charset and send UTF-8; a real legacy file almost never happens
    to be valid UTF-8 once it contains non-ASCII bytes.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors=FALLBACK_ERRORS)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8", declared):
        if not encoding:
            continue
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors=FALLBACK_ERRORS)


class PrefixedStream(io.RawIOBase):
    """A read-only raw stream that replays ``prefix`` and then reads ``rest``.

    Lets format detection consume the first bytes of a non-seekable stream.
    """

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # buffer protocol
        if self._prefix:
            count = min(len(buffer), len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        chunk = self._rest.read(len(buffer))
        if not chunk:
            return 0
        count = len(chunk)
        buffer[:count] = chunk
        return count


def read_all(stream: BinaryIO) -> bytes:
    """Read the whole stream as bytes (text streams are encoded back to UTF-8)."""
    data = stream.read()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)
