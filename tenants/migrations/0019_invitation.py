"""Invitations: owners invite a username or e-mail address; the invitee accepts or declines.

RLS as on memberships: inside a tenant only its invitations; outside any tenant the owner
login (which finds the invitations addressed to a caller) sees every row. Keys as on every
table with a tenant: primary key (tenant_id, id), tenant_id -> tenants_tenant, keys to users
checked at once; on Citus it is distributed by tenant_id before its keys are added
(tenants.citus).
"""

import django.db.models.deletion
import django.db.models.functions.text
import uuid
from django.conf import settings
from django.db import migrations, models

from tenants.citus import distribute
from tenants.rls import TENANT_GUC, enable_tenant_rls, tenant_foreign_key, tenant_primary_key, user_keys_immediate


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0018_citus_distribution'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Invitation',
            fields=[
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('invitee', models.CharField(help_text='Username or e-mail address as the owner typed it (normalised).', max_length=254)),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('accountant', 'Accountant'), ('viewer', 'Viewer')], default='viewer', max_length=20)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('accepted', 'Accepted'), ('declined', 'Declined'), ('revoked', 'Revoked'), ('expired', 'Expired')], default='pending', max_length=10)),
                ('expires_at', models.DateTimeField()),
                ('decided_at', models.DateTimeField(blank=True, help_text='When it was accepted, declined or revoked.', null=True)),
                ('decided_by', models.ForeignKey(blank=True, help_text='The invitee who accepted or declined, or the owner who revoked.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('invited_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='tenants.tenant')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['tenant', '-created_at'], name='invitation_tenant_created_idx'), models.Index(django.db.models.functions.text.Lower('invitee'), condition=models.Q(('status', 'pending')), name='invitation_pending_invitee_idx')],
                'constraints': [models.UniqueConstraint(models.F('tenant'), django.db.models.functions.text.Lower('invitee'), condition=models.Q(('status', 'pending')), name='invitation_one_pending_per_invitee'), models.CheckConstraint(condition=models.Q(('role__in', ['owner', 'accountant', 'viewer'])), name='invitation_role_valid'), models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'accepted', 'declined', 'revoked', 'expired'])), name='invitation_status_valid')],
            },
        ),
        enable_tenant_rls("tenants_invitation"),
        migrations.RunSQL(
            sql=f"""
CREATE POLICY platform_access ON tenants_invitation
    AS PERMISSIVE FOR ALL TO CURRENT_USER
    USING ({TENANT_GUC} IS NULL)
    WITH CHECK ({TENANT_GUC} IS NULL);
""",
            reverse_sql="DROP POLICY platform_access ON tenants_invitation;",
        ),
        # No reverse: the table is dropped on the way back, and Citus refuses a primary key
        # without tenant_id on a distributed table.
        migrations.RunSQL(tenant_primary_key("tenants_invitation").sql, reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(distribute, migrations.RunPython.noop),
        tenant_foreign_key("tenants_invitation"),
        user_keys_immediate("tenants_invitation"),
    ]
