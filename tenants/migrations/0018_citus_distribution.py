"""On Citus, distribute the schema: reference tables, then every tenant table by tenant_id.

Does nothing unless the ``citus`` extension exists in the database (see ``tenants.citus``).
Re-running it (``migrate tenants 0017`` then ``migrate``) places only what is not placed yet,
e.g. after the extension was added to a database migrated on plain PostgreSQL.
"""

from django.db import migrations

from tenants.citus import distribute


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0017_user_references_checked_at_once"),
        ("invoices", "0007_composite_keys"),
        ("banking", "0007_composite_keys"),
        ("reconciliation", "0007_composite_keys"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(distribute, migrations.RunPython.noop)]
