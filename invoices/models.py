"""Vendors (counterparties) and invoices: tenant tables under RLS."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from common import limits
from common.finance import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, IBAN_MAX_LENGTH, quantize
from common.finance.labels import invoice_label
from common.finance.terms import DISCOUNT_PERCENT_PLACES, MAX_TERM_DAYS, PaymentTerms, format_payment_terms
from tenants.models import TenantForeignKey, TenantModel, TenantScopedManager


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


class EvidenceKind(models.TextChoices):
    ALIAS = "alias", "Payer name"
    ACCOUNT = "account", "Payer account"


class VendorLearnedEvidence(TenantModel):
    """A payer name or account the team taught the engine for a customer by confirming a match.

    A person's confirmation of a payment whose payer name or account was not yet known for the
    invoice's customer records it here (``reconciliation.services.match_confirm``, same
    transaction); the engine then counts it exactly like an alias or IBAN the customer was
    created with, auto-confirmation included. ``taught_by`` holds the ids of the confirmed
    matches that taught it (plain ids, not keys: matches belong to reconciliation, an app above
    this one, like a job's result); when every one of them is undone, the evidence goes too.
    ``normalized_value`` is the engine's comparison key (``reconciliation.engine.payers``), one
    row per customer and key; ``value`` is the text as the statement showed it.
    """

    vendor = TenantForeignKey(Vendor, on_delete=models.CASCADE, related_name="learned_evidence")
    kind = models.CharField(max_length=8, choices=EvidenceKind.choices)
    value = models.CharField(max_length=limits.NAME)
    normalized_value = models.CharField(max_length=limits.NAME)
    taught_by = ArrayField(
        models.UUIDField(), default=list, help_text="Ids of the confirmed matches that taught it"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name = "learned payer name or account"
        verbose_name_plural = "learned payer names and accounts"
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "vendor", "kind", "normalized_value"], name="learned_evidence_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EvidenceKind.values), name="learned_evidence_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(taught_by__len__lte=limits.LEARNED_TEACHERS),
                name="learned_evidence_teachers_bounded",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "vendor"], name="learned_evidence_vendor_idx"),
            models.Index(
                fields=["created_by"], condition=Q(created_by__isnull=False), name="learned_evidence_user_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"


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
    settled. Void stays void (payments never revive it); paid in full is paid; something paid is
    partially paid; nothing paid is open. Confirming, undoing and auto-confirming use it.

    ``paid`` (``Invoice.amount_paid``) counts everything confirmed matches settled: the money
    received, an absorbed bank fee and a write-off (``amount_written_off`` says how much of it
    was written off), so a write-off within policy settles the invoice by this same rule."""
    if current == InvoiceStatus.VOID:
        return current
    if paid >= amount:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTIALLY_PAID if paid > 0 else InvoiceStatus.OPEN


def write_off_limit_exceeded(
    *, shortfall: Decimal, invoice_amount: Decimal, max_amount: Decimal, max_percent: Decimal
) -> str | None:
    """Which limit of a write-off policy ``shortfall`` exceeds on an invoice of
    ``invoice_amount``: ``"amount"`` (more than ``max_amount``), ``"percent"`` (more than
    ``max_percent`` % of the invoice), or None when it may be written off.

    Both limits apply, because each alone misleads: 5.00 of a 10.00 invoice is no rounding, and
    2 % of a 500,000 invoice is no fee. A policy of 0 allows nothing."""
    if shortfall > max_amount:
        return "amount"
    if shortfall * 100 > invoice_amount * max_percent:
        return "percent"
    return None


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
    # Part of amount_paid, like an absorbed bank fee: what confirmations wrote off (a discount
    # taken, a fee, rounding) within the tenant's policy. Settled, not received: shown apart.
    amount_written_off = _amount_field(default=Decimal("0"), db_default=Decimal("0"), editable=False)
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
    # Payment terms ("2/10 net 30", common.finance.terms): an early-payment discount of
    # discount_percent % when paid within discount_days of the issue date; net_days as printed
    # (the due date stays the invoice's own field). Percent and discount days go together.
    discount_percent = models.DecimalField(
        max_digits=2 + DISCOUNT_PERCENT_PLACES,
        decimal_places=DISCOUNT_PERCENT_PLACES,
        null=True,
        blank=True,
        help_text="Early-payment discount in percent (more than 0, less than 100)",
    )
    # Small integers with named CHECKs (invoice_term_days_bounded), not Positive... fields: Citus
    # refuses ADD COLUMN with an unnamed CHECK.
    discount_days = models.SmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TERM_DAYS)],
        help_text="Days from the issue date within which the discount may be taken",
    )
    net_days = models.SmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TERM_DAYS)],
        help_text="Days from the issue date within which the full amount is due",
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
            models.CheckConstraint(
                condition=Q(amount_written_off__gte=0) & Q(amount_written_off__lte=F("amount_paid")),
                name="invoice_written_off_within_paid",
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
            # The rules of common.finance.terms.check_terms, as the database's last word.
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True, discount_days__isnull=True)
                | Q(
                    discount_percent__isnull=False,  # NULL > 0 is NULL, which a CHECK lets pass
                    discount_percent__gt=0,
                    discount_percent__lt=100,
                    discount_days__isnull=False,
                ),
                name="invoice_discount_complete",
            ),
            models.CheckConstraint(
                condition=(
                    Q(discount_days__isnull=True) | Q(discount_days__gte=1, discount_days__lte=MAX_TERM_DAYS)
                )
                & (Q(net_days__isnull=True) | Q(net_days__gte=1, net_days__lte=MAX_TERM_DAYS)),
                name="invoice_term_days_bounded",
            ),
            models.CheckConstraint(
                condition=Q(discount_days__isnull=True)
                | Q(net_days__isnull=True)
                | Q(discount_days__lte=F("net_days")),
                name="invoice_discount_within_net",
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
    def payment_terms(self) -> str:
        """The terms as printed ("2/10 net 30"), "" when the invoice has none."""
        return format_payment_terms(PaymentTerms(self.discount_percent, self.discount_days, self.net_days))

    @property
    def outstanding(self) -> Decimal:
        """Amount still to be paid, at the currency's minor unit (0 for an unsaved blank form)."""
        if self.amount is None or not self.currency:
            return Decimal("0")
        return quantize(self.amount - self.amount_paid, self.currency)
