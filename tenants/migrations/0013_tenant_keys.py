"""Tenant keys: tenant_id checked per statement by triggers, not by a per-row foreign key."""

import django.db.models.deletion
from django.db import migrations, models

from tenants.rls_history import create_tenant_key_functions, tenant_key


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0012_settings_date_window_bound'),
    ]

    operations = [
        create_tenant_key_functions(),
        migrations.AlterField(
            model_name='auditevent',
            name='tenant',
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant'),
        ),
        migrations.AlterField(
            model_name='idempotencykey',
            name='tenant',
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant'),
        ),
        migrations.AlterField(
            model_name='tenantsettings',
            name='tenant',
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant'),
        ),
        tenant_key('tenants_tenantsettings'),
        tenant_key('tenants_idempotencykey'),
        tenant_key('tenants_auditevent'),
    ]
