"""The bulk SQL (a run's writer, the transaction import) names the ledgers' tables and statuses
only through the models: no table name or status value is spelled out in its statements, so a
renamed table or status cannot leave the SQL writing the old one (issue 16)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from psycopg import sql

from banking import services as banking_services
from banking.models import BankAccount, BankTransaction, TransactionStatus
from invoices.models import Invoice, InvoiceStatus
from reconciliation.models import Match, MatchAllocation, MatchStatus
from reconciliation.services import run_writer
from tenants.models import AuditEvent

STATUS_VALUES = {*MatchStatus.values, *InvoiceStatus.values, *TransactionStatus.values}
LEDGER_TABLES = {
    model._meta.db_table
    for model in (Match, MatchAllocation, BankTransaction, BankAccount, Invoice, AuditEvent)
}

STATEMENTS = {
    "run_writer._LOCK_TRANSACTIONS": run_writer._LOCK_TRANSACTIONS,
    "run_writer._LOCK_INVOICES": run_writer._LOCK_INVOICES,
    **{f"run_writer._WRITE_RUN[{n}]": statement for n, statement in enumerate(run_writer._WRITE_RUN)},
    "run_writer._SETTLED_BY_RUN": run_writer._SETTLED_BY_RUN,
    "banking.services._CREATE_ACCOUNTS": banking_services._CREATE_ACCOUNTS,
    "banking.services._MOVE_ROWS": banking_services._MOVE_ROWS,
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_the_bulk_sql_spells_out_no_status_and_no_ledger_table(name: str) -> None:
    statement = STATEMENTS[name]
    literals = set(re.findall(r"'([^']*)'", statement))
    assert not literals & STATUS_VALUES, f"{name} writes a status by hand: {literals & STATUS_VALUES}"
    words = set(re.findall(r"\b\w+\b", statement))
    assert not words & LEDGER_TABLES, f"{name} names a table by hand: {words & LEDGER_TABLES}"


@pytest.mark.django_db
def test_the_names_filled_in_are_the_models_tables_and_statuses() -> None:
    def rendered(names: dict[str, sql.Composable]) -> dict[str, str]:
        return {key: value.as_string(connection.connection) for key, value in names.items()}

    connection.ensure_connection()
    assert rendered(run_writer.LEDGER_SQL_NAMES) == {
        "match_table": f'"{Match._meta.db_table}"',
        "allocation_table": f'"{MatchAllocation._meta.db_table}"',
        "transaction_table": f'"{BankTransaction._meta.db_table}"',
        "invoice_table": f'"{Invoice._meta.db_table}"',
        "audit_table": f'"{AuditEvent._meta.db_table}"',
        "match_proposed": f"'{MatchStatus.PROPOSED.value}'",
        "match_confirmed": f"'{MatchStatus.CONFIRMED.value}'",
        "invoice_paid": f"'{InvoiceStatus.PAID.value}'",
    }
    assert rendered(banking_services._LEDGER_SQL_NAMES) == {
        "account_table": f'"{BankAccount._meta.db_table}"',
        "transaction_table": f'"{BankTransaction._meta.db_table}"',
        "unmatched": f"'{TransactionStatus.UNMATCHED.value}'",
    }
