"""Tenant runtime role, Row Level Security on tenant tables, and the runtime role's grants."""

from django.db import migrations

from tenants.rls import TENANT_GUC, create_runtime_role, enable_tenant_rls, runtime_role_name

ROLE = runtime_role_name()


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        create_runtime_role(),
        enable_tenant_rls("tenants_tenantsettings"),
        # Memberships: inside a tenant only that tenant's rows; outside any tenant the owner
        # login (which authenticates callers and lists their tenants) sees every row.
        enable_tenant_rls("tenants_membership"),
        migrations.RunSQL(
            sql=f"""
CREATE POLICY platform_access ON tenants_membership
    AS PERMISSIVE FOR ALL TO CURRENT_USER
    USING ({TENANT_GUC} IS NULL)
    WITH CHECK ({TENANT_GUC} IS NULL);
""",
            reverse_sql="DROP POLICY platform_access ON tenants_membership;",
        ),
        # What tenant work reads on platform tables: its tenant's name, and members' public
        # user columns (never password hashes).
        migrations.RunSQL(
            sql=f"""
GRANT SELECT ON tenants_tenant TO {ROLE};
GRANT SELECT (id, username, first_name, last_name, email, is_active) ON auth_user TO {ROLE};
""",
            reverse_sql=f"""
REVOKE SELECT ON tenants_tenant FROM {ROLE};
REVOKE SELECT (id, username, first_name, last_name, email, is_active) ON auth_user FROM {ROLE};
""",
        ),
    ]
