"""JSON parsing that never passes money through float, and never nests without bound."""

from __future__ import annotations

import codecs
import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

#: Deepest nesting of arrays and objects a JSON body may have. Our deepest real body (a GraphQL
#: request whose variables hold scoreCandidates inputs) nests 5 levels.
MAX_JSON_DEPTH = 64

_STRING_WITH_BRACKETS = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')
_AS_PARENTHESES = bytes.maketrans(b"[]{}", b"()()")


class JSONTooDeep(ValueError):
    """The text nests arrays and objects deeper than ``MAX_JSON_DEPTH``."""


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether arrays and objects in the JSON text ``data`` nest deeper than ``limit``.

    No recursion and no Python loop over characters: escaped quotes and backslashes are dropped,
    then everything but brackets and quotes, then strings (brackets in them do not nest); each
    of at most ``limit`` passes then removes the innermost pairs, and brackets still left nest
    deeper. All of it is bytes methods running in C: ~2 ms per MB of a typical import body,
    about a tenth of parsing it. Text that is not balanced counts the brackets it leaves open
    (``json.loads`` recurses into them before it finds the text incomplete).
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    data = data.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in data:  # strings holding brackets
        data = _STRING_WITH_BRACKETS.sub(b"", data).replace(b'"', b"")
    data = data.translate(_AS_PARENTHESES)
    for passes in range(limit):
        if not data:
            return False
        reduced = data.replace(b"()", b"")
        if len(reduced) == len(data):
            # Not balanced: what is left reads ")))(((". The decoder fails at a stray ")" but
            # recurses into every "(" left open, below the levels already removed.
            return passes + data.count(b"(") > limit
        data = reduced
    return bool(data)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def loads_decimal(text: str | bytes) -> Any:
    """``json.loads`` with JSON numbers that have a fraction or exponent parsed as Decimal.

    ``bytes`` must be UTF-8. Raises ValueError for anything else than such JSON: a
    UnicodeDecodeError, or ``JSONTooDeep`` beyond ``MAX_JSON_DEPTH`` levels, checked before
    Python's recursive decoder could exhaust the stack (a RecursionError escapes every handler
    as a 500).
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if nesting_exceeds(data, MAX_JSON_DEPTH):
        raise JSONTooDeep(f"arrays and objects nest deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


class DecimalJSONParser(JSONParser):
    """DRF JSON parser: floats become ``Decimal``; NaN/Infinity are refused; nesting is bounded."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = stream.read() if stream is not None else b""
            if codecs.lookup(encoding).name == "utf-8":
                return loads_decimal(raw)  # checked as bytes: no copy for the depth scan
            return loads_decimal(raw.decode(encoding))
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(f"Malformed JSON: {exc}") from exc
