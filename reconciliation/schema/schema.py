"""The one tenant GraphQL schema: each app's queries and mutations composed, limits, and how errors
reach clients.

Every app declares its types and root fields in its own ``schema.py`` (``invoices``, ``banking``,
``remittances``, ``events``, ``tenants``; reconciliation's in this package) on the plumbing of
``api.graphql``; reconciliation, the top floor, composes them here. A root field's place in the
SDL follows the order of ``QUERIES`` and ``MUTATIONS`` (``tests/reconciliation/schema.graphql``
is the contract's snapshot).

Errors keep GraphQL's shape (HTTP 200, ``errors`` next to ``data``) and say what REST would
have said in ``extensions``: ``code`` and ``status`` of the domain error (``not-found`` 404,
``forbidden`` 403, ``conflict`` 409, ``invalid-input`` 400 with per-field ``errors``, ...).
Problems with the document itself (syntax, unknown fields, bad ids or amounts in arguments,
limits: see ``limits.py``) are ``bad-request`` 400. Anything unexpected becomes
``internal-error`` 500 with a fixed message; the traceback is logged, never returned.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from api.graphql.scalars import SCALAR_OVERRIDES
from banking.schema import BankingMutation, BankingQuery
from common.errors import DomainError
from events.schema import WebhooksMutation, WebhooksQuery
from invoices.schema import InvoicesMutation, InvoicesQuery
from remittances.schema import RemittancesMutation, RemittancesQuery
from tenants.schema import TenantsMutation, TenantsQuery

from .limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, DocumentLimits
from .mutations import ReconciliationMutation
from .queries import ReconciliationQuery

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Internal server error."


def is_unexpected(error: GraphQLError) -> bool:
    """True for errors that are the server's fault (resolver bugs, database failures...)."""
    original = error.original_error
    if isinstance(original, DomainError):
        return False
    if error.path is None:
        # Parsing, validation and variable coercion: the client's document or values.
        return original is not None and not isinstance(original, GraphQLError | ValueError | TypeError)
    return not isinstance(original, GraphQLError)


def _relocated(
    error: GraphQLError, message: str, *, original: Exception | None, extensions: dict[str, Any]
) -> GraphQLError:
    """A copy of ``error`` (same locations and path) with another message and extensions."""
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions=extensions,
    )


def format_error(error: GraphQLError) -> GraphQLError:
    """The error as clients see it: domain errors carry their code and status; bugs are masked."""
    original = error.original_error
    if isinstance(original, DomainError):
        extensions: dict[str, Any] = {"code": original.code, "status": original.status}
        if original.errors:
            extensions["errors"] = original.errors
        return _relocated(error, original.detail, original=original, extensions=extensions)
    if is_unexpected(error):
        return _relocated(
            error, INTERNAL_ERROR_MESSAGE, original=None, extensions={"code": "internal-error", "status": 500}
        )
    extensions = {"code": "bad-request", "status": 400, **(error.extensions or {})}
    return _relocated(error, error.message, original=original, extensions=extensions)


class TenantSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only the server's own failures (with traceback); client errors are expected."""
        for error in errors:
            if is_unexpected(error):
                original = error.original_error
                exc_info = (type(original), original, original.__traceback__) if original else None
                logger.error("GraphQL error at %s: %s", error.path, error.message, exc_info=exc_info)


# One schema, composed of each app's root fields.
QUERIES = (InvoicesQuery, BankingQuery, ReconciliationQuery, RemittancesQuery, TenantsQuery, WebhooksQuery)
MUTATIONS = (
    ReconciliationMutation,
    BankingMutation,
    InvoicesMutation,
    TenantsMutation,
    RemittancesMutation,
    WebhooksMutation,
)
Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)

schema = TenantSchema(
    query=Query,
    mutation=Mutation,
    scalar_overrides=SCALAR_OVERRIDES,
    # Factories: strawberry builds fresh extension instances for every request.
    extensions=[
        # First: it refuses, before validation, what would make the limiters below (and
        # validation) work exponentially, and what would cost too much to run (limits.py).
        DocumentLimits,
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
    ],
)
