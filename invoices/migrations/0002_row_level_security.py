from django.db import migrations

from tenants.rls import composite_tenant_fk, enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("invoices", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        enable_tenant_rls("invoices_vendor"),
        enable_tenant_rls("invoices_invoice"),
        composite_tenant_fk("invoices_invoice", "vendor_id", "invoices_vendor"),
    ]
