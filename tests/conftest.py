"""Shared fixtures: two tenants with their own users, so every test can prove isolation.

Django-dependent imports stay inside the fixtures so pure tests (statement parsers, matching
engine) can also run without the Django plugin (``-p no:django``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

# --- the Citus pass ------------------------------------------------------------------------------
#
# `./dev test --citus` runs these groups on a Citus cluster (TEST_ON_CITUS=1): isolation,
# idempotency, concurrency, imports, reconciliation, GraphQL, events, admin (platform pages
# included), the platform writes of the API (tenants, members, invitations), and the Citus-only
# checks.
CITUS_PASS = (
    "tests/test_citus.py",
    "tests/tenants/test_rls.py",
    "tests/tenants/test_checks.py",
    "tests/tenants/test_context.py",
    "tests/tenants/test_routing.py",
    "tests/tenants/test_audit_vocabulary.py",
    "tests/tenants/test_api.py",
    "tests/tenants/test_invitations.py",
    "tests/tenants/test_services.py",
    "tests/test_isolation_attack.py",
    "tests/test_concurrency.py",
    "tests/banking/test_import_api.py",
    "tests/banking/test_import_dedup.py",
    "tests/banking/test_statement_import.py",
    "tests/banking/test_statement_continuity.py",
    "tests/banking/test_statements_api.py",
    "tests/banking/test_internal_transfers.py",
    "tests/invoices/test_bulk_import.py",
    "tests/reconciliation/test_workflow.py",
    "tests/reconciliation/test_staged_json.py",
    "tests/reconciliation/test_graphql.py",
    "tests/events/test_api.py",
    "tests/events/test_recorded_events.py",
    "tests/events/test_graphql.py",
    "tests/admin/",
    "tests/jobs/",
    "tests/remittances/",
)
ON_CITUS = os.environ.get("TEST_ON_CITUS") == "1"


def pytest_collection_modifyitems(config, items) -> None:
    """Mark the Citus pass (``-m citus``); on Citus, run its database tests in real transactions.

    A test wrapped in one transaction (Django's TestCase) writes its fixtures as the owner login
    and then reads them as the runtime role inside ``tenant_context``. Citus reaches a worker
    over one connection per database user, and one connection does not see another's
    uncommitted rows: it refuses such a transaction. The application never does that (every
    request, command and job is its own transaction, ``tenant_create`` writes as one user), so
    on Citus every test commits as production does, and the tables are emptied after each.
    """
    root = str(config.rootpath)
    for item in items:
        path = os.path.relpath(str(item.path), root)
        if any(path == entry or path.startswith(entry) for entry in CITUS_PASS if entry.endswith("/")) or (
            path in CITUS_PASS
        ):
            item.add_marker(pytest.mark.citus)
        if not ON_CITUS or item.get_closest_marker("rolled_back"):
            continue
        marker = item.get_closest_marker("django_db")
        if marker is None and "db" not in item.fixturenames:
            continue
        kwargs = dict(marker.kwargs) if marker else {}
        kwargs["transaction"] = True
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)  # the closest marker wins


if ON_CITUS:

    @pytest.fixture(scope="session")
    def django_db_setup(django_test_environment, django_db_blocker):
        """A fresh Citus test database on every node, then Django's migrations (which distribute).

        With the embedded cluster (``./dev test --citus``) the database is recreated here;
        against another Citus cluster it must exist already with the extension and the nodes
        (``TEST_DATABASE_NAME``).
        """
        from django.conf import settings
        from django.test.utils import setup_databases

        name = settings.DATABASES["default"]["TEST"]["NAME"]
        if os.environ.get("EMBEDDED_CITUS") == "1":
            from devtools.embedded_citus import create_citus_database, ensure_citus_cluster

            create_citus_database(ensure_citus_cluster(), name, fresh=True)
        with django_db_blocker.unblock():
            setup_databases(verbosity=0, interactive=False, keepdb=True)
        _test_database_durability_off(django_db_blocker)


@dataclass
class TenantWorld:
    tenant: Any
    owner: Any
    accountant: Any
    viewer: Any
    seeded: dict[str, Any] = field(default_factory=dict)


def _world(name: str) -> TenantWorld:
    from tenants.models import Role
    from tests.tenants.factories import UserFactory, add_member, make_tenant

    slug = name.split()[0].lower()
    owner = UserFactory(username=f"{slug}-owner")
    tenant = make_tenant(name, owner=owner)
    accountant = UserFactory(username=f"{slug}-accountant")
    viewer = UserFactory(username=f"{slug}-viewer")
    add_member(tenant, accountant, Role.ACCOUNTANT)
    add_member(tenant, viewer, Role.VIEWER)
    return TenantWorld(tenant=tenant, owner=owner, accountant=accountant, viewer=viewer)


@pytest.fixture(scope="session")
def statement_samples():
    """The shared statement samples folder (tests/samples.py: fail, or skip with the reason)."""
    from tests.samples import require_statement_samples

    return require_statement_samples()


def pytest_report_header(config) -> str:
    from tests.samples import SAMPLES_ENV, sample_count, statement_samples_dir

    path = statement_samples_dir()
    found = sample_count(path)
    if found:
        return f"statement samples: {found} files in {path}"
    consequence = "their tests FAIL" if os.environ.get(SAMPLES_ENV) else "their tests are SKIPPED"
    return f"statement samples: NONE at {path} ({consequence}; set {SAMPLES_ENV})"


def pytest_terminal_summary(terminalreporter) -> None:
    from tests.samples import SAMPLES_ENV, SKIP_REASON

    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if SKIP_REASON in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests of the shared statement samples were SKIPPED: the samples are not "
            f"beside this checkout. Set {SAMPLES_ENV} to run them.",
            yellow=True,
            bold=True,
        )


def _test_database_durability_off(django_db_blocker) -> None:
    """The throwaway test database gives up commit durability; nothing else does.

    ``synchronous_commit = off`` for the test database only (``ALTER DATABASE``, so the
    servers tests start in subprocesses get it too): a commit returns before its WAL reaches
    the disk. A crash could lose the last commits of a database that is dropped anyway, never
    corrupt it. fsync stays on: it is cluster-wide, and the cluster holds the developer's data
    (devtools/embedded_postgres.py).
    """
    from django.db import connections
    from psycopg import sql

    with django_db_blocker.unblock():
        connection = connections["default"]
        with connection.cursor() as cursor:
            name = sql.Identifier(connection.settings_dict["NAME"])
            cursor.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(name))
            cursor.execute("SET synchronous_commit = off")  # this already open session too


if not ON_CITUS:
    # One django_db_setup per pass: a second definition in this module would replace the Citus
    # one above, and the Citus pass would then run on a plain database created by Django.

    @pytest.fixture(scope="session")
    def django_db_setup(django_db_setup, django_db_blocker):
        _test_database_durability_off(django_db_blocker)


@pytest.fixture
def world_a(db) -> TenantWorld:
    return _world("Acme Corp")


@pytest.fixture
def world_b(db) -> TenantWorld:
    return _world("Beta Ltd")


@pytest.fixture
def api_client_for():
    """``api_client_for(user)`` -> an APIClient sending that user's bearer token."""
    from rest_framework.test import APIClient

    from tests.tenants.factories import bearer

    def build(user) -> Any:
        client = APIClient()
        client.credentials(**bearer(user))
        return client

    return build


@pytest.fixture
def job_workers(transactional_db):
    """A pool of real queue workers (``manage.py procrastinate worker``) on the test database.

    ``job_workers.start(concurrency=1)`` starts one and waits until it runs; every worker is
    killed at the end of the test. The test must commit its data (``transactional_db``, which
    this fixture requests): workers are other processes on other connections.
    """
    from django.db import connections

    from tests.support.server import database_url
    from tests.support.worker import worker_pool

    with worker_pool(database_url(connections["default"].settings_dict)) as pool:
        yield pool
