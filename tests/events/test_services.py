"""The events services, called directly: endpoints' validation and secrets, and which deliveries
recording an event queues (one per active endpoint subscribed to its type)."""

from __future__ import annotations

import pytest

from common.errors import InvalidInput
from events.models import EventType, WebhookDelivery, WebhookEndpoint
from events.services import (
    EventSpec,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_update,
    events_record,
)
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/recon"


def test_an_invalid_endpoint_is_refused_naming_each_field_and_nothing_is_stored(world_a):
    with tenant_context(world_a.tenant.id):
        with pytest.raises(InvalidInput) as refused:
            endpoint_create(url="ftp://hooks.example.com", event_types=["match.confirmed", "no.such"])
        assert set(refused.value.errors) == {"url", "event_types"}
        assert "no.such" in refused.value.errors["event_types"][0]
        assert not WebhookEndpoint.objects.exists()


def test_recording_events_queues_one_delivery_per_subscribed_active_endpoint(world_a, world_b):
    with tenant_context(world_a.tenant.id):
        confirmed, _ = endpoint_create(url=URL, event_types=[EventType.MATCH_CONFIRMED])
        both, _ = endpoint_create(
            url=URL + "/2", event_types=[EventType.MATCH_CONFIRMED, EventType.MATCH_UNDONE]
        )
        paused, _ = endpoint_create(url=URL + "/3", event_types=[EventType.MATCH_CONFIRMED], active=False)
        events = events_record(
            [
                EventSpec(type=EventType.MATCH_CONFIRMED, data={"n": 1}, object_type="match"),
                EventSpec(type=EventType.MATCH_UNDONE, data={"n": 2}, object_type="match"),
                EventSpec(type=EventType.INVOICE_SETTLED, data={"n": 3}, object_type="invoice"),
            ]
        )
        deliveries = set(WebhookDelivery.objects.values_list("event_id", "endpoint_id"))
        assert [event.data for event in events] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert deliveries == {
        (events[0].id, confirmed.id),
        (events[0].id, both.id),
        (events[1].id, both.id),
    }
    assert paused.id not in {endpoint for _, endpoint in deliveries}
    with tenant_context(world_b.tenant.id):
        assert not WebhookDelivery.objects.exists()


def test_a_rotated_secret_keeps_the_previous_one_signing_for_a_while(world_a):
    with tenant_context(world_a.tenant.id):
        endpoint, first = endpoint_create(url=URL, event_types=[EventType.MATCH_CONFIRMED])
        rotated, second = endpoint_rotate_secret(endpoint_id=endpoint.id)
        stored = WebhookEndpoint.objects.get(id=endpoint.id)
    assert first != second and first.startswith("whsec_") and second.startswith("whsec_")
    assert stored.secret == second and stored.previous_secret == first
    assert stored.previous_secret_expires_at is not None


def test_a_partial_update_changes_only_what_it_names(world_a):
    with tenant_context(world_a.tenant.id):
        endpoint, _ = endpoint_create(url=URL, event_types=[EventType.MATCH_CONFIRMED], description="ERP")
        endpoint_update(endpoint_id=endpoint.id, changes={"active": False})
        with pytest.raises(InvalidInput):
            endpoint_update(endpoint_id=endpoint.id, changes={"active": "no"})
        stored = WebhookEndpoint.objects.get(id=endpoint.id)
    assert (stored.active, stored.url, stored.description) == (False, URL, "ERP")
    assert stored.event_types == [EventType.MATCH_CONFIRMED]
