"""Planner statistics after bulk loads: a new tenant must not look like "one row" to PostgreSQL.

Tenant tables are shared by every tenant, and each query filters by tenant (the RLS policy
adds ``tenant_id = <current tenant>``). The planner estimates that filter from the table's
most-common-values list. Until the table is analyzed again, a tenant that was not there at the
last ANALYZE is estimated at one row, however many rows it just imported; autovacuum only
re-analyzes once ~10 % of the whole table changed, which a new tenant's first import may
never reach. With "one row", a lookup by id scans the tenant's rows through a tenant-led
index and joins rescan them per row.

After a bulk import, :func:`analyze_if_stale` compares the planner's estimate for the active
tenant with what was just added and, when the estimate is far too low, analyzes the table
right after the import commits (as the login role, which owns the tables; the tenant role
may not run ANALYZE). ANALYZE reads a fixed-size sample (~30,000 rows), so it costs the
same on any table size, and it only runs when the estimate is wrong.
"""

from __future__ import annotations

import logging

from django.db import connection, models, transaction
from psycopg import sql

from .context import require_tenant_id

logger = logging.getLogger(__name__)

# Below this many added rows a wrong estimate cannot cost much; no ANALYZE.
STALE_CHECK_MIN_ROWS = 1_000


def tenant_rows_estimate(model: type[models.Model]) -> float:
    """The planner's estimate of the active tenant's rows in ``model``'s table (no scan)."""
    require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(sql.Identifier(model._meta.db_table))
        )
        plan = cursor.fetchone()[0]
    return float(plan[0]["Plan"]["Plan Rows"])


def analyze_if_stale(model: type[models.Model], *, rows_added: int) -> bool:
    """After adding ``rows_added`` rows for the active tenant, refresh stale planner statistics.

    Returns True when an ANALYZE was scheduled (it runs once the surrounding transaction
    commits, outside the tenant context).
    """
    if rows_added < STALE_CHECK_MIN_ROWS:
        return False
    estimate = tenant_rows_estimate(model)
    if estimate >= rows_added / 2:
        return False
    table = model._meta.db_table

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        logger.info(
            "analyzed %s: the planner estimated %.0f rows for a tenant that added %d",
            table,
            estimate,
            rows_added,
        )

    transaction.on_commit(analyze)
    return True
