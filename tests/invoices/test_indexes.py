"""The invoice list is served from an index that leads with tenant_id, not a sequential scan.

No ``SET LOCAL enable_seqscan = off`` here: with 2,000 invoices per tenant in two tenants and
fresh statistics the planner picks the tenant-led index on its own, so the test proves what
production would do rather than what a forced planner can do.

``q`` (substring search) is left out on purpose: no btree serves ``ILIKE '%...%'`` and, with
only two tenants, the planner rightly prefers a sequential scan of the 4,000 rows for a search
it expects to match almost nothing. A trigram index would be the fix if searches get slow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from api.pagination import CursorPagination
from invoices import selectors
from invoices.models import InvoiceStatus
from tenants.context import tenant_context
from tests.invoices.factories import bulk_invoices, make_vendor

pytestmark = pytest.mark.django_db

ROWS_PER_TENANT = 2_000
TABLE = "invoices_invoice"


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def index_columns() -> dict[str, str]:
    """Index name -> its column list as written in ``pg_indexes.indexdef``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        return {
            name: re.search(r"USING \w+ \((.*)\)", definition)[1] for name, definition in cursor.fetchall()
        }


@pytest.fixture
def populated(world_a, world_b):
    vendor = make_vendor(world_a.tenant, name="Initech")
    bulk_invoices(world_a.tenant, ROWS_PER_TENANT // 2)
    bulk_invoices(world_a.tenant, ROWS_PER_TENANT // 2, number="", vendor_id=vendor.id)
    bulk_invoices(world_b.tenant, ROWS_PER_TENANT)
    with connection.cursor() as cursor:
        # As the owner login (outside tenant_context): ANALYZE needs the table owner. Rows
        # inserted by this (test) transaction count as live for the sample.
        cursor.execute(f"ANALYZE {TABLE}")
    return vendor


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"statuses": [InvoiceStatus.OPEN]},
        {"vendor": True},
    ],
    ids=["unfiltered", "status", "vendor"],
)
def test_tenant_invoice_list_uses_a_tenant_led_index(world_a, populated, filters):
    if filters.pop("vendor", False):
        filters["vendor_id"] = populated.id
    paginator = CursorPagination()
    with tenant_context(world_a.tenant.id):
        # The query the list endpoint runs: selector, then the paginator's ordering and limit.
        queryset = selectors.invoice_list(**filters).order_by(*paginator.ordering)[: paginator.page_size + 1]
        plan = json.loads(queryset.explain(format="json"))[0]["Plan"]

    nodes = [node for node in plan_nodes(plan) if node.get("Relation Name") == TABLE or "Index Name" in node]
    scans_of_table = [node for node in plan_nodes(plan) if node.get("Relation Name") == TABLE]
    assert all(node["Node Type"] != "Seq Scan" for node in scans_of_table), json.dumps(plan, indent=1)
    columns = index_columns()
    used = [
        node["Index Name"]
        for node in nodes
        if node["Node Type"] in {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
        and node["Index Name"] in columns
    ]
    assert used, json.dumps(plan, indent=1)
    assert all(columns[name].startswith("tenant_id") for name in used), (used, columns)
