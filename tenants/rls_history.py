"""Historical: the trigger machinery that guarded references between tenant tables until the
composite foreign keys replaced it (migrations ``*_composite_keys``).

Kept only because the migrations that created and later dropped it import it: a database
migrated from scratch still passes through those states. Nothing else may use it; the live
schema's rules are in ``tenants.rls``.
"""

from __future__ import annotations

from django.db import migrations


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


# --- tenant references: statement-level foreign keys ------------------------------------------
#
# A plain foreign key checks each inserted row with its own query and row lock, a large share of
# a bulk import's INSERT ... SELECT and of a run's allocations (docs/benchmarks.md). These triggers
# keep the guarantee of a composite (tenant_id, column) -> parent (tenant_id, id) key, checked
# once per statement: the distinct parents of the inserted rows are looked up and locked
# FOR KEY SHARE (as the built-in check does, so a concurrent delete of the parent waits and
# then fails), and a parent's delete is refused while a child of the same tenant refers to it.
# Errors use SQLSTATE 23503 (foreign_key_violation) and carry the constraint name.
#
# The lookups run as the invoking role, under RLS: a row can only be written with tenant_id =
# the current tenant (the policies' WITH CHECK), and that tenant's parents are exactly the
# ones the policies let it see. A superuser sees every row; the tenant_id equality still holds.
#
# Two differences from a built-in foreign key, both outside what the application does:
# * TRUNCATE of a parent table alone is not refused (only the owner may truncate; the runtime
#   role has no TRUNCATE privilege, and a check could not see other tenants' rows anyway);
# * the parent-side check reads with the statement's snapshot, so under REPEATABLE READ a
#   child committed concurrently with its parent's delete could be missed. The application runs
#   READ COMMITTED, where the FOR KEY SHARE lock makes the delete wait and then see the child
#   (tested in tests/tenants/test_rls.py).
#
# Trigger arguments: constraint name, then the referencing column and the other table.

