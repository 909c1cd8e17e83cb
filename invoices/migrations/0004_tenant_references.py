from django.db import migrations

from tenants.rls_history import composite_fk_to_tenant_reference


class Migration(migrations.Migration):
    dependencies = [("invoices", "0003_leaner_write_path"), ("tenants", "0010_tenant_references")]

    operations = [
        *composite_fk_to_tenant_reference("invoices_invoice", "vendor_id", "invoices_vendor"),
        migrations.RemoveConstraint(model_name="vendor", name="invoices_vendor_tenant_id_key"),
    ]
