"""Imports, cancellation and faults through the queue with real workers (and gunicorn)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from banking.models import BankStatement, BankTransaction, ImportBatch, InternalTransfer
from invoices.models import Invoice
from jobs.models import Job, JobInput, JobKind, JobStatus
from jobs.services import job_enqueue
from reconciliation.models import MatchAllocation
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tests.banking.statement_builders import IBAN_MAIN, IBAN_SAVINGS, IBAN_THIRD_PARTY, Entry, Statement, camt
from tests.invoices.factories import make_invoice
from tests.jobs import probe_tasks
from tests.support.server import ROOT, database_url, gunicorn_server
from tests.support.worker import wait_for
from tests.tenants.factories import bearer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SMALL_THRESHOLD = "2000"  # bytes: uploads from this size on are queued (IMPORT_ASYNC_MIN_BYTES)


def statement_csv(rows: int, *, start: int = 0) -> bytes:
    lines = ["Date,Amount,Currency,Description,Reference"]
    lines += [
        f"2024-05-{n % 28 + 1:02d},{n % 9000 + 1}.{n % 100:02d},EUR,Payment {n},REF-{n}"
        for n in range(start, start + rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def server(transactional_db):
    db_url = database_url(connection.settings_dict)
    env = {"JOBS_RUN_IN_PROCESS": "false", "IMPORT_ASYNC_MIN_BYTES": SMALL_THRESHOLD}
    with gunicorn_server(db_url, extra_env=env) as (base, _process):
        yield base


def jobs_of(world, **filters) -> list[Job]:
    with tenant_context(world.tenant.id):
        return list(Job.objects.filter(**filters).order_by("created_at"))


def counts(world) -> tuple[int, int]:
    with tenant_context(world.tenant.id):
        return BankTransaction.objects.count(), ImportBatch.objects.count()


def upload(base, world, token, content: bytes, key: str) -> requests.Response:
    return requests.post(
        f"{base}/v1/tenants/{world.tenant.id}/bank-transactions/import-file",
        files={"file": ("statement.csv", content, "text/csv")},
        headers={"Authorization": token, "Idempotency-Key": key},
        timeout=60,
    )


def test_a_large_statement_is_stored_answered_202_and_imported_by_a_worker(
    server, job_workers, world_a, world_b
):
    token = bearer(world_a.accountant)["HTTP_AUTHORIZATION"]
    content = statement_csv(500)

    first = upload(server, world_a, token, content, "big-1")
    replay = upload(server, world_a, token, content, "big-1")

    assert first.status_code == 202, first.text
    assert first.headers["Location"] == first.json()["url"]
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert (
        replay.json()["id"] == first.json()["id"] and replay.headers["Location"] == first.headers["Location"]
    )
    (job,) = jobs_of(world_a, kind=JobKind.STATEMENT_IMPORT)
    with tenant_context(world_a.tenant.id):
        assert JobInput.objects.get(job=job).size == len(content)
    assert counts(world_a) == (0, 0)  # nothing imported before a worker ran it

    job_workers.start()
    done = wait_for(
        lambda: (
            requests.get(first.headers["Location"], headers={"Authorization": token}, timeout=10).json()
            if jobs_of(world_a, id=job.id)[0].status == JobStatus.SUCCEEDED
            else None
        ),
        message="the import job",
    )
    assert done["output"] == {
        "batch_id": done["result"]["id"],
        "imported": 500,
        "duplicates": 0,
        "internal_transfers": 0,
        "statements": [],  # a CSV file has none
    }
    assert done["result"]["type"] == "import_batch" and done["progress"]["percent"] == 100
    assert counts(world_a) == (500, 1) and counts(world_b) == (0, 0)
    with tenant_context(world_a.tenant.id):
        assert not JobInput.objects.exists()  # deleted with the import
    # The import added transactions: the worker's import queued the automatic run too.
    wait_for(
        lambda: [j.status for j in jobs_of(world_a, kind=JobKind.RECONCILE)] == ["succeeded"],
        message="auto run",
    )
    # The same file under a new key imports nothing new (duplicates), through the queue again.
    again = upload(server, world_a, token, content, "big-2")
    wait_for(
        lambda: jobs_of(world_a, id=again.json()["id"])[0].status == JobStatus.SUCCEEDED, message="re-import"
    )
    assert jobs_of(world_a, id=again.json()["id"])[0].result["duplicates"] == 500
    assert counts(world_a) == (500, 2)


def two_accounts_statements() -> bytes:
    """A CAMT.053 file (above SMALL_THRESHOLD): a transfer from the main account to savings that
    names an invoice, a customer payment of another invoice, and a second statement of the main
    account whose opening balance does not continue the first one's closing balance."""
    to_savings = Entry("-750.00", "2024-03-10", "OUT-TR", IBAN_SAVINGS, "To savings")
    from_main = Entry("750.00", "2024-03-11", "IN-TR", IBAN_MAIN, "Transfer INV-TR")
    fees = [Entry("-10.00", f"2024-04-{day:02d}", f"FEE-{day}", description="Card fee") for day in (2, 4, 6)]
    return camt(
        Statement("1000.00", "250.00", entries=[to_savings], statement_id="MAIN-03", sequence="3"),
        Statement("0.00", "750.00", entries=[from_main], account=IBAN_SAVINGS, statement_id="SAV-03"),
        Statement(
            "300.00",  # the March statement closed at 250.00: a statement is missing
            "390.00",
            opening_date="2024-04-01",
            closing_date="2024-04-30",
            entries=[Entry("120.00", "2024-04-03", "PAY-1", IBAN_THIRD_PARTY, "INV-PAY"), *fees],
            statement_id="MAIN-04",
            sequence="4",
        ),
    )


