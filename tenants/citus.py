"""Citus: the same schema distributed across nodes, tenants as the shard key.

When the ``citus`` extension exists in the database, ``migrate`` (``tenants/migrations/
0018_citus_distribution``) turns the schema into a distributed one; on plain PostgreSQL nothing
here runs. The layout:

* **Reference tables** (a full copy on every node): ``tenants_tenant``, and ``auth_user``
  because tenant tables reference it (who acted, who decided); the database's foreign keys to
  them keep working on every node. Django's other tables that reference ``auth_user``
  (groups, permissions, admin log, API tokens) stay on the coordinator: Citus turns them into
  "Citus local tables" by itself, as it must for a local table with a foreign key to a
  reference table.
* **Distributed tables**: every tenant table (every model with a ``tenant``), hash-distributed
  by ``tenant_id`` in one colocation group: a tenant's rows of every table live in the same
  shard group, so its composite foreign keys are checked inside one shard and every statement
  that names its tenant goes to one node.
* Platform tables that are not referenced (sessions, rate-limit windows, the job of Django's
  migrations) stay ordinary tables on the coordinator.

Citus refuses to distribute a table while foreign keys tie it to tables of another kind, so
the keys between the tables being converted are dropped first and recreated, with the same
names and definitions, once every table has its place. Every step is skipped when already
done, so running it again (a later migration that adds a tenant table calls it too) only
distributes what is new.

Who creates the extension and adds the nodes: a superuser (the DBA in production,
``devtools/embedded_citus.py`` here), before ``migrate``; see the README.

Moving staged rows: imports and reconciliation runs COPY their rows into a temporary table on
the coordinator, then move them with one INSERT ... SELECT naming the tenant. Citus executes
that SELECT on the coordinator and sends the rows to the tenant's shard; it writes them there
with COPY unless the statement has RETURNING or ON CONFLICT, and PostgreSQL refuses COPY into a
table whose RLS applies. With RETURNING, Citus stages the rows as an intermediate result and
runs one INSERT ... SELECT in the shard, where the policies check every row. Such a move is
written ``WITH written AS (INSERT ... RETURNING 1) SELECT count(*) FROM written``: the count
stays on the server, and it is the number of rows written (Citus reports the rows *read* as
the row count of an INSERT ... SELECT ... ON CONFLICT).

Adding a tenant table later: create it (its references with ``db_constraint=False``, as
``TenantModel`` does), enable RLS, call :func:`distribute` in a ``RunPython``, then add its
foreign keys (``tenants.rls``): a foreign key from a local table to a distributed one is
refused by Citus, so the keys come after the distribution. A migration that also changes a
distributed table (a new column) starts with :func:`one_connection_per_node`: Citus adds a
foreign key only over the connections the transaction's earlier DDL used.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

# Tables tenant tables reference, besides each other: one copy on every node.
REFERENCE_TABLES = ("tenants_tenant", "auth_user")
DISTRIBUTION_COLUMN = "tenant_id"


def citus_enabled(connection: BaseDatabaseWrapper) -> bool:
    """Whether the ``citus`` extension exists in this database (one catalog look-up)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
        return bool(cursor.fetchone()[0])


def tenant_tables_of(models: Any) -> list[str]:
    """Tables of the models (historical or current) that have a ``tenant`` field."""
    tables = []
    for model in models:
        meta = model._meta
        if meta.abstract or meta.proxy or not meta.managed:
            continue
        if any(field.name == "tenant" for field in meta.get_fields()):
            tables.append(meta.db_table)
    return sorted(tables)


_PLACED_SQL = """
SELECT logicalrelid::regclass::text, partmethod::text, colocationid,
       coalesce(column_to_column_name(logicalrelid, partkey), '')
FROM pg_dist_partition
"""

_FOREIGN_KEYS_SQL = """
SELECT con.conrelid::regclass::text, con.conname::text, pg_get_constraintdef(con.oid)
FROM pg_constraint con
WHERE con.contype = 'f'
  AND con.conrelid::regclass::text = ANY(%(tables)s) AND con.confrelid::regclass::text = ANY(%(tables)s)
  AND (con.conrelid::regclass::text = ANY(%(converted)s)
       OR con.confrelid::regclass::text = ANY(%(converted)s))
ORDER BY 1, 2
"""


