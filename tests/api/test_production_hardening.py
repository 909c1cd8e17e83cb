"""Request ids, JSON logs without secrets, write rate limiting with 429 problem+json."""

from __future__ import annotations

import json
import logging

import pytest

from api.observability import JsonFormatter
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_request_id_is_echoed_or_generated(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    assert client.get("/v1/tenants", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    generated = client.get("/v1/tenants", HTTP_X_REQUEST_ID="bad id with spaces\n")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/v1/tenants")["Cache-Control"] == "no-store"


def test_access_log_is_json_with_request_and_tenant_ids_and_no_token(world_a, api_client_for, caplog):
    client = api_client_for(world_a.owner)
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    with caplog.at_level(logging.INFO, logger="reconcile.access"):
        client.post(
            f"/v1/tenants/{world_a.tenant.id}/members",
            {"username": "nobody", "role": "no-such-role", "secret": "s3cr3t-body"},
            format="json",
            HTTP_X_REQUEST_ID="req-42",
        )
    records = [r for r in caplog.records if r.name == "reconcile.access"]
    assert records
    line = JsonFormatter().format(records[-1])
    payload = json.loads(line)
    assert payload["request_id"] == "req-42"
    assert payload["tenant_id"] == str(world_a.tenant.id)
    assert payload["status"] == 400
    assert token not in line
    assert "s3cr3t-body" not in line


def test_writes_beyond_the_limit_get_429_problem(world_a, api_client_for, settings):
    settings.WRITE_RATE_LIMIT_PER_MINUTE = 3
    client = api_client_for(world_a.owner)
    statuses = [client.post("/v1/tenants", {"name": f"T{n}"}, format="json").status_code for n in range(3)]
    assert statuses == [201, 201, 201]
    response = client.post("/v1/tenants", {"name": "T4"}, format="json")
    assert_problem(response, 429)
    assert 0 < int(response["Retry-After"]) <= 60
    # Reads are not limited, and another token has its own budget.
    assert client.get("/v1/tenants").status_code == 200
    assert api_client_for(world_a.owner).post("/v1/tenants", {"name": "T5"}, format="json").status_code == 201
