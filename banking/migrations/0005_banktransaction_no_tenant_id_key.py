from django.db import migrations


class Migration(migrations.Migration):
    """Allocations now reference transactions by tenant reference: the key is unused."""

    dependencies = [("banking", "0004_tenant_references"), ("reconciliation", "0004_tenant_references")]

    operations = [
        migrations.RemoveConstraint(
            model_name="banktransaction", name="banking_banktransaction_tenant_id_key"
        ),
    ]
