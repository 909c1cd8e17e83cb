"""The bank ledger's import services, called directly: all or nothing, duplicates skipped by the
bank's reference, amounts exact in the currency's minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from banking.models import BankTransaction, ImportBatch
from banking.services import ImportRejected, api_transactions_import
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db

ACCOUNT = "DE89370400440532013000"


def _item(amount: str, reference: str, **fields: str) -> dict[str, str]:
    return {"amount": amount, "date": "2024-03-05", "currency": "EUR", "external_id": reference, **fields}


def test_an_import_skips_what_was_imported_before(world_a):
    with tenant_context(world_a.tenant.id):
        first = api_transactions_import(
            items=[_item("100.00", "R-1"), _item("-20.5", "R-2")], created_by=None, default_account=ACCOUNT
        )
        again = api_transactions_import(
            items=[_item("100.00", "R-1"), _item("7.00", "R-3")], created_by=None, default_account=ACCOUNT
        )
        amounts = sorted(BankTransaction.objects.values_list("external_id", "amount"))
        assert ImportBatch.objects.count() == 2
    assert (first.imported, first.duplicates, again.imported, again.duplicates) == (2, 0, 1, 1)
    assert amounts == [("R-1", Decimal("100.00")), ("R-2", Decimal("-20.50")), ("R-3", Decimal("7.00"))]


def test_one_bad_item_refuses_the_import_naming_it(world_a):
    with tenant_context(world_a.tenant.id):
        with pytest.raises(ImportRejected) as refused:
            api_transactions_import(
                items=[_item("100.00", "R-1"), _item("1.005", "R-2"), _item("1e3", "R-3")],
                created_by=None,
                default_account=ACCOUNT,
            )
        assert not BankTransaction.objects.exists() and not ImportBatch.objects.exists()
    refused_items = {location.split(".")[0] for location in refused.value.errors}
    assert refused_items == {"transactions[1]", "transactions[2]"}
