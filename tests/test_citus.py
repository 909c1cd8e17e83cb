"""On Citus only (skipped on plain PostgreSQL): the distribution ``migrate`` leaves, the tenant
setting reaching the workers, and single-shard plans for the hot paths.

Run by ``./dev test --citus``. The hot-path test EXPLAINs every statement that touches a
distributed table while it lists, imports, reconciles and confirms through the API, and fails
on any plan with more than one task; the same statements also run with Citus's
``multi_task_query_log_level = 'error'``, so a multi-shard plan chosen at execution fails too.
"""

from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import DatabaseError, connection

from tenants.checks import check_citus_distribution, tenant_key_tables
from tenants.citus import REFERENCE_TABLES, citus_enabled
from tenants.context import runtime_role, tenant_context
from tests.invoices.factories import make_invoice, make_vendor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _on_citus(db):
    if citus_enabled(connection):
        return
    if os.environ.get("TEST_ON_CITUS") == "1":  # the Citus pass must never run on plain PostgreSQL
        pytest.fail("the Citus pass runs on a database without the citus extension")
    pytest.skip("needs a Citus database (./dev test --citus)")


def placements() -> dict[str, tuple[str, str, int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT logicalrelid::regclass::text, partmethod::text, repmodel::text, colocationid, "
            "coalesce(column_to_column_name(logicalrelid, partkey), '') FROM pg_dist_partition"
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def test_every_tenant_table_is_distributed_by_tenant_in_one_colocation_group():
    placed = placements()
    tenant_tables = tenant_key_tables()
    assert len(tenant_tables) >= 12
    for table in tenant_tables:
        method, _model, _colocation, column = placed[table]
        assert (method, column) == ("h", "tenant_id"), table
    assert len({placed[table][2] for table in tenant_tables}) == 1
    for table in REFERENCE_TABLES:
        assert placed[table][:2] == ("n", "t"), f"{table} is not a reference table"
    assert check_citus_distribution() == []


def test_the_check_fails_when_a_tenant_table_is_not_distributed(monkeypatch):
    """A table with a tenant that stayed on the coordinator (here: pretend sessions had one)."""
    monkeypatch.setattr("tenants.checks.tenant_key_tables", lambda: [*tenant_key_tables(), "django_session"])
    errors = [message for message in check_citus_distribution() if message.id == "tenants.E014"]
    assert [error.msg for error in errors] == ["Citus: django_session is not hash-distributed by tenant_id."]
    with pytest.raises(SystemCheckError):
        call_command("check")


def test_migrate_again_changes_nothing():
    before = placements()
    call_command("migrate", "tenants", "0017", verbosity=0)
    call_command("migrate", verbosity=0)
    assert placements() == before


def test_the_runtime_role_logs_in_on_every_node_and_bypasses_nothing():
    with connection.cursor() as cursor:
        probe = f"SELECT row(rolcanlogin, rolsuper, rolbypassrls) FROM pg_roles WHERE rolname = '{runtime_role()}'"  # noqa: E501
        cursor.execute("SELECT DISTINCT result FROM run_command_on_all_nodes(%s)", [probe])
        assert [row[0] for row in cursor.fetchall()] == ["(t,f,f)"]


def _invoices(world, count: int) -> None:
    for n in range(count):
        make_invoice(world.tenant, amount=f"{100 + n}.00", number=f"{world.tenant.name[:1]}-{n}")


def test_the_tenant_setting_reaches_the_workers(world_a, world_b):
    """A query without any tenant filter runs on every shard: the workers' policies must see
    the tenant. set_config() alone would not reach them (the runtime role would see 0 rows)."""
    _invoices(world_a, 10)
    _invoices(world_b, 4)
    with tenant_context(world_a.tenant.id), connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id, count(*) FROM invoices_invoice GROUP BY tenant_id")
        assert cursor.fetchall() == [(world_a.tenant.id, 10)]
        cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(world_b.tenant.id)])
        cursor.execute("SELECT count(*) FROM invoices_invoice")
        # The coordinator now says B, the workers still say A: the setting is propagated only
        # by SET LOCAL (which is why tenant_context uses it).
        assert cursor.fetchone() == (10,)
    with pytest.raises(DatabaseError, match="row-level security"):
        with tenant_context(world_a.tenant.id), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO invoices_invoice (id, tenant_id, number, kind, amount, currency, description, "
                "status, amount_paid, structured_reference, created_at, updated_at) VALUES "
                "(gen_random_uuid(), %s, 'X-1', 'receivable', 1, 'USD', '', 'open', 0, '', now(), now())",
                [str(world_b.tenant.id)],
            )


# --- single-shard plans of the hot paths ----------------------------------------------------------

DISTRIBUTED = re.compile(
    r"\b("
    + "|".join(re.escape(table) for table in ["tenants_membership", *sorted(set(tenant_key_tables()))])
    + r")\b"
)
TASK_COUNT = re.compile(r"Task Count: (\d+)")


class PlanRecorder:
    """An execute wrapper that EXPLAINs each statement on a distributed table before it runs."""

    def __init__(self) -> None:
        self.plans: list[tuple[str, str]] = []

    def __call__(self, execute, sql, params, many, context):
        if not isinstance(sql, str):  # a psycopg sql.Composed
            sql = sql.as_string(connection.connection)
        statement = sql.lstrip().upper()
        if (
            not many
            and statement.startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"))
            and DISTRIBUTED.search(sql)
        ):
            with connection.connection.cursor() as cursor:
                cursor.execute("EXPLAIN (COSTS OFF) " + sql, params)
                self.plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
        return execute(sql, params, many, context)

    def multi_shard(self) -> list[tuple[str, str]]:
        return [
            (sql, plan)
            for sql, plan in self.plans
            if "Citus" not in plan or any(int(count) != 1 for count in TASK_COUNT.findall(plan))
        ]


