"""GraphQL plumbing shared by the apps' schemas (the twin of ``api.serializers`` for REST).

Each app declares its types, queries and mutations in its own ``schema.py``; ``reconciliation.schema``
composes them into the one tenant schema. What every app's schema needs lives here, below them all:
``money`` (amounts at the currency's minor unit), ``scalars`` (the exact ``Decimal``),
``pagination`` (the one page shape and keyset helper of every list field), ``permissions``
(declared role checks) and ``fields`` (read fields, write mutations in savepoints, argument checks).
"""

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
