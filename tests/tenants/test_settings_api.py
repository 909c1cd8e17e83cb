"""The tenant's settings over REST: members read them, owners change them, every change audited."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from reconciliation.selectors import engine_settings
from tenants.context import tenant_context
from tenants.models import AuditEvent, TenantSettings

pytestmark = pytest.mark.django_db


def url(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/settings"


def stored(world) -> TenantSettings:
    with tenant_context(world.tenant.id):
        return TenantSettings.objects.get()


def settings_events(world) -> list[AuditEvent]:
    with tenant_context(world.tenant.id):
        return list(AuditEvent.objects.filter(action="tenant_settings.updated"))


def test_members_read_the_settings(world_a, api_client_for):
    response = api_client_for(world_a.viewer).get(url(world_a))
    assert response.status_code == 200
    assert response.json() == {
        "default_currency": "USD",
        "auto_confirm_threshold": "0.9500",
        "auto_confirm_shadow": False,
        "fee_tolerance_fixed": "0.00",
        "fee_tolerance_percent": "0.00",
        "date_window_days": 120,
        "internal_transfer_days": 4,
        "auto_reconcile": True,
        "write_off_max_amount": "0.00",
        "write_off_max_percent": "0.00",
        "write_off_reasons": ["bank_fee", "discount", "rounding", "processor_fee", "other"],
        "rejection_memory": 3,
        "processor_fee_percent": "3.50",
        "processor_fee_fixed": "0.35",
    }


def test_an_owner_changes_them_and_the_change_is_audited(world_a, api_client_for):
    response = api_client_for(world_a.owner).patch(
        url(world_a),
        {"auto_confirm_threshold": 0.97, "fee_tolerance_fixed": "2.50", "default_currency": "eur"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["auto_confirm_threshold"] == "0.9700"
    row = stored(world_a)
    assert (row.auto_confirm_threshold, row.fee_tolerance_fixed, row.default_currency) == (
        Decimal("0.97"),
        Decimal("2.50"),
        "EUR",
    )
    (event,) = settings_events(world_a)
    assert event.actor_id == world_a.owner.pk
    assert event.before == {
        "default_currency": "USD",
        "auto_confirm_threshold": "0.9500",
        "fee_tolerance_fixed": "0.00",
    }
    assert event.after == {
        "default_currency": "EUR",
        "auto_confirm_threshold": "0.9700",
        "fee_tolerance_fixed": "2.50",
    }
    assert event.source == "api"
    # The next run uses them.
    with tenant_context(world_a.tenant.id):
        assert engine_settings().fee_tolerance_fixed == Decimal("2.50")


def test_auto_confirmation_can_be_switched_off(world_a, api_client_for):
    response = api_client_for(world_a.owner).patch(
        url(world_a), {"auto_confirm_threshold": None}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["auto_confirm_threshold"] is None
    with tenant_context(world_a.tenant.id):
        assert engine_settings().auto_confirm_threshold is None


def test_negative_zero_is_zero(world_a, api_client_for):
    response = api_client_for(world_a.owner).patch(
        url(world_a), {"fee_tolerance_fixed": "-0.0"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["fee_tolerance_fixed"] == "0.00"


def test_an_unchanged_value_writes_no_event(world_a, api_client_for):
    response = api_client_for(world_a.owner).patch(url(world_a), {"date_window_days": 120}, format="json")
    assert response.status_code == 200
    assert settings_events(world_a) == []


@pytest.mark.parametrize("role", ["accountant", "viewer"])
def test_only_owners_change_them(world_a, api_client_for, role):
    response = api_client_for(getattr(world_a, role)).patch(
        url(world_a), {"date_window_days": 30}, format="json"
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert stored(world_a).date_window_days == 120


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"auto_confirm_threshold": "1.5"}, "auto_confirm_threshold"),
        ({"auto_confirm_threshold": "0.12345"}, "auto_confirm_threshold"),
        ({"fee_tolerance_fixed": "-1"}, "fee_tolerance_fixed"),
        ({"fee_tolerance_fixed": "1.005"}, "fee_tolerance_fixed"),
        ({"fee_tolerance_percent": "101"}, "fee_tolerance_percent"),
        ({"date_window_days": 100000}, "date_window_days"),
        ({"date_window_days": -1}, "date_window_days"),
        ({"default_currency": "ZZZ"}, "default_currency"),
        ({"default_currency": "EURO"}, "default_currency"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(world_a, api_client_for, body, field):
    before = stored(world_a)
    response = api_client_for(world_a.owner).patch(
        url(world_a), {**body, "date_window_days": 30} if field != "date_window_days" else body, format="json"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"]
    after = stored(world_a)
    assert [
        getattr(after, name) for name in ("default_currency", "auto_confirm_threshold", "date_window_days")
    ] == [
        getattr(before, name) for name in ("default_currency", "auto_confirm_threshold", "date_window_days")
    ]
    assert settings_events(world_a) == []


def test_another_tenants_settings_are_not_found(world_a, world_b, api_client_for):
    client = api_client_for(world_b.owner)
    assert client.get(url(world_a)).status_code == 404
    assert client.patch(url(world_a), {"date_window_days": 1}, format="json").status_code == 404
    assert stored(world_a).date_window_days == 120


def test_the_service_refuses_unknown_settings(world_a):
    from common.errors import InvalidInput
    from tenants.services import tenant_settings_update

    with tenant_context(world_a.tenant.id), pytest.raises(InvalidInput) as refused:
        tenant_settings_update(changes={"min_score": "0.1"}, actor=None)
    assert "min_score" in refused.value.errors


# --- the same over GraphQL ---------------------------------------------------------------------

SETTINGS_FIELDS = "defaultCurrency autoConfirmThreshold feeToleranceFixed feeTolerancePercent dateWindowDays"


def graphql(client, world, query: str, variables: dict | None = None) -> dict:
    response = client.post(
        f"/v1/tenants/{world.tenant.id}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


UPDATE_SELECTION = f"updateTenantSettings(input: $input) {{ {SETTINGS_FIELDS} }}"
UPDATE = f"mutation($input: TenantSettingsInput!) {{ {UPDATE_SELECTION} }}"


def test_graphql_reads_and_owners_change_the_settings(world_a, api_client_for):
    body = graphql(api_client_for(world_a.viewer), world_a, f"{{ tenantSettings {{ {SETTINGS_FIELDS} }} }}")
    assert body["data"]["tenantSettings"]["autoConfirmThreshold"] == "0.9500"

    owner = api_client_for(world_a.owner)
    body = graphql(
        owner, world_a, UPDATE, {"input": {"feeTolerancePercent": "0.5", "autoConfirmThreshold": None}}
    )
    assert "errors" not in body, body
    assert body["data"]["updateTenantSettings"]["autoConfirmThreshold"] is None
    row = stored(world_a)
    assert (row.fee_tolerance_percent, row.auto_confirm_threshold, row.date_window_days) == (
        Decimal("0.5"),
        None,
        120,  # not given: unchanged
    )
    (event,) = settings_events(world_a)
    assert event.source == "graphql"


def test_graphql_refuses_non_owners_and_bad_values(world_a, api_client_for):
    body = graphql(api_client_for(world_a.accountant), world_a, UPDATE, {"input": {"dateWindowDays": 30}})
    assert body["errors"][0]["extensions"]["code"] == "forbidden"
    body = graphql(api_client_for(world_a.owner), world_a, UPDATE, {"input": {"dateWindowDays": 99999}})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "invalid-input"
    assert "date_window_days" in error["extensions"]["errors"]
    assert stored(world_a).date_window_days == 120
    assert settings_events(world_a) == []
