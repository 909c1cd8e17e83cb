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
    """ENABLE + FORCE RLS, the tenant isolation policy and DML grants for ``table``."""
    role = runtime_role_name()
    forward = f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table}
    AS PERMISSIVE FOR ALL
    USING (tenant_id = {TENANT_GUC})
    WITH CHECK (tenant_id = {TENANT_GUC});
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role};
"""
    reverse = f"""
REVOKE SELECT, INSERT, UPDATE, DELETE ON {table} FROM {role};
DROP POLICY tenant_isolation ON {table};
ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
"""
    return migrations.RunSQL(sql=forward, reverse_sql=reverse)


def composite_tenant_fk(
    table: str, column: str, parent_table: str, *, name: str | None = None
) -> migrations.RunSQL:
    """``(tenant_id, column)`` must reference ``parent_table (tenant_id, id)``.

    Foreign-key checks ignore RLS, so without this a row of tenant A could point at a row of
    tenant B. The parent needs the ``(tenant_id, id)`` unique key of ``TenantModel``.
    """
    constraint = name or f"{table}_{column}_same_tenant_fk"
    return migrations.RunSQL(
        sql=f"""
ALTER TABLE {table}
    ADD CONSTRAINT {constraint}
    FOREIGN KEY (tenant_id, {column}) REFERENCES {parent_table} (tenant_id, id)
    DEFERRABLE INITIALLY IMMEDIATE;
""",
        reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {constraint};",
    )
