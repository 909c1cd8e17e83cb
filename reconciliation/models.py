"""Reconciliation runs, matches and their allocations: tenant tables under RLS."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from banking.models import BankTransaction
from invoices.models import Invoice
from tenants.models import TenantForeignKey, TenantModel
from tenants.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS


class ReconciliationRun(TenantModel):
    """One execution of the matching engine for a tenant: who, settings, version, counts, time."""

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=16, default="api")
    dry_run = models.BooleanField(default=False)
    engine_version = models.CharField(max_length=32)
    settings_used = models.JSONField(default=dict)
    invoices_considered = models.PositiveIntegerField(default=0)
    transactions_considered = models.PositiveIntegerField(default=0)
    proposals_count = models.PositiveIntegerField(default=0)
    auto_confirmed_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    stats = models.JSONField(default=dict)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="recrun_tenant_created_idx")]

    def __str__(self) -> str:
        return f"Run {self.created_at:%Y-%m-%d %H:%M} ({self.proposals_count} proposals)"


class MatchStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    UNDONE = "undone", "Undone"


class MatchShape(models.TextChoices):
    ONE_TO_ONE = "one_to_one", "1 transaction : 1 invoice"
    ONE_TO_MANY = "one_to_many", "1 transaction : N invoices"
    MANY_TO_ONE = "many_to_one", "N transactions : 1 invoice"


class Match(TenantModel):
    """A proposed or decided link between transactions and invoices, with its explanation."""

    run = TenantForeignKey(
        ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="matches"
    )
    shape = models.CharField(max_length=16, choices=MatchShape.choices)
    status = models.CharField(max_length=10, choices=MatchStatus.choices, default=MatchStatus.PROPOSED)
    auto = models.BooleanField(default=False, help_text="Confirmed by the engine, not a person")
    confidence = models.DecimalField(max_digits=5, decimal_places=4)
    runner_up_confidence = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    reasons = models.JSONField(default=list)
    breakdown = models.JSONField(default=list)
    fee_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=Decimal("0")
    )
    engine_version = models.CharField(max_length=32, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial index below: a run's proposals are decided by nobody yet
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "matches"
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=Q(status__in=MatchStatus.values), name="match_status_valid"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="match_confidence_in_unit_range"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="match_tenant_status_idx"),
            models.Index(fields=["tenant", "run"], name="match_tenant_run_idx"),
            models.Index(
                fields=["decided_by"], condition=Q(decided_by__isnull=False), name="match_decided_by_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_shape_display()} {self.confidence} ({self.status})"


class MatchAllocation(TenantModel):
    """Money of one transaction applied to one invoice within a match."""

    match = TenantForeignKey(Match, on_delete=models.CASCADE, related_name="allocations")
    transaction = TenantForeignKey(BankTransaction, on_delete=models.PROTECT, related_name="allocations")
    invoice = TenantForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        help_text="Absolute amount taken from the transaction",
    )
    invoice_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        help_text="Amount settled on the invoice (incl. an absorbed fee)",
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(invoice_amount__gt=0), name="allocation_invoice_amount_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "match"], name="alloc_tenant_match_idx"),
            models.Index(fields=["tenant", "transaction"], name="alloc_tenant_transaction_idx"),
            models.Index(fields=["tenant", "invoice"], name="alloc_tenant_invoice_idx"),
        ]

    def __str__(self) -> str:
        # The admin's allocation rows show this: both sides by what a person recognises, never
        # by id (select the transaction and the invoice with its vendor in lists).
        return f"{self.transaction} → {self.invoice}"
