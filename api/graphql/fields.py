"""How the apps declare GraphQL fields: who may use them, in what transaction, with which checks.

Queries are ``read_field`` (any member) or ``owner_field``; mutations are ``write_mutation``
(accountants and owners) or ``owner_mutation``, each in its own savepoint (``Atomic``). On top of
that the view rolls back the whole request transaction when the response carries any error, so a
document whose second mutation fails commits nothing. The argument checks give the REST API's
answers for the same values (``invalid-input`` naming the argument).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import strawberry
from django.db import transaction
from strawberry.extensions import FieldExtension
from strawberry.types import Info

from common import limits
from common.errors import InvalidInput
from common.finance import MoneyError, normalize_currency

from ..idempotency import validate_key
from .permissions import CanWrite, IsOwner, IsTenantMember


class Atomic(FieldExtension):
    """Run the resolver in a savepoint: a failure undoes its own writes and keeps the connection usable."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        with transaction.atomic():
            return next_(source, info, **kwargs)


def read_field(**kwargs: Any) -> Any:
    """A query field any member of the tenant may use (declared permission, no per-resolver check)."""
    return strawberry.field(permission_classes=[IsTenantMember], **kwargs)


def write_mutation(**kwargs: Any) -> Any:
    """A mutation only accountants and owners may run, in its own savepoint."""
    return strawberry.mutation(permission_classes=[CanWrite], extensions=[Atomic()], **kwargs)


def owner_field(**kwargs: Any) -> Any:
    return strawberry.field(permission_classes=[IsOwner], **kwargs)


def owner_mutation(**kwargs: Any) -> Any:
    return strawberry.mutation(permission_classes=[IsOwner], extensions=[Atomic()], **kwargs)


@strawberry.type
class DeleteResult:
    id: uuid.UUID
    deleted: bool


# --- Argument checks -------------------------------------------------------------------------------


def currency_argument(value: str | None) -> str | None:
    """A currency filter as ISO 4217 code, or ``invalid-input`` naming ``currency``."""
    if value is None:
        return None
    try:
        return normalize_currency(value)
    except MoneyError as error:
        raise InvalidInput("The request has invalid fields.", errors={"currency": [str(error)]}) from error


def search_argument(value: str | None) -> str | None:
    """A search text within ``common.limits.SEARCH``, or ``invalid-input`` naming ``q``."""
    problem = limits.text_problem(value, limits.SEARCH) if value is not None else None
    if problem is not None:
        raise InvalidInput("The request has invalid fields.", errors={"q": [problem]})
    return value or None


def enum_value(member: Any) -> Any:
    return member.value if member is not None else None


def idempotency_key_argument(raw: str) -> str:
    """The ``idempotencyKey`` argument of the imports, checked like the REST header."""
    try:
        return validate_key(raw, carrier="The idempotencyKey argument")
    except InvalidInput as error:
        raise InvalidInput(error.detail, errors={"idempotencyKey": [error.detail]}) from error
