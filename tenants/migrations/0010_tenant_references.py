"""Statement-level tenant references replace composite foreign keys (see tenants.rls).

This migration creates the trigger functions; each app converts its own references, then the
(tenant_id, id) unique keys the composite keys pointed at are dropped.
"""

from django.db import migrations

from tenants.rls_history import create_tenant_reference_functions


class Migration(migrations.Migration):
    dependencies = [("tenants", "0009_leaner_write_path")]

    operations = [
        create_tenant_reference_functions(),
        migrations.RemoveConstraint(model_name="idempotencykey", name="tenants_idempotencykey_tenant_id_key"),
        migrations.RemoveConstraint(model_name="tenantsettings", name="tenants_tenantsettings_tenant_id_key"),
    ]
