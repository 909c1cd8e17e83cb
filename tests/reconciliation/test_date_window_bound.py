"""One bound for the date window (issue 16): the settings (model validator, REST) and GraphQL's
stateless scoring take the same largest window, ``MAX_DATE_WINDOW_DAYS`` (ten years). Before,
scoreCandidates accepted up to 3660 days while a tenant's settings stopped at 3650."""

from __future__ import annotations

import json

import pytest

from tenants.models import MAX_DATE_WINDOW_DAYS

pytestmark = pytest.mark.django_db

SCORE = """
query Score($settings: ScoreSettingsInput) {
  scoreCandidates(invoices: [], transactions: [], settings: $settings) { proposals { shape } }
}
"""


def score(client, world, days: int) -> dict:
    response = client.post(
        f"/v1/tenants/{world.tenant.id}/graphql",
        data=json.dumps({"query": SCORE, "variables": {"settings": {"dateWindowDays": days}}}),
        content_type="application/json",
    )
    return response.json()


def save_setting(client, world, days: int) -> int:
    response = client.patch(
        f"/v1/tenants/{world.tenant.id}/settings", {"date_window_days": days}, format="json"
    )
    return response.status_code


@pytest.mark.parametrize("days", [MAX_DATE_WINDOW_DAYS - 1, MAX_DATE_WINDOW_DAYS])
def test_the_largest_window_is_accepted_everywhere(world_a, api_client_for, days):
    assert MAX_DATE_WINDOW_DAYS == 3650
    assert save_setting(api_client_for(world_a.owner), world_a, days) == 200
    assert "errors" not in score(api_client_for(world_a.viewer), world_a, days)


@pytest.mark.parametrize("days", [MAX_DATE_WINDOW_DAYS + 1, 3660])
def test_a_longer_window_is_refused_everywhere(world_a, api_client_for, days):
    assert save_setting(api_client_for(world_a.owner), world_a, days) == 400
    (error,) = score(api_client_for(world_a.viewer), world_a, days)["errors"]
    assert error["extensions"]["status"] == 400
    assert error["extensions"]["errors"] == {"settings.dateWindowDays": ["Must be between 0 and 3650."]}
