"""The context every resolver sees: the request and what the middleware resolved for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.django.context import StrawberryDjangoContext


@dataclass
class TenantGraphQLContext(StrawberryDjangoContext):
    """``tenant`` and ``membership`` come from the URL and the bearer token (never the body)."""

    tenant: Any
    membership: Any
    user: Any
    # scoreCandidates' size limits hold per request, however many aliases call it.
    scored_invoices: int = 0
    scored_transactions: int = 0