TENANT_REFERENCE_FUNCTIONS_SQL = """
CREATE FUNCTION tenant_reference_check_new_rows() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- AFTER INSERT ... FOR EACH STATEMENT, REFERENCING NEW TABLE AS new_rows, on the child table.
-- TG_ARGV: constraint name, referencing column, parent table.
-- Per tenant of the new rows (normally one), the distinct parent ids are looked up by primary
-- key with one "= ANY" array: a plan that stays an index lookup for one parent or 100,000.
DECLARE
    tenant uuid;
    wanted uuid[];
    locked bigint;
    missing_id uuid;
BEGIN
    FOR tenant, wanted IN EXECUTE format(
        'SELECT tenant_id, array_agg(id) FROM'
        '    (SELECT DISTINCT tenant_id, %1$I AS id FROM new_rows WHERE %1$I IS NOT NULL) AS distinct_parents'
        ' GROUP BY tenant_id',
        TG_ARGV[1]
    ) LOOP
        EXECUTE format(
            'SELECT count(*) FROM (SELECT FROM %s AS parent'
            '    WHERE parent.tenant_id = $1 AND parent.id = ANY ($2) FOR KEY SHARE) AS locked',
            TG_ARGV[2]
        ) INTO locked USING tenant, wanted;
        IF locked < cardinality(wanted) THEN
            EXECUTE format(
                'SELECT wanted.id FROM unnest($2) AS wanted(id) WHERE NOT EXISTS'
                '    (SELECT FROM %s AS parent WHERE parent.tenant_id = $1 AND parent.id = wanted.id)'
                ' LIMIT 1',
                TG_ARGV[2]
            ) INTO missing_id USING tenant, wanted;
            RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                    TG_TABLE_NAME, TG_ARGV[0]
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                      SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                      DETAIL = format('Key (tenant_id, %s)=(%s, %s) is not present in table "%s".',
                                      TG_ARGV[1], tenant, missing_id, TG_ARGV[2]);
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION tenant_reference_check_new_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- AFTER UPDATE OF tenant_id, <column> ... FOR EACH ROW WHEN (the reference changed), on the child.
-- TG_ARGV: constraint name, referencing column, parent table.
DECLARE
    parent_id uuid := (to_jsonb(NEW) ->> TG_ARGV[1])::uuid;
    found_id uuid;
BEGIN
    IF parent_id IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'SELECT parent.id FROM %s AS parent WHERE parent.tenant_id = $1 AND parent.id = $2 FOR KEY SHARE',
        TG_ARGV[2]
    ) INTO found_id USING NEW.tenant_id, parent_id;
    IF found_id IS NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (tenant_id, %s)=(%s, %s) is not present in table "%s".',
                                  TG_ARGV[1], NEW.tenant_id, parent_id, TG_ARGV[2]);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION tenant_reference_check_old_rows() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- AFTER DELETE ... FOR EACH STATEMENT, REFERENCING OLD TABLE AS old_rows, on the parent table.
-- TG_ARGV: constraint name, referencing column, child table.
DECLARE
    child_tenant uuid;
    parent_id uuid;
BEGIN
    EXECUTE format(
        'SELECT old_rows.tenant_id, old_rows.id FROM old_rows'
        '    WHERE EXISTS (SELECT FROM %2$s AS child'
        '        WHERE child.tenant_id = old_rows.tenant_id AND child.%1$I = old_rows.id) LIMIT 1',
        TG_ARGV[1], TG_ARGV[2]
    ) INTO child_tenant, parent_id;
    IF parent_id IS NOT NULL THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "%"',
                TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[2]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (tenant_id, id)=(%s, %s) is still referenced from table "%s".',
                                  child_tenant, parent_id, TG_ARGV[2]);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION tenant_reference_check_old_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- AFTER UPDATE OF tenant_id, id ... FOR EACH ROW WHEN (the key changed), on the parent table.
-- TG_ARGV: constraint name, referencing column, child table.
DECLARE
    child_found boolean;
BEGIN
    EXECUTE format(
        'SELECT EXISTS (SELECT FROM %2$s AS child WHERE child.tenant_id = $1 AND child.%1$I = $2)',
        TG_ARGV[1], TG_ARGV[2]
    ) INTO child_found USING OLD.tenant_id, OLD.id;
    IF child_found THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "%"',
                TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[2]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (tenant_id, id)=(%s, %s) is still referenced from table "%s".',
                                  OLD.tenant_id, OLD.id, TG_ARGV[2]);
    END IF;
    RETURN NULL;
END
$fn$;
"""

TENANT_REFERENCE_FUNCTIONS_REVERSE_SQL = """
DROP FUNCTION tenant_reference_check_old_row();
DROP FUNCTION tenant_reference_check_old_rows();
DROP FUNCTION tenant_reference_check_new_row();
DROP FUNCTION tenant_reference_check_new_rows();
"""


def create_tenant_reference_functions() -> migrations.RunSQL:
    """The four trigger functions behind :func:`tenant_reference` (created once)."""
    return migrations.RunSQL(
        sql=TENANT_REFERENCE_FUNCTIONS_SQL, reverse_sql=TENANT_REFERENCE_FUNCTIONS_REVERSE_SQL
    )


def tenant_reference_name(table: str, column: str) -> str:
    """The constraint name a tenant reference reports (the old composite key's name)."""
    return f"{table}_{column}_same_tenant_fk"


def tenant_reference_trigger_names(table: str, column: str) -> tuple[str, str, str, str]:
    """Names of the reference's triggers: child insert, child update, parent delete, parent update."""
    stem = f"{table}_{column}"
    return (f"{stem}_ins", f"{stem}_upd", f"{stem}_parent_del", f"{stem}_parent_upd")


