"""The window of days in which two legs of a transfer between own accounts are paired."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0019_invitation'),
    ]

    operations = [
        migrations.AddField(
            model_name='tenantsettings',
            name='internal_transfer_days',
            field=models.PositiveSmallIntegerField(db_default=4, default=4, help_text="How many days apart the two legs of a transfer between the tenant's own accounts may be booked to be paired as an internal transfer (0: the same day).", validators=[django.core.validators.MaxValueValidator(31)]),
        ),
    ]