def multi_shard_executions() -> tuple[int, int] | None:
    """(single-shard, multi-shard) executions Citus counted in this database, if it counts them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('citus.enable_stat_counters')::boolean")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(
            "SELECT query_execution_single_shard, query_execution_multi_shard FROM citus_stat_counters "
            "WHERE name = current_database()"
        )
        return cursor.fetchone()


def test_hot_paths_run_as_single_shard_plans(world_a, world_b, api_client_for):
    vendor = make_vendor(world_a.tenant, iban="DE89370400440532013000")
    for n in range(3):
        make_invoice(world_a.tenant, amount=f"{150 + n}.00", number=f"INV-{n}", vendor=vendor)
    _invoices(world_b, 3)
    client = api_client_for(world_a.accountant)
    base = f"/v1/tenants/{world_a.tenant.id}"
    transactions = [
        {
            "amount": f"{150 + n}.00",
            "currency": "USD",
            "date": "2024-03-20",
            "description": f"Payment INV-{n}",
            "counterparty": "ACME SUPPLIES",
            "counterparty_account": "DE89370400440532013000",
            "external_id": f"REF-{n}",
        }
        for n in range(3)
    ] + [{"amount": "-12.00", "currency": "USD", "date": "2024-03-21", "description": "Card fee"}]
    recorder = PlanRecorder()
    counted_before = multi_shard_executions()
    with connection.cursor() as cursor:
        cursor.execute("SET citus.multi_task_query_log_level = 'error'")
    try:
        with connection.execute_wrapper(recorder):
            imported = client.post(
                f"{base}/bank-transactions/import",
                {"transactions": transactions},
                format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )
            assert imported.status_code == 201, imported.content
            assert imported.json()["imported"] == 4
            run = client.post(f"{base}/reconcile", {}, format="json").json()
            assert run["auto_confirmed"] == 3, run
            for path in ("invoices", "bank-transactions", "matches", "vendors", "import-batches"):
                listed = client.get(f"{base}/{path}")
                assert listed.status_code == 200, (path, listed.content)
            match_id = client.get(f"{base}/matches?status=confirmed").json()["results"][0]["id"]
            undone = client.post(f"{base}/matches/{match_id}/undo", {}, format="json")
            assert undone.status_code == 200, undone.content
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET citus.multi_task_query_log_level")
    statements = " ".join(sql for sql, _ in recorder.plans)
    for table in ("banking_banktransaction", "reconciliation_match", "reconciliation_matchallocation"):
        # The bulk SQL names its tables from the models (quoted identifiers), the ORM unquoted.
        assert re.search(rf'INSERT INTO "?{table}"? ', statements), f"no insert into {table} was planned"
    assert re.search(r'UPDATE "?invoices_invoice"? ', statements)
    assert recorder.multi_shard() == []
    counted_after = multi_shard_executions()
    if counted_before is not None and counted_after is not None:
        assert counted_after[1] == counted_before[1], "a statement ran on several shards"
        assert counted_after[0] > counted_before[0]
    with tenant_context(world_a.tenant.id):
        from invoices.models import Invoice

        assert sorted(Invoice.objects.values_list("status", flat=True)) == ["open", "paid", "paid"]
        assert Invoice.objects.filter(number="INV-0").get().amount == Decimal("150.00")


def test_statement_and_internal_transfer_paths_run_as_single_shard_plans(world_a, world_b, api_client_for):
    """A statement file for two own accounts: statements stored and chained, the transfer
    between them paired, then listed and unpaired, every statement on one shard."""
    import io

    from tests.banking.statement_builders import IBAN_SAVINGS, Entry, Statement, camt

    data = camt(
        Statement(opening="100.00", closing="50.00", entries=[Entry("-50.00", "2024-03-05", "OUT-1")]),
        Statement(
            opening="0.00",
            closing="50.00",
            account=IBAN_SAVINGS,
            statement_id="S-2",
            entries=[Entry("50.00", "2024-03-06", "IN-1")],
        ),
    )

    def upload(client, tenant_id):
        handle = io.BytesIO(data)
        handle.name = "statement.xml"
        return client.post(
            f"/v1/tenants/{tenant_id}/bank-transactions/import-file",
            {"file": handle},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )

    assert upload(api_client_for(world_b.accountant), world_b.tenant.id).status_code == 201
    client = api_client_for(world_a.accountant)
    base = f"/v1/tenants/{world_a.tenant.id}"
    recorder = PlanRecorder()
    with connection.cursor() as cursor:
        cursor.execute("SET citus.multi_task_query_log_level = 'error'")
    try:
        with connection.execute_wrapper(recorder):
            imported = upload(client, world_a.tenant.id)
            assert imported.status_code == 201, imported.content
            body = imported.json()
            assert (body["internal_transfers"], len(body["statements"])) == (1, 2)
            account = body["statements"][0]["account_id"]
            for path in (
                "statements?has_break=false",
                f"bank-accounts/{account}/statements",
                "internal-transfers",
                f"import-batches/{body['batch_id']}",
            ):
                listed = client.get(f"{base}/{path}")
                assert listed.status_code == 200, (path, listed.content)
            transfer = client.get(f"{base}/internal-transfers").json()["results"][0]["id"]
            unpaired = client.post(f"{base}/internal-transfers/{transfer}/unpair")
            assert unpaired.status_code == 200, unpaired.content
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET citus.multi_task_query_log_level")
    statements = " ".join(sql for sql, _ in recorder.plans)
    for table in ("banking_bankstatement", "banking_internaltransfer", "banking_banktransaction"):
        assert f"INSERT INTO {table}" in statements or f'INSERT INTO "{table}"' in statements, table
    assert recorder.multi_shard() == []
