"""Audit trail: every state change of tenant data records actor, time, before and after."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.serializers.json import DjangoJSONEncoder

from .models import AuditEvent

Actor = User | AnonymousUser | None
"""Who acts: the request's user (REST, GraphQL, admin), or None for the system (a run, a
command). An anonymous user is recorded like the system."""


def actor_user(actor: Actor) -> User | None:
    """The user to record for ``actor``: None for the system or an anonymous user."""
    return actor if isinstance(actor, User) and actor.pk else None


def _jsonable(state: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if state is None else json.loads(json.dumps(state, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event for the active tenant (call inside the change's transaction)."""
    return AuditEvent.objects.create(
        actor=actor_user(actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_jsonable(before),
        after=_jsonable(after),
    )


def audit_records(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    changes: Iterable[tuple[uuid.UUID, dict[str, Any] | None, dict[str, Any] | None]],
) -> list[AuditEvent]:
    """``audit_record`` for many objects at once, ``(object_id, before, after)`` each: one INSERT
    for a change the system makes in bulk (an import pairing thousands of transfers)."""
    user = actor_user(actor)
    return AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=user,
                action=action,
                object_type=object_type,
                object_id=object_id,
                before=_jsonable(before),
                after=_jsonable(after),
            )
            for object_id, before, after in changes
        ]
    )
