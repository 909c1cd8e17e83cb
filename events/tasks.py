"""Queue tasks of events: one delivery attempt per job, and the purge of delivered events.

* ``events.deliver_webhook`` (queue ``webhooks``, below the tenants' jobs in priority): one
  attempt of one delivery (``events.delivery``). Deferred by ``events.services`` in the
  transaction that records the event (or the previous attempt), never by hand. A database
  error retries the job (the attempt may then be sent twice: receivers deduplicate by
  ``webhook-id``); anything the receiver does is an attempt's outcome, not a job failure.
* ``events.purge_delivered_events`` (daily): events older than ``EVENTS_RETENTION_DAYS`` whose
  deliveries are all finished, with their deliveries and attempts, in every tenant.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from tenants.context import tenant_context
from tenants.models import Tenant

from .delivery import delivery_attempt
from .models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery
from .services import DELIVER_TASK, WEBHOOK_QUEUE

HOUSEKEEPING_QUEUE = "housekeeping"
PURGE_BATCH = 5_000


@app.task(
    name=DELIVER_TASK,
    queue=WEBHOOK_QUEUE,
    retry=RetryStrategy(
        max_attempts=3, exponential_wait=2, retry_exceptions=(OperationalError, InterfaceError)
    ),
)
def deliver_webhook(*, tenant_id: str, delivery_id: str) -> None:
    delivery_attempt(tenant_id=tenant_id, delivery_id=delivery_id)


def events_purge_older_than(days: int) -> int:
    """Delete finished events older than ``days`` in every tenant; how many events went."""
    cutoff = timezone.now() - dt.timedelta(days=days)
    total = 0
    for tenant_id in Tenant.objects.order_by("id").values_list("id", flat=True):
        while True:
            with tenant_context(tenant_id):
                old = (
                    Event.objects.filter(created_at__lt=cutoff)
                    .exclude(deliveries__status=DeliveryStatus.PENDING)
                    .values_list("id", flat=True)[:PURGE_BATCH]
                )
                ids = list(old)
                if not ids:
                    break
                # Children first: the composite keys between them refuse an orphan.
                WebhookAttempt.objects.filter(delivery__event_id__in=ids).delete()
                WebhookDelivery.objects.filter(event_id__in=ids).delete()
                total += Event.objects.filter(id__in=ids).delete()[0]
    return total


@app.periodic(cron="23 4 * * *", periodic_id="purge_delivered_events")
@app.task(
    name="events.purge_delivered_events",
    queue=HOUSEKEEPING_QUEUE,
    queueing_lock="events.purge_delivered_events",
)
def purge_delivered_events(timestamp: int) -> int:
    del timestamp
    return events_purge_older_than(settings.EVENTS_RETENTION_DAYS)
