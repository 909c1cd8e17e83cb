from django.db import migrations

from tenants.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_auditevent")]

    operations = [enable_tenant_rls("tenants_auditevent")]
