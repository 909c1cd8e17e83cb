"""Factories for the bank ledger's rows. Rows are tenant-owned: call the factories inside
``tenant_context``, or use ``make_transaction``, which enters the tenant."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import factory

from banking.models import BankAccount, BankTransaction, ImportBatch, ImportSource
from tenants.context import tenant_context
from tenants.models import Tenant

MAIN_ACCOUNT = "DE02120300000000202051"


class BankAccountFactory(factory.django.DjangoModelFactory):
    """Call inside ``tenant_context``; the same identifier gives the same account."""

    class Meta:
        model = BankAccount
        django_get_or_create = ("identifier",)

    identifier = MAIN_ACCOUNT


class ImportBatchFactory(factory.django.DjangoModelFactory):
    """Call inside ``tenant_context``."""

    class Meta:
        model = ImportBatch

    source = ImportSource.API


class BankTransactionFactory(factory.django.DjangoModelFactory):
    """Call inside ``tenant_context``: a transaction on the main account, in its own import."""

    class Meta:
        model = BankTransaction

    account = factory.SubFactory(BankAccountFactory)
    import_batch = factory.SubFactory(ImportBatchFactory)
    amount = Decimal("100.00")
    currency = "USD"
    booking_date = dt.date(2024, 3, 20)
    description = ""
    dedup_key = factory.LazyFunction(lambda: f"ref:{uuid.uuid4()}")


def make_transaction(
    tenant: Tenant, *, amount: str | Decimal, description: str = "", **fields: Any
) -> BankTransaction:
    """A transaction of ``tenant`` (``amount`` exact, as text or Decimal)."""
    with tenant_context(tenant.id):
        return BankTransactionFactory(amount=Decimal(str(amount)), description=description, **fields)
