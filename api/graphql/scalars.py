"""The ``Decimal`` scalar: money never passes through float.

It is read from strings, integers and exact JSON numbers (the view decodes JSON numbers as
``Decimal``), and from the literal text of numbers written in the query document, by the financial
kernel's rule (``common.finance``: no exponent, within the storage precision); it is returned as a
string. Every amount is returned at its currency's minor unit through ``api.graphql.money``
(``"150.00"`` USD, ``"1500"`` JPY, ``"1.500"`` KWD), exactly like the REST API's ``MoneyField``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from common.finance import AmountError, exact_decimal


def parse_decimal(value: object) -> Decimal:
    """An exact Decimal from a string, int or Decimal, by the financial kernel's rule.

    Floats are refused (already inexact), and so are exponents and values beyond the storage
    precision (``numeric(18, 4)``, which every decimal column fits): ``1e1000000`` is a client
    error, never a value the database or ``quantize`` would choke on.
    """
    try:
        return exact_decimal(value)
    except AmountError as error:
        raise ValueError(f"{value!r} is not an exact decimal: {error}") from None


def parse_decimal_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Decimal:
    """A Decimal from the literal text in the document (``150.10`` stays exactly 150.10)."""
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return parse_decimal(node.value)
    raise ValueError("expected a decimal number or a string holding one")


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description='Exact decimal number, returned as a string (e.g. "150.00"); send a string.',
    serialize=str,
    parse_value=parse_decimal,
    parse_literal=parse_decimal_literal,
)
SCALAR_OVERRIDES: dict[object, Any] = {Decimal: DecimalScalar}
