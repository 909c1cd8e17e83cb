"""Tenant tables' foreign keys to users are checked at once, not at commit.

Django makes its foreign keys DEFERRABLE INITIALLY DEFERRED. Deleting a user who acted in a
tenant must be refused inside the delete (the platform admin explains the refusal; it forces
the check with ``SET CONSTRAINTS ALL IMMEDIATE``). On Citus that statement does not reach the
workers, where the tenant tables' keys are checked, so a deferred key would fail only at commit,
after the page said "deleted". These keys (who acted, who decided, who started a run or an
import, whose membership) are therefore immediate, on every backend.
"""

from django.db import migrations

TENANT_TABLES = (
    "tenants_membership",
    "tenants_auditevent",
    "banking_importbatch",
    "reconciliation_reconciliationrun",
    "reconciliation_match",
)


def alter_user_keys(deferrable: bool) -> str:
    """Recreate each key with the same name and column, deferred or not (dropped and added, not
    ALTER CONSTRAINT, which Citus refuses on a distributed table)."""
    timing = "DEFERRABLE INITIALLY DEFERRED" if deferrable else "NOT DEFERRABLE"
    tables = ", ".join(f"'{table}'" for table in TENANT_TABLES)
    return f"""
DO $$
DECLARE
    key record;
BEGIN
    FOR key IN
        SELECT con.conrelid::regclass AS child, con.conname, column_.attname
        FROM pg_constraint con
        JOIN pg_attribute column_ ON column_.attrelid = con.conrelid AND column_.attnum = con.conkey[1]
        WHERE con.contype = 'f' AND con.confrelid = 'auth_user'::regclass
          AND con.condeferrable = {"false" if deferrable else "true"}
          AND con.conrelid::regclass::text IN ({tables})
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', key.child, key.conname);
        EXECUTE format(
            'ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES auth_user (id) {timing}',
            key.child, key.conname, key.attname
        );
    END LOOP;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0016_tenants_created_in_their_context"),
        ("banking", "0007_composite_keys"),
        ("reconciliation", "0007_composite_keys"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunSQL(sql=alter_user_keys(False), reverse_sql=alter_user_keys(True))]
