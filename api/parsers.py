"""Request bodies: JSON only, parsed without passing money through float, never empty by accident.

The API's JSON endpoints take ``application/json`` alone (``DEFAULT_PARSER_CLASSES`` holds just
``DecimalJSONParser``; the statement upload adds the multipart parser for itself): a form or
multipart body answers 415 instead of being read as an empty form. A generated client that sent
``reconcile(dry_run=True)`` as a form body used to run a real reconciliation with the defaults.

JSON text never nests without bound (``MAX_JSON_DEPTH``), checked before Python's recursive
decoder runs.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from common.finance import json_decimal, json_int

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
    deeper. All of it is bytes methods running in C, a small fraction of parsing the body
    (figure in docs/benchmarks.md). Text that is not balanced counts the brackets it leaves open
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
    """``json.loads`` with JSON numbers that have a fraction parsed as Decimal.

    Numbers written with an exponent (``1e1000000``) or longer than 64 characters are refused
    (``common.finance.json_decimal``): no amount needs one, and no client number then makes
    the server build, round or print a huge value. ``bytes`` must be UTF-8. Raises ValueError
    for anything else than such JSON: a UnicodeDecodeError, or ``JSONTooDeep`` beyond
    ``MAX_JSON_DEPTH`` levels, checked before Python's recursive decoder could exhaust the
    stack (a RecursionError escapes every handler as a 500).
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if nesting_exceeds(data, MAX_JSON_DEPTH):
        raise JSONTooDeep(f"arrays and objects nest deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_float=json_decimal, parse_int=json_int, parse_constant=_reject_constant)


class DecimalJSONParser(JSONParser):
    """DRF JSON parser: floats become ``Decimal``; NaN/Infinity and exponents are refused;
    nesting is bounded."""

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


def json_object_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object, for the view to validate.

    * A media type no parser of the view takes is 415 (raised by DRF when the body is read).
    * An empty body is 400 when the endpoint needs one (``required``): an empty or unreadable
      body never stands for "use the defaults" on an endpoint that writes. A client that wants
      the defaults says so with ``{}``. Endpoints without input (match actions) pass
      ``required=False`` and get ``{}``, which their strict serializer then checks like any body.
    * JSON that is not an object (an array, a string, ``null``) is 400.
    """
    data = request.data
    if request.stream is None:  # Content-Length 0: DRF returns an empty dict without parsing
        if required:
            raise ParseError(
                "The request body is empty: send a JSON object with Content-Type: application/json "
                "(`{}` where every field is optional)."
            )
        return {}
    if not isinstance(data, dict):
        raise ParseError("The request body must be a JSON object.")
    return data
