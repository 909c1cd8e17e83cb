"""Bound bank transaction descriptions to 2,000 characters, enforced in SQL.

Adding a CHECK scans the table; rows stored before the bound that break it make the migration
refuse, naming the table (``AddTextBound``), instead of truncating them.
"""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from tenants.migration_operations import AddTextBound


class Migration(migrations.Migration):

    dependencies = [
        ('banking', '0007_composite_keys'),
        ('tenants', '0018_citus_distribution'),
    ]

    operations = [
        migrations.AlterField(
            model_name='banktransaction',
            name='description',
            field=models.TextField(blank=True, default='', max_length=2000),
        ),
        AddTextBound(
            model_name='banktransaction',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('description'), 2000), name='banktransaction_description_bounded'),
        ),
    ]
