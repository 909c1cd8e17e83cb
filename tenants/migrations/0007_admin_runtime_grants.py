"""What the back office needs from the tenant runtime role on platform tables: one read grant.

Admin pages of tenant data run inside ``tenant_context`` (as the runtime role). Django's change
form looks up the model's ContentType (``ModelAdmin.render_change_form`` puts its id in the
template context), so the role must be able to read ``django_content_type``. That table only
names installed models (app label, model name): no tenant's data is in it, and it grants
nothing on any other table.

Deliberately *not* granted: ``django_session`` (the admin middleware loads the session before
entering the tenant; it is saved after the tenant transaction ends), ``auth_user``'s password
and flag columns (the user is loaded before entering the tenant), ``django_admin_log`` (it has
no tenant column: tenant admins write their history to ``AuditEvent`` instead), and
``auth_permission``/groups (roles come from memberships, not Django model permissions).
"""

from django.db import migrations

from tenants.rls import runtime_role_name

ROLE = runtime_role_name()


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_auditevent_rls"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"GRANT SELECT ON django_content_type TO {ROLE};",
            reverse_sql=f"REVOKE SELECT ON django_content_type FROM {ROLE};",
        ),
    ]
