"""Tenant keys: tenant_id checked per statement by triggers, not by a per-row foreign key."""

import django.db.models.deletion
from django.db import migrations, models

from tenants.rls_history import tenant_key


class Migration(migrations.Migration):

    dependencies = [
        ('banking', '0005_banktransaction_no_tenant_id_key'),
        ('tenants', '0013_tenant_keys'),
    ]

    operations = [
        migrations.AlterField(
            model_name='bankaccount',
            name='tenant',
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant'),
        ),
        migrations.AlterField(
            model_name='importbatch',
            name='tenant',
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant'),
        ),
        tenant_key('banking_bankaccount'),
        tenant_key('banking_importbatch'),
        tenant_key('banking_banktransaction'),
    ]
