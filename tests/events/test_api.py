"""The webhooks and events REST API: owners only, the secret shown once, strict bodies, resends."""

from __future__ import annotations

import pytest

from common import limits
from events.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from events.services import event_record
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def base(world) -> str:
    return f"/v1/tenants/{world.tenant.id}"


def create(client, world, **body):
    body.setdefault("url", "https://erp.example.com/hooks")
    body.setdefault("event_types", ["match.confirmed"])
    return client.post(f"{base(world)}/webhooks", body, format="json")


def test_an_owner_registers_an_endpoint_and_its_secret_is_shown_once(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    response = create(client, world_a, description="ERP", event_types=["match.confirmed", "invoice.settled"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == [
        "match.confirmed",
        "invoice.settled",
    ]
    assert body["active"] is True and body["created_by_id"] == world_a.owner.pk
    for url in (f"{base(world_a)}/webhooks", f"{base(world_a)}/webhooks/{body['id']}"):
        shown = client.get(url)
        assert shown.status_code == 200 and body["secret"] not in shown.content.decode()
        assert "secret" not in (shown.json()["results"][0] if "results" in shown.json() else shown.json())
    with tenant_context(world_a.tenant.id):
        audit = AuditEvent.objects.get(action="webhook_endpoint.created")
        assert body["secret"] not in str(audit.after)


def test_rotation_returns_a_new_secret_and_keeps_the_old_one_signing_for_a_while(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    created = create(client, world_a).json()
    rotated = client.post(f"{base(world_a)}/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.content
    assert rotated.json()["secret"] != created["secret"] and rotated.json()["previous_secret_expires_at"]
    assert_problem(
        client.post(f"{base(world_a)}/webhooks/{created['id']}/rotate-secret", {"x": 1}, format="json"), 400
    )


def test_changes_and_deletion(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    created = create(client, world_a).json()
    url = f"{base(world_a)}/webhooks/{created['id']}"
    changed = client.patch(url, {"active": False, "event_types": ["match.undone"]}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["active"] is False and changed.json()["event_types"] == ["match.undone"]
    assert client.delete(url).status_code == 204
    assert_problem(client.get(url), 404)
    with tenant_context(world_a.tenant.id):
        assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
            "webhook_endpoint.updated",
            "webhook_endpoint.deleted",
        }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_types": []}, "event_types"),
        ({"event_types": ["match.exploded"]}, "event_types"),
        ({"event_types": ["match.confirmed", "match.confirmed"]}, "event_types"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "https://example.com/" + "x" * limits.WEBHOOK_URL}, "url"),
        ({"secret": "whsec_mine"}, "secret"),
        ({"description": "x" * (limits.NAME + 1)}, "description"),
    ],
)
def test_invalid_bodies_are_refused_naming_the_field(world_a, api_client_for, body, field):
    problem = assert_problem(create(api_client_for(world_a.owner), world_a, **body), 400)
    assert field in problem["errors"], problem
    with tenant_context(world_a.tenant.id):
        assert not WebhookEndpoint.objects.exists()


def test_a_tenant_has_a_bounded_number_of_endpoints(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    for n in range(limits.WEBHOOK_ENDPOINTS_PER_TENANT):
        assert create(client, world_a, url=f"https://erp.example.com/hooks/{n}").status_code == 201
    assert_problem(create(client, world_a), 409)


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_only_owners_manage_webhooks_and_read_events(world_a, api_client_for, role):
    client = api_client_for(getattr(world_a, role))
    for method, path in [
        ("get", "webhooks"),
        ("post", "webhooks"),
        ("get", "events"),
    ]:
        response = getattr(client, method)(f"{base(world_a)}/{path}", {}, format="json")
        assert_problem(response, 403)


def test_events_list_filter_and_detail_with_deliveries(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    create(client, world_a, event_types=["match.confirmed", "match.rejected"])
    with tenant_context(world_a.tenant.id):
        confirmed = event_record(EventType.MATCH_CONFIRMED, {"match_id": "m-1"}, object_type="match")
        event_record(EventType.MATCH_REJECTED, {"match_id": "m-2"}, object_type="match")
        event_record(EventType.INVOICE_SETTLED, {"invoices": []}, object_type="match")
    listed = client.get(f"{base(world_a)}/events").json()["results"]
    assert [e["type"] for e in listed] == ["invoice.settled", "match.rejected", "match.confirmed"]
    assert listed[1]["deliveries_pending"] == 1 and listed[0]["deliveries_pending"] == 0
    assert "data" not in listed[0]  # lists stay small: the data is on the event's page
    only = client.get(f"{base(world_a)}/events", {"type": "match.confirmed"}).json()["results"]
    assert [e["id"] for e in only] == [str(confirmed.id)]
    assert_problem(client.get(f"{base(world_a)}/events", {"type": "nope"}), 400)
    detail = client.get(f"{base(world_a)}/events/{confirmed.id}").json()
    assert detail["data"] == {"match_id": "m-1"}
    assert detail["deliveries"][0]["status"] == "pending" and detail["deliveries"][0]["attempts"] == []


def test_resend_rules(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    endpoint = create(client, world_a).json()
    with tenant_context(world_a.tenant.id):
        event = event_record(EventType.MATCH_CONFIRMED, {"match_id": "m-1"}, object_type="match")
        unsubscribed = event_record(EventType.MATCH_UNDONE, {}, object_type="match")
    url = f"{base(world_a)}/events/{event.id}/resend"
    assert_problem(client.post(url, {}, format="json"), 409)  # its first delivery is still pending
    with tenant_context(world_a.tenant.id):
        WebhookDelivery.objects.filter(event=event).update(status=DeliveryStatus.FAILED)
    resent = client.post(url, {"endpoint_id": endpoint["id"]}, format="json")
    assert resent.status_code == 202, resent.content
    assert resent.json()["deliveries"][0]["requested_by_id"] == world_a.owner.pk
    assert_problem(client.post(f"{base(world_a)}/events/{unsubscribed.id}/resend", {}, format="json"), 409)
    problem = assert_problem(client.post(url, {"endpoint_id": str(event.id)}, format="json"), 404)
    assert "endpoint_id" in problem["errors"]
    assert_problem(client.post(url, {"endpoint": endpoint["id"]}, format="json"), 400)
