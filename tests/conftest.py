"""Shared fixtures: two tenants with their own users, so every test can prove isolation.

Django-dependent imports stay inside the fixtures so pure tests (statement parsers, matching
engine) can also run without the Django plugin (``-p no:django``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest


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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
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
