"""Webhooks and events API under /v1/tenants/{tenant_id}/ (owners only).

Owners manage the tenant's integrations: endpoints (``webhooks``), the events recorded for
them and every delivery attempt (``events``), and resends. A new endpoint's secret, and a
rotated one, is in that response only; nothing else ever shows it.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.pagination import CursorPagination, paginated_response
from api.parsers import json_object_body
from api.serializers import StrictInputSerializer
from api.views import TenantAPIView, TenantDetailAPIView, TenantListAPIView
from common import limits
from tenants.models import Role

from . import selectors, services
from .models import DeliveryStatus, EventType

TAGS = ["webhooks"]
SIGNING_KEY_HELP = (
    "The Standard Webhooks secret (`whsec_...`) deliveries are signed with: shown in this response "
    "only, never again. Verify each delivery with it (`webhook-id`, `webhook-timestamp`, "
    "`webhook-signature` headers)."
)


class _OwnersOnly(TenantAPIView):
    read_role = Role.OWNER
    write_role = Role.OWNER


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))
    active = serializers.BooleanField()
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="After a rotation: until when the previous secret also signs."
    )
    created_by_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookWithSecretSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text=SIGNING_KEY_HELP)


def _with_secret(endpoint: Any, secret: str) -> dict[str, Any]:
    return {**WebhookOutputSerializer(endpoint).data, "secret": secret}


class EventTypesField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.ChoiceField(choices=EventType.choices))
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", len(EventType))
        kwargs.setdefault("help_text", "The event types to deliver (each once).")
        super().__init__(**kwargs)


class WebhookListCreateApi(_OwnersOnly):
    """``GET/POST webhooks``: the tenant's endpoints; register one (its secret is shown once)."""

    pagination_class = CursorPagination

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "WebhookCreate"

        url = serializers.CharField(
            max_length=limits.WEBHOOK_URL,
            help_text="https URL (http only where the server allows it); public addresses only.",
        )
        event_types = EventTypesField()
        description = serializers.CharField(
            max_length=limits.NAME, required=False, allow_blank=True, default=""
        )
        active = serializers.BooleanField(required=False, default=True)

    @extend_schema(
        tags=TAGS, summary="Webhook endpoints (owners)", responses=WebhookOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        return paginated_response(self, request, selectors.endpoint_list(), WebhookOutputSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Register a webhook endpoint (owners)",
        request=InputSerializer,
        responses={201: WebhookWithSecretSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(**data.validated_data, actor=request.user)
        return Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)


class WebhookDetailApi(_OwnersOnly):
    """``GET/PATCH/DELETE webhooks/{webhook_id}``."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "WebhookUpdate"

        url = serializers.CharField(max_length=limits.WEBHOOK_URL, required=False)
        event_types = EventTypesField(required=False)
        description = serializers.CharField(max_length=limits.NAME, required=False, allow_blank=True)
        active = serializers.BooleanField(required=False)

    @extend_schema(tags=TAGS, responses=WebhookOutputSerializer)
    def get(self, request: Request, webhook_id: uuid.UUID) -> Response:
        return Response(WebhookOutputSerializer(selectors.endpoint_get(endpoint_id=webhook_id)).data)

    @extend_schema(tags=TAGS, request=InputSerializer, responses=WebhookOutputSerializer)
    def patch(self, request: Request, webhook_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            endpoint_id=webhook_id, changes=data.validated_data, actor=request.user
        )
        return Response(WebhookOutputSerializer(endpoint).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete an endpoint with its deliveries (pending ones are never sent)",
        responses={204: None},
    )
    def delete(self, request: Request, webhook_id: uuid.UUID) -> Response:
        services.endpoint_delete(endpoint_id=webhook_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(_OwnersOnly):
    """``POST webhooks/{webhook_id}/rotate-secret``: a new secret, shown once; the previous one
    also signs for 24 hours (two signatures in ``webhook-signature``), so receivers can switch."""

    @extend_schema(tags=TAGS, request=None, responses=WebhookWithSecretSerializer)
    def post(self, request: Request, webhook_id: uuid.UUID) -> Response:
        StrictInputSerializer(data=json_object_body(request, required=False)).is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_rotate_secret(endpoint_id=webhook_id, actor=request.user)
        return Response(_with_secret(endpoint, secret))


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField(help_text="When the attempt was recorded.")
    url = serializers.CharField()
    succeeded = serializers.BooleanField()
    response_code = serializers.IntegerField(allow_null=True, help_text="Null when no answer came.")
    latency_ms = serializers.IntegerField()
    error = serializers.CharField(help_text="Why it failed, in words (empty when it succeeded).")
    response_excerpt = serializers.CharField(help_text="The start of the receiver's answer.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint_id = serializers.UUIDField()
    endpoint_url = serializers.CharField(source="endpoint.url")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_response_code = serializers.IntegerField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    requested_by_id = serializers.IntegerField(allow_null=True, help_text="Who asked for a resend.")
    created_at = serializers.DateTimeField()
    attempts = AttemptSerializer(many=True, source="attempts.all")


class EventOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Also the `webhook-id` header of its deliveries.")
    type = serializers.ChoiceField(choices=EventType.choices)
    object_type = serializers.CharField()
    object_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    deliveries_pending = serializers.IntegerField()
    deliveries_succeeded = serializers.IntegerField()
    deliveries_failed = serializers.IntegerField()


class EventDetailSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Also the `webhook-id` header of its deliveries.")
    type = serializers.ChoiceField(choices=EventType.choices)
    object_type = serializers.CharField()
    object_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    data = serializers.JSONField(help_text="The `data` member delivered with the event.")  # type: ignore[assignment]
    deliveries = DeliverySerializer(many=True, source="deliveries.all")


class EventListApi(_OwnersOnly, TenantListAPIView):
    """``GET events``: newest first, with their deliveries' states (details: ``events/{id}``)."""

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "EventFilter"

        type = serializers.ChoiceField(choices=EventType.choices, required=False)
        object_id = serializers.UUIDField(required=False)

    filter_serializer_class = FilterSerializer
    output_serializer_class = EventOutputSerializer
    list_schema = {"tags": TAGS, "summary": "Events (owners)"}
    selector = staticmethod(selectors.event_list)


class EventDetailApi(_OwnersOnly, TenantDetailAPIView):
    """``GET events/{event_id}``: its data, and every delivery with every attempt."""

    output_serializer_class = EventDetailSerializer
    detail_schema = {"tags": TAGS}
    selector = staticmethod(selectors.event_get)


class ResendOutputSerializer(serializers.Serializer):
    deliveries = DeliverySerializer(many=True)


class EventResendApi(_OwnersOnly):
    """``POST events/{event_id}/resend``: deliver it again (202): to ``endpoint_id``, or with ``{}``
    to every active endpoint of its type. Receivers get the same ``webhook-id`` (deduplication)."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "EventResend"

        endpoint_id = serializers.UUIDField(required=False, help_text="Only this endpoint (default: all).")

    @extend_schema(tags=TAGS, request=InputSerializer, responses={202: ResendOutputSerializer})
    def post(self, request: Request, event_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        deliveries = services.event_resend(event_id=event_id, actor=request.user, **data.validated_data)
        for delivery in deliveries:
            delivery._prefetched_objects_cache = {"attempts": delivery.attempts.none()}  # type: ignore[attr-defined]
        return Response(
            ResendOutputSerializer({"deliveries": deliveries}).data, status=status.HTTP_202_ACCEPTED
        )
