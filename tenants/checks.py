"""System checks: every tenant table is protected by RLS in the database, the role cannot bypass
it, and every reference between tenant tables is a guarded tenant reference.

Run with ``manage.py check`` and at server start-up. Tables that do not exist yet (unapplied
migrations) are skipped with a warning so ``migrate`` itself can run.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connection

from tenants.rls import tenant_key_trigger_names, tenant_reference_name, tenant_reference_trigger_names


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


TRIGGERS_SQL = """
SELECT c.relname, t.tgname FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND t.tgname = ANY(%s) AND t.tgenabled <> 'D'
"""


def tenant_key_tables() -> list[str]:
    """Tables of ``TenantModel`` subclasses: their tenant_id is a tenant key (tenants.rls)."""
    from tenants.models import TenantModel

    return sorted(model._meta.db_table for model in tenant_models() if issubclass(model, TenantModel))


def _reference_triggers(table: str, column: str, parent: str) -> list[tuple[str, str]]:
    """``(table, trigger)`` pairs a tenant reference installs: two on the child, two on the parent."""
    names = tenant_reference_trigger_names(table, column)
    return list(zip((table, table, parent, parent), names, strict=True))


def _key_triggers(table: str) -> list[tuple[str, str]]:
    """``(table, trigger)`` pairs a tenant key installs: two on the table, two on tenants_tenant."""
    names = tenant_key_trigger_names(table)
    return list(zip((table, table, "tenants_tenant", "tenants_tenant"), names, strict=True))


@register(Tags.database, Tags.security)
def check_tenant_references(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Errors for a foreign key between tenant tables, or a tenant column, without its triggers.

    A plain foreign key ignores RLS, so it would let a row point at another tenant's row; the
    triggers of ``tenants.rls.tenant_reference`` refuse that (see the migrations).
    """
    references = tenant_references()
    expected = {ref[:3]: _reference_triggers(*ref[:3]) for ref in references}
    keys = {table: _key_triggers(table) for table in tenant_key_tables()}
    trigger_names = sorted(
        {trigger for pairs in [*expected.values(), *keys.values()] for _, trigger in pairs}
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(TRIGGERS_SQL, [trigger_names])
            present = set(cursor.fetchall())
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relname = ANY(%s)",
                [sorted({table for table, *_ in references})],
            )
            (existing_tables,) = cursor.fetchone()
    except DatabaseError as error:
        return [Warning(f"Could not verify tenant references: {error}", id="tenants.W003")]
    if references and existing_tables == 0:
        return []  # nothing migrated yet
    messages: list[Any] = []

    def missing(pairs: list[tuple[str, str]]) -> str:
        return ", ".join(trigger for pair in pairs if pair not in present for trigger in pair[1:])

    for table, pairs in keys.items():
        if lacking := missing(pairs):
            messages.append(
                Error(
                    f"{table}.tenant_id: the tenant key lacks trigger(s) {lacking}.",
                    hint=f"tenants.rls.tenant_key({table!r}) in a migration.",
                    id="tenants.E009",
                )
            )
    for table, column, parent, field in references:
        if field.db_constraint:
            messages.append(
                Error(
                    f"{field.model._meta.label}.{field.name}: a plain foreign key between tenant tables "
                    "ignores RLS.",
                    hint="db_constraint=False and tenants.rls.tenant_reference() in a migration.",
                    id="tenants.E008",
                )
            )
        if lacking := missing(expected[table, column, parent]):
            messages.append(
                Error(
                    f"{table}.{column} -> {parent}: tenant reference {tenant_reference_name(table, column)} "
                    f"lacks trigger(s) {lacking}.",
                    hint=f"tenants.rls.tenant_reference({table!r}, {column!r}, {parent!r}) in a migration.",
                    id="tenants.E007",
                )
            )
    return messages
