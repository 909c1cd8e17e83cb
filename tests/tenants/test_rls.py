"""Isolation at the database level, in real committed transactions, as owner and as superuser.

These tests deliberately use raw SQL with no WHERE clause: the point is that a query which
forgets its tenant filter still sees only the current tenant's rows.
"""

from __future__ import annotations

import os
import re
import uuid

import environ
import psycopg
import pytest
from django.db import DatabaseError, connections, transaction

from common.errors import violated_constraint
from tenants.checks import check_tenant_keys, tenant_models, tenant_references
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


# On Citus a worker's error names the shard's table: the logical name plus "_<shard id>".
SHARD = r"(_\d+)?"


def same_constraint(found: str | None, expected: str) -> bool:
    """Whether the reported constraint is ``expected``. Citus names a shard's copy of a name too
    long for "<name>_<shard id>" as its start, "_", and 8 hex digits of a hash."""
    if found == expected:
        return True
    shortened = re.fullmatch(r"(.+)_[0-9a-f]{8}", found or "")
    return bool(shortened) and len(expected) > 56 and expected.startswith(shortened.group(1))


def set_tenant_setting(cursor, value: str) -> None:
    """Change the tenant setting by hand as tenant_context sets it: SET LOCAL, propagated to the
    Citus workers (set_config() would change it on the coordinator only)."""
    cursor.execute(
        "SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL app.tenant_id = "
        + "'"
        + str(uuid.UUID(value) if value else "")
        + "'"
    )


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
                    f"SELECT {', '.join(values)} FROM {table} LIMIT 1 RETURNING id",
                    [str(world_b.tenant.id)],
                )
                assert cursor.rowcount == 1, f"{table}: no source row to copy"


def test_update_to_another_tenant_is_refused_and_other_rows_invisible(world_a, world_b, login):
    for table in tenant_tables():
        # On Citus the distribution column cannot change at all, before RLS is even asked.
        with pytest.raises(DatabaseError, match="row-level security|modifying the partition value"):
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
                set_tenant_setting(cursor, guc)
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone()[0] == 0, table
            cursor.execute(f"UPDATE {table} SET updated_at = now()")  # noqa: S608
            assert cursor.rowcount == 0, table
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(using=login), connection.cursor() as cursor:
                columns = columns_of(cursor, table)
                # Read a source row as the login (the superuser sees it; the owner does not
                # under FORCE, so take it from inside tenant A), then insert as the runtime role.
                cursor.execute(f"SET LOCAL ROLE {runtime_role()}")
                set_tenant_setting(cursor, str(world_a.tenant.id))
                cursor.execute(f"CREATE TEMP TABLE copy_src ON COMMIT DROP AS SELECT * FROM {table} LIMIT 1")  # noqa: S608
                set_tenant_setting(cursor, "")
                values = ["gen_random_uuid()" if column == "id" else column for column in columns]
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(values)} FROM copy_src RETURNING id"
                )


