"""Event writes: events recorded with their change (the outbox), webhook endpoints, resends.

**One way to record an event**: ``events_record`` (or ``event_record`` for one), called by the
service where the change happens, inside its transaction. It writes the events, one delivery per
active endpoint subscribed to each event's type, and one queue job per delivery (Procrastinate,
deferred through the same connection): all of it commits with the change or vanishes with it,
so a webhook never reports a change that was rolled back, and a committed change always has its
deliveries queued. A run's hundreds of thousands of matches cost a handful of rows: events list
their items (``MAX_LISTED`` per event, see the callers), and the inserts are bulk ones.

Everything here runs inside the tenant's context (``require_tenant_id``).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from procrastinate import tasks as queue_tasks

from common import limits
from common.errors import Conflict, InvalidInput, NotFound
from common.ids import OrderedIds
from jobs.queue import current_job_id, job_manager
from tenants.audit import Actor, AuditAction, actor_user, audit_record
from tenants.context import require_tenant_id

from .models import DeliveryStatus, Event, EventType, WebhookDelivery, WebhookEndpoint
from .network import url_problem

DELIVER_TASK = "events.deliver_webhook"
WEBHOOK_QUEUE = "webhooks"
# Below the tenants' jobs (priority 0): a backlog of deliveries to a slow receiver never keeps a
# worker from starting a reconciliation or an import.
DELIVERY_PRIORITY = -1
# Items an event lists inline (a run's auto-confirmed matches, settled invoices per event).
MAX_LISTED = 1_000
# Deliveries of one event to one endpoint (the first and the resends): bounds what a page shows.
MAX_DELIVERIES_PER_ENDPOINT = 10
# After a rotation the previous secret keeps signing for this long (receivers switch over).
PREVIOUS_SECRET_GRACE = dt.timedelta(hours=24)
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


@dataclass(frozen=True)
class EventSpec:
    """An event to record: its type, its ``data`` (JSON-ready), and the object it concerns."""

    type: str
    data: Mapping[str, Any]
    object_type: str
    object_id: uuid.UUID | None = None


def deliveries_defer(
    deliveries: Sequence[WebhookDelivery], *, using: str = "default", at: dt.datetime | None = None
) -> None:
    """Queue one delivery job per delivery, in the current transaction of ``using`` (``at``: not before)."""
    if not deliveries:
        return
    deferrer = queue_tasks.configure_task(
        name=DELIVER_TASK,
        job_manager=job_manager(using),
        queue=WEBHOOK_QUEUE,
        priority=DELIVERY_PRIORITY,
        schedule_at=at,
    )
    arguments: list[dict[str, Any]] = [
        {"tenant_id": str(delivery.tenant_id), "delivery_id": str(delivery.id)} for delivery in deliveries
    ]
    deferrer.batch_defer(*arguments)


# Rows per INSERT statement: bounds a statement's parameters (a run's events times the endpoints).
# The backend (tenants.db.compiler) writes them as VALUES rows, which Citus accepts under RLS.
_INSERT_CHUNK = 1_000


def events_record(specs: Sequence[EventSpec], *, using: str = "default") -> list[Event]:
    """Record events for the active tenant with their deliveries, in the caller's transaction.

    Events recorded by a job's work (a run or an import on a worker) carry its ``job_id`` in
    their data: the job a 202 answered with, so its client recognises the outcome.

    Four statements whatever the number of events (events, a read of the tenant's active
    endpoints, deliveries, queue jobs; more only past ``_INSERT_CHUNK`` rows). ``using``: the
    connection of the caller's transaction.
    """
    if not specs:
        return []
    tenant_id = require_tenant_id()
    new_id = OrderedIds.new()  # ids grow with the order the events are recorded in
    now = timezone.now()
    job_id = current_job_id()
    events = [
        Event(
            id=new_id(seq),
            tenant_id=tenant_id,
            type=spec.type,
            object_type=spec.object_type,
            object_id=spec.object_id,
            data=spec.data if job_id is None else {**spec.data, "job_id": str(job_id)},
        )
        for seq, spec in enumerate(specs)
    ]
    Event.objects.using(using).bulk_create(events, batch_size=_INSERT_CHUNK)
    endpoints = list(
        WebhookEndpoint.objects.using(using).filter(active=True).values_list("id", "event_types")
    )
    deliveries = [
        WebhookDelivery(
            id=uuid.uuid4(), tenant_id=tenant_id, event=event, endpoint_id=endpoint_id, next_attempt_at=now
        )
        for event in events
        for endpoint_id, event_types in endpoints
        if event.type in event_types
    ]
    if deliveries:
        WebhookDelivery.objects.using(using).bulk_create(deliveries, batch_size=_INSERT_CHUNK)
        deliveries_defer(deliveries, using=using)
    return events


def event_record(
    type: str, data: Mapping[str, Any], *, object_type: str, object_id: uuid.UUID | None = None
) -> Event:
    """Record one event (see ``events_record``)."""
    return events_record([EventSpec(type=type, data=data, object_type=object_type, object_id=object_id)])[0]


def listed(items: Iterable[Any]) -> tuple[list[Any], int]:
    """At most ``MAX_LISTED`` of ``items`` and how many there are (an event's bounded list)."""
    shown: list[Any] = []
    total = 0
    for item in items:
        if total < MAX_LISTED:
            shown.append(item)
        total += 1
    return shown, total


# --- Endpoints --------------------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _clean_event_types(errors: dict[str, list[str]], value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        errors["event_types"] = ["Give at least one event type: " + ", ".join(EventType.values) + "."]
        return []
    unknown = [str(item) for item in value if item not in EventType.values]
    if unknown:
        errors["event_types"] = [
            f"Unknown event type(s): {', '.join(unknown)[:500]}; choose from {', '.join(EventType.values)}."
        ]
        return []
    if len(set(value)) != len(value):
        errors["event_types"] = ["Each event type may be given once."]
        return []
    return [str(item) for item in value]


def _clean_endpoint(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "url" in data or not partial:
        url = data.get("url")
        problem = url_problem(url) if isinstance(url, str) else "Enter a URL."
        if problem is not None:
            errors["url"] = [problem]
        cleaned["url"] = url
    if "event_types" in data or not partial:
        cleaned["event_types"] = _clean_event_types(errors, data.get("event_types"))
    if "description" in data:
        description = data["description"]
        problem = (
            limits.text_problem(description, limits.NAME) if isinstance(description, str) else "Enter text."
        )
        if problem is not None:
            errors["description"] = [problem]
        cleaned["description"] = description
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["Must be true or false."]
        cleaned["active"] = data["active"]
    if errors:
        raise InvalidInput("The webhook endpoint is not valid.", errors=errors)
    return cleaned


def _endpoint_state(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit trail records of an endpoint (never its secret)."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "active": endpoint.active,
    }


def _locked_endpoint(endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(id=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


@transaction.atomic
def endpoint_create(
    *, url: str, event_types: list[str], description: str = "", active: bool = True, actor: Actor = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is shown this once."""
    cleaned = _clean_endpoint(
        {"url": url, "event_types": event_types, "description": description, "active": active}, partial=False
    )
    if WebhookEndpoint.objects.count() >= limits.WEBHOOK_ENDPOINTS_PER_TENANT:
        raise Conflict(
            f"This tenant has {limits.WEBHOOK_ENDPOINTS_PER_TENANT} webhook endpoints; delete one first."
        )
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(**cleaned, secret=secret, created_by=actor_user(actor))
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_ENDPOINT_CREATED,
        object_id=endpoint.id,
        after=_endpoint_state(endpoint),
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(
    *, endpoint_id: uuid.UUID, changes: Mapping[str, Any], actor: Actor = None
) -> WebhookEndpoint:
    """Change an endpoint's URL, event types, description or whether it is active."""
    cleaned = _clean_endpoint(changes, partial=True)
    endpoint = _locked_endpoint(endpoint_id)
    before = _endpoint_state(endpoint)
    for name, value in cleaned.items():
        setattr(endpoint, name, value)
    endpoint.save()
    after = _endpoint_state(endpoint)
    if after != before:
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_ENDPOINT_UPDATED,
            object_id=endpoint.id,
            before={name: value for name, value in before.items() if after[name] != value},
            after={name: value for name, value in after.items() if before[name] != value},
        )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint_id: uuid.UUID, actor: Actor = None) -> tuple[WebhookEndpoint, str]:
    """A new secret (shown this once); the old one also signs for ``PREVIOUS_SECRET_GRACE``."""
    endpoint = _locked_endpoint(endpoint_id)
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_GRACE
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
        object_id=endpoint.id,
        after={"previous_secret_expires_at": endpoint.previous_secret_expires_at},
    )
    return endpoint, secret


@transaction.atomic
def endpoint_delete(*, endpoint_id: uuid.UUID, actor: Actor = None) -> None:
    """Delete an endpoint with its deliveries and their attempts (pending ones are never sent).

    Its deliveries' queued jobs find no delivery and end; the events stay.
    """
    endpoint = _locked_endpoint(endpoint_id)
    state = _endpoint_state(endpoint)
    endpoint.delete()
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_ENDPOINT_DELETED,
        object_id=endpoint_id,
        before=state,
    )


@transaction.atomic
def event_resend(
    *, event_id: uuid.UUID, endpoint_id: uuid.UUID | None = None, actor: Actor = None
) -> list[WebhookDelivery]:
    """Deliver an event again: to one endpoint, or to every active endpoint of its type.

    A resend is a new delivery with its own attempts and retries; the receiver gets the same
    ``webhook-id`` (the event's id), so it can recognise a duplicate (Standard Webhooks). An
    endpoint that still has a pending delivery of the event is not sent another (409 when it is
    the one asked for, or when none is left), nor one that already had
    ``MAX_DELIVERIES_PER_ENDPOINT``.
    """
    event = Event.objects.filter(id=event_id).first()
    if event is None:
        raise NotFound("No such event.")
    if endpoint_id is not None:
        endpoint = WebhookEndpoint.objects.filter(id=endpoint_id).first()
        if endpoint is None:
            raise NotFound("No such webhook endpoint.", errors={"endpoint_id": ["No such webhook endpoint."]})
        if not endpoint.active:
            raise Conflict("The webhook endpoint is inactive; activate it first.")
        endpoints = [endpoint]
    else:
        endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if event.type in e.event_types]
        if not endpoints:
            raise Conflict(f"No active webhook endpoint receives {event.type} events.")
    existing: dict[uuid.UUID, list[str]] = {}
    for delivery_endpoint, status in WebhookDelivery.objects.filter(event=event).values_list(
        "endpoint_id", "status"
    ):
        existing.setdefault(delivery_endpoint, []).append(status)
    chosen = []
    refusals = []
    for endpoint in endpoints:
        statuses = existing.get(endpoint.id, [])
        if DeliveryStatus.PENDING in statuses:
            refusals.append(f"a delivery to {endpoint.url[:200]} is still pending")
        elif len(statuses) >= MAX_DELIVERIES_PER_ENDPOINT:
            refusals.append(
                f"{endpoint.url[:200]} had {MAX_DELIVERIES_PER_ENDPOINT} deliveries of it already"
            )
        else:
            chosen.append(endpoint)
    if not chosen:
        raise Conflict("The event cannot be resent: " + "; ".join(refusals) + ".")
    now = timezone.now()
    deliveries = [
        WebhookDelivery(
            id=uuid.uuid4(),
            tenant_id=event.tenant_id,
            event=event,
            endpoint=endpoint,
            next_attempt_at=now,
            requested_by=actor_user(actor),
        )
        for endpoint in chosen
    ]
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=_INSERT_CHUNK)
    deliveries_defer(deliveries)
    audit_record(
        actor=actor,
        action=AuditAction.EVENT_RESENT,
        object_id=event.id,
        after={"endpoints": [str(endpoint.id) for endpoint in chosen]},
    )
    return deliveries