def comparable(statements: list[dict]) -> list[dict]:
    """What an import answer says of its statements, without what differs between two tenants."""
    return [
        {
            key: value
            for key, value in item.items()
            if key not in ("id", "account_id", "import_batch_id", "previous_statement_id", "created_at")
        }
        for item in statements
    ]


def test_a_worker_import_stores_statements_and_pairs_transfers_as_an_inline_one(
    server, job_workers, world_a, world_b, api_client_for
):
    content = two_accounts_statements()
    assert len(content) >= int(SMALL_THRESHOLD)
    for world in (world_a, world_b):
        make_invoice(world.tenant, amount="750.00", number="INV-TR", currency="EUR")
        make_invoice(world.tenant, amount="120.00", number="INV-PAY", currency="EUR")
    token = bearer(world_a.accountant)["HTTP_AUTHORIZATION"]
    queued = requests.post(
        f"{server}/v1/tenants/{world_a.tenant.id}/bank-transactions/import-file",
        files={"file": ("march.xml", content, "application/xml")},
        headers={"Authorization": token, "Idempotency-Key": "camt-1"},
        timeout=60,
    )
    assert queued.status_code == 202, queued.text
    # The same file imported in the request (this process's threshold is 2 MiB), for world B.
    handle = io.BytesIO(content)
    handle.name = "march.xml"
    inline = api_client_for(world_b.accountant).post(
        f"/v1/tenants/{world_b.tenant.id}/bank-transactions/import-file",
        {"file": handle},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="camt-1",
    )
    assert inline.status_code == 201, inline.content

    job_workers.start()
    wait_for(
        lambda: jobs_of(world_a, id=queued.json()["id"])[0].status == JobStatus.SUCCEEDED, message="import"
    )
    output = requests.get(queued.headers["Location"], headers={"Authorization": token}, timeout=10).json()[
        "output"
    ]
    expected = inline.json()
    assert output["internal_transfers"] == expected["internal_transfers"] == 1
    assert comparable(output["statements"]) == comparable(expected["statements"])
    assert [(s["statement_id"], s["has_break"]) for s in output["statements"]] == [
        ("MAIN-03", False),
        ("SAV-03", False),
        ("MAIN-04", True),
    ]
    breaks = requests.get(
        f"{server}/v1/tenants/{world_a.tenant.id}/statements",
        params={"has_break": "true"},
        headers={"Authorization": token},
        timeout=10,
    ).json()["results"]
    assert [(s["statement_id"], s["checks"][0]["difference"]) for s in breaks] == [("MAIN-04", "50.00")]
    for world in (world_a, world_b):
        with tenant_context(world.tenant.id):
            assert list(
                InternalTransfer.objects.values_list("outgoing__external_id", "incoming__external_id")
            ) == [("OUT-TR", "IN-TR")]
            assert BankStatement.objects.count() == 3
    # Both imports queued the automatic run; the worker's never proposes the transfer's legs,
    # not even against the invoice the incoming leg names, and does reconcile the payment.
    wait_for(
        lambda: [j.status for j in jobs_of(world_a, kind=JobKind.RECONCILE)] == ["succeeded"],
        message="auto run",
    )
    with tenant_context(world_a.tenant.id):
        assert set(MatchAllocation.objects.values_list("transaction__external_id", "invoice__number")) == {
            ("PAY-1", "INV-PAY")
        }
        assert dict(
            BankTransaction.objects.filter(external_id__endswith="-TR").values_list("external_id", "status")
        ) == {
            "OUT-TR": "internal",
            "IN-TR": "internal",
        }


