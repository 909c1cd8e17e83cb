from django.db import migrations

from tenants.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_idempotencykey")]

    operations = [enable_tenant_rls("tenants_idempotencykey")]
