from django.db import migrations

from tenants.rls import enable_tenant_rls
from tenants.rls_history import composite_tenant_fk


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0001_initial"),
        ("invoices", "0002_row_level_security"),
        ("banking", "0002_row_level_security"),
    ]

    operations = [
        enable_tenant_rls("reconciliation_reconciliationrun"),
        enable_tenant_rls("reconciliation_match"),
        enable_tenant_rls("reconciliation_matchallocation"),
        composite_tenant_fk("reconciliation_match", "run_id", "reconciliation_reconciliationrun"),
        composite_tenant_fk("reconciliation_matchallocation", "match_id", "reconciliation_match"),
        composite_tenant_fk("reconciliation_matchallocation", "transaction_id", "banking_banktransaction"),
        composite_tenant_fk("reconciliation_matchallocation", "invoice_id", "invoices_invoice"),
    ]
