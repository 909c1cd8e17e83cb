"""The trigger functions of the tenant references and tenant keys, unused since the composite keys."""

from django.db import migrations

from tenants.rls_history import create_tenant_key_functions, create_tenant_reference_functions, undo


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0014_composite_keys"),
        ("invoices", "0007_composite_keys"),
        ("banking", "0007_composite_keys"),
        ("reconciliation", "0007_composite_keys"),
    ]

    operations = [
        undo(create_tenant_key_functions()),
        undo(create_tenant_reference_functions()),
    ]