# Every reference between tenant tables: (child table, column, seeded child, parent table, seeded parent).
TENANT_REFERENCES = [
    ("invoices_invoice", "vendor_id", "invoice", "invoices_vendor", "vendor"),
    ("banking_banktransaction", "account_id", "transaction", "banking_bankaccount", "account"),
    ("banking_banktransaction", "import_batch_id", "transaction", "banking_importbatch", "batch"),
    ("reconciliation_match", "run_id", "match", "reconciliation_reconciliationrun", "run"),
    ("reconciliation_matchallocation", "match_id", "allocation", "reconciliation_match", "match"),
    (
        "reconciliation_matchallocation",
        "transaction_id",
        "allocation",
        "banking_banktransaction",
        "transaction",
    ),
    ("reconciliation_matchallocation", "invoice_id", "allocation", "invoices_invoice", "invoice"),
    ("banking_bankstatement", "account_id", "statement", "banking_bankaccount", "statement_account"),
    ("banking_bankstatement", "import_batch_id", "statement", "banking_importbatch", "statement_batch"),
    (
        "banking_bankstatement",
        "previous_statement_id",
        "statement_next",
        "banking_bankstatement",
        "statement",
    ),
    ("banking_banktransaction", "statement_id", "transaction", "banking_bankstatement", "statement_next"),
    ("banking_internaltransfer", "outgoing_id", "transfer", "banking_banktransaction", "leg_out"),
    ("banking_internaltransfer", "incoming_id", "transfer", "banking_banktransaction", "leg_in"),
    ("jobs_jobinput", "job_id", "job_input", "jobs_job", "job"),
    ("invoices_vendorlearnedevidence", "vendor_id", "learned_evidence", "invoices_vendor", "vendor"),
    (
        "remittances_remittanceadviceline",
        "advice_id",
        "advice_line",
        "remittances_remittanceadvice",
        "advice",
    ),
    ("remittances_remittanceadviceline", "invoice_id", "advice_line", "invoices_invoice", "advised_invoice"),
    ("events_webhookdelivery", "event_id", "delivery", "events_event", "event"),
    ("events_webhookdelivery", "endpoint_id", "delivery", "events_webhookendpoint", "webhook"),
    ("events_webhookattempt", "delivery_id", "attempt", "events_webhookdelivery", "delivery"),
]
REFERENCE_IDS = [f"{child}.{column}" for child, column, *_ in TENANT_REFERENCES]
# What a copied row must change to pass the table's unique keys (SQL expressions).
UNIQUE_OVERRIDES = {
    "banking_banktransaction": {"dedup_key": "gen_random_uuid()::text"},
    "invoices_invoice": {"number": "gen_random_uuid()::text"},
    "banking_bankstatement": {"fingerprint": "gen_random_uuid()::text"},
    # A leg is in one paired transfer at most; unpaired rows may repeat it.
    "banking_internaltransfer": {"status": "'unpaired'"},
    "invoices_vendorlearnedevidence": {"normalized_value": "gen_random_uuid()::text"},
}


def test_every_reference_between_tenant_tables_is_listed_here_and_guarded(world_a):
    """A new foreign key between tenant tables must be a composite key (and tested below)."""
    found = {(child, column, parent) for child, column, parent, _ in tenant_references()}
    assert found == {(child, column, parent) for child, column, _, parent, _ in TENANT_REFERENCES}
    assert check_tenant_keys() == []


@pytest.mark.parametrize(
    ("table", "column", "_child", "_parent", "target"), TENANT_REFERENCES, ids=REFERENCE_IDS
)
def test_rows_cannot_point_at_another_tenants_rows(
    world_a, world_b, login, table, column, _child, _parent, target
):
    """Foreign keys ignore RLS; the composite keys refuse the cross-tenant link."""
    foreign_id = world_b.seeded[target].id
    with pytest.raises(DatabaseError, match="foreign key") as refused:
        with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = %s", [str(foreign_id)])  # noqa: S608
    assert same_constraint(violated_constraint(refused.value), f"{table}_{column}_same_tenant_fk")


def _insert_copies(cursor, table: str, column: str, source_id, references: list[str]) -> int:
    """Insert one copy of row ``source_id`` per entry of ``references`` (the value for ``column``)."""
    cursor.execute(
        f"CREATE TEMP TABLE copy_src ON COMMIT DROP AS SELECT * FROM {table} WHERE id = %s",  # noqa: S608
        [str(source_id)],
    )
    overrides = {"id": "gen_random_uuid()", column: "ref.id", **UNIQUE_OVERRIDES.get(table, {})}
    columns = columns_of(cursor, table)
    values = [overrides.get(name, f"copy_src.{name}") for name in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM copy_src CROSS JOIN unnest(%s::uuid[]) AS ref(id) RETURNING id",
        [references],
    )
    return cursor.rowcount


