from django.db import migrations

from tenants.rls_history import composite_fk_to_tenant_reference


class Migration(migrations.Migration):
    dependencies = [("banking", "0003_lean_transaction_indexes"), ("tenants", "0010_tenant_references")]

    operations = [
        *composite_fk_to_tenant_reference("banking_banktransaction", "account_id", "banking_bankaccount"),
        *composite_fk_to_tenant_reference(
            "banking_banktransaction", "import_batch_id", "banking_importbatch"
        ),
        migrations.RemoveConstraint(model_name="bankaccount", name="banking_bankaccount_tenant_id_key"),
        migrations.RemoveConstraint(model_name="importbatch", name="banking_importbatch_tenant_id_key"),
    ]
