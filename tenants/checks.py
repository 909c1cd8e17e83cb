"""System checks: every tenant table is protected by RLS in the database, the role cannot bypass
it, and the keys of tenant tables keep every row inside its tenant (and let Citus distribute them).

Run with ``manage.py check`` and at server start-up. Tables that do not exist yet (unapplied
migrations) are skipped with a warning so ``migrate`` itself can run.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connection


def tenant_models() -> list[Any]:
    """Every concrete model with a ``tenant`` field: all of them must be RLS-protected."""
    found = []
    for model in apps.get_models():
        if model._meta.abstract or model._meta.proxy or not model._meta.managed:
            continue
        try:
            model._meta.get_field("tenant")
        except Exception:  # noqa: S112, BLE001 - FieldDoesNotExist: not a tenant table
            continue
        found.append(model)
    return found


RLS_STATE_SQL = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       EXISTS (SELECT 1 FROM pg_policies p
               WHERE p.schemaname = n.nspname AND p.tablename = c.relname
                 AND p.policyname = 'tenant_isolation' AND p.cmd = 'ALL'
                 AND p.qual IS NOT NULL AND p.with_check IS NOT NULL
                 AND p.qual LIKE '%%app.tenant_id%%' AND p.with_check LIKE '%%app.tenant_id%%')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY(%s)
"""


@register(Tags.database, Tags.security)
def check_row_level_security(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Errors for tenant tables without ENABLE/FORCE RLS or policy; for a bypassing role."""
    messages: list[Any] = []
    tables = {model._meta.db_table: model for model in tenant_models()}
    role = settings.TENANT_DB_ROLE
    try:
        with connection.cursor() as cursor:
            cursor.execute(RLS_STATE_SQL, [list(tables)])
            rows = {row[0]: row[1:] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT rolsuper, rolbypassrls, pg_has_role(current_user, oid, 'MEMBER') "
                "FROM pg_roles WHERE rolname = %s",
                [role],
            )
            role_row = cursor.fetchone()
    except DatabaseError as error:
        return [Warning(f"Could not verify Row Level Security: {error}", id="tenants.W001")]

    for table, model in sorted(tables.items()):
        label = model._meta.label
        if table not in rows:
            messages.append(
                Warning(f"{label}: table {table} does not exist yet (run migrate).", id="tenants.W002")
            )
            continue
        enabled, forced, has_policy = rows[table]
        if not enabled:
            messages.append(
                Error(
                    f"{label}: ROW LEVEL SECURITY is not enabled on {table}.",
                    hint=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
                    id="tenants.E001",
                )
            )
        if not forced:
            messages.append(
                Error(
                    f"{label}: ROW LEVEL SECURITY is not FORCEd on {table}.",
                    hint=f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
                    id="tenants.E002",
                )
            )
        if not has_policy:
            messages.append(
                Error(
                    f"{label}: {table} has no tenant_isolation policy for ALL commands on app.tenant_id.",
                    id="tenants.E003",
                )
            )
    if tables and all(t not in rows for t in tables):
        return messages  # nothing migrated yet: the runtime role is created by migrations
    if role_row is None:
        messages.append(
            Error(
                f"The tenant runtime role {role!r} does not exist.",
                hint="Run migrate as the owner role.",
                id="tenants.E004",
            )
        )
    else:
        is_super, bypasses_rls, is_member = role_row
        if is_super or bypasses_rls:
            messages.append(
                Error(
                    f"The tenant runtime role {role!r} can bypass RLS "
                    f"(superuser={is_super}, bypassrls={bypasses_rls}).",
                    hint=f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS;",
                    id="tenants.E005",
                )
            )
        if not is_member:
            messages.append(
                Error(
                    f"The database login cannot SET ROLE {role}.",
                    hint=f"GRANT {role} TO <owner login>;",
                    id="tenants.E006",
                )
            )
    return messages


def tenant_references() -> list[tuple[str, str, str, Any]]:
    """``(child table, column, parent table, field)`` of every foreign key between tenant tables."""
    tables = {model: model._meta.db_table for model in tenant_models()}
    found = []
    for model, table in tables.items():
        for field in model._meta.get_fields():
            if field.many_to_one and field.concrete and field.related_model in tables:
                found.append((table, field.column, tables[field.related_model], field))
    return sorted(found, key=lambda reference: reference[:3])


def tenant_key_tables() -> list[str]:
    """Tables of every model with a tenant: each needs its foreign key to tenants_tenant."""
    return sorted(model._meta.db_table for model in tenant_models())


# Primary keys, unique constraints and foreign keys of the tenant tables, with their columns in
# key order; unique indexes that are not constraints (partial UniqueConstraints) come as 'i'.
KEYS_SQL = """
SELECT rel.relname, con.contype::text, coalesce(ref.relname, ''),
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.position),
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.position),
       con.conname::text
FROM pg_constraint con
JOIN pg_class rel ON rel.oid = con.conrelid
JOIN pg_namespace n ON n.oid = rel.relnamespace
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
WHERE n.nspname = current_schema() AND rel.relname = ANY(%(tables)s) AND con.contype IN ('p', 'u', 'f')
UNION ALL
SELECT rel.relname, 'i', '',
       ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) AS k(attnum)
             JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum),
       ARRAY[]::text[], idx.relname::text