def tenant_reference(table: str, column: str, parent_table: str) -> migrations.RunSQL:
    """``(tenant_id, column)`` of ``table`` must name a row ``(tenant_id, id)`` of ``parent_table``.

    The same guarantee as a composite foreign key (NO ACTION), checked per statement by the
    functions of :func:`create_tenant_reference_functions`. Deleting or re-keying a referenced
    parent row is refused; Django's ``on_delete`` runs before that, as with ``db_constraint=False``.
    """
    name = tenant_reference_name(table, column)
    insert, update, parent_delete, parent_update = tenant_reference_trigger_names(table, column)
    args = f"'{name}', '{column}', '{{other}}'"
    return migrations.RunSQL(
        sql=f"""
CREATE TRIGGER {insert} AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION tenant_reference_check_new_rows({args.format(other=parent_table)});
CREATE TRIGGER {update} AFTER UPDATE OF tenant_id, {column} ON {table}
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.{column} IS DISTINCT FROM NEW.{column})
    EXECUTE FUNCTION tenant_reference_check_new_row({args.format(other=parent_table)});
CREATE TRIGGER {parent_delete} AFTER DELETE ON {parent_table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION tenant_reference_check_old_rows({args.format(other=table)});
CREATE TRIGGER {parent_update} AFTER UPDATE OF tenant_id, id ON {parent_table}
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION tenant_reference_check_old_row({args.format(other=table)});
""",
        reverse_sql=f"""
DROP TRIGGER {parent_update} ON {parent_table};
DROP TRIGGER {parent_delete} ON {parent_table};
DROP TRIGGER {update} ON {table};
DROP TRIGGER {insert} ON {table};
""",
    )


def composite_fk_to_tenant_reference(table: str, column: str, parent_table: str) -> list[migrations.RunSQL]:
    """Replace the composite foreign key of :func:`composite_tenant_fk` by :func:`tenant_reference`."""
    constraint = tenant_reference_name(table, column)
    return [
        migrations.RunSQL(
            sql=f"ALTER TABLE {table} DROP CONSTRAINT {constraint};",
            reverse_sql=composite_tenant_fk(table, column, parent_table).sql,
        ),
        tenant_reference(table, column, parent_table),
    ]


# --- tenant keys: the tenant_id column of every tenant table, checked per statement ------------
#
# A plain foreign key to tenants_tenant queued one deferred check per inserted row (a large run
# inserts a match and an audit event per proposal, all checked at commit; docs/benchmarks.md).
# These triggers check the distinct
# tenants of a statement's new rows once, locking them FOR KEY SHARE; deleting (or re-keying)
# a tenant that still has rows in a tenant table is refused (SQLSTATE 23503).
#
# The insert check locks tenants_tenant rows, which needs UPDATE on it, so it runs as the
# function's owner (the migrating login; SECURITY DEFINER with a fixed search_path); it reads
# nothing but the statement's own new rows and the tenant ids. The tenant-side check looks for
# a deleted tenant's rows *as that tenant* (the policies show a table's rows only for the
# tenant in app.tenant_id, and the owner is subject to them too), then restores the setting.

TENANT_KEY_FUNCTIONS_SQL = """
CREATE FUNCTION tenant_key_check_new_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
-- AFTER INSERT ... FOR EACH STATEMENT, REFERENCING NEW TABLE AS new_rows, on a tenant table.
-- TG_ARGV: constraint name.
DECLARE
    wanted uuid[];
    locked bigint;
    missing_id uuid;
BEGIN
    SELECT array_agg(DISTINCT tenant_id) INTO wanted FROM new_rows;
    IF wanted IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT count(*) INTO locked
        FROM (SELECT FROM tenants_tenant AS tenant WHERE tenant.id = ANY (wanted) FOR KEY SHARE) AS l;
    IF locked < cardinality(wanted) THEN
        SELECT w.id INTO missing_id FROM unnest(wanted) AS w(id)
            WHERE NOT EXISTS (SELECT FROM tenants_tenant AS tenant WHERE tenant.id = w.id) LIMIT 1;
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (tenant_id)=(%s) is not present in table "tenants_tenant".',
                                  missing_id);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION tenant_key_check_new_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
-- AFTER UPDATE OF tenant_id ... FOR EACH ROW WHEN (it changed), on a tenant table.
-- TG_ARGV: constraint name.
BEGIN
    PERFORM FROM tenants_tenant AS tenant WHERE tenant.id = NEW.tenant_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                  DETAIL = format('Key (tenant_id)=(%s) is not present in table "tenants_tenant".',
                                  NEW.tenant_id);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION tenant_key_check_removed_tenants() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- AFTER DELETE (REFERENCING OLD TABLE AS old_rows) or AFTER UPDATE (also NEW TABLE AS
-- new_rows) ... FOR EACH STATEMENT, on tenants_tenant. TG_ARGV: constraint name, tenant table.
DECLARE
    previous text := current_setting('app.tenant_id', true);
    removed uuid[];
    tenant uuid;
    still_used boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(id) INTO removed FROM old_rows;
    ELSE
        SELECT array_agg(id) INTO removed
            FROM (SELECT id FROM old_rows EXCEPT SELECT id FROM new_rows) AS re_keyed;
    END IF;
    FOREACH tenant IN ARRAY coalesce(removed, '{}') LOOP
        PERFORM set_config('app.tenant_id', tenant::text, true);
        EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE tenant_id = $1)', TG_ARGV[1])
            INTO still_used USING tenant;
        PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
        IF still_used THEN
            RAISE EXCEPTION 'update or delete on table "tenants_tenant" violates foreign key '
                            'constraint "%" on table "%"', TG_ARGV[0], TG_ARGV[1]
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                      SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                      DETAIL = format('Key (id)=(%s) is still referenced from table "%s".',
                                      tenant, TG_ARGV[1]);
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;
"""

