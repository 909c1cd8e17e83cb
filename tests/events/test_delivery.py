"""Delivery attempts in this process against a local receiver: signatures, retries, SSRF, https.

The queue end to end (real workers) is in test_webhooks_workers.py; here one attempt at a time
is run by calling the worker's function, so each outcome is checked exactly.
"""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess

import pytest
from django.db import connection
from django.test import override_settings
from standardwebhooks import Webhook

from common.errors import InvalidInput
from events import delivery as delivery_module
from events import network
from events.models import DeliveryStatus, Event, EventType, WebhookAttempt, WebhookDelivery
from events.services import endpoint_create, endpoint_rotate_secret, event_record
from tenants.context import tenant_context
from tests.support.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.django_db(transaction=True)

ALL_TYPES = list(EventType.values)


def _endpoint(world, url: str, types=None):
    with tenant_context(world.tenant.id):
        return endpoint_create(url=url, event_types=types or ALL_TYPES, actor=world.owner)


def _record(world, type_=EventType.MATCH_CONFIRMED, data=None) -> Event:
    with tenant_context(world.tenant.id):
        return event_record(type_, data or {"match_id": "m-1", "amount": "150.00"}, object_type="match")


def _delivery(world, event: Event) -> WebhookDelivery:
    with tenant_context(world.tenant.id):
        return WebhookDelivery.objects.get(event=event)


def _attempt_all_due(world, event: Event) -> WebhookDelivery:
    """Run the worker's function for the event's delivery once."""
    delivery = _delivery(world, event)
    delivery_module.delivery_attempt(tenant_id=world.tenant.id, delivery_id=delivery.id)
    return _delivery(world, event)


def _attempts(world, delivery) -> list[WebhookAttempt]:
    with tenant_context(world.tenant.id):
        return list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))


def _queued_delivery_jobs(delivery) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, scheduled_at FROM procrastinate_jobs WHERE task_name = 'events.deliver_webhook' "
            "AND args->>'delivery_id' = %s ORDER BY id",
            [str(delivery.id)],
        )
        return cursor.fetchall()


def test_a_delivery_is_signed_per_standard_webhooks_and_verifies(world_a):
    with webhook_receiver() as receiver:
        _endpoint_row, secret = _endpoint(world_a, receiver.url)
        event = _record(world_a, data={"match_id": "m-1", "amount": "150.00", "note": "Zahlung für März"})
        assert _queued_delivery_jobs(_delivery(world_a, event)) != []  # deferred with the event
        delivered = _attempt_all_due(world_a, event)
        [request] = receiver.requests

    payload = Webhook(secret).verify(request.body, request.headers)  # raises unless signed with it
    assert payload == {
        "type": "match.confirmed",
        "timestamp": event.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": {"match_id": "m-1", "amount": "150.00", "note": "Zahlung für März"},
    }
    assert request.headers["webhook-id"] == str(event.id)
    assert request.headers["Content-Type"] == "application/json"
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(request.body.replace(b"150.00", b"999.00"), request.headers)
    assert delivered.status == DeliveryStatus.SUCCEEDED and delivered.attempt_count == 1
    [attempt] = _attempts(world_a, delivered)
    assert attempt.succeeded and attempt.response_code == 200 and attempt.error == ""
    assert attempt.latency_ms >= 0 and '"received": true' in attempt.response_excerpt


def test_a_failed_attempt_is_recorded_and_retried_later_until_it_succeeds(world_a):
    with webhook_receiver() as receiver:
        receiver.answers = [500, 503]
        _endpoint(world_a, receiver.url)
        event = _record(world_a)
        first = _attempt_all_due(world_a, event)
        assert first.status == DeliveryStatus.PENDING and first.next_attempt_at > first.last_attempt_at
        # The next attempt's job was deferred with the failure, for the backoff's time.
        jobs = _queued_delivery_jobs(first)
        assert len(jobs) == 2 and jobs[-1][1] is not None
        second = _attempt_all_due(world_a, event)
        third = _attempt_all_due(world_a, event)
        assert len(receiver.requests) == 3
    assert third.status == DeliveryStatus.SUCCEEDED and third.attempt_count == 3
    assert [(a.number, a.response_code, a.succeeded) for a in _attempts(world_a, third)] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert second.next_attempt_at is not None
    # Each attempt is signed with its own timestamp; the id stays the event's.
    ids = {request.headers["webhook-id"] for request in receiver.requests}
    assert ids == {str(event.id)}


