"""``Idempotency-Key`` handling for bulk writes (IETF draft "Idempotency-Key HTTP Header Field",
with Stripe's semantics).

* Keys are scoped to (tenant, key) and stored with a fingerprint of method + path + canonical
  body, the response status and body, and an expiry (``IDEMPOTENCY_KEY_TTL_HOURS``).
* The key row is written in the *same* transaction as the work, so a crash leaves neither and
  the retry simply runs again.
* Concurrency is decided by PostgreSQL: a transaction-scoped advisory lock on (tenant, key). A
  second request while the first is in flight cannot take it and gets 409; once the first has
  committed the lock is free and the stored response is replayed.
* A request that fails (4xx/5xx) rolls back, so it does not consume the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from common.errors import Conflict, InvalidInput, Unprocessable
from tenants.context import require_tenant_id
from tenants.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotentResponse:
    status: int
    body: Any
    replayed: bool


def validate_key(raw: str | None, *, carrier: str = f"The {HEADER} header") -> str:
    """The key, or InvalidInput (400) when missing, empty, too long or not printable.

    ``carrier`` names where the client sent it, for the messages: the HTTP header for REST, an
    argument for GraphQL (which has no such header).
    """
    if raw is None:
        raise InvalidInput(f"{carrier} is required for this request.")
    key = raw.strip()
    if not key:
        raise InvalidInput(f"{carrier} must not be empty.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{carrier} is longer than {MAX_KEY_LENGTH} characters.")
    if not key.isprintable():
        raise InvalidInput(f"{carrier} must be printable text.")
    return key


def canonical_json(data: Any) -> bytes:
    """Stable bytes for a parsed JSON body (sorted keys, Decimals as their exact text)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of method, path and the canonical body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def run_idempotent(
    *, key: str, fingerprint: str, action: Callable[[], tuple[int, Any]]
) -> IdempotentResponse:
    """Run ``action`` once per (tenant, key); replay its stored response afterwards.

    Must run inside ``tenant_context``. Raises Conflict (409) while another request with the
    key is in flight and Unprocessable (422) when the key was used for another payload.
    """
    tenant_id = require_tenant_id()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"idempotency:{tenant_id}:{key}"],
            )
            (locked,) = cursor.fetchone()
        if not locked:
            raise Conflict("A request with this Idempotency-Key is still being processed; retry later.")
        now = timezone.now()
        stored = IdempotencyKey.objects.filter(key=key).first()
        if stored is not None and stored.expires_at > now:
            if stored.fingerprint != fingerprint:
                raise Unprocessable("This Idempotency-Key was already used with a different request payload.")
            return IdempotentResponse(stored.response_status, stored.response_body, replayed=True)
        if stored is not None:
            stored.delete()  # expired and not yet purged: the key may be reused
        status, body = action()
        body = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
        IdempotencyKey.objects.create(
            key=key,
            fingerprint=fingerprint,
            response_status=status,
            response_body=body,
            expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
        )
        return IdempotentResponse(status, body, replayed=False)


def purge_expired_keys() -> int:
    """Delete the active tenant's expired keys; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
