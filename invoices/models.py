"""Vendors (counterparties) and invoices: tenant tables under RLS."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from common.finance import IBAN_MAX_LENGTH
from common.finance.labels import invoice_label
from tenants import limits
from tenants.models import TenantForeignKey, TenantModel, TenantScopedManager
from tenants.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, quantize


class Vendor(TenantModel):
    """A counterparty (supplier or customer) as it appears on invoices and bank statements."""

    name = models.CharField(max_length=limits.NAME)
    iban = models.CharField(max_length=IBAN_MAX_LENGTH, blank=True, default="", help_text="IBAN, no spaces")
    account_reference = models.CharField(
        max_length=limits.ACCOUNT, blank=True, default="", help_text="Other account id (non-IBAN)"
    )
    aliases = ArrayField(
        models.CharField(max_length=limits.NAME),
        blank=True,
        default=list,
        help_text="Other names it appears under on bank statements",
    )

    class Meta(TenantModel.Meta):
        ordering = ["name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="vendor_name_unique_per_tenant"),
            # The service validates the count (ArrayField's size would be ignored by PostgreSQL).
            models.CheckConstraint(
                condition=Q(aliases__len__lte=limits.ALIASES_PER_VENDOR), name="vendor_aliases_bounded"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "iban"], name="vendor_tenant_iban_idx")]

    def __str__(self) -> str:
        return self.name


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


#: The statuses of an invoice that still expects money.
OPEN_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)
# "Open": an open or partially paid invoice with something outstanding. The status and the
# amount agree whenever the settlement rule below wrote them; both are asked, so a row whose
# amount was lowered to what was paid (or a void one) never counts as open.
_OPEN = Q(status__in=OPEN_INVOICE_STATUSES, outstanding_amount__gt=0)


def invoice_status_for(amount: Decimal, paid: Decimal, current: str) -> str:
    """The settlement rule of invoices: the status of one of ``amount`` of which ``paid`` is
    paid. Void stays void (payments never revive it); paid in full is paid; something paid is
    partially paid; nothing paid is open. Confirming, undoing and auto-confirming use it."""
    if current == InvoiceStatus.VOID:
        return current
    if paid >= amount:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTIALLY_PAID if paid > 0 else InvoiceStatus.OPEN


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def open(self) -> InvoiceQuerySet:
        """Invoices still to be paid: what the engine matches, the workbench lists, the admin's
        "Something outstanding" filter and export show, and the dashboard counts."""
        return self.filter(_OPEN)

    def not_open(self) -> InvoiceQuerySet:
        """Everything :meth:`open` leaves out: paid, void, nothing outstanding."""
        return self.exclude(_OPEN)


InvoiceManager = TenantScopedManager.from_queryset(InvoiceQuerySet)


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

    number = models.CharField(max_length=limits.INVOICE_NUMBER, blank=True, default="")
    vendor = TenantForeignKey(
        Vendor, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.RECEIVABLE)
    amount = _amount_field()
    currency = models.CharField(max_length=3)
    # text, not varchar: bounded by the CHECK below (and max_length for forms), so the bound can
    # change without rewriting the column.
    description = models.TextField(blank=True, default="", max_length=limits.DESCRIPTION)
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
        max_length=limits.INVOICE_REFERENCE,
        blank=True,
        default="",
        help_text="ISO 11649 RF creditor reference issued with it",
    )

    objects: ClassVar[InvoiceManager] = InvoiceManager()

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
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), limits.DESCRIPTION),
                name="invoice_description_bounded",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="invoice_tenant_created_idx"),
            models.Index(fields=["tenant", "status", "-created_at"], name="invoice_tenant_status_idx"),
            models.Index(fields=["tenant", "vendor"], name="invoice_tenant_vendor_idx"),
            models.Index(fields=["tenant", "issue_date"], name="invoice_tenant_issue_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How pages, messages and exports name the invoice (``invoice_label``, the engine's
        words too): its number, or its vendor, amount and date (issue, else due, else the day
        it was recorded), never its id. Lists select the vendor with the invoice."""
        recorded = timezone.localdate(self.created_at) if self.created_at else None
        return invoice_label(
            self.number or "",
            party=self.vendor.name if self.vendor_id and self.vendor else "",
            amount=self.amount,
            currency=self.currency or "",
            day=self.issue_date or self.due_date or recorded,
        )

    @property
    def outstanding(self) -> Decimal:
        """Amount still to be paid, at the currency's minor unit (0 for an unsaved blank form)."""
        if self.amount is None or not self.currency:
            return Decimal("0")
        return quantize(self.amount - self.amount_paid, self.currency)
