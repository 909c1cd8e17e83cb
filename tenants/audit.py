"""Audit trail: every state change of tenant data records actor, time, before and after."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder

from .models import AuditEvent


def _jsonable(state: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if state is None else json.loads(json.dumps(state, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    object_type: str,
    object_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event for the active tenant (call inside the change's transaction)."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=_jsonable(before),
        after=_jsonable(after),
    )
