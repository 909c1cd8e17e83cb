"""The PostgreSQL backend with three changes (the third: bulk inserts as ``VALUES`` rows, see
``tenants.db.compiler``): tenant tables' composite primary keys, and one
statement of the job queue's first migration made to work on Citus.

In the database a tenant table's primary key is ``(tenant_id, id)`` (``tenants.rls``); Django's
model keeps ``id``. PostgreSQL lets a ``GROUP BY`` list only the primary key's columns and
select the rest (they depend on the key), and Django uses that: it groups by ``id`` alone. For a
tenant table ``id`` alone is no longer the key, so PostgreSQL refuses; for those models Django
lists every selected column instead. Platform tables keep the shorter form.

Procrastinate's first migration starts with ``CREATE EXTENSION IF NOT EXISTS plpgsql`` (a no-op:
every PostgreSQL has it). Citus forwards extension statements to the workers, where only the
extension's owner (a superuser) may run it, so ``migrate`` as the owner login failed on Citus.
That one statement runs with Citus's DDL propagation off, inside the migration's transaction
(``SET LOCAL``); on plain PostgreSQL the setting is an unused placeholder.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, features, operations, schema

QUEUE_PLPGSQL = "CREATE EXTENSION IF NOT EXISTS plpgsql WITH SCHEMA pg_catalog;"
QUEUE_PLPGSQL_ON_COORDINATOR_ONLY = (
    f"SET LOCAL citus.enable_ddl_propagation = off; {QUEUE_PLPGSQL} "
    "SET LOCAL citus.enable_ddl_propagation = on;"
)


class DatabaseFeatures(features.DatabaseFeatures):
    def allows_group_by_selected_pks_on_model(self, model: Any) -> bool:
        from tenants.models import Membership, TenantModel

        if issubclass(model, TenantModel | Membership):
            return False
        return super().allows_group_by_selected_pks_on_model(model)


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def execute(self, sql: Any, params: Any = ()) -> None:
        if isinstance(sql, str) and sql.startswith(QUEUE_PLPGSQL):
            sql = sql.replace(QUEUE_PLPGSQL, QUEUE_PLPGSQL_ON_COORDINATOR_ONLY, 1)
        super().execute(sql, params)


class DatabaseOperations(operations.DatabaseOperations):
    compiler_module = "tenants.db.compiler"  # bulk inserts as VALUES rows (see there)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
    SchemaEditorClass = DatabaseSchemaEditor
