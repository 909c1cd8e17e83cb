"""Reconciliation runs, matches and their allocations: tenant tables under RLS."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from banking.models import BankTransaction
from common.finance import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from invoices.models import Invoice
from tenants.models import TenantForeignKey, TenantModel, WriteOffReason

from .engine.core import MAX_ALTERNATIVES as ENGINE_MAX_ALTERNATIVES


class ReconciliationRun(TenantModel):
    """One execution of the matching engine for a tenant: who, settings, version, counts, time."""

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=16, default="api")
    engine_version = models.CharField(max_length=32)
    settings_used = models.JSONField(default=dict)
    invoices_considered = models.PositiveIntegerField(default=0)
    transactions_considered = models.PositiveIntegerField(default=0)
    proposals_count = models.PositiveIntegerField(default=0)
    auto_confirmed_count = models.PositiveIntegerField(default=0)
    # Not a Positive... field: Citus refuses ADD COLUMN with an unnamed CHECK (named one below).
    would_auto_confirm_count = models.IntegerField(
        default=0,
        db_default=0,  # rows written by SQL (runs, benches) need not name it
        help_text="Shadow mode: proposals it would have auto-confirmed (and did not)",
    )
    duration_ms = models.PositiveIntegerField(default=0)
    stats = models.JSONField(default=dict)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="recrun_tenant_created_idx")]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(
                condition=Q(would_auto_confirm_count__gte=0), name="recrun_would_auto_confirm_non_negative"
            ),
        ]

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


class ConfidenceBand(models.TextChoices):
    """How sure the engine is of a match, as people see it (admin list, filter, workbench)."""

    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


#: The lowest confidence of each band, highest band first. A match belongs to a band by its
#: exact confidence (0.8950 is medium), and its percent is shown rounded down (89 %), so the
#: number beside a bar never contradicts its colour or the filter "High (90 % and more)".
CONFIDENCE_BAND_FLOORS: tuple[tuple[ConfidenceBand, Decimal], ...] = (
    (ConfidenceBand.HIGH, Decimal("0.90")),
    (ConfidenceBand.MEDIUM, Decimal("0.60")),
    (ConfidenceBand.LOW, Decimal("0")),
)


def confidence_band(confidence: Decimal) -> ConfidenceBand:
    """The band ``confidence`` (0..1) falls in."""
    for band, floor in CONFIDENCE_BAND_FLOORS:
        if confidence >= floor:
            return band
    return ConfidenceBand.LOW


def confidence_band_filter(band: str) -> Q:
    """The matches (or rows annotated with ``confidence``) in ``band``, as a filter."""
    index = [other for other, _ in CONFIDENCE_BAND_FLOORS].index(ConfidenceBand(band))
    condition = Q(confidence__gte=CONFIDENCE_BAND_FLOORS[index][1])
    if index:  # below the next band up
        condition &= Q(confidence__lt=CONFIDENCE_BAND_FLOORS[index - 1][1])
    return condition


def confidence_percent(confidence: Decimal) -> int:
    """``confidence`` as a whole percent, rounded down (0.8950 -> 89; see the bands)."""
    return int((confidence * 100).to_integral_value(rounding=ROUND_FLOOR))


#: Most alternatives a match keeps: the engine lists at most this many, oldest first.
MAX_ALTERNATIVES = ENGINE_MAX_ALTERNATIVES


class Match(TenantModel):
    """A proposed or decided link between transactions and invoices, with its explanation."""

    run = TenantForeignKey(
        ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="matches"
    )
    shape = models.CharField(max_length=16, choices=MatchShape.choices)
    status = models.CharField(max_length=10, choices=MatchStatus.choices, default=MatchStatus.PROPOSED)
    auto = models.BooleanField(default=False, help_text="Confirmed by the engine, not a person")
    would_auto_confirm = models.BooleanField(
        default=False,
        db_default=False,  # rows written by SQL (runs, benches) need not name it
        help_text="Shadow mode: the run that proposed it would have auto-confirmed it (and did not)",
    )
    confidence = models.DecimalField(max_digits=5, decimal_places=4)
    runner_up_confidence = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    reasons = models.JSONField(default=list)
    breakdown = models.JSONField(default=list)
    fee_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=Decimal("0")
    )
    engine_version = models.CharField(max_length=32, blank=True, default="")
    # Written off when a person confirmed it (tenant policy), in the invoices' currency; kept
    # after an undo as the record of what was written off and given back. db_default: a run's
    # set-based INSERT does not name these columns.
    write_off_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal("0"),
        db_default=Decimal("0"),
        help_text="Shortfall written off at confirmation, in the invoices' currency",
    )
    write_off_reason = models.CharField(
        max_length=16, choices=WriteOffReason.choices, blank=True, default="", db_default=""
    )
    # Database defaults too: bulk SQL that predates these columns (COPY, benches) still inserts.
    discount_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal("0"),
        db_default=Decimal("0"),
        help_text="Early-payment discount taken (invoice currency), settled with the payment",
    )
    ambiguous = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Several open invoices fit equally; applied to the oldest, never automatic"
    )
    # The other invoices that fit equally, oldest first (ids; shown, never a reference a
    # deletion must respect: an alternative deleted since is simply not shown).
    alternatives = ArrayField(models.UUIDField(), blank=True, default=list, db_default=[])
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
            models.CheckConstraint(
                condition=Q(write_off_amount=0, write_off_reason="")
                | Q(write_off_amount__gt=0, write_off_reason__in=WriteOffReason.values),
                name="match_write_off_has_reason",
            ),
            models.CheckConstraint(condition=Q(discount_amount__gte=0), name="match_discount_non_negative"),
            models.CheckConstraint(
                condition=Q(alternatives__len__lte=MAX_ALTERNATIVES), name="match_alternatives_bounded"
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
    write_off_amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal("0"),
        db_default=Decimal("0"),
        help_text="Shortfall of the invoice written off with this allocation (the match's write-off)",
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(invoice_amount__gt=0), name="allocation_invoice_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(write_off_amount__gte=0), name="allocation_write_off_non_negative"
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
