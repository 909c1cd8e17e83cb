from django.db import migrations

from tenants.rls import enable_tenant_rls
from tenants.rls_history import composite_tenant_fk


class Migration(migrations.Migration):
    dependencies = [("invoices", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        enable_tenant_rls("invoices_vendor"),
        enable_tenant_rls("invoices_invoice"),
        composite_tenant_fk("invoices_invoice", "vendor_id", "invoices_vendor"),
    ]
