"""The window of days in which two legs of a transfer between own accounts are paired, bounded in
the database by a named CHECK (Citus refuses a new column with an unnamed one)."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0022_write_off_policy_and_rejection_memory'),
    ]

    operations = [
        migrations.AddField(
            model_name='tenantsettings',
            name='internal_transfer_days',
            field=models.SmallIntegerField(db_default=4, default=4, help_text="How many days apart the two legs of a transfer between the tenant's own accounts may be booked to be paired as an internal transfer (0: the same day).", validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(31)]),
        ),
        migrations.AddConstraint(
            model_name='tenantsettings',
            constraint=models.CheckConstraint(condition=models.Q(('internal_transfer_days__gte', 0), ('internal_transfer_days__lte', 31)), name='tenantsettings_internal_transfer_days_range'),
        ),
    ]