@pytest.mark.parametrize(
    ("table", "column", "child", "_parent", "target"), TENANT_REFERENCES, ids=REFERENCE_IDS
)
def test_a_bulk_insert_with_one_cross_tenant_reference_inserts_nothing(
    world_a, world_b, login, table, column, child, _parent, target
):
    own_id, foreign_id = str(world_a.seeded[target].id), str(world_b.seeded[target].id)
    source_id = world_a.seeded[child].id
    with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        rows_before = cursor.fetchone()[0]
    with pytest.raises(DatabaseError, match="foreign key") as refused:
        with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
            _insert_copies(cursor, table, column, source_id, [own_id, foreign_id, own_id])
    assert same_constraint(violated_constraint(refused.value), f"{table}_{column}_same_tenant_fk")
    # PostgreSQL names no key values when RLS applies to the table (the built-in key's message).
    assert re.fullmatch(
        f'Key is not present in table "{_parent}{SHARD}".', refused.value.__cause__.diag.message_detail
    )
    with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        assert cursor.fetchone()[0] == rows_before
        # Control: the same statement with only tenant A's parent is accepted.
        assert _insert_copies(cursor, table, column, source_id, [own_id, own_id]) == 2


@pytest.mark.parametrize(
    ("_table", "_column", "_child", "parent", "target"), TENANT_REFERENCES, ids=REFERENCE_IDS
)
@pytest.mark.parametrize("change", ["delete", "re-key"])
def test_a_referenced_row_cannot_be_deleted_or_re_keyed(
    world_a, login, _table, _column, _child, parent, target, change
):
    statement = {
        "delete": f"DELETE FROM {parent} WHERE id = %s",  # noqa: S608
        "re-key": f"UPDATE {parent} SET id = md5(id::text)::uuid WHERE id = %s",  # noqa: S608
    }[change]
    with pytest.raises(DatabaseError, match="foreign key") as refused:
        with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
            cursor.execute(statement, [str(world_a.seeded[target].id)])
    # A parent referenced by several tables (a vendor: invoices, learned evidence) names the
    # first key PostgreSQL checks: any of them.
    children = "|".join(sorted({child for child, _, _, other, _ in TENANT_REFERENCES if other == parent}))
    assert re.search(
        f'is still referenced from table "({children}){SHARD}".$', refused.value.__cause__.diag.message_detail
    )


class _TenantSession:
    """A second, independent connection to the test database, in ``tenant_id``'s context.

    Every transaction starts with the role and the tenant set as ``tenant_context`` sets them
    (SET LOCAL, which Citus also sends to the workers; session-level settings it does not).
    """

    def __init__(self, tenant_id) -> None:
        settings = connections["default"].settings_dict
        self.connection = psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            password=settings["PASSWORD"],
            host=settings["HOST"],
            port=settings["PORT"],
        )
        self.start = (
            f"SET LOCAL ROLE {runtime_role()}; SET LOCAL citus.propagate_set_commands = 'local'; "
            f"SET LOCAL app.tenant_id = '{uuid.UUID(str(tenant_id))}'; SET LOCAL lock_timeout = '300ms'"
        )

    def execute(self, statement: str, params=None):
        if self.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            self.connection.execute(self.start)
        return self.connection.execute(statement, params)

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()


def _tenant_session(tenant_id) -> _TenantSession:
    return _TenantSession(tenant_id)


