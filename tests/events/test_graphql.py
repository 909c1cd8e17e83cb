"""Webhooks and events in GraphQL: owners only, the secret in the creating answer only, costs bounded."""

from __future__ import annotations

import pytest

from events import schema as gql_webhooks
from events.models import DeliveryStatus, EventType, WebhookAttempt, WebhookDelivery
from events.services import event_record
from tenants.context import tenant_context
from tests.reconciliation.test_graphql import assert_error, data, gql

pytestmark = pytest.mark.django_db

CREATE = """
mutation Create($url: String!) {
  createWebhookEndpoint(
    input: {url: $url, eventTypes: [MATCH_CONFIRMED, INVOICE_SETTLED], description: "ERP"}
  ) {
    secret endpoint { id url eventTypes active }
  }
}
"""


def test_the_enums_are_the_models_choices():
    assert {m.value for m in gql_webhooks.EventTypeEnum} == set(EventType.values)
    assert {m.value for m in gql_webhooks.DeliveryStatusEnum} == set(DeliveryStatus.values)


def test_an_owner_manages_endpoints_and_the_secret_is_shown_once(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    created = data(client, world_a, CREATE, {"url": "https://erp.example.com/hooks"})["createWebhookEndpoint"]
    assert created["secret"].startswith("whsec_")
    assert created["endpoint"]["eventTypes"] == ["MATCH_CONFIRMED", "INVOICE_SETTLED"]
    endpoint_id = created["endpoint"]["id"]
    listed = data(client, world_a, "{ webhookEndpoints { totalCount items { id url eventTypes } } }")
    assert listed["webhookEndpoints"]["items"][0]["id"] == endpoint_id
    asked = gql(client, world_a, "{ webhookEndpoints { items { secret } } }")
    assert "secret" in asked["errors"][0]["message"]  # no such field: never readable again
    rotated = data(
        client,
        world_a,
        "mutation R($id: UUID!) {"
        " rotateWebhookSecret(id: $id) { secret endpoint { previousSecretExpiresAt } } }",
        {"id": endpoint_id},
    )["rotateWebhookSecret"]
    assert rotated["secret"] != created["secret"] and rotated["endpoint"]["previousSecretExpiresAt"]
    updated = data(
        client,
        world_a,
        "mutation U($id: UUID!) {"
        " updateWebhookEndpoint(id: $id, input: {active: false}) { active eventTypes } }",
        {"id": endpoint_id},
    )["updateWebhookEndpoint"]
    assert updated == {"active": False, "eventTypes": ["MATCH_CONFIRMED", "INVOICE_SETTLED"]}
    refused = gql(client, world_a, CREATE, {"url": "ftp://example.com/x"})
    error = assert_error(refused, "invalid-input", 400)
    assert "url" in error["extensions"]["errors"]
    deleted = data(
        client,
        world_a,
        "mutation D($id: UUID!) { deleteWebhookEndpoint(id: $id) { deleted } }",
        {"id": endpoint_id},
    )
    assert deleted["deleteWebhookEndpoint"]["deleted"] is True


def test_events_with_deliveries_and_attempts_and_resend(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    data(client, world_a, CREATE, {"url": "https://erp.example.com/hooks"})
    with tenant_context(world_a.tenant.id):
        event = event_record(EventType.MATCH_CONFIRMED, {"match_id": "m-1"}, object_type="match")
        delivery = WebhookDelivery.objects.get(event=event)
        WebhookAttempt.objects.create(
            delivery=delivery, number=1, url="https://erp.example.com/hooks", response_code=500
        )
        WebhookDelivery.objects.filter(id=delivery.id).update(status=DeliveryStatus.FAILED, attempt_count=1)
    query = """
    query E($id: UUID!) {
      events(filter: {type: MATCH_CONFIRMED}) { items { id type } }
      event(id: $id) {
        type data deliveries { status endpointUrl attempts { number responseCode succeeded } }
      }
    }
    """
    body = data(client, world_a, query, {"id": str(event.id)})
    assert body["events"]["items"] == [{"id": str(event.id), "type": "MATCH_CONFIRMED"}]
    assert body["event"]["data"] == {"match_id": "m-1"}
    assert body["event"]["deliveries"] == [
        {
            "status": "FAILED",
            "endpointUrl": "https://erp.example.com/hooks",
            "attempts": [{"number": 1, "responseCode": 500, "succeeded": False}],
        }
    ]
    resent = data(
        client, world_a, "mutation S($id: UUID!) { resendEvent(id: $id) { status } }", {"id": str(event.id)}
    )
    assert resent["resendEvent"] == [{"status": "PENDING"}]


def test_a_page_of_events_with_their_data_is_priced_before_it_runs(world_a, api_client_for):
    body = gql(api_client_for(world_a.owner), world_a, "{ events(first: 500) { items { data } } }")
    assert "cost" in body["errors"][0]["message"]


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_other_roles_are_refused(world_a, api_client_for, role):
    client = api_client_for(getattr(world_a, role))
    assert_error(gql(client, world_a, "{ events { totalCount } }"), "forbidden", 403)
    assert_error(gql(client, world_a, CREATE, {"url": "https://erp.example.com/hooks"}), "forbidden", 403)
