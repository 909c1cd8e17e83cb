"""Bank accounts, imported transactions and import batches: tenant tables under RLS."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs, Length
from django.db.models.lookups import LessThanOrEqual

from tenants import limits
from tenants.models import TenantForeignKey, TenantModel, TenantScopedManager
from tenants.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, format_money


class BankAccount(TenantModel):
    """One of the tenant's accounts, as the bank names it (IBAN or the bank's account id)."""

    DEFAULT_IDENTIFIER = "default"

    identifier = models.CharField(max_length=limits.ACCOUNT, help_text="IBAN or the bank's account id")
    name = models.CharField(max_length=limits.NAME, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")

    class Meta(TenantModel.Meta):
        ordering = ["identifier"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "identifier"], name="bankaccount_identifier_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.identifier


class ImportSource(models.TextChoices):
    API = "api", "API"
    FILE = "file", "Statement file (API)"
    ADMIN = "admin", "Admin upload"
    COMMAND = "command", "Management command"


class ImportBatch(TenantModel):
    """One import: where it came from and what it did."""

    source = models.CharField(max_length=10, choices=ImportSource.choices)
    file_name = models.CharField(max_length=limits.FILE_NAME, blank=True, default="")
    file_format = models.CharField(max_length=16, blank=True, default="")
    file_sha256 = models.CharField(max_length=64, blank=True, default="")
    received_count = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["tenant", "-created_at"], name="importbatch_tenant_created_idx")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.file_name or ''} {self.created_at:%Y-%m-%d %H:%M}".strip()


class TransactionStatus(models.TextChoices):
    UNMATCHED = "unmatched", "Unmatched"
    MATCHED = "matched", "Matched"
    IGNORED = "ignored", "Ignored"


def transaction_status_for(amount: Decimal, allocated: Decimal, current: str) -> str:
    """The settlement rule of bank transactions: the status of one of (signed) ``amount`` of
    which ``allocated`` (absolute) is allocated to invoices. Ignored stays ignored; allocated in
    full is matched; anything less is unmatched (money left to allocate). Confirming, undoing
    and auto-confirming use it."""
    if current == TransactionStatus.IGNORED:
        return current
    return TransactionStatus.MATCHED if allocated >= abs(amount) else TransactionStatus.UNMATCHED


class BankTransactionQuerySet(models.QuerySet["BankTransaction"]):
    def unmatched(self) -> BankTransactionQuerySet:
        """Transactions with money left to allocate: unmatched and not fully allocated, so
        never one of amount 0. What the engine matches, the workbench lists, the admin's
        export and the dashboard count."""
        return self.filter(status=TransactionStatus.UNMATCHED, allocated_amount__lt=Abs("amount"))


BankTransactionManager = TenantScopedManager.from_queryset(BankTransactionQuerySet)


class BankTransaction(TenantModel):
    """A booked bank transaction. ``amount`` is signed: credits > 0, debits < 0."""

    account = TenantForeignKey(BankAccount, on_delete=models.PROTECT, related_name="transactions")
    import_batch = TenantForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="transactions")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    # text, not varchar: bounded by the CHECK below, so the bound can change without a rewrite.
    description = models.TextField(blank=True, default="", max_length=limits.DESCRIPTION)
    counterparty_name = models.CharField(max_length=limits.NAME, blank=True, default="")
    counterparty_account = models.CharField(max_length=limits.ACCOUNT, blank=True, default="")
    external_id = models.CharField(
        max_length=limits.TRANSACTION_REFERENCE, blank=True, default="", help_text="Bank reference"
    )
    end_to_end_id = models.CharField(max_length=limits.TRANSACTION_REFERENCE, blank=True, default="")
    structured_reference = models.CharField(max_length=limits.STRUCTURED_REFERENCE, blank=True, default="")
    return_reason = models.CharField(max_length=limits.RETURN_REASON, blank=True, default="")
    dedup_key = models.CharField(
        max_length=160,
        editable=False,
        help_text="'ref:' + bank reference, or 'fp:' + fingerprint of date, amount, currency, "
        "description and position within the day",
    )
    status = models.CharField(
        max_length=10, choices=TransactionStatus.choices, default=TransactionStatus.UNMATCHED
    )
    allocated_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal("0"),
        editable=False,
        help_text="Absolute amount allocated to invoices by confirmed matches",
    )

    objects: ClassVar[BankTransactionManager] = BankTransactionManager()

    class Meta(TenantModel.Meta):
        ordering = ["-booking_date", "-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "account", "dedup_key"], name="banktransaction_no_duplicates"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="banktransaction_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TransactionStatus.values), name="banktransaction_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(allocated_amount__gte=0)
                & (Q(allocated_amount__lte=F("amount")) | Q(allocated_amount__lte=-F("amount"))),
                name="banktransaction_allocation_within_amount",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), limits.DESCRIPTION),
                name="banktransaction_description_bounded",
            ),
        ]
        # Few indexes on purpose: each one costs every imported row. The list API pages by
        # (created_at, id); reconciliation reads by status; dedup has its unique key.
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="banktx_tenant_created_idx"),
            models.Index(fields=["tenant", "status", "booking_date"], name="banktx_tenant_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {format_money(self.amount, self.currency)} {self.description[:40]}"
