"""Reads on the bank ledger (active tenant only: RLS and the scoped manager both apply)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.db.models import Q, QuerySet

from common.errors import NotFound

from .models import BankAccount, BankTransaction, ImportBatch


def bank_transaction_list(
    *,
    status: str | None = None,
    account_id: uuid.UUID | None = None,
    currency: str | None = None,
    booked_after: dt.date | None = None,
    booked_before: dt.date | None = None,
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    import_batch_id: uuid.UUID | None = None,
    q: str | None = None,
) -> QuerySet[BankTransaction]:
    """Transactions matching the filters; amounts filter the signed amount."""
    queryset = BankTransaction.objects.select_related("account")
    if status:
        queryset = queryset.filter(status=status)
    if account_id:
        queryset = queryset.filter(account_id=account_id)
    if currency:
        queryset = queryset.filter(currency=currency)
    if booked_after:
        queryset = queryset.filter(booking_date__gte=booked_after)
    if booked_before:
        queryset = queryset.filter(booking_date__lte=booked_before)
    if min_amount is not None:
        queryset = queryset.filter(amount__gte=min_amount)
    if max_amount is not None:
        queryset = queryset.filter(amount__lte=max_amount)
    if import_batch_id:
        queryset = queryset.filter(import_batch_id=import_batch_id)
    if q:
        queryset = queryset.filter(
            Q(description__icontains=q)
            | Q(counterparty_name__icontains=q)
            | Q(external_id__icontains=q)
            | Q(structured_reference__icontains=q)
        )
    return queryset


def bank_transaction_get(*, transaction_id: uuid.UUID) -> BankTransaction:
    """One transaction of the active tenant, or NotFound."""
    found = BankTransaction.objects.select_related("account").filter(pk=transaction_id).first()
    if found is None:
        raise NotFound("No such bank transaction.")
    return found


def bank_account_list() -> QuerySet[BankAccount]:
    return BankAccount.objects.order_by("identifier")


def import_batch_list() -> QuerySet[ImportBatch]:
    return ImportBatch.objects.all()


def import_batch_get(*, batch_id: uuid.UUID) -> ImportBatch:
    found = ImportBatch.objects.filter(pk=batch_id).first()
    if found is None:
        raise NotFound("No such import batch.")
    return found
