"""Audit trail: every state change of tenant data records actor, time, source, before and after.

One vocabulary: ``AuditAction`` lists every action the system records, ``<object>.<verb>``; the
object part is the event's ``object_type`` (derived, never passed separately), and an unknown
action is refused before anything is written. Every interface (REST, GraphQL, back office,
commands, jobs) changes data through the services, and the services record the change, so the
same change reads the same whichever way it came: only ``source`` tells them apart.

``source`` is ambient, like the tenant: each entry point enters ``audit_source(...)`` once (the
API middleware, the GraphQL view, the admin middleware, ``TenantCommand``, the job runner), and
the services never pass it along. Outside any entry point (a periodic task, a shell) it is
``system``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from psycopg import sql

from .models import AuditEvent, AuditSource

__all__ = [
    "Actor",
    "AuditAction",
    "AuditSource",
    "actor_user",
    "audit_record",
    "audit_records",
    "audit_source",
    "audit_state_sql",
    "current_audit_source",
]

Actor = User | AnonymousUser | None
"""Who acts: the request's user (REST, GraphQL, admin), or None for the system (a run, a
command). An anonymous user is recorded like the system."""


class AuditAction(models.TextChoices):
    """Every action the audit trail records: ``<object>.<verb>``.

    Verbs: created, updated, deleted for plain changes (``before``/``after`` hold the fields that
    changed; a creation has no ``before``, a deletion no ``after``); the domain's own verbs where
    a change has a name of its own (voided, confirmed, auto_confirmed, rejected, undone, ...).
    """

    INVOICE_CREATED = "invoice.created"
    INVOICE_UPDATED = "invoice.updated"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_DELETED = "invoice.deleted"
    VENDOR_CREATED = "vendor.created"
    VENDOR_UPDATED = "vendor.updated"
    VENDOR_DELETED = "vendor.deleted"
    VENDOR_LEARNED_EVIDENCE_CREATED = "vendor_learned_evidence.created"
    VENDOR_LEARNED_EVIDENCE_DELETED = "vendor_learned_evidence.deleted"
    MATCH_CONFIRMED = "match.confirmed"
    MATCH_AUTO_CONFIRMED = "match.auto_confirmed"
    MATCH_REJECTED = "match.rejected"
    MATCH_UNDONE = "match.undone"
    MATCH_WRITTEN_OFF = "match.written_off"
    MATCH_WRITE_OFF_REVERSED = "match.write_off_reversed"
    IMPORT_BATCH_IMPORTED = "import_batch.imported"
    INTERNAL_TRANSFER_PAIRED = "internal_transfer.paired"
    INTERNAL_TRANSFER_UNPAIRED = "internal_transfer.unpaired"
    REMITTANCE_ADVICE_IMPORTED = "remittance_advice.imported"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated"
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated"  # noqa: S105 - a name
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted"
    EVENT_RESENT = "event.resent"
    TENANT_SETTINGS_UPDATED = "tenant_settings.updated"
    INVITATION_CREATED = "invitation.created"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_DECLINED = "invitation.declined"
    MEMBERSHIP_CREATED = "membership.created"
    MEMBERSHIP_UPDATED = "membership.updated"
    MEMBERSHIP_DELETED = "membership.deleted"
    API_TOKEN_CREATED = "api_token.created"  # noqa: S105 - a name, not a secret
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105 - a name, not a secret

    @property
    def object_type(self) -> str:
        """The kind of object the action is about: the part before the dot."""
        return self.value.partition(".")[0]


_current_source: ContextVar[AuditSource] = ContextVar("audit_source", default=AuditSource.SYSTEM)


def current_audit_source() -> AuditSource:
    """The interface the running code was entered through (``system`` outside any)."""
    return _current_source.get()


@contextmanager
def audit_source(source: AuditSource) -> Iterator[AuditSource]:
    """Record every audit event in the block as coming through ``source``.

    Entered once per entry point; an inner entry wins for its block (the GraphQL view inside
    the API middleware, a job run in-process by a command or a request)."""
    token = _current_source.set(AuditSource(source))
    try:
        yield source
    finally:
        _current_source.reset(token)


def actor_user(actor: Actor) -> User | None:
    """The user to record for ``actor``: None for the system or an anonymous user."""
    return actor if isinstance(actor, User) and actor.pk else None


def _jsonable(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if state is None else json.loads(json.dumps(state, cls=DjangoJSONEncoder))


def _known(action: AuditAction) -> AuditAction:
    """``action`` as a member; anything else (a typo, a retyped string) is refused."""
    if isinstance(action, AuditAction):
        return action
    raise ValueError(f"{action!r} is not an AuditAction: add it to the vocabulary first")


def _event(
    user: User | None,
    action: AuditAction,
    object_id: uuid.UUID,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> AuditEvent:
    return AuditEvent(
        actor=user,
        action=action.value,
        object_type=action.object_type,
        object_id=object_id,
        before=_jsonable(before),
        after=_jsonable(after),
        source=current_audit_source().value,
    )


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    object_id: uuid.UUID,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event for the active tenant (call inside the change's transaction)."""
    event = _event(actor_user(actor), _known(action), object_id, before, after)
    event.save(force_insert=True)
    return event


def audit_records(
    *,
    actor: Actor,
    action: AuditAction,
    changes: Iterable[tuple[uuid.UUID, Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> list[AuditEvent]:
    """``audit_record`` for many objects at once, ``(object_id, before, after)`` each: one INSERT
    for a change the system makes in bulk (an import pairing thousands of transfers)."""
    user, known = actor_user(actor), _known(action)
    return AuditEvent.objects.bulk_create(
        [_event(user, known, object_id, before, after) for object_id, before, after in changes]
    )


def audit_state_sql(fields: tuple[str, ...], values: Mapping[str, sql.Composable]) -> sql.Composable:
    """``jsonb_build_object(...)`` for a state with exactly ``fields`` (the keys the Python side
    records), each from its SQL expression in ``values``: SQL that writes audit events in bulk
    builds the same shape as ``audit_record``, generated from the same field list."""
    if set(values) != set(fields):
        raise ValueError(f"the audited state has {sorted(fields)}, got {sorted(values)}")
    pairs = [sql.SQL("{}, {}").format(sql.Literal(name), values[name]) for name in fields]
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs))
