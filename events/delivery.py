"""The worker's side of a delivery: one signed attempt, its record, and the next one if needed.

``delivery_attempt`` runs in three steps so that no database transaction stays open while a
receiver answers (it may take ``WEBHOOK_TIMEOUT_SECONDS``):

1. in the tenant's context: read the delivery; nothing to do unless it is pending; an inactive
   endpoint's delivery is cancelled; otherwise sign the request;
2. outside any transaction: one HTTP POST (``events.network.post``: SSRF guard, deadline,
   bounded answer, no redirects);
3. in the tenant's context again, the delivery locked: the attempt's row, the delivery's new
   state, and, after a failure, the next attempt's job (deferred in the same transaction), at
   ``WEBHOOK_RETRY_BASE_SECONDS`` x 2^(n-1) (at most ``WEBHOOK_RETRY_MAX_DELAY_SECONDS``, +-10 %
   so retries of many deliveries spread out), until ``WEBHOOK_RETRY_WINDOW_HOURS`` after the
   delivery was created (or ``MAX_ATTEMPTS``): then it has failed.

Signing follows Standard Webhooks with its reference implementation (``standardwebhooks``):
headers ``webhook-id`` (the event's id, the same on every attempt and resend, for receivers'
deduplication), ``webhook-timestamp`` (the attempt's time) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of id.timestamp.body>``; during a secret rotation a second signature
with the previous secret). The body is ``{"type", "timestamp", "data"}`` (the spec's payload
structure) with ``data`` as recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from tenants.context import tenant_context

from .models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .network import HttpOutcome, post
from .services import deliveries_defer

logger = logging.getLogger(__name__)

# Attempts of one delivery at most, whatever the settings make of the window (the default
# schedule needs about 16 for 24 hours): bounds what a delivery's page lists.
MAX_ATTEMPTS = 20


def event_body(event: Event) -> bytes:
    """The JSON a receiver gets for ``event`` (compact, UTF-8; the same bytes on every attempt)."""
    payload = {
        "type": event.type,
        "timestamp": event.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(
    endpoint: WebhookEndpoint, *, message_id: str, body: bytes, at: dt.datetime
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt sent at ``at``."""
    text = body.decode()
    secrets_in_use = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > at
    ):
        secrets_in_use.append(endpoint.previous_secret)
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=at, data=text) for secret in secrets_in_use
    ]
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def next_attempt_at(delivery: WebhookDelivery, attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When to try again after ``attempts`` failed attempts; None once the retry window is over."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = min(
        settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** min(attempts - 1, 30),
        settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS,
    )
    delay *= 0.9 + secrets.randbelow(201) / 1000  # +-10 %
    at = now + dt.timedelta(seconds=delay)
    if at > delivery.created_at + dt.timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS):
        return None
    return at


@dataclass(frozen=True)
class _Request:
    url: str
    body: bytes
    headers: dict[str, str]
    number: int


def _prepare(delivery_id: uuid.UUID) -> _Request | None:
    """Step 1 (inside the tenant): what to send, or None when there is nothing to do."""
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").filter(id=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None  # deleted with its endpoint, or already finished (a duplicate job)
    endpoint = delivery.endpoint
    if not endpoint.active:
        now = timezone.now()
        WebhookDelivery.objects.filter(id=delivery.id).update(
            status=DeliveryStatus.CANCELLED, finished_at=now, next_attempt_at=None, updated_at=now
        )
        return None
    body = event_body(delivery.event)
    headers = signed_headers(endpoint, message_id=str(delivery.event_id), body=body, at=timezone.now())
    return _Request(url=endpoint.url, body=body, headers=headers, number=delivery.attempt_count + 1)


def _record(delivery_id: uuid.UUID, request: _Request, outcome: HttpOutcome) -> None:
    """Step 3 (inside the tenant): the attempt, the delivery's state, the next attempt's job."""
    delivery = WebhookDelivery.objects.select_for_update().filter(id=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=request.number,
        url=request.url,
        succeeded=outcome.succeeded,
        response_code=outcome.status,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        response_excerpt=outcome.excerpt,
    )
    delivery.attempt_count = request.number
    delivery.last_attempt_at = now
    delivery.last_response_code = outcome.status
    retry_at = None
    if outcome.succeeded:
        delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
    else:
        retry_at = next_attempt_at(delivery, request.number, now)
        if retry_at is None:
            delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.FAILED, now, None
        else:
            delivery.next_attempt_at = retry_at
    delivery.save()
    if retry_at is not None:
        deliveries_defer([delivery], at=retry_at)


def delivery_attempt(*, tenant_id: uuid.UUID | str, delivery_id: uuid.UUID | str) -> None:
    """One attempt of a delivery of ``tenant_id`` (the queue job's work; see the module docstring).

    The delivery is looked up inside the tenant named by the job: a job naming another tenant's
    delivery finds nothing (RLS), so the queue's arguments alone can never send anything.
    """
    delivery_uuid = uuid.UUID(str(delivery_id))
    with tenant_context(tenant_id):
        request = _prepare(delivery_uuid)
    if request is None:
        return
    outcome = post(request.url, request.body, request.headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    if not outcome.succeeded:
        logger.info("webhook delivery %s attempt %s failed: %s", delivery_uuid, request.number, outcome.error)
    with tenant_context(tenant_id):
        _record(delivery_uuid, request, outcome)