def test_a_parent_in_use_by_an_open_insert_cannot_be_deleted_and_vice_versa(world_a):
    """The foreign key's check locks the parent FOR KEY SHARE: a delete and an insert serialise."""
    tenant = world_a.tenant.id
    insert_transaction = (
        "INSERT INTO banking_banktransaction (id, tenant_id, account_id, import_batch_id, amount, currency, "
        "booking_date, description, counterparty_name, counterparty_account, external_id, end_to_end_id, "
        "structured_reference, return_reason, dedup_key, status, allocated_amount, created_at, updated_at) "
        "VALUES (gen_random_uuid(), %s, %s, %s, 1, 'USD', '2024-01-01', '', '', '', '', '', '', '', "
        "gen_random_uuid()::text, 'unmatched', 0, now(), now())"
    )

    def new_batch(session) -> str:
        return session.execute(
            "INSERT INTO banking_importbatch (id, tenant_id, source, file_name, file_format, file_sha256, "
            "received_count, imported_count, duplicate_count, created_at, updated_at) "
            "VALUES (gen_random_uuid(), %s, 'api', '', '', '', 0, 0, 0, now(), now()) RETURNING id",
            [str(tenant)],
        ).fetchone()[0]

    inserter, deleter = _tenant_session(tenant), _tenant_session(tenant)
    try:
        batch = new_batch(inserter)
        inserter.commit()
        account = world_a.seeded["account"].id
        # 1. An open insert holds its parent: the delete waits (here: times out).
        inserter.execute(insert_transaction, [str(tenant), str(account), batch])
        with pytest.raises(psycopg.errors.LockNotAvailable):
            deleter.execute("DELETE FROM banking_importbatch WHERE id = %s", [batch])
        deleter.rollback()
        inserter.commit()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            deleter.execute("DELETE FROM banking_importbatch WHERE id = %s", [batch])
        deleter.rollback()
        assert deleter.execute(
            "SELECT count(*) FROM banking_importbatch WHERE id = %s", [batch]
        ).fetchone() == (1,)
        deleter.rollback()
        # 2. An open delete holds the parent: the insert waits, and fails once the delete commits.
        other = new_batch(inserter)
        inserter.commit()
        deleter.execute("DELETE FROM banking_importbatch WHERE id = %s", [other])
        with pytest.raises(psycopg.errors.LockNotAvailable):
            inserter.execute(insert_transaction, [str(tenant), str(account), other])
        inserter.rollback()
        deleter.commit()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            inserter.execute(insert_transaction, [str(tenant), str(account), other])
        inserter.rollback()
    finally:
        inserter.close()
        deleter.close()


# --- tenant keys ------------------------------------------------------------------------------


def tenant_key_tables_seeded() -> list[str]:
    from tenants.checks import tenant_key_tables

    return tenant_key_tables()


@pytest.mark.parametrize("table", tenant_key_tables_seeded())
def test_a_row_for_a_tenant_that_does_not_exist_is_refused(world_a, login, table):
    """RLS lets a row in when tenant_id equals the setting; the tenant's foreign key wants it to exist."""
    ghost = str(uuid.uuid4())
    with pytest.raises(DatabaseError, match="foreign key") as refused:
        with tenant_context(world_a.tenant.id, using=login), connections[login].cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE copy_src ON COMMIT DROP AS SELECT * FROM {table} LIMIT 1")  # noqa: S608
            assert cursor.rowcount == 1, f"{table}: no source row"
            set_tenant_setting(cursor, ghost)
            columns = columns_of(cursor, table)
            overrides = {"id": "gen_random_uuid()", "tenant_id": "%s::uuid"}
            values = [overrides.get(name, name) for name in columns]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM copy_src "  # noqa: S608
                "RETURNING id",
                [ghost],
            )
    # A table with references may refuse through one of them first (foreign keys are checked in
    # name order): each says the ghost tenant has no such row.
    references = {
        f"{child}_{column}_same_tenant_fk" for child, column, *_ in TENANT_REFERENCES if child == table
    }
    assert violated_constraint(refused.value) in {f"{table}_tenant_id_fk", *references}


def test_a_tenant_with_rows_cannot_be_deleted_one_without_can(world_a, login):
    from tenants.models import Tenant

    with pytest.raises(DatabaseError, match="foreign key") as refused:
        with transaction.atomic(using=login), connections[login].cursor() as cursor:
            cursor.execute("DELETE FROM tenants_tenant WHERE id = %s", [str(world_a.tenant.id)])
    assert violated_constraint(refused.value).endswith("_tenant_id_fk")
    empty = Tenant.objects.create(name="Nothing Yet")
    with transaction.atomic(using=login), connections[login].cursor() as cursor:
        cursor.execute("DELETE FROM tenants_tenant WHERE id = %s", [str(empty.id)])
        assert cursor.rowcount == 1
    assert Tenant.objects.filter(pk=world_a.tenant.id).exists()
