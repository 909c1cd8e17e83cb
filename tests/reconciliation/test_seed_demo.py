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


def test_with_a_token_file_the_demo_token_survives_the_next_run(tmp_path):
    """`./dev run` keeps the token in .local/demo-token: yesterday's client still gets in."""
    token_file = tmp_path / ".local" / "demo-token"
    first = io.StringIO()
    call_command("seed_demo", "--password", "demo-pw", "--token-file", str(token_file), stdout=first)
    token = re.search(r"API token: (\S+)", first.getvalue())[1]
    assert token_file.read_text().strip() == token
    assert token_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    again = io.StringIO()
    call_command("seed_demo", "--password", "demo-pw", "--token-file", str(token_file), stdout=again)
    assert re.search(r"API token: (\S+)", again.getvalue())[1] == token
    assert "same as on the last run" in again.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/v1/tenants").status_code == 200
    # A kept token that no longer works (e.g. a new database) is replaced, and the output says so.
    token_file.write_text("rk_not-a-token-of-this-database\n")
    replaced = io.StringIO()
    call_command("seed_demo", "--password", "demo-pw", "--token-file", str(token_file), stdout=replaced)
    new_token = re.search(r"API token: (\S+)", replaced.getvalue())[1]
    assert new_token != token and token_file.read_text().strip() == new_token
    assert "NEW demo API token" in replaced.getvalue() and "no longer works" in replaced.getvalue()
    assert client.get("/v1/tenants").status_code == 401
