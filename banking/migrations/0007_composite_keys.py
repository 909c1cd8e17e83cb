"""Keys Citus can distribute: (tenant_id, id) primary keys, the tenant's foreign key, and composite
foreign keys (tenant_id, account_id) and (tenant_id, import_batch_id) instead of triggers.
"""

import django.db.models.deletion
import django.db.models.manager
import tenants.models
from django.db import migrations

from tenants.rls import tenant_foreign_key, tenant_primary_key, tenant_reference
from tenants.rls_history import drop_tenant_key, drop_tenant_reference

TABLES = ("banking_bankaccount", "banking_importbatch", "banking_banktransaction")
REFERENCES = (
    ("banking_banktransaction", "account_id", "banking_bankaccount"),
    ("banking_banktransaction", "import_batch_id", "banking_importbatch"),
)


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0014_composite_keys'),
        ('banking', '0006_tenant_keys'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='bankaccount',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['identifier']},
        ),
        migrations.AlterModelOptions(
            name='banktransaction',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['-booking_date', '-created_at', '-id']},
        ),
        migrations.AlterModelOptions(
            name='importbatch',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['-created_at', '-id'], 'verbose_name_plural': 'import batches'},
        ),
        migrations.AlterModelManagers(
            name='bankaccount',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='banktransaction',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='importbatch',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterField(
            model_name='banktransaction',
            name='account',
            field=tenants.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='banking.bankaccount'),
        ),
        migrations.AlterField(
            model_name='banktransaction',
            name='import_batch',
            field=tenants.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transactions', to='banking.importbatch'),
        ),
        *[drop_tenant_reference(*reference) for reference in REFERENCES],
        *[drop_tenant_key(table) for table in TABLES],
        *[tenant_primary_key(table) for table in TABLES],
        *[tenant_foreign_key(table) for table in TABLES],
        *[tenant_reference(*reference) for reference in REFERENCES],
    ]