def test_retries_back_off_exponentially_and_stop_after_the_window(world_a):
    with tenant_context(world_a.tenant.id):
        pass
    delivery = WebhookDelivery(created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    now = delivery.created_at
    with override_settings(
        WEBHOOK_RETRY_BASE_SECONDS=30, WEBHOOK_RETRY_MAX_DELAY_SECONDS=3 * 3600, WEBHOOK_RETRY_WINDOW_HOURS=24
    ):
        waits = []
        attempts = 0
        while (at := delivery_module.next_attempt_at(delivery, attempts + 1, now)) is not None:
            waits.append((at - now).total_seconds())
            now, attempts = at, attempts + 1
    assert 25 <= waits[0] <= 35 and 50 <= waits[1] <= 70 and 100 <= waits[2] <= 140
    assert max(waits) <= 3 * 3600 * 1.1
    assert now <= delivery.created_at + dt.timedelta(hours=24)
    assert now >= delivery.created_at + dt.timedelta(hours=18)  # tried for (about) a day
    assert 12 <= attempts <= 20


def test_a_delivery_past_its_window_fails_and_is_not_retried(world_a):
    with webhook_receiver() as receiver, override_settings(WEBHOOK_RETRY_WINDOW_HOURS=0):
        receiver.default_status = 500
        _endpoint(world_a, receiver.url)
        event = _record(world_a)
        failed = _attempt_all_due(world_a, event)
    assert failed.status == DeliveryStatus.FAILED and failed.next_attempt_at is None
    assert failed.finished_at is not None
    assert len(_queued_delivery_jobs(failed)) == 1  # only the first: no retry queued


def test_redirects_are_not_followed(world_a):
    with webhook_receiver() as receiver:
        receiver.answers = [302]
        _endpoint(world_a, receiver.url)
        delivery = _attempt_all_due(world_a, _record(world_a))
        assert len(receiver.requests) == 1
    [attempt] = _attempts(world_a, delivery)
    assert attempt.response_code == 302 and not attempt.succeeded
    assert "not followed" in attempt.error


def test_a_slow_receiver_is_cut_off_at_the_deadline(world_a):
    with webhook_receiver() as receiver, override_settings(WEBHOOK_TIMEOUT_SECONDS=0.5):
        receiver.delay_seconds = 3
        _endpoint(world_a, receiver.url)
        delivery = _attempt_all_due(world_a, _record(world_a))
    [attempt] = _attempts(world_a, delivery)
    assert attempt.response_code is None and attempt.error == "Timed out."
    assert delivery.status == DeliveryStatus.PENDING  # retried later


def test_an_inactive_endpoint_gets_nothing_and_its_pending_delivery_is_cancelled(world_a, api_client_for):
    with webhook_receiver() as receiver:
        endpoint, _ = _endpoint(world_a, receiver.url)
        event = _record(world_a)
        response = api_client_for(world_a.owner).patch(
            f"/v1/tenants/{world_a.tenant.id}/webhooks/{endpoint.id}", {"active": False}, format="json"
        )
        assert response.status_code == 200, response.content
        delivery = _attempt_all_due(world_a, event)
        assert receiver.requests == []
    assert delivery.status == DeliveryStatus.CANCELLED
    with tenant_context(world_a.tenant.id):  # and new events do not create deliveries for it
        second = event_record(EventType.MATCH_REJECTED, {}, object_type="match")
        assert not WebhookDelivery.objects.filter(event=second).exists()


def test_only_subscribed_types_are_delivered(world_a):
    with webhook_receiver() as receiver:
        _endpoint(world_a, receiver.url, types=[EventType.INVOICE_SETTLED])
        with tenant_context(world_a.tenant.id):
            ignored = event_record(EventType.MATCH_CONFIRMED, {}, object_type="match")
            wanted = event_record(EventType.INVOICE_SETTLED, {"invoices": []}, object_type="match")
            assert not WebhookDelivery.objects.filter(event=ignored).exists()
            assert WebhookDelivery.objects.filter(event=wanted).count() == 1


def test_during_a_rotation_both_secrets_sign(world_a):
    with webhook_receiver() as receiver:
        endpoint, old_secret = _endpoint(world_a, receiver.url)
        with tenant_context(world_a.tenant.id):
            _, new_secret = endpoint_rotate_secret(endpoint_id=endpoint.id, actor=world_a.owner)
        _attempt_all_due(world_a, _record(world_a))
        [request] = receiver.requests
    assert new_secret != old_secret
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(request.body, request.headers)
    Webhook(old_secret).verify(request.body, request.headers)


def test_events_are_written_with_the_change_and_gone_with_its_rollback(world_a):
    with webhook_receiver() as receiver:
        _endpoint(world_a, receiver.url)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), tenant_context(world_a.tenant.id):
        event = event_record(EventType.MATCH_CONFIRMED, {}, object_type="match")
        delivery = WebhookDelivery.objects.get(event=event)
        assert len(_queued_delivery_jobs(delivery)) == 1  # visible inside the transaction
        raise Abort
    with tenant_context(world_a.tenant.id):
        assert not Event.objects.filter(id=event.id).exists()
        assert not WebhookDelivery.objects.filter(id=delivery.id).exists()
    assert _queued_delivery_jobs(delivery) == []


