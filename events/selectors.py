"""Reads for events and webhooks (active tenant only, RLS underneath)."""

from __future__ import annotations

import uuid

from django.db.models import Count, Prefetch, Q, QuerySet

from common.errors import NotFound

from .models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.all()


def endpoint_get(*, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.filter(id=endpoint_id).first()
    if found is None:
        raise NotFound("No such webhook endpoint.")
    return found


def event_list(*, type: str | None = None, object_id: uuid.UUID | None = None) -> QuerySet[Event]:
    """Events, newest first, each with how many of its deliveries stand where."""
    events = Event.objects.defer("data").annotate(
        deliveries_pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
        deliveries_succeeded=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SUCCEEDED)),
        deliveries_failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    )
    if type:
        events = events.filter(type=type)
    if object_id:
        events = events.filter(object_id=object_id)
    return events


def delivery_list() -> QuerySet[WebhookDelivery]:
    """Deliveries (newest first) with their endpoint's URL and every attempt, in order."""
    return (
        WebhookDelivery.objects.select_related("endpoint")
        .order_by("-created_at", "-id")
        .prefetch_related(
            Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number", "created_at"))
        )
    )


def deliveries_with_attempts() -> Prefetch:
    """An event's deliveries as ``delivery_list`` gives them."""
    return Prefetch("deliveries", queryset=delivery_list())


def event_get(*, event_id: uuid.UUID) -> Event:
    found = Event.objects.prefetch_related(deliveries_with_attempts()).filter(id=event_id).first()
    if found is None:
        raise NotFound("No such event.")
    return found
