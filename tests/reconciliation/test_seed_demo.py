"""``manage.py seed_demo`` (what ``./dev run`` calls): a demo tenant, a working token, the URLs."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from reconciliation.management.commands.seed_demo import DEMO_TENANT

pytestmark = pytest.mark.django_db


def test_seed_demo_prints_a_working_token_and_where_the_server_listens(monkeypatch):
    monkeypatch.setenv("PORT", "8765")
    out = io.StringIO()
    call_command("seed_demo", "--password", "demo-pw", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8765/v1/docs" in text
    token = re.search(r"API token: (\S+)", text)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    tenants = client.get("/v1/tenants").json()
    assert [tenant["name"] for tenant in tenants] == [DEMO_TENANT]
    invoices = client.get(f"/v1/tenants/{tenants[0]['id']}/invoices").json()
    assert invoices["results"], "the demo tenant has invoices"
    # Running it again (every `./dev run` does) replaces the token and adds no second tenant.
    call_command("seed_demo", "--password", "demo-pw", stdout=io.StringIO())
    assert client.get("/v1/tenants").status_code == 401  # the old demo token was replaced
