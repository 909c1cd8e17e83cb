"""GraphQL plumbing shared by the apps' types (the twin of ``tenants.serializers`` for REST)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry

from common.finance import quantize


def money(amount_attr: str, currency_attr: str = "currency", *, description: str | None = None) -> Any:
    """A ``Decimal`` field: ``root.<amount_attr>`` at the minor unit of ``root.<currency_attr>``.

    The one way GraphQL outputs an amount (the twin of ``tenants.serializers.MoneyField``):
    stored amounts have 4 decimals, and a field returning them raw showed ``"250.0000"`` next to
    ``"250.00"``.
    """

    def resolve(root: Any) -> Decimal:
        return quantize(getattr(root, amount_attr), getattr(root, currency_attr))

    return strawberry.field(resolver=resolve, description=description)


def optional_money(
    amount_attr: str, currency_attr: str = "currency", *, description: str | None = None
) -> Any:
    """``money`` for an amount that may be absent: null when it is."""

    def resolve(root: Any) -> Decimal | None:
        amount = getattr(root, amount_attr)
        return None if amount is None else quantize(amount, getattr(root, currency_attr))

    return strawberry.field(resolver=resolve, description=description)
