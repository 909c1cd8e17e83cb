"""Shared start-up for benchmarks: Django on the embedded (or DATABASE_URL) database, migrated."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(settings_module: str = "config.settings.local") -> None:
    """Configure Django for a benchmark run and apply migrations (quietly)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        print(durability_note(cursor), flush=True)


DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


def durability_note(cursor) -> str:  # noqa: ANN001 - any DB-API cursor (Django's or psycopg's)
    """Which durability the measured database runs with: write figures depend on it.

    The embedded cluster is durable like a production server (devtools/embedded_postgres.py);
    a cluster with fsync or synchronous commits off writes faster than production would.
    """
    cursor.execute(
        "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(DURABILITY_SETTINGS)]
    )
    settings = dict(cursor.fetchall())
    shown = ", ".join(f"{name}={settings.get(name, '?')}" for name in DURABILITY_SETTINGS)
    durable = all(settings.get(name) == "on" for name in DURABILITY_SETTINGS)
    verdict = "durable, as in production" if durable else "NOT durable: writes are faster than in production"
    return f"database durability: {shown} ({verdict})"


def bench_tenant(name: str):
    """A fresh tenant (and owner) for one benchmark run."""
    import uuid

    from django.contrib.auth import get_user_model

    from tenants.services import tenant_create

    user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:10]}")
    return tenant_create(name=f"{name} {uuid.uuid4().hex[:6]}", owner=user), user


def python_speed_ms() -> float:
    """A fixed pure-Python loop's best time in ms, to compare runs on a machine whose speed drifts.

    On this project's 2-core machine it measured 127 ms at its fastest and over 200 ms at its
    slowest within one session: figures taken at different times differ by that much.
    """
    import timeit

    return min(timeit.repeat("sum(i * i for i in range(2_000_000))", number=1, repeat=3)) * 1000


def database_url(database: str) -> str:
    """The URL of ``plain`` PostgreSQL (DATABASE_URL, else the embedded cluster) or of ``citus``
    (CITUS_DATABASE_URL, else the embedded Citus cluster of devtools/embedded_citus.py)."""
    if database == "citus":
        if os.environ.get("CITUS_DATABASE_URL"):
            return os.environ["CITUS_DATABASE_URL"]
        from devtools.embedded_citus import ensure_citus_cluster

        return ensure_citus_cluster().owner_url
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from devtools.embedded_postgres import ensure_cluster

    return ensure_cluster().owner_url


def run_on(database: str, argv: list[str]) -> dict:
    """Run this bench script again on ``database`` in its own process; its figures (JSON).

    Django binds one database per process, and each run should start from the same state: one
    process per database, one after the other (never both at once on the two cores).
    """
    import json
    import subprocess

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    env = dict(os.environ, DATABASE_URL=database_url(database))
    arguments = [arg for arg in argv if arg != "--citus"]
    print(f"==> {database}: {Path(sys.argv[0]).name} {' '.join(arguments)}", file=sys.stderr, flush=True)
    result = subprocess.run(  # noqa: S603 - this interpreter, this script
        [sys.executable, sys.argv[0], *arguments, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])
