"""Bank accounts, imported statements and transactions, import batches and internal transfers:
tenant tables under RLS."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Abs, Length
from django.db.models.lookups import LessThanOrEqual

from common import limits
from common.finance import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, format_money
from tenants.models import TenantForeignKey, TenantModel, TenantScopedManager


class BankAccount(TenantModel):
    """One of the tenant's accounts, as the bank names it (IBAN or the bank's account id)."""

    DEFAULT_IDENTIFIER = "default"
    DEFAULT_NAME = "Default account"

    @classmethod
    def name_for(cls, identifier: str) -> str:
        """The name an account gets when an import creates it."""
        return cls.DEFAULT_NAME if identifier == cls.DEFAULT_IDENTIFIER else identifier

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
    # One leg of a transfer between two of the tenant's own accounts (``InternalTransfer``):
    # settled by its other leg, never allocated to invoices.
    INTERNAL = "internal", "Internal transfer"


def transaction_status_for(amount: Decimal, allocated: Decimal, current: str) -> str:
    """The settlement rule of bank transactions: the status of one of (signed) ``amount`` of
    which ``allocated`` (absolute) is allocated to invoices. Ignored stays ignored and an
    internal transfer stays one; allocated in full is matched; anything less is unmatched
    (money left to allocate). Confirming, undoing and auto-confirming use it."""
    if current in (TransactionStatus.IGNORED, TransactionStatus.INTERNAL):
        return current
    return TransactionStatus.MATCHED if allocated >= abs(amount) else TransactionStatus.UNMATCHED


def transaction_takes_allocations(status: str) -> bool:
    """Whether invoices may be allocated to a transaction of this status: never to a leg of an
    internal transfer, which its other leg settles (a CHECK constraint says the same)."""
    return status != TransactionStatus.INTERNAL


def _nonzero(field: str) -> Q:
    """``field`` is set and not zero (never NULL, so a CHECK cannot pass by being unknown)."""
    return Q(**{f"{field}__isnull": False}) & (Q(**{f"{field}__lt": 0}) | Q(**{f"{field}__gt": 0}))


_STATEMENT_BROKEN = _nonzero("opening_difference") | _nonzero("movement_difference")


class BankStatement(TenantModel):
    """One statement of an imported file (a CAMT ``Stmt``, an MT940 message, an OFX ``STMTRS``)
    with the balances the bank reported, and how it continues the account's previous statement.

    The balances are what the file says, nothing derived: OFX reports only a closing balance,
    so its statements have no opening and the checks that need one do not apply. CSV exports
    have no balances: no statement is stored for them.

    Continuity (``banking.statement_services``), stored and recomputed for the account's chain
    whenever one of its statements is imported, so an earlier statement that arrives later
    closes the gap it leaves:

    * ``movement_difference`` = closing - (opening + the statement's movements): not zero
      means the statement does not add up (null: a balance is missing, nothing to check);
    * ``opening_difference`` = opening - the previous statement's closing, the previous being
      the one before it in the account's chain (same account and currency, ordered by closing
      date, then sequence number): not zero means a statement is missing between them, or one
      was imported twice (null: no previous statement, or a balance missing on either side);
    * ``has_break``: either difference is not zero.

    The same statement imported again (another key, another file name, a bank's copy with a
    new id) is recognised by ``fingerprint`` (account, currency, balances, period, movements)
    and not stored twice.
    """

    account = TenantForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    import_batch = TenantForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        related_name="statements",
        help_text="The import that first brought this statement",
    )
    file_format = models.CharField(max_length=16)
    statement_id = models.CharField(
        max_length=limits.TRANSACTION_REFERENCE,
        blank=True,
        default="",
        help_text="The bank's id of the statement (CAMT Stmt/Id, MT940 :20:)",
    )
    sequence = models.CharField(
        max_length=limits.STATEMENT_SEQUENCE,
        blank=True,
        default="",
        help_text="Sequence number as written (CAMT ElctrncSeqNb, MT940 :28C:)",
    )
    sequence_number = models.BigIntegerField(null=True, blank=True, editable=False)
    page_number = models.BigIntegerField(null=True, blank=True, editable=False)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    opening_balance = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, null=True, blank=True
    )
    opening_date = models.DateField(null=True, blank=True)
    closing_balance = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, null=True, blank=True
    )
    closing_date = models.DateField(null=True, blank=True)
    movements_sum = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        help_text="Sum of the statement's transactions (null: one is in another currency)",
    )
    movements_count = models.PositiveIntegerField(default=0)
    fingerprint = models.CharField(max_length=64, editable=False)
    previous_statement = TenantForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    opening_difference = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS + 1, decimal_places=AMOUNT_DECIMAL_PLACES, null=True, blank=True
    )
    movement_difference = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS + 2, decimal_places=AMOUNT_DECIMAL_PLACES, null=True, blank=True
    )
    has_break = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "account", "fingerprint"], name="bankstatement_once_per_account"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="bankstatement_currency_iso"
            ),
            models.CheckConstraint(
                condition=(Q(has_break=True) & _STATEMENT_BROKEN) | (Q(has_break=False) & ~_STATEMENT_BROKEN),
                name="bankstatement_break_follows_differences",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="bankstatement_created_idx"),
            models.Index(fields=["tenant", "account", "closing_date"], name="bankstatement_chain_idx"),
        ]

    def __str__(self) -> str:
        when = self.closing_date or self.period_end
        return f"{self.statement_id or 'Statement'} {self.sequence} ({when or 'no date'})".replace("  ", " ")


class BankTransactionQuerySet(models.QuerySet["BankTransaction"]):
    def unmatched(self) -> BankTransactionQuerySet:
        """Transactions with money left to allocate: unmatched and not fully allocated, so
        never one of amount 0 nor a leg of an internal transfer (status ``internal``). What
        the engine matches, the workbench lists, the admin's export and the dashboard
        count."""
        return self.filter(status=TransactionStatus.UNMATCHED, allocated_amount__lt=Abs("amount"))


BankTransactionManager = TenantScopedManager.from_queryset(BankTransactionQuerySet)


class BankTransaction(TenantModel):
    """A booked bank transaction. ``amount`` is signed: credits > 0, debits < 0."""

    account = TenantForeignKey(BankAccount, on_delete=models.PROTECT, related_name="transactions")
    import_batch = TenantForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="transactions")
    statement = TenantForeignKey(
        BankStatement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        help_text="The statement that first brought this transaction (none for CSV and API imports)",
    )
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
            # A leg of an internal transfer is settled by its other leg: never by invoices.
            models.CheckConstraint(
                condition=~Q(status=TransactionStatus.INTERNAL) | Q(allocated_amount=0),
                name="banktransaction_internal_unallocated",
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


class InternalTransferStatus(models.TextChoices):
    PAIRED = "paired", "Paired"
    UNPAIRED = "unpaired", "Unpaired"


class InternalTransfer(TenantModel):
    """Money moved between two of the tenant's own accounts: the same amount leaving one
    (``outgoing``, amount < 0) and arriving in another (``incoming``), paired at import.

    While paired both legs have status ``internal``: they are settled by each other and never
    proposed against invoices. A person who finds the pairing wrong unpairs it (audited): the
    legs become ordinary unmatched transactions again, the row stays as ``unpaired``, and a
    leg a person unpaired is never paired automatically again.
    """

    outgoing = TenantForeignKey(BankTransaction, on_delete=models.PROTECT, related_name="+")
    incoming = TenantForeignKey(BankTransaction, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=InternalTransferStatus.choices, default=InternalTransferStatus.PAIRED
    )
    days_apart = models.PositiveSmallIntegerField(help_text="Days between the two legs' booking dates")
    unpaired_at = models.DateTimeField(null=True, blank=True)
    unpaired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["tenant", "outgoing"],
                condition=Q(status=InternalTransferStatus.PAIRED),
                name="internaltransfer_outgoing_paired_once",
            ),
            models.UniqueConstraint(
                fields=["tenant", "incoming"],
                condition=Q(status=InternalTransferStatus.PAIRED),
                name="internaltransfer_incoming_paired_once",
            ),
            models.CheckConstraint(condition=~Q(outgoing=F("incoming")), name="internaltransfer_two_legs"),
            models.CheckConstraint(
                condition=Q(status__in=InternalTransferStatus.values), name="internaltransfer_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="internaltransfer_created_idx"),
            models.Index(fields=["tenant", "incoming"], name="internaltransfer_incoming_idx"),
        ]

    def __str__(self) -> str:
        return f"Internal transfer {self.outgoing_id} -> {self.incoming_id} ({self.status})"
