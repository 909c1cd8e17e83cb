"""Every statement Django writes for tenant work names its tenant, so Citus can route it to one
shard (on one PostgreSQL the tenant filter rides along with the primary key's leading column).

The Citus pass checks the plans themselves (tests/test_citus.py); these check the SQL here.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import Invoice, Vendor
from reconciliation.models import MatchAllocation
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def test_joins_between_tenant_tables_carry_the_tenant_equality(world_a):
    with tenant_context(world_a.tenant.id):
        sql = str(MatchAllocation.objects.filter(match__status="proposed", invoice__number="X").query)
    assert '"reconciliation_match"."tenant_id" = ("reconciliation_matchallocation"."tenant_id")' in sql
    assert '"invoices_invoice"."tenant_id" = ("reconciliation_matchallocation"."tenant_id")' in sql


def test_a_subquery_trimmed_to_one_side_is_pinned_to_the_tenant(world_a):
    with tenant_context(world_a.tenant.id):
        sql = str(Invoice.objects.exclude(allocations__amount__gt=0).query)
    inner = sql[sql.index("NOT (EXISTS") :]
    assert f'U1."tenant_id" = {world_a.tenant.id}' in inner


def test_save_refresh_and_related_lookups_name_the_tenant(world_a):
    with tenant_context(world_a.tenant.id):
        vendor = Vendor.objects.create(name="Routed Vendor")
        invoice = Invoice.objects.create(number="R-1", vendor=vendor, amount=Decimal("5.00"), currency="USD")
        invoice = Invoice.objects.get(pk=invoice.pk)  # a fresh instance: no cached vendor
        with CaptureQueriesContext(connection) as queries:
            invoice.description = "changed"
            invoice.save()
            invoice.refresh_from_db()
            assert invoice.vendor == vendor
    update, refresh, related = statements(queries)
    tenant = world_a.tenant.id.hex
    assert update.startswith('UPDATE "invoices_invoice"') and tenant in update
    assert refresh.startswith("SELECT") and tenant in refresh
    assert '"invoices_vendor"' in related and tenant in related
