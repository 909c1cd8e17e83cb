"""Learned payer names and accounts (invoices_vendorlearnedevidence), a tenant table like every
other (RLS, keys with tenant_id, distributed on Citus before its keys, keys to users checked at
once, the composite key to its vendor); and what confirmations wrote off on an invoice."""

import django.contrib.postgres.fields
import django.db.models.deletion
import django.db.models.manager
import tenants.models
import uuid
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from tenants.citus import distribute, one_connection_per_node
from tenants.rls import (
    enable_tenant_rls,
    tenant_foreign_key,
    tenant_primary_key,
    tenant_reference,
    user_keys_immediate,
)


def dropped_with_the_table(operation: migrations.RunSQL) -> migrations.RunSQL:
    """No reverse of its own: going back drops the table (Citus refuses the per-key reverses of
    a distributed table, e.g. a primary key without tenant_id)."""
    return migrations.RunSQL(operation.sql, reverse_sql=migrations.RunSQL.noop)


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0008_invoice_and_vendor_text_bounds"),
        ("tenants", "0022_write_off_policy_and_rejection_memory"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Citus: DDL over one connection per node, so a foreign key may follow the shards' ALTERs.
        migrations.RunPython(one_connection_per_node, migrations.RunPython.noop),
        migrations.CreateModel(
            name="VendorLearnedEvidence",
            fields=[
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "id",
                    models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("alias", "Payer name"), ("account", "Payer account")], max_length=8
                    ),
                ),
                ("value", models.CharField(max_length=200)),
                ("normalized_value", models.CharField(max_length=200)),
                (
                    "taught_by",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.UUIDField(),
                        default=list,
                        help_text="Ids of the confirmed matches that taught it",
                        size=None,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
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
                (
                    "vendor",
                    tenants.models.TenantForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="learned_evidence",
                        to="invoices.vendor",
                    ),
                ),
            ],
            options={
                "verbose_name": "learned payer name or account",
                "verbose_name_plural": "learned payer names and accounts",
                "ordering": ["-created_at", "-id"],
                "abstract": False,
                "base_manager_name": "tenant_routed",
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("tenant_routed", django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddField(
            model_name="invoice",
            name="amount_written_off",
            field=models.DecimalField(
                db_default=Decimal("0"), decimal_places=4, default=Decimal("0"), editable=False, max_digits=18
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount_written_off__gte", 0), ("amount_written_off__lte", models.F("amount_paid"))
                ),
                name="invoice_written_off_within_paid",
            ),
        ),
        migrations.AddIndex(
            model_name="vendorlearnedevidence",
            index=models.Index(fields=["tenant", "vendor"], name="learned_evidence_vendor_idx"),
        ),
        migrations.AddIndex(
            model_name="vendorlearnedevidence",
            index=models.Index(
                condition=models.Q(("created_by__isnull", False)),
                fields=["created_by"],
                name="learned_evidence_user_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="vendorlearnedevidence",
            constraint=models.UniqueConstraint(
                fields=("tenant", "vendor", "kind", "normalized_value"), name="learned_evidence_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="vendorlearnedevidence",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["alias", "account"])), name="learned_evidence_kind_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="vendorlearnedevidence",
            constraint=models.CheckConstraint(
                condition=models.Q(("taught_by__len__lte", 20)), name="learned_evidence_teachers_bounded"
            ),
        ),
        dropped_with_the_table(enable_tenant_rls("invoices_vendorlearnedevidence")),
        dropped_with_the_table(tenant_primary_key("invoices_vendorlearnedevidence")),
        migrations.RunPython(distribute, migrations.RunPython.noop),
        dropped_with_the_table(tenant_foreign_key("invoices_vendorlearnedevidence")),
        dropped_with_the_table(user_keys_immediate("invoices_vendorlearnedevidence")),
        dropped_with_the_table(
            tenant_reference("invoices_vendorlearnedevidence", "vendor_id", "invoices_vendor")
        ),
        # ... and the same first thing when the migration is unapplied.
        migrations.RunPython(migrations.RunPython.noop, one_connection_per_node),
    ]
