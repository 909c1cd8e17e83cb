"""Bearer-token authentication. Runs outside any tenant, before the tenant context is entered."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken

TOKEN_PREFIX = "rk_"  # noqa: S105 - a label, not a secret
# Writing last_used_at on every call would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_REQUEST_ATTRIBUTE = "_bearer_authentication"


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


def authenticate_bearer(request: HttpRequest) -> tuple[AbstractBaseUser, ApiToken] | None:
    """Resolve ``Authorization: Bearer`` to (user, token); None when no bearer header is sent.

    The result is cached on the request so the middleware (outside the tenant) and DRF (inside)
    authenticate once. Raises ``AuthenticationFailed`` for an unknown, revoked or inactive token.
    """
    if hasattr(request, _REQUEST_ATTRIBUTE):
        return getattr(request, _REQUEST_ATTRIBUTE)
    raw = _bearer_value(request)
    result: tuple[AbstractBaseUser, ApiToken] | None = None
    if raw is not None:
        token = (
            ApiToken.objects.select_related("user")
            .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        result = (token.user, token)
    setattr(request, _REQUEST_ATTRIBUTE, result)
    return result


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication class for ``Authorization: Bearer <token>``."""

    def authenticate(self, request: Any) -> tuple[AbstractBaseUser, ApiToken] | None:
        return authenticate_bearer(request._request)

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