TENANT_KEY_FUNCTIONS_REVERSE_SQL = """
DROP FUNCTION tenant_key_check_removed_tenants();
DROP FUNCTION tenant_key_check_new_row();
DROP FUNCTION tenant_key_check_new_rows();
"""


def create_tenant_key_functions() -> migrations.RunSQL:
    """The three trigger functions behind :func:`tenant_key` (created once)."""
    return migrations.RunSQL(sql=TENANT_KEY_FUNCTIONS_SQL, reverse_sql=TENANT_KEY_FUNCTIONS_REVERSE_SQL)


def tenant_key_trigger_names(table: str) -> tuple[str, str, str, str]:
    """Names of a table's tenant-key triggers: insert, update, tenant delete, tenant update."""
    return (f"{table}_tenant_ins", f"{table}_tenant_upd", f"{table}_tenant_del", f"{table}_tenant_rekey")


def tenant_key(table: str) -> migrations.RunSQL:
    """``table.tenant_id`` must name a tenant, checked per statement (see above)."""
    name = f"{table}_tenant_id_fk"
    insert, update, tenant_delete, tenant_update = tenant_key_trigger_names(table)
    return migrations.RunSQL(
        sql=f"""
CREATE TRIGGER {insert} AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION tenant_key_check_new_rows('{name}');
CREATE TRIGGER {update} AFTER UPDATE OF tenant_id ON {table}
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION tenant_key_check_new_row('{name}');
CREATE TRIGGER {tenant_delete} AFTER DELETE ON tenants_tenant
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION tenant_key_check_removed_tenants('{name}', '{table}');
CREATE TRIGGER {tenant_update} AFTER UPDATE ON tenants_tenant
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION tenant_key_check_removed_tenants('{name}', '{table}');
""",
        reverse_sql=f"""
DROP TRIGGER {tenant_update} ON tenants_tenant;
DROP TRIGGER {tenant_delete} ON tenants_tenant;
DROP TRIGGER {update} ON {table};
DROP TRIGGER {insert} ON {table};
""",
    )


def undo(operation: migrations.RunSQL) -> migrations.RunSQL:
    """The operation run backwards: how the composite-keys migrations drop this machinery."""
    assert operation.reverse_sql is not None  # every operation here has its reverse  # noqa: S101
    return migrations.RunSQL(sql=operation.reverse_sql, reverse_sql=operation.sql)


def drop_tenant_reference(table: str, column: str, parent_table: str) -> migrations.RunSQL:
    """Drop the four triggers of :func:`tenant_reference` (recreated on reverse)."""
    return undo(tenant_reference(table, column, parent_table))


def drop_tenant_key(table: str) -> migrations.RunSQL:
    """Drop the four triggers of :func:`tenant_key` (recreated on reverse)."""
    return undo(tenant_key(table))
