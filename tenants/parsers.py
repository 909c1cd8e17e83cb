"""JSON parsing that never passes money through float."""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from common.finance import json_decimal, json_int


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def loads_decimal(text: str) -> Any:
    """``json.loads`` with JSON numbers that have a fraction parsed as Decimal.

    Numbers written with an exponent (``1e1000000``) or longer than 64 characters are refused
    (``common.finance.json_decimal``): no amount needs one, and no client number then makes
    the server build, round or print a huge value.
    """
    return json.loads(text, parse_float=json_decimal, parse_int=json_int, parse_constant=_reject_constant)


class DecimalJSONParser(JSONParser):
    """DRF JSON parser: floats become ``Decimal``; NaN/Infinity and exponents are refused."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return loads_decimal(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
