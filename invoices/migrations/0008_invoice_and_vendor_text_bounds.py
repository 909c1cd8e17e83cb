"""Bounds for invoice descriptions (2,000 characters) and vendor aliases (20), enforced in SQL.

Adding a CHECK scans the table; rows stored before the bound that break it make the migration
refuse, naming the table (``AddTextBound``), instead of truncating them.
"""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from tenants.migration_operations import AddTextBound


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0007_composite_keys'),
        ('tenants', '0018_citus_distribution'),
    ]

    operations = [
        migrations.AlterField(
            model_name='invoice',
            name='description',
            field=models.TextField(blank=True, default='', max_length=2000),
        ),
        AddTextBound(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('description'), 2000), name='invoice_description_bounded'),
        ),
        AddTextBound(
            model_name='vendor',
            constraint=models.CheckConstraint(condition=models.Q(('aliases__len__lte', 20)), name='vendor_aliases_bounded'),
        ),
    ]
