"""The bytes a queued import works on (jobs_jobinput): a tenant table like every other (RLS, keys
with tenant_id, distributed on Citus before its keys), referencing its job with the composite key."""

import django.db.models.deletion
import django.db.models.manager
import tenants.models
import uuid
from django.db import migrations, models

from tenants.citus import distribute
from tenants.rls import enable_tenant_rls, tenant_foreign_key, tenant_primary_key, tenant_reference


def dropped_with_the_table(operation: migrations.RunSQL) -> migrations.RunSQL:
    """No reverse of its own: going back drops the table (Citus refuses the per-key reverses of
    a distributed table, e.g. a primary key without tenant_id)."""
    return migrations.RunSQL(operation.sql, reverse_sql=migrations.RunSQL.noop)


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0001_jobs'),
        ('tenants', '0020_tenantsettings_auto_reconcile'),
    ]

    operations = [
        migrations.CreateModel(
            name='JobInput',
            fields=[
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('file_name', models.CharField(blank=True, default='', max_length=255)),
                ('content', models.BinaryField()),
                ('size', models.PositiveIntegerField()),
                ('sha256', models.CharField(max_length=64)),
                ('job', tenants.models.TenantForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='inputs', to='jobs.job')),
                ('tenant', models.ForeignKey(db_constraint=False, db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant')),
            ],
            options={
                'abstract': False,
                'base_manager_name': 'tenant_routed',
                'indexes': [models.Index(fields=['tenant', 'job'], name='jobinput_tenant_job_idx')],
            },
            managers=[
                ('objects', django.db.models.manager.Manager()),
                ('tenant_routed', django.db.models.manager.Manager()),
            ],
        ),
        dropped_with_the_table(enable_tenant_rls("jobs_jobinput")),
        dropped_with_the_table(tenant_primary_key("jobs_jobinput")),
        migrations.RunPython(distribute, migrations.RunPython.noop),
        dropped_with_the_table(tenant_foreign_key("jobs_jobinput")),
        dropped_with_the_table(tenant_reference("jobs_jobinput", "job_id", "jobs_job")),
    ]
