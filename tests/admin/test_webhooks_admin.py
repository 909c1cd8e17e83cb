"""Webhooks in the back office: owners register endpoints (secret shown once), rotate secrets,
see every event with its deliveries and attempts, and resend; other roles see none of it."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from events.models import DeliveryStatus, Event, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/events/webhookendpoint/"
EVENTS = "/admin/events/event/"


def _shown_secret(page: str) -> str:
    found = re.search(r'<code id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</code>', page)
    assert found, "no secret on the page"
    return found.group(1)


def _register(client, world) -> tuple[WebhookEndpoint, str, str]:
    response = client.post(
        f"{ENDPOINTS}add/",
        {
            "url": "https://erp.example.com/hooks",
            "description": "ERP",
            "event_types": ["match.confirmed", "invoice.settled"],
            "active": "on",
        },
    )
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    with tenant_context(world.tenant.id):
        endpoint = WebhookEndpoint.objects.get()
    return endpoint, _shown_secret(page), response["Cache-Control"]


def test_an_owner_registers_an_endpoint_and_sees_its_secret_once(login, staff_a):
    client = login(staff_a.owner)
    endpoint, secret, cache = _register(client, staff_a)
    assert endpoint.secret == secret and endpoint.event_types == ["match.confirmed", "invoice.settled"]
    assert "no-store" in cache or "no-cache" in cache
    for url in (ENDPOINTS, f"{ENDPOINTS}{endpoint.pk}/change/"):
        page = client.get(url).content.decode()
        assert "erp.example.com" in page and secret not in page, url


def test_the_form_shows_the_services_refusals(login, staff_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    response = login(staff_a.owner).post(
        f"{ENDPOINTS}add/", {"url": "http://169.254.169.254/latest", "event_types": ["match.confirmed"]}
    )
    assert response.status_code == 200
    assert "link-local address" in response.content.decode()
    with tenant_context(staff_a.tenant.id):
        assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_shows_the_new_one_once(login, staff_a):
    client = login(staff_a.owner)
    endpoint, old, _ = _register(client, staff_a)
    assert "Rotate secret" in client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert client.get(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/").status_code == 405
    page = client.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/").content.decode()
    new = _shown_secret(page)
    with tenant_context(staff_a.tenant.id):
        endpoint.refresh_from_db()
    assert new != old and endpoint.secret == new and endpoint.previous_secret == old


def test_events_show_every_delivery_attempt_and_can_be_resent(login, staff_a):
    client = login(staff_a.owner)
    endpoint, _, _ = _register(client, staff_a)
    with tenant_context(staff_a.tenant.id):
        event = Event.objects.create(
            type=EventType.MATCH_CONFIRMED, object_type="match", data={"match_id": "m-1"}
        )
        delivery = WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, status=DeliveryStatus.FAILED, attempt_count=2
        )
        WebhookAttempt.objects.create(delivery=delivery, number=1, url=endpoint.url, response_code=500)
        WebhookAttempt.objects.create(delivery=delivery, number=2, url=endpoint.url, error="Timed out.")
    listing = client.get(EVENTS).content.decode()
    assert "match.confirmed" in listing and "1 failed" in listing
    page = client.get(f"{EVENTS}{event.pk}/change/").content.decode()
    assert "erp.example.com/hooks" in page and "Timed out." in page and "<td>500</td>" in page
    assert "m-1" in page
    response = client.post(EVENTS, {"action": "resend", "_selected_action": [str(event.pk)]}, follow=True)
    assert "1 delivery(ies) queued." in response.content.decode()
    with tenant_context(staff_a.tenant.id):
        assert WebhookDelivery.objects.filter(event=event, status=DeliveryStatus.PENDING).count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'events.deliver_webhook'")
        assert cursor.fetchone()[0] == 1
    delivery_page = client.get(f"/admin/events/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "Timed out." in delivery_page


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_other_roles_see_no_webhooks(login, staff_a, role):
    client = login(getattr(staff_a, role))
    for url in (ENDPOINTS, EVENTS, "/admin/events/webhookdelivery/", f"{ENDPOINTS}add/"):
        assert client.get(url).status_code == 403, url
    assert "Webhook endpoints" not in client.get("/admin/").content.decode()
