"""Keys Citus can distribute: (tenant_id, id) primary keys, the tenant's foreign key, and the
composite foreign key (tenant_id, vendor_id) -> vendor instead of the tenant-reference triggers.
"""

import django.db.models.deletion
import django.db.models.manager
import tenants.models
from django.db import migrations

from tenants.rls import tenant_foreign_key, tenant_primary_key, tenant_reference
from tenants.rls_history import drop_tenant_key, drop_tenant_reference

TABLES = ("invoices_vendor", "invoices_invoice")


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0014_composite_keys'),
        ('invoices', '0006_tenant_keys'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='invoice',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['-created_at', '-id']},
        ),
        migrations.AlterModelOptions(
            name='vendor',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['name']},
        ),
        migrations.AlterModelManagers(
            name='invoice',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='vendor',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterField(
            model_name='invoice',
            name='vendor',
            field=tenants.models.TenantForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='invoices', to='invoices.vendor'),
        ),
        drop_tenant_reference("invoices_invoice", "vendor_id", "invoices_vendor"),
        *[drop_tenant_key(table) for table in TABLES],
        *[tenant_primary_key(table) for table in TABLES],
        *[tenant_foreign_key(table) for table in TABLES],
        tenant_reference("invoices_invoice", "vendor_id", "invoices_vendor"),
    ]
