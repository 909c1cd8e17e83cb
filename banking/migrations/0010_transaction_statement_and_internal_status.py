"""Each transaction's statement, and the status ``internal`` (a leg of an internal transfer,
never allocated to invoices: a CHECK says so). The internal transfers' key to users, created
when 0009 ended, is made immediate (``tenants.rls.user_keys_immediate``).

On Citus the transactions table is distributed: its new column and constraints are DDL on every
shard, and a foreign key may follow only over the same connections
(``tenants.citus.one_connection_per_node``, first thing either way the migration runs).
"""

import django.db.models.deletion
import tenants.models
from django.db import migrations, models

from tenants.citus import one_connection_per_node
from tenants.rls import tenant_reference, user_keys_immediate


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0009_statements_and_internal_transfers"),
    ]

    operations = [
        migrations.RunPython(one_connection_per_node, migrations.RunPython.noop),
        user_keys_immediate("banking_internaltransfer"),
        migrations.RemoveConstraint(
            model_name="banktransaction",
            name="banktransaction_status_valid",
        ),
        migrations.AlterField(
            model_name="banktransaction",
            name="status",
            field=models.CharField(
                choices=[
                    ("unmatched", "Unmatched"),
                    ("matched", "Matched"),
                    ("ignored", "Ignored"),
                    ("internal", "Internal transfer"),
                ],
                default="unmatched",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="banktransaction",
            name="statement",
            field=tenants.models.TenantForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="The statement that first brought this transaction (none for CSV and API imports)",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="transactions",
                to="banking.bankstatement",
            ),
        ),
        migrations.AddConstraint(
            model_name="banktransaction",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["unmatched", "matched", "ignored", "internal"])),
                name="banktransaction_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="banktransaction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "internal"), _negated=True), ("allocated_amount", 0), _connector="OR"
                ),
                name="banktransaction_internal_unallocated",
            ),
        ),
        tenant_reference("banking_banktransaction", "statement_id", "banking_bankstatement"),
        # Unapplying runs the operations backwards: this one comes first then.
        migrations.RunPython(migrations.RunPython.noop, one_connection_per_node),
    ]
