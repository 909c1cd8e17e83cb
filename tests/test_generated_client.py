"""A Python client generated from the live ``/v1/schema`` (openapi-python-client) drives the API.

The issue's integrators generated a client whose modules did not import and whose
``reconcile(dry_run=True)`` went out as a form body and ran a real reconciliation. Here the app
runs under gunicorn, its schema is fetched over HTTP, a client is generated offline
(``--fail-on-warning``: a schema the generator cannot read fails the test), every generated
module is imported, and the README's flow plus confirm / undo / reject run through the
generated functions and models (their ``from_dict`` fails on a response the schema misdescribes;
``raise_on_unexpected_status`` on an undeclared status).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import requests
from django.db import connection

from tests.support.server import database_url, gunicorn_server
from tests.tenants.factories import UserFactory, bearer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PACKAGE = "reconcile_api_client"


def generate_client(schema: dict[str, Any], workdir: Path) -> Path:
    """Generate the client package from ``schema`` into ``workdir`` (no network needed)."""
    schema_path = workdir / "openapi.json"
    schema_path.write_text(json.dumps(schema))
    config = workdir / "generator.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run: only the code matters
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(schema_path),
            "--meta",
            "none",
            "--output-path",
            str(workdir / PACKAGE),
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir


@pytest.fixture
def generated(tmp_path) -> Iterator[tuple[str, dict[str, ModuleType], Any]]:
    """(base url, every generated module by name, an authenticated client) against gunicorn."""
    user = UserFactory(username="integrator")
    token = bearer(user)["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    with gunicorn_server(database_url(connection.settings_dict)) as (base, _process):
        schema = requests.get(f"{base}/v1/schema", headers={"Accept": "application/json"}, timeout=30).json()
        sys.path.insert(0, str(generate_client(schema, tmp_path)))
        try:
            package = importlib.import_module(PACKAGE)
            modules = {
                info.name: importlib.import_module(info.name)
                for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")
            }
            client = package.AuthenticatedClient(
                base_url=base, token=token, raise_on_unexpected_status=True, timeout=httpx.Timeout(120)
            )
            yield base, modules, client
        finally:
            sys.path.remove(str(tmp_path))
            for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
                del sys.modules[name]


def ok(result: Any, expected: type) -> Any:
    """The parsed body, asserting it is the success model and not a parsed Problem."""
    assert isinstance(result, expected), result
    return result


def test_every_generated_module_imports_and_the_readme_flow_runs(generated):
    base, modules, client = generated
    assert len(modules) >= 80, sorted(modules)  # imported above: every API and model module

    api = {name.rsplit(".", 1)[1]: module for name, module in modules.items() if ".api." in name}
    models = modules[f"{PACKAGE}.models"]

    # The original flow: tenant, invoice, import under Idempotency-Key batch_001, reconcile.
    tenant = ok(
        api["tenants_create"].sync(client=client, body=models.TenantCreateRequest(name="Acme Corp")),
        models.TenantOutput,
    )
    tenant_id = tenant.id
    invoice = ok(
        api["tenants_invoices_create"].sync(
            tenant_id,
            client=client,
            body=models.InvoiceCreateRequest(amount="150.00", description="Consulting Services"),
        ),
        models.InvoiceOutput,
    )
    assert (invoice.amount, invoice.currency, invoice.outstanding_amount) == ("150.00", "USD", "150.00")
    item = models.TransactionItemRequest(
        amount="150.00", date="2023-10-25T10:00:00Z", description="Payment for Consulting", currency="USD"
    )
    import_body = models.BankTransactionImportRequest(transactions=[item])
    imported = ok(
        api["tenants_bank_transactions_import_create"].sync(
            tenant_id, client=client, body=import_body, idempotency_key="batch_001"
        ),
        models.ImportResult,
    )
    assert (imported.imported, imported.duplicates, len(imported.transactions)) == (1, 0, 1)
    replay = api["tenants_bank_transactions_import_create"].sync_detailed(
        tenant_id, client=client, body=import_body, idempotency_key="batch_001"
    )
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.parsed.batch_id == imported.batch_id

    reconcile = api["tenants_reconcile_create"]
    dry = ok(
        reconcile.sync(tenant_id, client=client, body=models.ReconcileRequestRequest(dry_run=True)),
        models.ReconcileOutput,
    )
    assert dry.dry_run is True and dry.run_id is None  # sent as JSON: a dry run stays a dry run
    assert not api["tenants_reconciliation_runs_list"].sync(tenant_id, client=client).results
    run = ok(
        reconcile.sync(tenant_id, client=client, body=models.ReconcileRequestRequest()),
        models.ReconcileOutput,
    )
    assert run.run_id and isinstance(run.candidates, list)
    assert run.candidates_total == len(run.candidates) and run.candidates_truncated is False
    assert run.matches_url.endswith(f"/matches?run_id={run.run_id}")
    for candidate in run.candidates:
        assert all(allocation.amount == "150.00" for allocation in candidate.allocations)

    # The original flow also sends the amount as a JSON number: still read exactly.
    number = httpx.post(
        f"{base}/v1/tenants/{tenant_id}/invoices",
        content='{"amount": 150.00, "description": "Consulting Services"}',
        headers={"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert number.status_code == 201 and number.json()["amount"] == "150.00", number.text

    # Decisions through the client, on a pair the transaction's reference identifies; with
    # auto-confirmation off (set through the client too) the match waits for a person.
    settings = ok(
        api["tenants_settings_partial_update"].sync(
            tenant_id, client=client, body=models.PatchedTenantSettingsRequest(auto_confirm_threshold=None)
        ),
        models.TenantSettings,
    )
    assert settings.auto_confirm_threshold is None
    quoted = ok(
        api["tenants_invoices_create"].sync(
            tenant_id,
            client=client,
            body=models.InvoiceCreateRequest(amount="75.00", description="Support", number="INV-2024-001"),
        ),
        models.InvoiceOutput,
    )
    quoting = models.TransactionItemRequest(
        amount="75.00",
        date="2023-10-26",
        description="Payment INV-2024-001",
        currency="USD",
        structured_reference="",
        end_to_end_id="E2E-2024-001",
    )
    ok(
        api["tenants_bank_transactions_import_create"].sync(
            tenant_id,
            client=client,
            body=models.BankTransactionImportRequest(transactions=json.dumps([quoting.to_dict()])),
            idempotency_key="batch_002",
        ),
        models.ImportResult,
    )

    def proposal_for_quoted_invoice() -> Any:
        result = ok(
            reconcile.sync(tenant_id, client=client, body=models.ReconcileRequestRequest()),
            models.ReconcileOutput,
        )
        found = [c for c in result.candidates if c.invoice_id == quoted.id]
        assert len(found) == 1 and found[0].auto_confirmed is False, result
        return found[0]

    candidate = proposal_for_quoted_invoice()
    assert [(a.amount, a.currency) for a in candidate.allocations] == [("75.00", "USD")]
    assert (candidate.fee_amount, candidate.currency) == ("0.00", "USD")

    confirmed = ok(
        api["tenants_matches_confirm_create"].sync(tenant_id, candidate.match_id, client=client),
        models.MatchOutput,
    )
    assert confirmed.status == models.MatchStatusEnum.CONFIRMED
    assert [(a.amount, a.invoice_amount) for a in confirmed.allocations] == [("75.00", "75.00")]
    paid = ok(
        api["tenants_invoices_retrieve"].sync(tenant_id, quoted.id, client=client), models.InvoiceOutput
    )
    assert (paid.status, paid.amount_paid, paid.outstanding_amount) == (
        models.InvoiceStatusEnum.PAID,
        "75.00",
        "0.00",
    )
    again = api["tenants_matches_confirm_create"].sync(tenant_id, candidate.match_id, client=client)
    assert isinstance(again, models.Problem) and again.status == 409  # problems parse as Problem

    detail = ok(
        api["tenants_matches_retrieve"].sync(tenant_id, candidate.match_id, client=client),
        models.MatchDetailOutput,
    )
    assert detail.breakdown and all(isinstance(pair, models.PairScore) for pair in detail.breakdown)

    undone = ok(
        api["tenants_matches_undo_create"].sync(tenant_id, candidate.match_id, client=client),
        models.MatchOutput,
    )
    assert undone.status == models.MatchStatusEnum.UNDONE
    reopened = ok(
        api["tenants_invoices_retrieve"].sync(tenant_id, quoted.id, client=client), models.InvoiceOutput
    )
    assert (reopened.status, reopened.amount_paid) == (models.InvoiceStatusEnum.OPEN, "0.00")

    proposed_again = proposal_for_quoted_invoice()
    rejected = ok(
        api["tenants_matches_reject_create"].sync(tenant_id, proposed_again.match_id, client=client),
        models.MatchOutput,
    )
    assert rejected.status == models.MatchStatusEnum.REJECTED
    last = ok(
        reconcile.sync(tenant_id, client=client, body=models.ReconcileRequestRequest()),
        models.ReconcileOutput,
    )
    assert all(c.invoice_id != quoted.id for c in last.candidates)  # a rejected pair is never proposed again

    runs = api["tenants_reconciliation_runs_list"].sync(tenant_id, client=client, page_size=500)
    assert len(runs.results) == 4 and all(
        isinstance(r.settings_used, models.RunOutputSettingsUsed) for r in runs.results
    )
    assert runs.results[0].settings_used.auto_confirm_threshold is None
    matches = api["tenants_matches_list"].sync(tenant_id, client=client)
    assert {m.id for m in matches.results} >= {candidate.match_id, proposed_again.match_id}
