"""Brute-force protection of the back-office login (django-axes, per username and address).

Settings under test (config/settings/base.py): AXES_LOCKOUT_PARAMETERS [["username",
"ip_address"]], AXES_FAILURE_LIMIT 5, AXES_COOLOFF_TIME 15 minutes, AXES_RESET_ON_SUCCESS.
"""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from .conftest import make_staff

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "pw-for-tests-only"
OFFICE = "10.0.0.7"
ELSEWHERE = "192.0.2.50"


def attempt(client, username: str, password: str, address: str = OFFICE):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in_as(client) -> str | None:
    from django.contrib.auth import get_user

    user = get_user(client)
    return user.get_username() if user.is_authenticated else None


@pytest.fixture
def accountant(world_a):
    make_staff(world_a.accountant)
    return world_a.accountant


def test_a_hundred_wrong_passwords_then_the_right_one_is_refused(client, accountant):
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [attempt(client, accountant.username, f"guess-{n}").status_code for n in range(100)]
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert set(statuses[limit - 1 :]) == {429}

    response = attempt(client, accountant.username, PASSWORD)
    assert response.status_code == 429
    assert logged_in_as(client) is None
    body = response.content.decode()
    assert "Too many failed logins" in body and accountant.username in body
    assert "ask an administrator to unlock" in body
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert response["Content-Type"].startswith("text/html")


def test_the_lock_holds_for_the_pair_only(client, accountant, world_a):
    make_staff(world_a.viewer)
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, accountant.username, f"guess-{n}")
    assert attempt(client, accountant.username, PASSWORD).status_code == 429

    # The same user at another address (their own desk) still logs in ...
    assert attempt(client, accountant.username, PASSWORD, ELSEWHERE).status_code == 302
    assert logged_in_as(client) == accountant.username
    client.logout()
    # ... and so does a colleague behind the same address.
    assert attempt(client, world_a.viewer.username, PASSWORD).status_code == 302
    assert logged_in_as(client) == world_a.viewer.username


def test_failures_below_the_limit_are_forgotten_after_a_successful_login(client, accountant):
    for round_ in range(3):
        for n in range(settings.AXES_FAILURE_LIMIT - 1):
            assert attempt(client, accountant.username, f"guess-{round_}-{n}").status_code == 200
        assert attempt(client, accountant.username, PASSWORD).status_code == 302
        client.logout()


def test_the_lock_ends_after_the_cool_off(client, accountant):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, accountant.username, f"guess-{n}")
    assert attempt(client, accountant.username, PASSWORD).status_code == 429
    # Age the failures instead of waiting: the last one is now older than the cool-off.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1)
    )
    assert attempt(client, accountant.username, PASSWORD).status_code == 302


def test_an_operator_unlocks_with_axes_reset_username(client, accountant):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, accountant.username, f"guess-{n}")
    assert attempt(client, accountant.username, PASSWORD).status_code == 429
    call_command("axes_reset_username", accountant.username)
    assert attempt(client, accountant.username, PASSWORD).status_code == 302


def test_a_superuser_unlocks_in_the_admin(client, accountant, django_user_model):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, accountant.username, f"guess-{n}")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    admin = type(client)()
    admin.force_login(root)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and accountant.username in listing.content.decode()
    row = AccessAttempt.objects.get(username=accountant.username)
    response = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", "index": "0", "_selected_action": [str(row.pk)]},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert attempt(client, accountant.username, PASSWORD).status_code == 302


def test_staff_without_superuser_cannot_see_or_unlock(client, accountant):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, accountant.username, f"guess-{n}", ELSEWHERE)
    client.force_login(accountant)
    assert client.get("/admin/axes/accessattempt/").status_code == 403
    row = AccessAttempt.objects.get()
    assert client.post(f"/admin/axes/accessattempt/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.count() == 1


def test_api_bearer_tokens_are_not_counted_or_locked(client, accountant, world_a, api_client_for):
    """Axes watches the password login only; a locked-out user's API token keeps working."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, accountant.username, f"guess-{n}", "127.0.0.1")
    assert attempt(client, accountant.username, PASSWORD, "127.0.0.1").status_code == 429
    failures_before = list(AccessAttempt.objects.values_list("failures_since_start", flat=True))

    api = api_client_for(accountant)
    assert api.get(f"/v1/tenants/{world_a.tenant.id}/invoices").status_code == 200
    for n in range(10):
        bad = client.get(
            f"/v1/tenants/{world_a.tenant.id}/invoices", HTTP_AUTHORIZATION=f"Bearer rk_wrong{n}"
        )
        assert bad.status_code == 401
    assert list(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == failures_before


@pytest.mark.parametrize(
    ("query", "data"),
    [
        ("?next=/admin/%00", {"username": "someone", "password": "wrong"}),
        ("", {"username": "some\x00one", "password": "wrong"}),
        ("", {"username": "someone", "password": "wro\x00ng"}),
        ("", {"username": "someone", "password": "wrong", "extra": "\x00"}),
        ("", {"username": "x" * 5000, "password": "wrong"}),
    ],
)
def test_malformed_login_requests_are_answered_not_crashed(client, query, data):
    response = client.post(f"/admin/login/{query}", data)
    assert response.status_code in (200, 400), response.status_code
