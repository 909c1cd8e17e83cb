from django.db import migrations

from tenants.rls_history import composite_fk_to_tenant_reference


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0003_leaner_write_path"),
        ("banking", "0004_tenant_references"),
        ("invoices", "0004_tenant_references"),
    ]

    operations = [
        *composite_fk_to_tenant_reference(
            "reconciliation_match", "run_id", "reconciliation_reconciliationrun"
        ),
        *composite_fk_to_tenant_reference(
            "reconciliation_matchallocation", "match_id", "reconciliation_match"
        ),
        *composite_fk_to_tenant_reference(
            "reconciliation_matchallocation", "transaction_id", "banking_banktransaction"
        ),
        *composite_fk_to_tenant_reference("reconciliation_matchallocation", "invoice_id", "invoices_invoice"),
        migrations.RemoveConstraint(model_name="match", name="reconciliation_match_tenant_id_key"),
        migrations.RemoveConstraint(
            model_name="reconciliationrun", name="reconciliation_reconciliationrun_tenant_id_key"
        ),
    ]
