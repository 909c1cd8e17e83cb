"""PostgreSQL's SQL compilers, with multi-row inserts as ``INSERT ... VALUES`` again.

Django 5.2 sends a ``bulk_create`` of several rows as ``INSERT ... SELECT * FROM UNNEST(...)``.
Citus may carry such an insert out as a ``COPY`` into the shard, which it refuses on a table under
row level security ("COPY FROM not supported with row-level security"). ``VALUES`` rows reach the
shard as an ``INSERT`` on plain PostgreSQL and on Citus alike, so every bulk insert of the project
takes that form (one rule here, instead of a workaround per caller).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql.compiler import *  # noqa: F403 - the backend's compiler module
from django.db.backends.postgresql.compiler import SQLInsertCompiler as PostgresInsertCompiler
from django.db.models.sql import compiler as generic


class SQLInsertCompiler(PostgresInsertCompiler):  # type: ignore[no-redef]
    def assemble_as_sql(self, fields: Any, value_rows: Any) -> Any:
        return generic.SQLInsertCompiler.assemble_as_sql(self, fields, value_rows)
