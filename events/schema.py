"""GraphQL for webhooks and events (owners): the same services and selectors as REST and the admin.

``reconciliation.schema`` composes ``WebhooksQuery`` and ``WebhooksMutation`` into the one tenant
schema next to the ledgers' queries and mutations; the plumbing they share (pages, declared
permissions, savepoints) is ``api.graphql``, below every app. A new endpoint's secret, and a
rotated one, is returned by that mutation only (``WebhookEndpointWithSecret``).
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

import strawberry
import strawberry_django
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.fields import DeleteResult, owner_field, owner_mutation
from api.graphql.pagination import DEFAULT_PAGE_SIZE, Page, PageSize, paginate

from . import selectors, services
from .models import DeliveryStatus, Event, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint


# Values are the models' choices (a test keeps them in step).
@strawberry.enum(
    name="EventType", description="What an event reports (delivered as its value, e.g. match.confirmed)."
)
class EventTypeEnum(enum.Enum):
    IMPORT_COMPLETED = EventType.IMPORT_COMPLETED.value
    IMPORT_FAILED = EventType.IMPORT_FAILED.value
    RECONCILIATION_COMPLETED = EventType.RECONCILIATION_COMPLETED.value
    MATCH_AUTO_CONFIRMED = EventType.MATCH_AUTO_CONFIRMED.value
    MATCH_CONFIRMED = EventType.MATCH_CONFIRMED.value
    MATCH_REJECTED = EventType.MATCH_REJECTED.value
    MATCH_UNDONE = EventType.MATCH_UNDONE.value
    INVOICE_SETTLED = EventType.INVOICE_SETTLED.value


@strawberry.enum(name="DeliveryStatus")
class DeliveryStatusEnum(enum.Enum):
    PENDING = DeliveryStatus.PENDING.value
    SUCCEEDED = DeliveryStatus.SUCCEEDED.value
    FAILED = DeliveryStatus.FAILED.value
    CANCELLED = DeliveryStatus.CANCELLED.value


@strawberry_django.type(WebhookEndpoint, name="WebhookEndpoint")
class WebhookEndpointType:
    id: strawberry.auto
    url: strawberry.auto
    description: strawberry.auto
    active: strawberry.auto
    previous_secret_expires_at: strawberry.auto
    created_by_id: int | None
    created_at: strawberry.auto
    updated_at: strawberry.auto

    @strawberry.field
    def event_types(self, root: WebhookEndpoint) -> list[EventTypeEnum]:
        return [EventTypeEnum(value) for value in root.event_types]


@strawberry.type
class WebhookEndpointWithSecret:
    endpoint: WebhookEndpointType
    secret: str = strawberry.field(
        description="Shown in this answer only: sign verification key (whsec_...)."
    )


@strawberry_django.type(WebhookAttempt, name="WebhookAttempt")
class WebhookAttemptType:
    number: strawberry.auto
    created_at: strawberry.auto
    url: strawberry.auto
    succeeded: strawberry.auto
    response_code: int | None
    latency_ms: strawberry.auto
    error: strawberry.auto
    response_excerpt: strawberry.auto


@strawberry_django.type(WebhookDelivery, name="WebhookDelivery")
class WebhookDeliveryType:
    id: strawberry.auto
    endpoint_id: uuid.UUID
    attempt_count: strawberry.auto
    next_attempt_at: strawberry.auto
    last_attempt_at: strawberry.auto
    last_response_code: int | None
    finished_at: strawberry.auto
    requested_by_id: int | None
    created_at: strawberry.auto

    @strawberry.field
    def status(self, root: WebhookDelivery) -> DeliveryStatusEnum:
        return DeliveryStatusEnum(root.status)

    @strawberry.field
    def endpoint_url(self, root: WebhookDelivery) -> str:
        return root.endpoint.url

    @strawberry.field
    def attempts(self, root: WebhookDelivery) -> list[WebhookAttemptType]:
        return list(root.attempts.all())  # type: ignore[arg-type]  # prefetched by the selector


@strawberry_django.type(Event, name="Event")
class EventType_:  # noqa: N801 - the model's EventType (choices) is imported above
    id: strawberry.auto
    object_type: strawberry.auto
    object_id: uuid.UUID | None
    created_at: strawberry.auto

    @strawberry.field
    def type(self, root: Event) -> EventTypeEnum:
        return EventTypeEnum(root.type)

    @strawberry.field(description="The `data` member delivered with the event.")
    def data(self, root: Event) -> JSON:
        return root.data  # lists defer it: read when asked for (priced by the cost limit)

    @strawberry.field(description="Every delivery, newest first, with every attempt.")
    def deliveries(self, root: Event) -> list[WebhookDeliveryType]:
        if "deliveries" in getattr(root, "_prefetched_objects_cache", {}):
            return list(root.deliveries.all())  # type: ignore[arg-type]  # event_get prefetched them
        return list(selectors.delivery_list().filter(event_id=root.id))  # type: ignore[arg-type]


@strawberry.input
class EventFilter:
    type: EventTypeEnum | None = None
    object_id: uuid.UUID | None = None


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    event_types: list[EventTypeEnum]
    description: str = ""
    active: bool = True


@strawberry.input
class UpdateWebhookEndpointInput:
    url: str | None = strawberry.UNSET
    event_types: list[EventTypeEnum] | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


def _values(types: list[Any]) -> list[str]:
    return [item.value for item in types]


@strawberry.type
class WebhooksQuery:
    @owner_field(description="The tenant's webhook endpoints (owners), newest first.")
    def webhook_endpoints(
        self, first: PageSize = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[WebhookEndpointType]:
        return paginate(selectors.endpoint_list(), first=first, after=after)

    @owner_field()
    def webhook_endpoint(self, id: uuid.UUID) -> WebhookEndpointType:
        return selectors.endpoint_get(endpoint_id=id)  # type: ignore[return-value]

    @owner_field(description="Events recorded for the tenant's webhooks (owners), newest first.")
    def events(
        self, filter: EventFilter | None = None, first: PageSize = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[EventType_]:
        given = filter or EventFilter()
        queryset = selectors.event_list(
            type=given.type.value if given.type else None, object_id=given.object_id
        )
        return paginate(queryset, first=first, after=after)

    @owner_field()
    def event(self, id: uuid.UUID) -> EventType_:
        return selectors.event_get(event_id=id)  # type: ignore[return-value]


@strawberry.type
class WebhooksMutation:
    @owner_mutation(description="Register a webhook endpoint; its secret is in this answer only.")
    def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointWithSecret:
        endpoint, secret = services.endpoint_create(
            url=input.url,
            event_types=_values(input.event_types),
            description=input.description,
            active=input.active,
            actor=info.context.user,
        )
        return WebhookEndpointWithSecret(endpoint=endpoint, secret=secret)  # type: ignore[arg-type]

    @owner_mutation(description="Change an endpoint's URL, event types, description or activity.")
    def update_webhook_endpoint(
        self, info: Info, id: uuid.UUID, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointType:
        changes = {name: value for name, value in vars(input).items() if value is not strawberry.UNSET}
        if changes.get("event_types") is not None:
            changes["event_types"] = _values(changes["event_types"])
        return services.endpoint_update(endpoint_id=id, changes=changes, actor=info.context.user)  # type: ignore[return-value]

    @owner_mutation(description="Delete an endpoint with its deliveries (pending ones are never sent).")
    def delete_webhook_endpoint(self, info: Info, id: uuid.UUID) -> DeleteResult:
        services.endpoint_delete(endpoint_id=id, actor=info.context.user)
        return DeleteResult(id=id, deleted=True)

    @owner_mutation(
        description="A new secret, in this answer only; the previous one also signs for 24 hours."
    )
    def rotate_webhook_secret(self, info: Info, id: uuid.UUID) -> WebhookEndpointWithSecret:
        endpoint, secret = services.endpoint_rotate_secret(endpoint_id=id, actor=info.context.user)
        return WebhookEndpointWithSecret(endpoint=endpoint, secret=secret)  # type: ignore[arg-type]

    @owner_mutation(
        description="Deliver an event again: to `endpointId`, or to every active endpoint of its type."
    )
    def resend_event(
        self, info: Info, id: uuid.UUID, endpoint_id: uuid.UUID | None = None
    ) -> list[WebhookDeliveryType]:
        deliveries = services.event_resend(event_id=id, endpoint_id=endpoint_id, actor=info.context.user)
        return list(selectors.delivery_list().filter(id__in=[d.id for d in deliveries]))  # type: ignore[arg-type]