def test_a_large_json_import_with_a_bad_item_fails_its_job_and_imports_nothing(server, job_workers, world_a):
    token = bearer(world_a.accountant)["HTTP_AUTHORIZATION"]
    items = [{"amount": f"{n}.00", "date": "2024-05-01", "description": f"row {n}"} for n in range(1, 60)]
    items[7]["amount"] = "1e3"
    response = requests.post(
        f"{server}/v1/tenants/{world_a.tenant.id}/bank-transactions/import",
        data=json.dumps({"transactions": items}),
        headers={"Authorization": token, "Content-Type": "application/json", "Idempotency-Key": "json-1"},
        timeout=60,
    )
    assert response.status_code == 202, response.text

    job_workers.start()
    failed = wait_for(
        lambda: (job := jobs_of(world_a, id=response.json()["id"])[0]).status == JobStatus.FAILED and job,
        message="the failed job",
    )
    assert failed.error["status"] == 400 and "transactions[7].amount" in failed.error["errors"]
    assert counts(world_a) == (0, 0)
    body = requests.get(response.headers["Location"], headers={"Authorization": token}, timeout=10).json()
    assert body["status"] == "failed" and body["error"]["status"] == 400


def test_an_unknown_format_of_a_large_upload_is_refused_at_once(server, world_a):
    token = bearer(world_a.accountant)["HTTP_AUTHORIZATION"]
    response = requests.post(
        f"{server}/v1/tenants/{world_a.tenant.id}/bank-transactions/import-file",
        files={"file": ("s.csv", statement_csv(200), "text/csv")},
        data={"format": "xls"},
        headers={"Authorization": token, "Idempotency-Key": "fmt"},
        timeout=60,
    )
    assert response.status_code == 400 and "format" in response.json()["errors"]
    assert jobs_of(world_a) == []


def test_commands_queue_with_async_and_a_worker_imports(job_workers, world_a, tmp_path):
    statement = tmp_path / "statement.csv"
    statement.write_bytes(statement_csv(50))
    invoices = tmp_path / "invoices.csv"
    invoices.write_text("number,amount,currency,description\nINV-1,10.00,EUR,a\nINV-2,20.00,EUR,b\n")
    out = io.StringIO()

    call_command(
        "import_bank_statement", str(statement), "--tenant", str(world_a.tenant.id), "--async", stdout=out
    )
    call_command("import_invoices", str(invoices), "--tenant", str(world_a.tenant.id), "--async", stdout=out)
    call_command("reconcile", "--tenant", str(world_a.tenant.id), "--async", "--dry-run", stdout=out)

    assert out.getvalue().count("queued") == 3
    assert counts(world_a) == (0, 0)
    job_workers.start()
    wait_for(
        lambda: all(j.status == JobStatus.SUCCEEDED for j in jobs_of(world_a)) and len(jobs_of(world_a)) == 4,
        message="the queued imports, the dry run and the automatic run",
    )
    assert counts(world_a)[0] == 50
    with tenant_context(world_a.tenant.id):
        assert Invoice.objects.count() == 2
        assert ImportBatch.objects.get().source == "command"


def test_cancel_a_running_job_rolls_its_work_back(server, job_workers, world_a):
    token = bearer(world_a.accountant)["HTTP_AUTHORIZATION"]
    with tenant_context(world_a.tenant.id):
        job, _ = job_enqueue(
            task=probe_tasks.probe, params={"steps": 40, "step_seconds": 0.25, "write": True}
        )
    job_workers.start()
    wait_for(lambda: jobs_of(world_a, id=job.id)[0].progress_phase == "probing", message="the running job")

    response = requests.post(
        f"{server}/v1/tenants/{world_a.tenant.id}/jobs/{job.id}/cancel",
        headers={"Authorization": token},
        timeout=10,
    )

    assert response.status_code == 202 and response.json()["cancel_requested_at"]
    cancelled = wait_for(
        lambda: (row := jobs_of(world_a, id=job.id)[0]).status == JobStatus.CANCELLED and row,
        message="cancel",
    )
    assert cancelled.progress_done < 39  # it stopped early
    with tenant_context(world_a.tenant.id):
        assert not AuditEvent.objects.filter(action="probe.wrote").exists()  # rolled back
    again = requests.post(
        f"{server}/v1/tenants/{world_a.tenant.id}/jobs/{job.id}/cancel",
        headers={"Authorization": token},
        timeout=10,
    )
    assert again.status_code == 409


