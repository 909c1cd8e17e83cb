"""Isolation at the database level, in real committed transactions, as owner and as superuser.

These tests deliberately use raw SQL with no WHERE clause: the point is that a query which
forgets its tenant filter still sees only the current tenant's rows.
"""

from __future__ import annotations

import os

import environ
import pytest
from django.db import DatabaseError, connections, transaction

from tenants.checks import tenant_models
from tenants.context import runtime_role, tenant_context
from tests.seed import seed_every_tenant_table

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "superuser"])


@pytest.fixture(params=["owner", "superuser"])
def login(request) -> str:
    """Database alias to run as: the owner login, or a superuser login to the same database."""
    if request.param == "owner":
        yield "default"
        return
    url = os.environ.get("TEST_SUPERUSER_DATABASE_URL")
    if not url:
        pytest.skip("TEST_SUPERUSER_DATABASE_URL is not set (the embedded database sets it)")
    config = environ.Env.db_url_config(url)
    alias = connections["superuser"]
    alias.close()
    alias.settings_dict.update(
        USER=config["USER"],
        PASSWORD=config["PASSWORD"],
        HOST=config["HOST"],
        PORT=config["PORT"],
        NAME=connections["default"].settings_dict["NAME"],
    )
    with alias.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0] is True, "the superuser login is not a superuser"
    yield "superuser"
    alias.close()


@pytest.fixture
def world_a(world_a):
    world_a.seeded = seed_every_tenant_table(world_a.tenant)
    return world_a


@pytest.fixture
def world_b(world_b):
    world_b.seeded = seed_every_tenant_table(world_b.tenant)
    return world_b


def tenant_tables() -> list[str]:
    tables = sorted(model._meta.db_table for model in tenant_models())
    assert tables, "no tenant tables found"
    return tables


def columns_of(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def test_every_tenant_table_has_rows_for_both_tenants(world_a, world_b):
    """Guard for the tests below: a table without seeded rows would prove nothing."""
    for world in (world_a, world_b):
        with tenant_context(world.tenant.id), connections["default"].cursor() as cursor:
            for table in tenant_tables():
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                assert cursor.fetchone()[0] > 0, f"{table} has no rows for {world.tenant.name}"


def test_select_star_without_where_returns_only_current_tenant(world_a, world_b, login):
    with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('is_superuser')")
        assert cursor.fetchone() == (runtime_role(), "off")
        for table in tenant_tables():
            cursor.execute(f"SELECT tenant_id FROM {table}")  # noqa: S608
            tenant_ids = {row[0] for row in cursor.fetchall()}
            assert tenant_ids == {world_a.tenant.id}, table


def test_insert_with_another_tenants_id_is_refused(world_a, world_b, login):
    for table in tenant_tables():
        with pytest.raises(DatabaseError, match="row-level security"):
            with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
                columns = columns_of(cursor, table)
                values = [
                    "%s" if column == "tenant_id" else ("gen_random_uuid()" if column == "id" else column)
                    for column in columns
                ]
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(values)} FROM {table} LIMIT 1",
                    [str(world_b.tenant.id)],
                )
                assert cursor.rowcount == 1, f"{table}: no source row to copy"


def test_update_to_another_tenant_is_refused_and_other_rows_invisible(world_a, world_b, login):
    for table in tenant_tables():
        with pytest.raises(DatabaseError, match="row-level security"):
            with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET tenant_id = %s", [str(world_b.tenant.id)])  # noqa: S608
        with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [str(world_b.tenant.id)])  # noqa: S608
            assert cursor.rowcount == 0, f"{table}: tenant A deleted tenant B's rows"
    with tenant_context(world_b.tenant.id), connections["default"].cursor() as cursor:
        for table in tenant_tables():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone()[0] > 0, f"{table}: tenant B lost rows"


@pytest.mark.parametrize("guc", [None, ""], ids=["never-set", "reset-to-empty"])
def test_runtime_role_without_tenant_reads_nothing_and_cannot_write(world_a, world_b, login, guc):
    connection = connections[login]
    for table in tenant_tables():
        with transaction.atomic(using=login), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {runtime_role()}")
            if guc is not None:
                cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [guc])
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone()[0] == 0, table
            cursor.execute(f"UPDATE {table} SET updated_at = now()")  # noqa: S608
            assert cursor.rowcount == 0, table
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=login), connection.cursor() as cursor:
                columns = columns_of(cursor, table)
                # Read a source row as the login (the superuser sees it; the owner does not
                # under FORCE, so take it from inside tenant A), then insert as the runtime role.
                cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(world_a.tenant.id)])
                cursor.execute(f"SET LOCAL ROLE {runtime_role()}")
                cursor.execute(f"CREATE TEMP TABLE copy_src ON COMMIT DROP AS SELECT * FROM {table} LIMIT 1")  # noqa: S608
                cursor.execute("SELECT set_config('app.tenant_id', '', true)")
                values = ["gen_random_uuid()" if column == "id" else column for column in columns]
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(values)} FROM copy_src"
                )


@pytest.mark.parametrize(
    ("table", "column", "target"),
    [
        ("invoices_invoice", "vendor_id", "vendor"),
        ("banking_banktransaction", "account_id", "account"),
        ("banking_banktransaction", "import_batch_id", "batch"),
        ("reconciliation_match", "run_id", "run"),
        ("reconciliation_matchallocation", "match_id", "match"),
        ("reconciliation_matchallocation", "transaction_id", "transaction"),
        ("reconciliation_matchallocation", "invoice_id", "invoice"),
    ],
)
def test_rows_cannot_point_at_another_tenants_rows(world_a, world_b, login, table, column, target):
    """Foreign keys ignore RLS; the composite (tenant_id, id) keys refuse the cross-tenant link."""
    foreign_id = world_b.seeded[target].id
    with pytest.raises(DatabaseError, match="foreign key"):
        with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = %s", [str(foreign_id)])  # noqa: S608
