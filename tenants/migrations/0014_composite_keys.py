"""Keys Citus can distribute: (tenant_id, id) primary keys and a foreign key to the tenant.

The tenant-key triggers (tenants.rls_history) give way to the database's own foreign keys; the
trigger functions are dropped once every app has dropped its triggers (0015).
"""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models

from tenants.rls import tenant_foreign_key, tenant_primary_key
from tenants.rls_history import drop_tenant_key

TABLES = ("tenants_tenantsettings", "tenants_idempotencykey", "tenants_auditevent")


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0013_tenant_keys'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditevent',
            options={'base_manager_name': 'tenant_routed', 'ordering': ['-created_at', '-id']},
        ),
        migrations.AlterModelOptions(
            name='idempotencykey',
            options={'base_manager_name': 'tenant_routed'},
        ),
        migrations.AlterModelOptions(
            name='tenantsettings',
            options={'base_manager_name': 'tenant_routed', 'verbose_name_plural': 'tenant settings'},
        ),
        migrations.AlterModelManagers(
            name='auditevent',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='idempotencykey',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        migrations.AlterModelManagers(
            name='tenantsettings',
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        *[drop_tenant_key(table) for table in TABLES],
        *[tenant_primary_key(table) for table in (*TABLES, "tenants_membership")],
        *[tenant_foreign_key(table) for table in TABLES],
        # Memberships: Django's deferred key to the tenant gives way to the same named key.
        migrations.AlterField(
            model_name="membership",
            name="tenant",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to="tenants.tenant",
            ),
        ),
        tenant_foreign_key("tenants_membership"),
    ]
