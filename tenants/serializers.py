"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .money import quantize


@extend_schema_field({"type": "string", "format": "decimal", "example": "150.00"})
class MoneyField(serializers.Field):
    """Read-only: ``obj.<amount_attr>`` as a string at the minor unit of ``obj.<currency_attr>``.

    Amounts are stored with 4 decimals; clients see ``"150.00"`` for USD and ``"1500"`` for JPY.
    """

    def __init__(self, amount_attr: str, currency_attr: str = "currency", **kwargs: Any) -> None:
        self.amount_attr = amount_attr
        self.currency_attr = currency_attr
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return str(quantize(getattr(value, self.amount_attr), getattr(value, self.currency_attr)))
