"""Vendors (counterparties) and invoices: tenant tables under RLS."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from tenants.models import TenantForeignKey, TenantModel
from tenants.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, quantize


class Vendor(TenantModel):
    """A counterparty (supplier or customer) as it appears on invoices and bank statements."""

    name = models.CharField(max_length=200)
    iban = models.CharField(max_length=34, blank=True, default="", help_text="IBAN, no spaces")
    account_reference = models.CharField(
        max_length=64, blank=True, default="", help_text="Other account id (non-IBAN)"
    )
    aliases = ArrayField(
        models.CharField(max_length=200),
        blank=True,
        default=list,
        help_text="Other names it appears under on bank statements",
    )

    class Meta(TenantModel.Meta):
        ordering = ["name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="vendor_name_unique_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "iban"], name="vendor_tenant_iban_idx")]

    def __str__(self) -> str:
        return self.name


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class InvoiceKind(models.TextChoices):
    RECEIVABLE = "receivable", "Receivable (paid to us: bank credits)"
    PAYABLE = "payable", "Payable (paid by us: bank debits)"


def _amount_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        **kwargs,  # type: ignore[arg-type]
    )


class Invoice(TenantModel):
    """An invoice; ``amount_paid`` is maintained by confirmed reconciliation matches."""

    number = models.CharField(max_length=64, blank=True, default="")
    vendor = TenantForeignKey(
        Vendor, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.RECEIVABLE)
    amount = _amount_field()
    currency = models.CharField(max_length=3)
    description = models.TextField(blank=True, default="")
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    amount_paid = _amount_field(default=Decimal("0"), editable=False)
    outstanding_amount = models.GeneratedField(
        expression=F("amount") - F("amount_paid"),
        output_field=models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES),
        db_persist=True,
    )
    structured_reference = models.CharField(
        max_length=35, blank=True, default="", help_text="ISO 11649 RF creditor reference issued with it"
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "number"], condition=~Q(number=""), name="invoice_number_unique_per_tenant"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("amount")),
                name="invoice_amount_paid_within_amount",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="invoice_currency_iso"),
            models.CheckConstraint(condition=Q(status__in=InvoiceStatus.values), name="invoice_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=InvoiceKind.values), name="invoice_kind_valid"),
            models.CheckConstraint(
                condition=Q(due_date__isnull=True)
                | Q(issue_date__isnull=True)
                | Q(due_date__gte=F("issue_date")),
                name="invoice_due_not_before_issue",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="invoice_tenant_created_idx"),
            models.Index(fields=["tenant", "status", "-created_at"], name="invoice_tenant_status_idx"),
            models.Index(fields=["tenant", "vendor"], name="invoice_tenant_vendor_idx"),
            models.Index(fields=["tenant", "issue_date"], name="invoice_tenant_issue_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"Invoice {self.id}"

    @property
    def outstanding(self) -> Decimal:
        """Amount still to be paid, at the currency's minor unit (0 for an unsaved blank form)."""
        if self.amount is None or not self.currency:
            return Decimal("0")
        return quantize(self.amount - self.amount_paid, self.currency)
