"""Guess a statement's format from its first bytes (content first, extension second)."""

from __future__ import annotations

import codecs
import re
from pathlib import PurePath

from .types import SUPPORTED_FORMATS, StatementParseError

#: How many leading bytes callers should pass to :func:`detect_format`.
HEAD_SIZE = 64 * 1024

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".ofx": "ofx",
    ".qfx": "ofx",
    ".qbo": "ofx",
    ".xml": "camt053",
    ".camt": "camt053",
    ".053": "camt053",
    ".sta": "mt940",
    ".mt940": "mt940",
    ".940": "mt940",
    ".swi": "mt940",
    ".stm": "mt940",
}
_MT940_START = re.compile(r"^[\x01\x02\s]*:20:", re.MULTILINE)
_MT940_TAG = re.compile(r"^:(25|28C?|60[FM]|61|62[FM]):", re.MULTILINE)
_SWIFT_ENVELOPE = re.compile(r"^[\x01\x02\s]*\{1:", re.MULTILINE)
_CSV_DELIMITERS = ",;\t|"


def _head_text(head: bytes) -> str:
    """Decode enough of the head to search for markers; never fails."""
    if head.startswith(codecs.BOM_UTF8):
        return head[3:].decode("utf-8", errors="replace")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    # UTF-16 without BOM: every other byte is NUL for ASCII text.
    if len(head) >= 4 and head[1:2] == b"\x00" and head[3:4] == b"\x00":
        return head.decode("utf-16-le", errors="replace")
    if len(head) >= 4 and head[0:1] == b"\x00" and head[2:3] == b"\x00":
        return head.decode("utf-16-be", errors="replace")
    # latin-1 maps every byte, so ASCII markers are found whatever the charset.
    return head.decode("latin-1")


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return False
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    if control > len(text) // 100:
        return False
    return sum(1 for line in lines if any(d in line for d in _CSV_DELIMITERS)) >= max(1, len(lines) // 3)


def _supported() -> str:
    return ", ".join(SUPPORTED_FORMATS)


def detect_format(head: bytes, filename: str | None = None) -> str:
    """Return one of ``SUPPORTED_FORMATS`` for a file starting with ``head``.

    The content decides (CAMT namespace or ``BkToCstmrStmt``, OFX header or
    ``<OFX>``, MT940 ``:20:`` plus ``:25:``/``:61:`` tags or a SWIFT ``{1:``
    envelope, else delimited text); the file extension is only used when the
    content matches nothing, so a broken ``.sta`` file still reaches the
    MT940 parser and gets a precise error. Raises StatementParseError when
    the format cannot be determined.
    """
    text = _head_text(head)
    stripped = text.lstrip("\ufeff\x00\x01\x02\x03 \t\r\n")
    if not stripped:
        raise StatementParseError("the file is empty")
    low = stripped.lower()
    ext = PurePath(filename).suffix.lower() if filename else ""

    if low.startswith("%pdf"):
        raise StatementParseError(
            f"PDF statements cannot be imported; export the statement as one of: {_supported()}"
        )
    if stripped.startswith("PK\x03\x04"):
        raise StatementParseError(
            f"spreadsheet/ZIP files cannot be imported; save it as CSV (supported formats: {_supported()})"
        )
    if stripped.startswith("<"):
        if "bktocstmrstmt" in low or "camt.053" in low:
            return "camt053"
        if "<ofx" in low or "<?ofx" in low:
            return "ofx"
        if "camt.052" in low or "bktocstmracctrpt" in low:
            raise StatementParseError(
                "CAMT.052 account reports are not supported; use the CAMT.053 statement"
            )
        if "camt.054" in low or "bktocstmrdbtcdtntfctn" in low:
            raise StatementParseError("CAMT.054 notifications are not supported; use the CAMT.053 statement")
        if ext in {".ofx", ".qfx", ".qbo"}:
            return "ofx"
        raise StatementParseError(
            f"XML document is neither a CAMT.053 statement nor OFX (supported formats: {_supported()})"
        )
    if "ofxheader" in low[:2048] or "<ofx>" in low:
        return "ofx"
    if _SWIFT_ENVELOPE.search(stripped[:4096]) and "{4:" in stripped:
        return "mt940"
    if _MT940_START.search(stripped) and _MT940_TAG.search(stripped):
        return "mt940"
    if _looks_like_csv(stripped):
        return "csv"
    if ext in _EXTENSIONS and "\x00" not in stripped:
        return _EXTENSIONS[ext]
    raise StatementParseError(
        f"unrecognised statement format{f' ({ext} file)' if ext else ''}; supported formats: {_supported()}"
    )
