"""Remittance advices: a payer's list of the invoices one payment covers (tenant tables under RLS).

An advice arrives apart from the payment (a camt.054 notification, a CSV file, an API call) and
is kept as the payer wrote it: its lines name invoice numbers, resolved to the tenant's invoices
where one matches (``RemittanceAdviceLine.invoice``). The reconciliation run feeds the open
advices to the engine, which proposes exactly the advice's invoices for the payment that quotes it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from common import limits
from common.finance import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, format_money
from invoices.models import Invoice
from tenants.models import TenantForeignKey, TenantModel


class AdviceFormat(models.TextChoices):
    CAMT054 = "camt054", "ISO 20022 camt.054"
    CSV = "csv", "CSV advice file"
    API = "api", "API"


class AdviceChannel(models.TextChoices):
    API = "api", "REST API"
    FILE = "file", "File upload (REST API)"
    GRAPHQL = "graphql", "GraphQL"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"


class RemittanceAdvice(TenantModel):
    """One advice: who pays, what the payment quotes, how much, and (in its lines) for what."""

    source = models.CharField(max_length=10, choices=AdviceFormat.choices, help_text="camt054, csv or api")
    channel = models.CharField(max_length=10, choices=AdviceChannel.choices)
    payer_name = models.CharField(max_length=limits.NAME, blank=True, default="")
    payer_account = models.CharField(max_length=limits.ACCOUNT, blank=True, default="")
    payment_reference = models.CharField(
        max_length=140, help_text="What the payment quotes to point at this advice (advice or run number)"
    )
    end_to_end_id = models.CharField(max_length=140, blank=True, default="")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    payment_date = models.DateField(null=True, blank=True)
    line_count = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=limits.FILE_NAME, blank=True, default="")
    file_sha256 = models.CharField(max_length=64, blank=True, default="")
    dedup_key = models.CharField(
        max_length=64,
        editable=False,
        help_text="sha256 of the advice's content: the same advice is kept once",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="advice_tenant_created_idx")]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "dedup_key"], name="advice_no_duplicates"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="advice_amount_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="advice_currency_iso"),
            models.CheckConstraint(
                condition=Q(source__in=[s.value for s in AdviceFormat]), name="advice_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Advice {self.payment_reference} {format_money(self.amount, self.currency)}"


class RemittanceAdviceLine(TenantModel):
    """One invoice of an advice: its number as the payer wrote it, the amount paid, a discount."""

    advice = TenantForeignKey(RemittanceAdvice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    invoice_number = models.CharField(max_length=limits.INVOICE_NUMBER)
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    discount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=Decimal("0")
    )
    invoice = TenantForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The invoice the number names, when exactly one does",
    )  # fmt: skip

    class Meta(TenantModel.Meta):
        ordering = ["advice_id", "position"]
        indexes = [models.Index(fields=["tenant", "advice", "position"], name="adviceline_tenant_advice_idx")]
        constraints = [
            *TenantModel.Meta.constraints,
            models.CheckConstraint(condition=Q(amount__gt=0), name="adviceline_amount_positive"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="adviceline_discount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_number} {self.amount}"
