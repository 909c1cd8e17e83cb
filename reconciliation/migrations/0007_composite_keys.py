"""Keys Citus can distribute: (tenant_id, id) primary keys, the tenant's foreign key, and composite
foreign keys for runs, matches, transactions and invoices instead of the tenant-reference triggers.
"""

import django.db.models.deletion
import django.db.models.manager
import tenants.models
from django.db import migrations

from tenants.rls import tenant_foreign_key, tenant_primary_key, tenant_reference
from tenants.rls_history import drop_tenant_key, drop_tenant_reference

TABLES = ("reconciliation_reconciliationrun", "reconciliation_match", "reconciliation_matchallocation")
REFERENCES = (
    ("reconciliation_match", "run_id", "reconciliation_reconciliationrun"),
    ("reconciliation_matchallocation", "match_id", "reconciliation_match"),
    ("reconciliation_matchallocation", "transaction_id", "banking_banktransaction"),
    ("reconciliation_matchallocation", "invoice_id", "invoices_invoice"),
)


class Migration(migrations.Migration):

    dependencies = [
        ('banking', '0007_composite_keys'),
        ('invoices', '0007_composite_keys'),
        ('reconciliation', '0006_tenant_keys'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='match',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['-created_at', '-id'], 'verbose_name_plural': 'matches'},
        ),
        migrations.AlterModelOptions(
            name='matchallocation',
            options={'base_manager_name': 'tenant_routed'},
        ),
        migrations.AlterModelOptions(
            name='reconciliationrun',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['-created_at', '-id']},
        ),
        migrations.AlterModelManagers(
            name='match',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='matchallocation',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='reconciliationrun',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterField(
            model_name='match',
            name='run',
            field=tenants.models.TenantForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='matches', to='reconciliation.reconciliationrun'),
        ),
        migrations.AlterField(
            model_name='matchallocation',
            name='invoice',
            field=tenants.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='invoices.invoice'),
        ),
        migrations.AlterField(
            model_name='matchallocation',
            name='match',
            field=tenants.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='allocations', to='reconciliation.match'),
        ),
        migrations.AlterField(
            model_name='matchallocation',
            name='transaction',
            field=tenants.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='banking.banktransaction'),
        ),
        *[drop_tenant_reference(*reference) for reference in REFERENCES],
        *[drop_tenant_key(table) for table in TABLES],
        *[tenant_primary_key(table) for table in TABLES],
        *[tenant_foreign_key(table) for table in TABLES],
        *[tenant_reference(*reference) for reference in REFERENCES],
    ]
