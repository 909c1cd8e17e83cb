"""A tenant is created inside its own tenant context, by the runtime role.

``tenant_create`` writes the tenant, its first membership and its settings in one transaction as
one database user. On Citus that is required: a transaction cannot write a placement as the
owner login and then reach it again as the runtime role (Citus opens worker connections per
user, and one connection does not see the other's uncommitted rows). So the runtime role may
insert a tenant row, but only the row of the tenant its context names; it keeps reading every
tenant row, as before. RLS is enabled, not forced: the owner login (platform pages, commands)
is not affected.
"""

from django.db import migrations

from tenants.rls import TENANT_GUC, runtime_role_name

ROLE = runtime_role_name()


class Migration(migrations.Migration):
    dependencies = [("tenants", "0015_drop_trigger_functions")]

    operations = [
        migrations.RunSQL(
            sql=f"""
ALTER TABLE tenants_tenant ENABLE ROW LEVEL SECURITY;
CREATE POLICY runtime_reads ON tenants_tenant AS PERMISSIVE FOR SELECT TO {ROLE} USING (true);
CREATE POLICY created_in_its_context ON tenants_tenant AS PERMISSIVE FOR INSERT TO {ROLE}
    WITH CHECK (id = {TENANT_GUC});
GRANT INSERT ON tenants_tenant TO {ROLE};
""",
            reverse_sql=f"""
REVOKE INSERT ON tenants_tenant FROM {ROLE};
DROP POLICY created_in_its_context ON tenants_tenant;
DROP POLICY runtime_reads ON tenants_tenant;
ALTER TABLE tenants_tenant DISABLE ROW LEVEL SECURITY;
""",
        ),
    ]
