"""Events (an outbox written with each change) and their delivery to webhook endpoints.

Four tenant tables, each with the project's conventions (RLS, ``(tenant_id, id)`` keys,
composite keys between them, distributed by tenant on Citus):

* ``Event``: what happened, written in the same transaction as the change it reports
  (``events.services.events_record``), so an event exists exactly when its change does.
* ``WebhookEndpoint``: an owner's registered URL, the event types it wants and the Standard
  Webhooks secret (``whsec_...``) its deliveries are signed with.
* ``WebhookDelivery``: one event to one endpoint (a resend is a new delivery of the same event),
  with its state: pending until an attempt answers 2xx, failed when the retry window is over.
* ``WebhookAttempt``: one HTTP attempt of a delivery: response code, latency, error.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from common import limits
from tenants.models import TenantForeignKey, TenantModel


class EventType(models.TextChoices):
    IMPORT_COMPLETED = "import.completed", "Import completed"
    IMPORT_FAILED = "import.failed", "Import failed"
    RECONCILIATION_COMPLETED = "reconciliation.completed", "Reconciliation completed"
    MATCH_AUTO_CONFIRMED = "match.auto_confirmed", "Matches auto-confirmed by a run"
    MATCH_CONFIRMED = "match.confirmed", "Match confirmed"
    MATCH_REJECTED = "match.rejected", "Match rejected"
    MATCH_UNDONE = "match.undone", "Match undone"
    INVOICE_SETTLED = "invoice.settled", "Invoices settled"


EVENT_TYPE_LENGTH = 64
# A Standard Webhooks secret: "whsec_" and the base64 of 32 random bytes (44 characters).
SECRET_LENGTH = 64


class Event(TenantModel):
    """One thing that happened in a tenant, as its webhooks report it (``type`` and ``data``)."""

    type = models.CharField(max_length=EVENT_TYPE_LENGTH, choices=EventType.choices)
    object_type = models.CharField(
        max_length=32, help_text="What it is about: match, reconciliation_run, import_batch, job, invoice"
    )
    object_id = models.UUIDField(null=True, blank=True)
    # Ids, amounts and times given as objects are written as text (DjangoJSONEncoder).
    data = models.JSONField(encoder=DjangoJSONEncoder, help_text="The event's `data` member, as delivered.")

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=Q(type__in=EventType.values), name="event_type_valid"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="event_tenant_created_idx"),
            models.Index(fields=["tenant", "type", "-created_at"], name="event_tenant_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.created_at:%Y-%m-%d %H:%M:%S}"


class WebhookEndpoint(TenantModel):
    """A URL the tenant's owners registered to receive events, signed with its secret.

    The secret is needed to sign, so it is stored as given to the owner (a hash could not sign);
    it is shown once, when created or rotated, and never by any list, page or admin form. After
    a rotation the previous secret keeps signing too (a second signature in the same header, as
    Standard Webhooks allows) until ``previous_secret_expires_at``, so receivers can switch over.
    """

    url = models.CharField(max_length=limits.WEBHOOK_URL)
    description = models.CharField(max_length=limits.NAME, blank=True, default="")
    event_types = ArrayField(
        models.CharField(max_length=EVENT_TYPE_LENGTH), help_text="The event types delivered to it."
    )
    active = models.BooleanField(default=True, help_text="Inactive endpoints receive nothing.")
    secret = models.CharField(max_length=SECRET_LENGTH, editable=False)
    previous_secret = models.CharField(max_length=SECRET_LENGTH, blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook endpoint"
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(event_types__len__gte=1) & Q(event_types__len__lte=len(EventType)),
                name="webhookendpoint_event_types_bounded",
            ),
            models.CheckConstraint(
                condition=Q(event_types__contained_by=EventType.values),
                name="webhookendpoint_event_types_known",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="webhook_tenant_created_idx")]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_DELIVERY_STATUSES = (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)


class WebhookDelivery(TenantModel):
    """One event to one endpoint: tried until it answers 2xx or the retry window is over."""

    event = TenantForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = TenantForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial index below: only resends are requested by someone
        help_text="Who asked for a resend (empty for the event's own delivery).",
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhookdelivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "event"], name="delivery_tenant_event_idx"),
            models.Index(fields=["tenant", "endpoint", "-created_at"], name="delivery_tenant_endpoint_idx"),
            models.Index(
                fields=["requested_by"],
                condition=Q(requested_by__isnull=False),
                name="delivery_requested_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.id} ({self.status})"


class WebhookAttempt(TenantModel):
    """One HTTP attempt of a delivery, as the receiver answered it (or why it could not)."""

    delivery = TenantForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    url = models.CharField(max_length=limits.WEBHOOK_URL, help_text="The URL the attempt was sent to.")
    succeeded = models.BooleanField(default=False)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=limits.WEBHOOK_ERROR, blank=True, default="")
    response_excerpt = models.CharField(
        max_length=limits.WEBHOOK_RESPONSE_EXCERPT,
        blank=True,
        default="",
        help_text="The start of the receiver's answer, as text.",
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "delivery", "number"], name="attempt_tenant_delivery_idx")]

    def __str__(self) -> str:
        return f"Attempt {self.number} ({self.response_code or self.error or '-'})"