def placement(connection: BaseDatabaseWrapper) -> dict[str, tuple[str, int, str]]:
    """``{table: (method, colocation id, distribution column)}`` of the tables Citus knows.

    Method ``h`` is hash-distributed; ``n`` with no column is a reference table (or a Citus
    local table, which lives on the coordinator only: ``colocation id`` 0).
    """
    with connection.cursor() as cursor:
        cursor.execute(_PLACED_SQL)
        return {
            table: (method, colocation, column) for table, method, colocation, column in cursor.fetchall()
        }


def is_reference_table(connection: BaseDatabaseWrapper, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = %s::regclass "
            "AND partmethod = 'n' AND repmodel = 't')",
            [table],
        )
        return bool(cursor.fetchone()[0])


SEQUENTIAL_MODE_SQL = "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"


def use_one_connection_per_node(connection: BaseDatabaseWrapper) -> None:
    """Until the current transaction ends, Citus reaches each node over one connection.

    Call it first thing in a transaction that may write a reference table (``tenants_tenant``,
    ``auth_user``) after a statement that spans several shards of a distributed table: Citus
    runs such a statement over several connections per worker, and then refuses to modify a
    table that distributed tables reference ("cannot modify table ... because there was a
    parallel operation on a distributed table"), as its hint says, unless the transaction is
    in sequential mode from the start. Multi-shard statements then visit the shards one node
    connection at a time (slower, so not for the tenant hot paths, which name one shard).

    On plain PostgreSQL the setting is an unused placeholder that ends with the transaction:
    the call changes nothing there, and costs what a catalog check for Citus would.
    """
    with connection.cursor() as cursor:
        cursor.execute(SEQUENTIAL_MODE_SQL)


def one_connection_per_node(apps: Any, schema_editor: Any) -> None:
    """``RunPython``: this migration's DDL reaches each worker over one connection (Citus).

    Citus runs DDL on a distributed table's shards in parallel, over several connections per
    worker, and then refuses a foreign key in the same transaction ("there was a parallel
    operation on a distributed table"). Sequential mode lasts until the migration commits; a
    no-op on plain PostgreSQL.
    """
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or not citus_enabled(connection):
        return
    use_one_connection_per_node(connection)


def distribute(apps: Any, schema_editor: Any) -> None:
    """Place every table as the module docstring says; a no-op without Citus or when done."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or not citus_enabled(connection):
        return
    tenant_tables = tenant_tables_of(apps.get_models())
    placed = placement(connection)
    references = [table for table in REFERENCE_TABLES if not is_reference_table(connection, table)]
    anchor = next((table for table in tenant_tables if placed.get(table, ("",))[0] == "h"), None)
    pending = [table for table in tenant_tables if placed.get(table, ("",))[0] != "h"]
    if not references and not pending:
        return
    involved = [*REFERENCE_TABLES, *tenant_tables]
    with connection.cursor() as cursor:
        # One connection per worker for the whole conversion: DDL and the copies of foreign
        # keys that follow it in the same transaction must see each other.
        cursor.execute(SEQUENTIAL_MODE_SQL)
        # Only the keys that touch a table being converted: placed tables keep theirs.
        cursor.execute(_FOREIGN_KEYS_SQL, {"tables": involved, "converted": [*references, *pending]})
        foreign_keys = cursor.fetchall()
        for table, name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table in references:
            cursor.execute("SELECT create_reference_table(%s)", [table])
        for table in pending:
            if anchor is None:
                cursor.execute("SELECT create_distributed_table(%s, %s)", [table, DISTRIBUTION_COLUMN])
                anchor = table
            else:
                cursor.execute(
                    "SELECT create_distributed_table(%s, %s, colocate_with => %s)",
                    [table, DISTRIBUTION_COLUMN, anchor],
                )
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def distribution_problems(connection: BaseDatabaseWrapper, tenant_tables: list[str]) -> list[str]:
    """What keeps this Citus database from the layout of the module docstring (empty when none)."""
    placed = placement(connection)
    problems = []
    for table in REFERENCE_TABLES:
        if not is_reference_table(connection, table):
            problems.append(f"{table} is not a reference table")
    colocations = set()
    for table in tenant_tables:
        method, colocation, column = placed.get(table, ("", 0, ""))
        if method != "h" or column != DISTRIBUTION_COLUMN:
            problems.append(f"{table} is not hash-distributed by {DISTRIBUTION_COLUMN}")
        else:
            colocations.add(colocation)
    if len(colocations) > 1:
        problems.append(f"the tenant tables are in {len(colocations)} colocation groups, not one")
    return problems
