from django.db import migrations


class Migration(migrations.Migration):
    """Allocations now reference invoices by tenant reference: the key is unused."""

    dependencies = [("invoices", "0004_tenant_references"), ("reconciliation", "0004_tenant_references")]

    operations = [
        migrations.RemoveConstraint(model_name="invoice", name="invoices_invoice_tenant_id_key"),
    ]
