"""Request bodies: JSON only, parsed without passing money through float, never empty by accident.

The API's JSON endpoints take ``application/json`` alone (``DEFAULT_PARSER_CLASSES`` holds just
``DecimalJSONParser``; the statement upload adds the multipart parser for itself): a form or
multipart body answers 415 instead of being read as an empty form. A generated client that sent
``reconcile(dry_run=True)`` as a form body used to run a real reconciliation with the defaults.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

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
