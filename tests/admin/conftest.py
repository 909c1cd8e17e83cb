"""Back-office fixtures: staff users of two tenants, a ledger in each, a logged-in client."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

STATEMENT_CSV = (
    "Date,Amount,Currency,Description,Counterparty,Transaction ID\n"
    "2024-03-22,480.50,USD,Retainer March INV-A-2002,Contoso Cons Ltd,CSV-0001\n"
    "2024-03-23,-35.20,USD,Card payment office supplies,Stationery Shop,CSV-0002\n"
)


@dataclass
class Ledger:
    invoice: Any
    transaction: Any
    vendor: Any


def make_staff(*users: Any) -> None:
    for user in users:
        user.is_staff = True
        user.set_password("pw-for-tests-only")
        user.save(update_fields=["is_staff", "password"])


def make_ledger(world: Any, prefix: str, *, auto_confirm: bool = False) -> Ledger:
    """An open invoice and a payment of it in ``world``'s tenant (auto-confirm off by default)."""
    from tenants.context import tenant_context
    from tenants.models import TenantSettings
    from tests.banking.factories import make_transaction
    from tests.invoices.factories import make_invoice, make_vendor

    vendor = make_vendor(world.tenant, name=f"{prefix} Client GmbH")
    invoice = make_invoice(
        world.tenant,
        amount="150.00",
        number=f"INV-{prefix}-1001",
        vendor=vendor,
        description="Consulting Services",
    )
    transaction = make_transaction(
        world.tenant,
        amount="150.00",
        description=f"Payment INV-{prefix}-1001 thank you",
        counterparty_name=f"{prefix} Client GmbH",
        booking_date=dt.date(2024, 3, 20),
    )
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None if not auto_confirm else "0.95")
    return Ledger(invoice=invoice, transaction=transaction, vendor=vendor)


@pytest.fixture
def staff_a(world_a):
    make_staff(world_a.owner, world_a.accountant, world_a.viewer)
    return world_a


@pytest.fixture
def staff_b(world_b):
    make_staff(world_b.owner, world_b.accountant, world_b.viewer)
    return world_b


@pytest.fixture
def ledger_a(staff_a) -> Ledger:
    return make_ledger(staff_a, "A")


@pytest.fixture
def ledger_b(staff_b) -> Ledger:
    return make_ledger(staff_b, "B")


@pytest.fixture
def proposal_a(ledger_a, staff_a):
    """A reconciliation run in tenant A: one proposed match for the A ledger."""
    from tests.support.runs import reconcile

    result = reconcile(staff_a.tenant.id, actor=staff_a.accountant, source="admin")
    assert result.proposals, "the engine should propose the payment of INV-A-1001"
    return result.proposals[0].match_id


@pytest.fixture
def proposal_b(ledger_b, staff_b):
    from tests.support.runs import reconcile

    return reconcile(staff_b.tenant.id, actor=staff_b.accountant, source="admin").proposals[0].match_id


@pytest.fixture
def login(client):
    """``login(user)`` -> the test client, logged in to the admin as ``user``."""

    def build(user: Any) -> Any:
        client.force_login(user)
        return client

    return build
