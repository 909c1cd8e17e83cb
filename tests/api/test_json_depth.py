"""The JSON nesting bound (api.parsers): exact, blind to brackets in strings, never recursive."""

from __future__ import annotations

import json

import pytest

from api.parsers import MAX_JSON_DEPTH, JSONTooDeep, loads_decimal, nesting_exceeds


def nested(depth: int) -> str:
    """``depth`` levels, alternating arrays and objects, with siblings on the way down."""
    text = "1"
    for level in range(depth):
        text = f'[0, {text}, "]"]' if level % 2 else f'{{"a": "{{", "b": {text}}}'
    return text


@pytest.mark.parametrize("depth", [1, 2, 5, 63, 64, 65, 200])
def test_the_depth_is_exact(depth):
    data = nested(depth).encode()
    assert json.loads(data) is not None
    assert nesting_exceeds(data, MAX_JSON_DEPTH) == (depth > MAX_JSON_DEPTH)
    assert nesting_exceeds(data, depth) is False
    assert nesting_exceeds(data, depth - 1) is True


@pytest.mark.parametrize(
    "text",
    [
        '["[[[[[[", "{{{{"]',  # brackets inside strings do not nest
        '["\\"[[[[[["]',  # an escaped quote does not end the string
        '["\\\\", "[[[[[["]',  # an escaped backslash does not escape the quote after it
        '["\\\\\\"[[[[["]',
        '["\\n", "\\u005b\\u005b\\u005b"]',
        '{"a": "[", "b": "]", "c": "{"}',
    ],
)
def test_strings_and_escapes_do_not_count(text):
    assert json.loads(text) is not None
    assert nesting_exceeds(text.encode(), 1) is False
    assert nesting_exceeds(f"[{text}]".encode(), 1) is True


def test_deep_or_broken_text_raises_value_errors_not_recursion_errors():
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(JSONTooDeep):
            loads_decimal(text)
        with pytest.raises(JSONTooDeep):
            loads_decimal(text.encode())
    for unclosed in ("[" * 100_000, "[1, " + "{" * 70, "[" * 70 + "}" * 70):
        with pytest.raises(JSONTooDeep):
            loads_decimal(unclosed)
    for broken in ("]]]][[[[", "[" * 64, '"' * 7, b"\xff[]"):
        with pytest.raises(ValueError, match="Expecting|Unterminated|Extra data|codec"):
            loads_decimal(broken)  # json.loads' own errors, UnicodeDecodeError included


def test_decimals_and_text_survive():
    assert loads_decimal(b'{"amount": 1.10, "name": "Caf\xc3\xa9 [1]"}') == {
        "amount": __import__("decimal").Decimal("1.10"),
        "name": "Café [1]",
    }