# --- SSRF: where the server refuses to send -----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "refusal"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.10", "private"),
        ("172.16.0.5", "private"),
        ("169.254.169.254", "link-local"),
        ("[::1]", "loopback"),
        ("[fe80::1]", "link-local"),
        ("[fd00::1]", "private"),
        ("[::ffff:10.0.0.1]", "private"),
        ("100.64.0.1", "not publicly routable"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - the address under test
        ("224.0.0.1", "multicast"),
        ("localhost", "localhost"),
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused_without_a_connection(host, refusal):
    with override_settings(WEBHOOKS_ALLOW_PRIVATE_NETWORKS=False):
        outcome = network.post(f"http://{host}:9/hooks", b"{}", {}, timeout=2)
        assert outcome.status is None and refusal in outcome.error, outcome.error
        assert refusal in (network.url_problem(f"https://{host}/hooks") or ""), host


def test_a_host_name_resolving_to_loopback_is_refused_at_delivery(world_a, monkeypatch):
    """The name is resolved and every address checked; the receiver on loopback gets nothing.

    The tenant's DNS record is simulated (the machine has no DNS): ``erp.example.test``
    resolves to a public address and to the loopback one.
    """
    real = network.socket.getaddrinfo

    def tenant_dns(host, port, *args, **kwargs):
        if host == "erp.example.test":
            return [*real("93.184.216.34", port, *args, **kwargs), *real("127.0.0.1", port, *args, **kwargs)]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(network.socket, "getaddrinfo", tenant_dns)
    with webhook_receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "erp.example.test")  # a name, not a literal
        endpoint, _ = _endpoint(world_a, url)
        event = _record(world_a)
        with override_settings(WEBHOOKS_ALLOW_PRIVATE_NETWORKS=False):
            assert network.url_problem(url) is None  # a name: only resolution can tell
            delivery = _attempt_all_due(world_a, event)
        assert receiver.requests == []
    [attempt] = _attempts(world_a, delivery)
    assert "resolves to a loopback address" in attempt.error and attempt.response_code is None
    assert delivery.status == DeliveryStatus.PENDING  # a failed attempt like any other


def test_the_connection_goes_to_the_checked_address(monkeypatch):
    """No second look-up of the name between the check and the connection (DNS rebinding):
    a name that answers loopback first and another address afterwards is reached at the first."""
    lookups = []
    real = network.socket.getaddrinfo

    def rebinding_dns(host, port, *args, **kwargs):
        if host == "erp.example.test":
            lookups.append(host)
            return real("127.0.0.1" if len(lookups) == 1 else "192.0.2.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(network.socket, "getaddrinfo", rebinding_dns)
    with webhook_receiver() as receiver:
        outcome = network.post(receiver.url.replace("127.0.0.1", "erp.example.test"), b"{}", {}, timeout=5)
        assert outcome.status == 200 and len(receiver.requests) == 1, outcome
    assert lookups == ["erp.example.test"]
    assert receiver.requests[0].headers["Host"].startswith("erp.example.test:")


def test_registration_refuses_bad_urls(world_a):
    with tenant_context(world_a.tenant.id), override_settings(WEBHOOKS_ALLOW_PRIVATE_NETWORKS=False):
        for url, problem in [
            ("ftp://example.com/x", "must start with https://"),
            ("https://user:pw@example.com/x", "user name or password"),
            ("https://10.0.0.8/x", "private address"),
            ("https:///x", "no host"),
            ("https://example.com/x#frag", "fragment"),
            ("https://exa mple.com/x", "spaces"),
            ("https://example.com/" + "x" * 2000, "no more than 2000"),
        ]:
            with pytest.raises(InvalidInput) as refused:
                endpoint_create(url=url, event_types=ALL_TYPES)
            assert problem in refused.value.errors["url"][0], (url, refused.value.errors)


def test_https_is_required_where_the_setting_says_so(world_a):
    with webhook_receiver() as receiver:
        _endpoint(world_a, receiver.url)  # registered while http was allowed
        event = _record(world_a)
        with override_settings(WEBHOOKS_REQUIRE_HTTPS=True), tenant_context(world_a.tenant.id):
            with pytest.raises(InvalidInput) as refused:
                endpoint_create(url="http://example.com/hooks", event_types=ALL_TYPES)
            assert refused.value.errors["url"] == ["The URL must use https."]
        with override_settings(WEBHOOKS_REQUIRE_HTTPS=True):
            delivery = _attempt_all_due(world_a, event)
        assert receiver.requests == []  # refused at delivery too
    [attempt] = _attempts(world_a, delivery)
    assert attempt.error == "The URL must use https."


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """An https receiver with a certificate for 127.0.0.1 and localhost, trusted through SSL_CERT_FILE."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with webhook_receiver(tls=context, name="localhost") as receiver:
        yield receiver


def test_https_delivery_verifies_the_certificate_against_the_host_name(world_a, tls_receiver, monkeypatch):
    with override_settings(WEBHOOKS_REQUIRE_HTTPS=True):
        _endpoint_row, secret = _endpoint(world_a, tls_receiver.url)
        delivery = _attempt_all_due(world_a, _record(world_a))
    assert delivery.status == DeliveryStatus.SUCCEEDED
    Webhook(secret).verify(tls_receiver.requests[0].body, tls_receiver.requests[0].headers)
    # A certificate the client does not trust is a failed attempt, never a plain-text fallback.
    monkeypatch.delenv("SSL_CERT_FILE")
    outcome = network.post(tls_receiver.url, b"{}", {}, timeout=5)
    assert outcome.status is None and "certificate" in outcome.error
    assert len(tls_receiver.requests) == 1
