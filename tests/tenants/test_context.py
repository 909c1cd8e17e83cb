"""tenant_context: role and GUC are transaction-local and never leak to later work."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tenants.context import (
    TenantContextError,
    TenantContextRequired,
    current_tenant_id,
    runtime_role,
    tenant_context,
)
from tenants.models import TenantSettings


def session_state() -> tuple[str, str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('app.tenant_id', true)")
        return cursor.fetchone()


def login_user() -> str:
    return connection.settings_dict["USER"]


@pytest.mark.django_db(transaction=True)
def test_role_and_guc_vanish_at_commit(world_a):
    with tenant_context(world_a.tenant.id):
        assert session_state() == (runtime_role(), str(world_a.tenant.id))
        assert current_tenant_id() == world_a.tenant.id
    user, guc = session_state()
    assert user == login_user()
    assert guc in (None, "")
    assert current_tenant_id() is None


@pytest.mark.django_db(transaction=True)
def test_role_and_guc_vanish_after_an_error(world_a):
    with pytest.raises(ZeroDivisionError), tenant_context(world_a.tenant.id):
        raise ZeroDivisionError
    assert session_state()[0] == login_user()
    assert session_state()[1] in (None, "")


@pytest.mark.django_db
def test_nested_in_an_outer_transaction_resets_on_exit(world_a):
    with transaction.atomic():
        with tenant_context(world_a.tenant.id):
            assert session_state() == (runtime_role(), str(world_a.tenant.id))
        assert session_state()[0] == login_user()
        assert session_state()[1] in (None, "")


@pytest.mark.django_db
def test_entering_another_tenant_inside_is_refused(world_a, world_b):
    with tenant_context(world_a.tenant.id):
        with tenant_context(world_a.tenant.id):  # same tenant nests fine
            pass
        with pytest.raises(TenantContextError):
            with tenant_context(world_b.tenant.id):
                pass


@pytest.mark.django_db
def test_scoped_manager_refuses_queries_outside_a_tenant(world_a):
    with pytest.raises(TenantContextRequired):
        list(TenantSettings.objects.all())
    with tenant_context(world_a.tenant.id):
        assert [s.tenant_id for s in TenantSettings.objects.all()] == [world_a.tenant.id]


@pytest.mark.django_db(transaction=True)
def test_nothing_leaks_to_the_next_request_on_a_persistent_connection(world_a, world_b, api_client_for):
    """CONN_MAX_AGE > 0 keeps the connection; the next request must start clean."""
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    client = api_client_for(world_a.owner)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid_before = cursor.fetchone()[0]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/v1/tenants/{world_a.tenant.id}/members")
    assert response.status_code == 200
    executed = " ".join(query["sql"] for query in queries.captured_queries)
    assert f'SET LOCAL ROLE "{runtime_role()}"' in executed
    assert str(world_a.tenant.id) in executed
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_user, current_setting('app.tenant_id', true)")
        pid_after, user, guc = cursor.fetchone()
    assert pid_after == pid_before, "the connection was not reused; the test proves nothing"
    assert user == login_user()
    assert guc in (None, "")
    # And the next request for another tenant sees only its own data.
    other = api_client_for(world_b.owner).get(f"/v1/tenants/{world_b.tenant.id}/members")
    assert {m["username"] for m in other.json()} == {"beta-owner", "beta-accountant", "beta-viewer"}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenants_tenantsettings")
        assert cursor.fetchone()[0] == 0  # the owner login is subject to FORCE RLS too


@pytest.mark.django_db(transaction=True, databases=["default", "jobs"])
def test_the_same_tenant_on_a_second_connection_is_entered_there_too(world_a):
    """A job writes its progress on a second connection while its work holds the first: that
    connection gets the runtime role and the tenant setting of its own (not a bare savepoint)."""
    from django.db import connections

    from tenants.context import tenant_context

    def role_and_tenant(alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT current_user, current_setting('app.tenant_id', true)")
            return cursor.fetchone()

    with tenant_context(world_a.tenant.id):
        with tenant_context(world_a.tenant.id, using="jobs"):
            assert role_and_tenant("jobs") == ("recon_tenant", str(world_a.tenant.id))
            with tenant_context(world_a.tenant.id, using="jobs"):  # nested on that connection: a savepoint
                assert role_and_tenant("jobs") == ("recon_tenant", str(world_a.tenant.id))
        assert role_and_tenant("default") == ("recon_tenant", str(world_a.tenant.id))
    assert role_and_tenant("jobs")[1] in ("", None)
