"""Readable SQL for the Row Level Security set-up of tenant tables, used by migrations.

Each helper returns a ``migrations.RunSQL`` with its reverse, so ``sqlmigrate`` prints the exact
statements. The policy reads the tenant GUC with ``current_setting('app.tenant_id', true)``:
unset or reset (``''`` on a reused connection) becomes NULL, and ``tenant_id = NULL`` matches no
row, so a missing tenant means *no rows*, never an error. No subqueries (Citus rejects them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

TENANT_GUC = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def runtime_role_name() -> str:
    """The tenant runtime role (``TENANT_DB_ROLE``), validated as a plain identifier in settings."""
    return settings.TENANT_DB_ROLE


def create_runtime_role() -> migrations.RunSQL:
    """Create the NOLOGIN tenant runtime role if missing and let the migrating login use it."""
    role = runtime_role_name()
    return migrations.RunSQL(
        sql=f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;
GRANT {role} TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO {role};
""",
        # The role is shared by every database of the cluster (e.g. the test database), so it
        # is kept on reverse; only this database's grants are withdrawn.
        reverse_sql=f"REVOKE USAGE ON SCHEMA public FROM {role};",
    )


def enable_tenant_rls(table: str) -> migrations.RunSQL:
    """ENABLE + FORCE RLS, the tenant isolation policy and DML grants for ``table``.

    One statement per item (Citus sends a DDL command on a distributed table to every shard as
    one prepared statement, which may hold one command only).
    """
    role = runtime_role_name()
    forward = (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"""CREATE POLICY tenant_isolation ON {table}
    AS PERMISSIVE FOR ALL
    USING (tenant_id = {TENANT_GUC})
    WITH CHECK (tenant_id = {TENANT_GUC})""",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}",
    )
    reverse = (
        f"REVOKE SELECT, INSERT, UPDATE, DELETE ON {table} FROM {role}",
        f"DROP POLICY tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    )
    return migrations.RunSQL(sql=forward, reverse_sql=reverse)


# --- keys Citus can distribute: every key of a tenant table includes tenant_id ---------------------
#
# The database itself makes a cross-tenant reference impossible, with its own foreign keys: a
# reference between tenant tables is the composite key (tenant_id, <column>) -> parent
# (tenant_id, id), which cannot name another tenant's row whatever the row-level policies let a
# session see (a foreign key's checks ignore RLS). These are the keys every DBA, pg_dump and
# Citus understand: with tenant_id in every primary key, unique constraint and reference, Citus
# can hash-distribute every tenant table by tenant_id in one colocation group and check each
# key inside one shard. Deleting or re-keying a referenced row is refused (NO ACTION, SQLSTATE
# 23503); Django's on_delete runs before that, as for any foreign key it does not create.


def tenant_reference_name(table: str, column: str) -> str:
    """The composite foreign key's name (the API's error mapping recognises it)."""
    return f"{table}_{column}_same_tenant_fk"


def tenant_key_name(table: str) -> str:
    """The name of the foreign key ``table.tenant_id -> tenants_tenant (id)``."""
    return f"{table}_tenant_id_fk"


def tenant_primary_key(table: str) -> migrations.RunSQL:
    """Make the database's primary key of ``table`` ``(tenant_id, id)`` (Django keeps ``id``).

    One statement per subcommand: Citus refuses ``ADD CONSTRAINT`` beside another subcommand on a
    table it already tracks (a new table with a key to a reference table becomes one).
    """
    return migrations.RunSQL(
        sql=[
            f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey;",
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (tenant_id, id);",
        ],
        reverse_sql=[
            f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey;",
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id);",
        ],
    )


def tenant_foreign_key(table: str) -> migrations.RunSQL:
    """``table.tenant_id`` must name a tenant; a tenant that still has rows cannot be deleted."""
    name = tenant_key_name(table)
    return migrations.RunSQL(
        sql=f"""
ALTER TABLE {table}
    ADD CONSTRAINT {name}
    FOREIGN KEY (tenant_id) REFERENCES tenants_tenant (id);
""",
        reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {name};",
    )


def tenant_reference(table: str, column: str, parent_table: str) -> migrations.RunSQL:
    """``(tenant_id, column)`` of ``table`` must name a row ``(tenant_id, id)`` of ``parent_table``.

    NO ACTION: a referenced parent cannot be deleted or re-keyed. A NULL ``column`` refers to
    nothing (MATCH SIMPLE), as for an optional reference.
    """
    name = tenant_reference_name(table, column)
    return migrations.RunSQL(
        sql=f"""
ALTER TABLE {table}
    ADD CONSTRAINT {name}
    FOREIGN KEY (tenant_id, {column}) REFERENCES {parent_table} (tenant_id, id);
""",
        reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {name};",
    )


def user_keys_immediate(table: str) -> migrations.RunSQL:
    """Make ``table``'s foreign keys to users NOT DEFERRABLE (Django makes them deferred).

    Deleting a user who acted in a tenant must be refused inside the delete; on Citus
    ``SET CONSTRAINTS ALL IMMEDIATE`` does not reach the workers, so a deferred key there would
    fail only at commit (see ``tenants/migrations/0017_user_references_checked_at_once``). Every
    tenant table's keys to users are therefore immediate. Dropped and added, not ALTER
    CONSTRAINT, which Citus refuses on a distributed table.
    """

    def recreate(deferrable: bool) -> str:
        timing = "DEFERRABLE INITIALLY DEFERRED" if deferrable else "NOT DEFERRABLE"
        # ``table`` is a migration's constant, never input.
        return f"""
DO $$
DECLARE
    key record;
BEGIN
    FOR key IN
        SELECT con.conname, column_.attname
        FROM pg_constraint con
        JOIN pg_attribute column_ ON column_.attrelid = con.conrelid AND column_.attnum = con.conkey[1]
        WHERE con.contype = 'f' AND con.confrelid = 'auth_user'::regclass
          AND con.conrelid = '{table}'::regclass AND con.condeferrable = {"false" if deferrable else "true"}
    LOOP
        EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', key.conname);
        EXECUTE format(
            'ALTER TABLE {table} ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES auth_user (id) {timing}',
            key.conname, key.attname
        );
    END LOOP;
END
$$;
"""  # noqa: S608

    return migrations.RunSQL(sql=recreate(False), reverse_sql=recreate(True))
