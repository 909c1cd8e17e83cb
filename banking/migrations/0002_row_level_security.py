from django.db import migrations

from tenants.rls import enable_tenant_rls
from tenants.rls_history import composite_tenant_fk


class Migration(migrations.Migration):
    dependencies = [("banking", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        enable_tenant_rls("banking_bankaccount"),
        enable_tenant_rls("banking_importbatch"),
        enable_tenant_rls("banking_banktransaction"),
        composite_tenant_fk("banking_banktransaction", "account_id", "banking_bankaccount"),
        composite_tenant_fk("banking_banktransaction", "import_batch_id", "banking_importbatch"),
    ]
