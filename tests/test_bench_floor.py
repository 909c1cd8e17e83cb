"""The reconcile bench's floor (issue 17): it reads the tenant's open items with the run's
selectors, pairs them by exact (currency, amount) and writes one proposal per pair by COPY into
a scratch copy of the matches table, which it drops again. Real PostgreSQL, RLS in force."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.reconcile_bench import FLOOR_TABLE, measure_floor
from reconciliation.models import Match
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice


@pytest.mark.django_db(transaction=True)
def test_the_floor_pairs_exact_amounts_of_the_tenant_and_leaves_nothing_behind(world_a, world_b):
    make_invoice(world_a.tenant, amount="150.00", number="A-1")
    make_invoice(world_a.tenant, amount="150.00", number="A-2")
    make_invoice(world_a.tenant, amount="99.00", number="A-3", currency="EUR")
    make_invoice(world_a.tenant, amount="10.00", number="A-4")
    make_transaction(world_a.tenant, amount="150.00")
    make_transaction(world_a.tenant, amount="99.00")  # USD: the EUR invoice is another currency
    make_transaction(world_a.tenant, amount="-10.00")  # a debit of the same magnitude pairs too
    make_transaction(world_a.tenant, amount="777.00")
    # another tenant's equal amounts are not the floor's business (RLS and the selectors)
    make_invoice(world_b.tenant, amount="777.00", number="B-1")

    floor = measure_floor(world_a.tenant.id)

    assert floor["pairs"] == floor["written"] == 2
    assert floor["seconds"] == pytest.approx(floor["read"] + floor["join"] + floor["write"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [FLOOR_TABLE])
        assert cursor.fetchone()[0] is None
    with tenant_context(world_a.tenant.id):
        assert not Match.objects.exists()