def test_a_cancelled_queued_job_never_runs(server, job_workers, world_a, world_b):
    token = bearer(world_a.accountant)["HTTP_AUTHORIZATION"]
    with tenant_context(world_a.tenant.id):
        job, _ = job_enqueue(task=probe_tasks.probe, params={"write": True})
    stranger = requests.post(
        f"{server}/v1/tenants/{world_b.tenant.id}/jobs/{job.id}/cancel",
        headers={"Authorization": bearer(world_b.owner)["HTTP_AUTHORIZATION"]},
        timeout=10,
    )
    assert stranger.status_code == 404  # another tenant's job does not exist for B

    response = requests.post(
        f"{server}/v1/tenants/{world_a.tenant.id}/jobs/{job.id}/cancel",
        headers={"Authorization": token},
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    job_workers.start()
    with tenant_context(world_a.tenant.id):
        later, _ = job_enqueue(task=probe_tasks.probe, params={})
    wait_for(lambda: jobs_of(world_a, id=later.id)[0].status == JobStatus.SUCCEEDED, message="a later job")
    (row,) = jobs_of(world_a, id=job.id)
    assert row.status == JobStatus.CANCELLED and row.attempts == 0 and row.started_at is None
    with tenant_context(world_a.tenant.id):
        assert not AuditEvent.objects.filter(action="probe.wrote").exists()


def test_sigkill_mid_import_leaves_nothing_and_another_worker_finishes_it(job_workers, world_a, tmp_path):
    """A worker killed mid-import: nothing partial is visible; stall detection hands the job to a
    second worker, which imports every row exactly once."""
    rows = 150_000
    statement = tmp_path / "big.csv"
    statement.write_bytes(statement_csv(rows))
    call_command(
        "import_bank_statement",
        str(statement),
        "--tenant",
        str(world_a.tenant.id),
        "--async",
        stdout=io.StringIO(),
    )
    (job,) = jobs_of(world_a)
    first = job_workers.start(name="doomed")
    wait_for(
        lambda: (row := jobs_of(world_a, id=job.id)[0]).status == JobStatus.RUNNING and row.progress_done > 0,
        timeout=120,
        message="the import to be under way",
    )

    first.kill()

    assert counts(world_a) == (0, 0)  # nothing partial
    job_workers.start(name="rescuer")
    done = wait_for(
        lambda: (row := jobs_of(world_a, id=job.id)[0]).status == JobStatus.SUCCEEDED and row,
        timeout=240,
        interval=0.5,
        message="the retried import",
    )
    assert done.attempts == 2
    assert counts(world_a) == (rows, 1)


def test_workers_recover_after_the_database_restarts(tmp_path):
    """A throwaway cluster of our own is stopped and started under running workers."""
    import os
    import shutil
    from pathlib import Path

    from devtools import embedded_postgres
    from tests.support.server import free_port
    from tests.support.worker import worker_pool

    previous_home = os.environ.get("EMBEDDED_PG_HOME")
    os.environ["EMBEDDED_PG_HOME"] = str(tmp_path / "pg")
    os.environ["EMBEDDED_PG_PORT"] = str(free_port())
    try:
        cluster = embedded_postgres.ensure_cluster()
        env = dict(os.environ, DATABASE_URL=cluster.owner_url, DJANGO_SETTINGS_MODULE="config.settings.test")

        def manage(*args: str) -> str:
            result = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            assert result.returncode == 0, result.stderr[-2000:]
            return result.stdout

        manage("migrate", "--noinput", "-v0")
        token = manage("create_api_token", "restart-user", "--create-user").strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with (
            gunicorn_server(cluster.owner_url, extra_env={"JOBS_RUN_IN_PROCESS": "false"}) as (
                base,
                _process,
            ),
            worker_pool(cluster.owner_url) as pool,
        ):
            tenant = requests.post(
                f"{base}/v1/tenants", data=json.dumps({"name": "Restart"}), headers=headers, timeout=30
            ).json()
            url = f"{base}/v1/tenants/{tenant['id']}/reconcile"
            worker = pool.start()
            assert requests.post(url, data="{}", headers=headers, timeout=60).status_code == 200

            embedded_postgres.stop_cluster()
            embedded_postgres.ensure_cluster()

            def reconciled() -> bool:
                try:
                    response = requests.post(url, data="{}", headers=headers, timeout=60)
                except requests.RequestException:
                    return False
                return response.status_code == 200

            wait_for(reconciled, timeout=90, interval=1, message="a run after the restart")
            assert worker.alive, worker.log()[-3000:]
    finally:
        embedded_postgres.stop_cluster()
        pointer = tmp_path / "pg" / "data-location"
        if pointer.exists():
            shutil.rmtree(Path(pointer.read_text().strip()).parent, ignore_errors=True)
        os.environ.pop("EMBEDDED_PG_PORT", None)
        if previous_home is None:
            os.environ.pop("EMBEDDED_PG_HOME", None)
        else:
            os.environ["EMBEDDED_PG_HOME"] = previous_home