FROM pg_index ix
JOIN pg_class rel ON rel.oid = ix.indrelid
JOIN pg_class idx ON idx.oid = ix.indexrelid
JOIN pg_namespace n ON n.oid = rel.relnamespace
WHERE n.nspname = current_schema() AND rel.relname = ANY(%(tables)s) AND ix.indisunique
  AND NOT EXISTS (SELECT FROM pg_constraint con WHERE con.conindid = ix.indexrelid)
"""


def migrations_pending() -> bool:
    """True while this database lacks some migration: ``migrate`` runs the checks before it
    migrates, and a half-migrated schema is not an error yet."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@register(Tags.database, Tags.security)
def check_tenant_keys(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Errors for a tenant table whose keys let a row reach another tenant or keep Citus out.

    Every primary key and unique key includes ``tenant_id``; ``tenant_id`` references
    ``tenants_tenant``; every reference between tenant tables is a ``TenantForeignKey`` backed
    by the composite foreign key ``(tenant_id, column) -> parent (tenant_id, id)`` (see
    ``tenants.rls``). A foreign key's checks ignore RLS: only the composite key keeps a row from
    pointing at another tenant's row.
    """
    from tenants.models import TenantForeignKey

    tables = tenant_key_tables()
    try:
        with connection.cursor() as cursor:
            cursor.execute(KEYS_SQL, {"tables": tables})
            rows = cursor.fetchall()
    except DatabaseError as error:
        return [Warning(f"Could not verify the keys of tenant tables: {error}", id="tenants.W003")]
    existing = {row[0] for row in rows}
    if not existing:
        return []  # nothing migrated yet
    if migrations_pending():
        return [
            Warning(
                "Migrations are pending: tenant keys are verified once they are applied.", id="tenants.W004"
            )
        ]
    foreign_keys = {
        (table, parent, tuple(columns), tuple(parent_columns))
        for table, kind, parent, columns, parent_columns, _ in rows
        if kind == "f"
    }
    messages: list[Any] = []
    for table, kind, _parent, columns, _parent_columns, name in sorted(rows):
        if kind in ("p", "u", "i") and "tenant_id" not in columns:
            what = {"p": "primary key", "u": "unique constraint", "i": "unique index"}[kind]
            messages.append(
                Error(
                    f"{table}: {what} {name} ({', '.join(columns)}) does not include tenant_id.",
                    hint="tenants.rls.tenant_primary_key() or a unique constraint that leads with tenant.",
                    id="tenants.E012",
                )
            )
    for table in tables:
        if table in existing and (table, "tenants_tenant", ("tenant_id",), ("id",)) not in foreign_keys:
            messages.append(
                Error(
                    f"{table}.tenant_id has no foreign key to tenants_tenant (id).",
                    hint=f"tenants.rls.tenant_foreign_key({table!r}) in a migration.",
                    id="tenants.E011",
                )
            )
    for table, column, parent, field in tenant_references():
        if not isinstance(field, TenantForeignKey) or getattr(field, "db_constraint", True):
            messages.append(
                Error(
                    f"{field.model._meta.label}.{field.name}: a reference between tenant tables must be a "
                    "TenantForeignKey (joins carry the tenant; the database's key is the composite one).",
                    hint="tenants.models.TenantForeignKey(...) without db_constraint.",
                    id="tenants.E013",
                )
            )
        if (table, parent, ("tenant_id", column), ("tenant_id", "id")) not in foreign_keys:
            messages.append(
                Error(
                    f"{table}.{column} -> {parent}: no composite foreign key "
                    f"(tenant_id, {column}) REFERENCES {parent} (tenant_id, id).",
                    hint=f"tenants.rls.tenant_reference({table!r}, {column!r}, {parent!r}) in a migration.",
                    id="tenants.E010",
                )
            )
    return messages


@register(Tags.database, Tags.security)
def check_citus_distribution(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """On Citus: every tenant table hash-distributed by tenant_id in one colocation group, and the
    tables they reference (tenants, users) reference tables. Nothing to check on plain PostgreSQL.

    A tenant table left on the coordinator would hold every tenant's rows in one place and make
    its foreign keys to distributed tables impossible; one outside the colocation group would
    turn every join with it into a multi-shard join (see ``tenants.citus``).
    """
    from tenants.citus import citus_enabled, distribution_problems

    try:
        if not citus_enabled(connection):
            return []
        problems = distribution_problems(connection, tenant_key_tables())
    except DatabaseError as error:
        return [Warning(f"Could not verify the Citus distribution: {error}", id="tenants.W005")]
    if problems and migrations_pending():
        return [
            Warning(
                "Migrations are pending: the distribution is verified once they are applied.",
                id="tenants.W004",
            )
        ]
    return [
        Error(
            f"Citus: {problem}.",
            hint="manage.py migrate distributes the tables (tenants.citus.distribute).",
            id="tenants.E014",
        )
        for problem in problems
    ]
