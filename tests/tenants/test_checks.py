"""The RLS and tenant-key system checks pass on the migrated schema and fail when protection is
removed."""

from __future__ import annotations

import os

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import DatabaseError, connection, transaction

from tenants.checks import check_row_level_security, check_tenant_keys
from tenants.citus import citus_enabled

# These tests change the schema: they keep the test's own transaction, rolled back, on Citus too
# (tests/conftest.py), so nothing they drop is committed.
pytestmark = [pytest.mark.django_db, pytest.mark.rolled_back]


def error_ids() -> set[str]:
    messages = [*check_row_level_security(), *check_tenant_keys()]
    return {message.id for message in messages if message.level >= 40}


def test_check_passes_on_migrated_database():
    assert error_ids() == set()
    call_command("check")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("ALTER TABLE tenants_tenantsettings NO FORCE ROW LEVEL SECURITY", "tenants.E002"),
        ("ALTER TABLE tenants_tenantsettings DISABLE ROW LEVEL SECURITY", "tenants.E001"),
        ("DROP POLICY tenant_isolation ON tenants_membership", "tenants.E003"),
        # A reference between tenant tables that is not the composite key.
        (
            "ALTER TABLE invoices_invoice DROP CONSTRAINT invoices_invoice_vendor_id_same_tenant_fk",
            "tenants.E010",
        ),
        (
            "ALTER TABLE reconciliation_matchallocation "
            "DROP CONSTRAINT reconciliation_matchallocation_transaction_id_same_tenant_fk; "
            "ALTER TABLE reconciliation_matchallocation "
            "ADD FOREIGN KEY (transaction_id, tenant_id) REFERENCES banking_banktransaction (id, tenant_id)",
            "tenants.E010",
        ),
        # A tenant_id that does not reference the tenants.
        (
            "ALTER TABLE reconciliation_match DROP CONSTRAINT reconciliation_match_tenant_id_fk",
            "tenants.E011",
        ),
        ("ALTER TABLE tenants_membership DROP CONSTRAINT tenants_membership_tenant_id_fk", "tenants.E011"),
        # A key without tenant_id: Citus could not distribute the table, and it says nothing per tenant.
        (
            "ALTER TABLE invoices_vendor DROP CONSTRAINT invoices_vendor_pkey CASCADE, ADD PRIMARY KEY (id)",
            "tenants.E012",
        ),
        ("CREATE UNIQUE INDEX probe_unique_number ON invoices_invoice (number)", "tenants.E012"),
    ],
)
def test_check_fails_when_protection_is_removed(statement, expected):
    if expected == "tenants.E012" and citus_enabled(connection):
        # On Citus such a key cannot even be made: a distributed table's keys include tenant_id.
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
        return
    with connection.cursor() as cursor:
        cursor.execute(statement)  # rolled back with the test's transaction
    assert expected in error_ids()
    with pytest.raises(SystemCheckError):
        call_command("check")


def test_check_fails_when_login_cannot_switch_to_the_runtime_role(settings):
    settings.TENANT_DB_ROLE = "recon_unreachable_probe"
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE recon_unreachable_probe NOLOGIN")  # rolled back after the test
    assert "tenants.E006" in error_ids()


def test_check_fails_when_runtime_role_can_bypass_rls(settings):
    url = os.environ.get("TEST_SUPERUSER_DATABASE_URL")
    if not url:
        pytest.skip("needs TEST_SUPERUSER_DATABASE_URL: only a superuser can grant BYPASSRLS")
    role = "recon_bypass_probe"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} NOLOGIN BYPASSRLS")
        admin.execute(f"GRANT {role} TO {connection.settings_dict['USER']}")
        try:
            settings.TENANT_DB_ROLE = role
            assert "tenants.E005" in error_ids()
        finally:
            admin.execute(f"DROP ROLE {role}")


def test_a_plain_foreign_key_between_tenant_tables_is_an_error(monkeypatch):
    from reconciliation.models import MatchAllocation

    monkeypatch.setattr(MatchAllocation._meta.get_field("invoice"), "db_constraint", True)
    assert "tenants.E013" in error_ids()
