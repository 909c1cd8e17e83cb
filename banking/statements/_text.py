"""Text helpers shared by the parsers: whitespace and decoding.

Amounts, account ids (IBAN or not) and RF creditor references are read by the financial
kernel (``common.finance``): one rule for every format, the API import and the engine.
"""

from __future__ import annotations

import codecs
import io
from typing import Any, BinaryIO

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
