"""Bearer-token authentication. Runs outside any tenant, before the tenant context is entered."""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection, models
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken, Membership, Tenant

TOKEN_PREFIX = "rk_"  # noqa: S105 - a label, not a secret
# Writing last_used_at on every call would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_REQUEST_ATTRIBUTE = "_bearer_authentication"
_MEMBERSHIP_ATTRIBUTE = "_bearer_membership"


def hash_token(raw_token: str) -> str:
    """SHA-256 of a token. Tokens carry 256 random bits, so a fast hash is safe here."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def generate_raw_token() -> str:
    """A new random token, e.g. ``rk_3q...``."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _bearer_value(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    if not value or " " in value:
        raise exceptions.AuthenticationFailed("Malformed bearer token.")
    return value


# The token with its user, then (for a tenant's path) the user's membership of that tenant with
# the tenant: two round trips at most per API call. Two statements, not one with a LEFT JOIN:
# the tokens and users live on Citus's coordinator, the memberships in the tenant's shard, and
# Citus 13.2 crashes planning a join of a coordinator-local table with a distributed one
# (the membership statement alone is routed to one shard).
_CALLER_SQL = """
SELECT {token_columns}, {user_columns}
FROM {token_table} AS token
JOIN {user_table} AS account ON account.{user_pk} = token.user_id
WHERE token.token_hash = %(hash)s AND token.revoked_at IS NULL
"""
_MEMBERSHIP_SQL = """
SELECT {membership_columns}, {tenant_columns}
FROM {membership_table} AS membership
JOIN {tenant_table} AS tenant ON tenant.id = membership.tenant_id
WHERE membership.tenant_id = %(tenant)s AND membership.user_id = %(user)s
"""


class _RowLoader:
    """Builds one model instance from its slice of a hand-written query's row."""

    def __init__(self, model: type[models.Model], alias: str) -> None:
        fields = model._meta.concrete_fields
        quote = connection.ops.quote_name
        self.model = model
        self.columns = ", ".join(f"{alias}.{quote(str(field.column))}" for field in fields)
        self.width = len(fields)
        self.attnames = [field.attname for field in fields]
        self.converters = [
            (index, converter, field.cached_col)
            for index, field in enumerate(fields)
            for converter in field.get_db_converters(connection)
        ]

    def load(self, values: Sequence[Any]) -> Any:
        values = list(values)
        for index, converter, column in self.converters:
            values[index] = converter(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@functools.cache
def _caller_queries() -> tuple[str, str, list[_RowLoader]]:
    """``_CALLER_SQL`` and ``_MEMBERSHIP_SQL`` filled in from model metadata, and a loader per
    model in their rows (token, user, membership, tenant).

    Hand-written because they run on every API call, and compiling the equivalent ORM queries
    cost more CPU than running them. The identifiers are quoted names from the models (so the
    queries follow them); every value is a bound parameter.
    """
    user_model = get_user_model()
    quote = connection.ops.quote_name
    loaders = [
        _RowLoader(ApiToken, "token"),
        _RowLoader(user_model, "account"),
        _RowLoader(Membership, "membership"),
        _RowLoader(Tenant, "tenant"),
    ]
    token_sql = _CALLER_SQL.format(  # noqa: S608 - identifiers from model metadata, never input
        token_columns=loaders[0].columns,
        user_columns=loaders[1].columns,
        token_table=quote(ApiToken._meta.db_table),
        user_table=quote(user_model._meta.db_table),
        user_pk=quote(str(user_model._meta.pk.column)),
    )
    membership_sql = _MEMBERSHIP_SQL.format(  # noqa: S608 - identifiers from model metadata
        membership_columns=loaders[2].columns,
        tenant_columns=loaders[3].columns,
        membership_table=quote(Membership._meta.db_table),
        tenant_table=quote(Tenant._meta.db_table),
    )
    return token_sql, membership_sql, loaders


def _lookup_token(raw: str, tenant_id: uuid.UUID | None) -> tuple[ApiToken, Membership | None] | None:
    """The active token with its user, and the user's membership of ``tenant_id`` (or None)."""
    token_sql, membership_sql, loaders = _caller_queries()
    token_loader, user_loader, membership_loader, tenant_loader = loaders
    with connection.cursor() as cursor:
        cursor.execute(token_sql, {"hash": hash_token(raw)})
        row = cursor.fetchone()
        if row is None:
            return None
        token = token_loader.load(row[: token_loader.width])
        token.user = user_loader.load(row[token_loader.width :])
        if tenant_id is None:
            return token, None
        cursor.execute(membership_sql, {"tenant": tenant_id, "user": token.user_id})
        row = cursor.fetchone()
    if row is None:  # not a member
        return token, None
    membership = membership_loader.load(row[: membership_loader.width])
    membership.user = token.user
    membership.tenant = tenant_loader.load(row[membership_loader.width :])
    return token, membership


def authenticate_bearer(
    request: HttpRequest, *, tenant_id: uuid.UUID | None = None
) -> tuple[User, ApiToken] | None:
    """Resolve ``Authorization: Bearer`` to (user, token); None when no bearer header is sent.

    The result is cached on the request so the middleware (outside the tenant) and DRF (inside)
    authenticate once. Raises ``AuthenticationFailed`` for an unknown, revoked or inactive token.
    With ``tenant_id``, the same query also reads the caller's membership of that tenant, for
    ``bearer_membership``. Nothing is cached between requests: a revoked token, deactivated
    user or removed membership takes effect on the next request.
    """
    if hasattr(request, _REQUEST_ATTRIBUTE):
        return getattr(request, _REQUEST_ATTRIBUTE)
    raw = _bearer_value(request)
    result: tuple[User, ApiToken] | None = None
    if raw is not None:
        found = _lookup_token(raw, tenant_id)
        if found is None or not found[0].user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        token, membership = found
        setattr(request, _MEMBERSHIP_ATTRIBUTE, (tenant_id, membership))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        result = (token.user, token)
    setattr(request, _REQUEST_ATTRIBUTE, result)
    return result


def authenticated_user(request: Any) -> User:
    """The request's user, for views behind ``IsAuthenticated`` (NotAuthenticated otherwise)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user


def bearer_membership(request: HttpRequest, tenant_id: uuid.UUID) -> Membership | None:
    """The authenticated caller's membership of ``tenant_id`` (with its tenant), or None.

    Call after ``authenticate_bearer`` succeeded. Reuses the row read with the token when that
    lookup was for this tenant (one query per request); otherwise (e.g. the write rate limiter
    authenticated first) reads it now.
    """
    auth = getattr(request, _REQUEST_ATTRIBUTE)
    loaded_for, membership = getattr(request, _MEMBERSHIP_ATTRIBUTE, (None, None))
    if loaded_for == tenant_id:
        return membership
    return Membership.objects.select_related("tenant").filter(tenant_id=tenant_id, user=auth[0]).first()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication class for ``Authorization: Bearer <token>``."""

    def authenticate(self, request: Any) -> tuple[User, ApiToken] | None:
        return authenticate_bearer(request._request)

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
