"""Imported statements with their balances and continuity, and internal transfers between own
accounts.

Two tenant tables, set up as every tenant table (tenants.citus, "Adding a tenant table
later"): RLS, (tenant_id, id) primary keys, distributed by tenant_id on Citus before their
keys are added, composite foreign keys between tenant tables, keys to users checked at once.
The key to users is created with the table (Django adds it when the migration ends, after the
distribution: a key to a reference table would make Citus turn a table that is still local into
a "Citus local table", which cannot then be distributed); 0010 makes it immediate.
"""

import django.db.models.deletion
import django.db.models.manager
import tenants.models
import uuid
from django.conf import settings
from django.db import migrations, models

from tenants.citus import distribute, one_connection_per_node
from tenants.rls import (
    enable_tenant_rls,
    tenant_foreign_key,
    tenant_primary_key,
    tenant_reference,
)

TABLES = ("banking_bankstatement", "banking_internaltransfer")


REFERENCES = (
    ("banking_bankstatement", "account_id", "banking_bankaccount"),
    ("banking_bankstatement", "import_batch_id", "banking_importbatch"),
    ("banking_bankstatement", "previous_statement_id", "banking_bankstatement"),
    ("banking_internaltransfer", "outgoing_id", "banking_banktransaction"),
    ("banking_internaltransfer", "incoming_id", "banking_banktransaction"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0008_transaction_description_bounded"),
        ("tenants", "0019_invitation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(one_connection_per_node, migrations.RunPython.noop),
        migrations.CreateModel(
            name="BankStatement",
            fields=[
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "id",
                    models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False),
                ),
                ("file_format", models.CharField(max_length=16)),
                (
                    "statement_id",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The bank's id of the statement (CAMT Stmt/Id, MT940 :20:)",
                        max_length=128,
                    ),
                ),
                (
                    "sequence",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="Sequence number as written (CAMT ElctrncSeqNb, MT940 :28C:)",
                        max_length=35,
                    ),
                ),
                ("sequence_number", models.BigIntegerField(blank=True, editable=False, null=True)),
                ("page_number", models.BigIntegerField(blank=True, editable=False, null=True)),
                ("period_start", models.DateField(blank=True, null=True)),
                ("period_end", models.DateField(blank=True, null=True)),
                ("currency", models.CharField(max_length=3)),
                (
                    "opening_balance",
                    models.DecimalField(blank=True, decimal_places=4, max_digits=18, null=True),
                ),
                ("opening_date", models.DateField(blank=True, null=True)),
                (
                    "closing_balance",
                    models.DecimalField(blank=True, decimal_places=4, max_digits=18, null=True),
                ),
                ("closing_date", models.DateField(blank=True, null=True)),
                (
                    "movements_sum",
                    models.DecimalField(
                        blank=True,
                        decimal_places=4,
                        help_text="Sum of the statement's transactions (null: one is in another currency)",
                        max_digits=18,
                        null=True,
                    ),
                ),
                ("movements_count", models.PositiveIntegerField(default=0)),
                ("fingerprint", models.CharField(editable=False, max_length=64)),
                (
                    "opening_difference",
                    models.DecimalField(blank=True, decimal_places=4, max_digits=19, null=True),
                ),
                (
                    "movement_difference",
                    models.DecimalField(blank=True, decimal_places=4, max_digits=20, null=True),
                ),
                ("has_break", models.BooleanField(default=False)),
                (
                    "account",
                    tenants.models.TenantForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="statements",
                        to="banking.bankaccount",
                    ),
                ),
                (
                    "import_batch",
                    tenants.models.TenantForeignKey(
                        db_constraint=False,
                        db_index=False,
                        help_text="The import that first brought this statement",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="statements",
                        to="banking.importbatch",
                    ),
                ),
                (
                    "previous_statement",
                    tenants.models.TenantForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="banking.bankstatement",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "abstract": False,
                "base_manager_name": "tenant_routed",
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("tenant_routed", django.db.models.manager.Manager()),
            ],
        ),
        migrations.CreateModel(
            name="InternalTransfer",
            fields=[
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "id",
                    models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("paired", "Paired"), ("unpaired", "Unpaired")],
                        default="paired",
                        max_length=10,
                    ),
                ),
                (
                    "days_apart",
                    models.PositiveSmallIntegerField(help_text="Days between the two legs' booking dates"),
                ),
                ("unpaired_at", models.DateTimeField(blank=True, null=True)),
                (
                    "unpaired_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "incoming",
                    tenants.models.TenantForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="banking.banktransaction",
                    ),
                ),
                (
                    "outgoing",
                    tenants.models.TenantForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="banking.banktransaction",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "abstract": False,
                "base_manager_name": "tenant_routed",
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("tenant_routed", django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddIndex(
            model_name="bankstatement",
            index=models.Index(fields=["tenant", "-created_at", "-id"], name="bankstatement_created_idx"),
        ),
        migrations.AddIndex(
            model_name="bankstatement",
            index=models.Index(fields=["tenant", "account", "closing_date"], name="bankstatement_chain_idx"),
        ),
        migrations.AddConstraint(
            model_name="bankstatement",
            constraint=models.UniqueConstraint(
                fields=("tenant", "account", "fingerprint"), name="bankstatement_once_per_account"
            ),
        ),
        migrations.AddConstraint(
            model_name="bankstatement",
            constraint=models.CheckConstraint(
                condition=models.Q(("currency__regex", "^[A-Z]{3}$")), name="bankstatement_currency_iso"
            ),
        ),
        migrations.AddConstraint(
            model_name="bankstatement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("has_break", True),
                        models.Q(
                            models.Q(
                                ("opening_difference__isnull", False),
                                models.Q(
                                    ("opening_difference__lt", 0),
                                    ("opening_difference__gt", 0),
                                    _connector="OR",
                                ),
                            ),
                            models.Q(
                                ("movement_difference__isnull", False),
                                models.Q(
                                    ("movement_difference__lt", 0),
                                    ("movement_difference__gt", 0),
                                    _connector="OR",
                                ),
                            ),
                            _connector="OR",
                        ),
                    ),
                    models.Q(
                        ("has_break", False),
                        models.Q(
                            models.Q(
                                ("opening_difference__isnull", False),
                                models.Q(
                                    ("opening_difference__lt", 0),
                                    ("opening_difference__gt", 0),
                                    _connector="OR",
                                ),
                            ),
                            models.Q(
                                ("movement_difference__isnull", False),
                                models.Q(
                                    ("movement_difference__lt", 0),
                                    ("movement_difference__gt", 0),
                                    _connector="OR",
                                ),
                            ),
                            _connector="OR",
                            _negated=True,
                        ),
                    ),
                    _connector="OR",
                ),
                name="bankstatement_break_follows_differences",
            ),
        ),
        migrations.AddIndex(
            model_name="internaltransfer",
            index=models.Index(fields=["tenant", "-created_at", "-id"], name="internaltransfer_created_idx"),
        ),
        migrations.AddIndex(
            model_name="internaltransfer",
            index=models.Index(fields=["tenant", "incoming"], name="internaltransfer_incoming_idx"),
        ),
        migrations.AddConstraint(
            model_name="internaltransfer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "paired")),
                fields=("tenant", "outgoing"),
                name="internaltransfer_outgoing_paired_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="internaltransfer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "paired")),
                fields=("tenant", "incoming"),
                name="internaltransfer_incoming_paired_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="internaltransfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("outgoing", models.F("incoming")), _negated=True),
                name="internaltransfer_two_legs",
            ),
        ),
        migrations.AddConstraint(
            model_name="internaltransfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["paired", "unpaired"])),
                name="internaltransfer_status_valid",
            ),
        ),
        *[enable_tenant_rls(table) for table in TABLES],
        # Unapplied, the tables are dropped and their keys with them: no way back to a key
        # without tenant_id (which Citus would refuse on a distributed table anyway).
        *[migrations.RunSQL(tenant_primary_key(table).sql, migrations.RunSQL.noop) for table in TABLES],
        migrations.RunPython(distribute, migrations.RunPython.noop),
        *[tenant_foreign_key(table) for table in TABLES],
        *[tenant_reference(*reference) for reference in REFERENCES],
        # Unapplying runs the operations backwards: this one comes first then.
        migrations.RunPython(migrations.RunPython.noop, one_connection_per_node),
    ]
